"""Synthesize and StreamSynthesize: text -> clauses -> a decoupled token generator -> the
streaming decode pipeline -> audio pieces; and the voice registry's use cases.

The generator (Triton's `tts_generator`) streams token groups clause by clause; each response is
decoded as soon as it arrives, so the first audio follows the first clause. A generator that
stops producing fails the call (DEADLINE_EXCEEDED) before the caller's deadline instead of
leaving the stream hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import numpy as np

from voxgate.core import style as styles
from voxgate.core import text as texts
from voxgate.core.admission import Admission
from voxgate.core.decoding import DecodeStream
from voxgate.core.ports import Decoder, StreamingGenerator
from voxgate.core.tokenization import AudioSource, Tokenization, load_16k
from voxgate.core.voices import (
    SpeakerFeatures,
    Voice,
    VoiceRegistry,
    speaker_features,
    speaker_shift,
)
from voxgate.errors import (
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    OutOfRange,
)
from voxgate.interleave import GROUP_SAMPLES, SAMPLE_RATE, TOKENS_PER_GROUP

GENERATOR_OUTPUTS = ("audio_tokens", "clause_index", "word_timings", "end_of_clause")
ENGINES = ("reference", "step-audio")

# The reference engine: Piper's en_US "joe" voice rendered through the reference tokenizer.
REFERENCE = styles.Capabilities("reference")
# Speaker features of the built-in voice as voxgate renders it (Piper joe through the reference
# tokenizer and decoder): medians over the three texts of `python bench/synthesis.py voice`,
# which prints them again (bench/results/synthesis.md). Cloning shifts pitch and rate by the
# prompt's ratio to these, and the decoder's spectral envelope by the prompt's difference to
# `cepstrum` (mean c0..c23 over voiced frames, median per coefficient over the same three
# texts, measured by `python bench/synthesis.py voice`, which prints the tuple to paste).
JOE = Voice(
    id="joe",
    name="Joe (en-US, Piper medium)",
    builtin=True,
    features=SpeakerFeatures(
        pitch_median_hz=87.7,
        pitch_range_semitones=6.8,
        loudness_dbfs=-23.2,
        speaking_rate=5.5,
        duration_s=0.0,
        cepstrum=(
            -63.20,
            20.30,
            2.06,
            4.82,
            -2.14,
            -2.17,
            -0.44,
            -1.58,
            -0.73,
            0.44,
            -0.38,
            -0.35,
            -1.03,
            -0.08,
            -0.35,
            -0.42,
            -0.30,
            0.19,
            -0.49,
            0.09,
            -0.24,
            0.05,
            -0.28,
            0.03,
        ),
    ),
)
BUILTIN_VOICES = (JOE,)


@dataclass(frozen=True)
class SynthesisLimits:
    max_text_chars: int
    max_prompt_seconds: float
    stall_timeout_s: float  # longest wait for the generator's next response
    decode_chunk_groups: int
    max_concurrent: int = 16  # calls speaking at once; more get RESOURCE_EXHAUSTED


@dataclass(frozen=True)
class Prompt:
    """A recording to clone for one request, and what it says."""

    audio: AudioSource
    transcript: str


@dataclass(frozen=True)
class SynthesisRequest:
    text: str
    voice: str = ""
    prompt: Prompt | None = None
    style: styles.Style = field(default_factory=styles.Style)
    instruction: str = ""


@dataclass(frozen=True)
class Report:
    """What was done with the request's voice and style (sent with the first piece)."""

    engine: str
    voice: str
    applied: styles.Style
    not_applied: list[str]
    normalized_text: str


@dataclass(frozen=True)
class Piece:
    """One piece of speech: float32 samples at `sample_rate`, its tokens and words."""

    samples: np.ndarray
    sample_rate: int
    tokens: np.ndarray
    words: list[tuple[str, int, int]]  # (word, start ms, end ms) from the stream's start
    start_seconds: float
    report: Report | None = None


@dataclass
class _Plan:
    """A validated request, ready to speak."""

    voice: Voice
    applied: styles.Style
    report: Report
    generator_params: dict[str, np.ndarray]
    gain: float
    speaker_shift: np.ndarray | None = None


class Synthesis:
    """The synthesis use cases over a token generator, the decoder and the voice registry."""

    def __init__(
        self,
        generator: StreamingGenerator,
        decoder: Decoder,
        tokenization: Tokenization,
        voices: VoiceRegistry,
        limits: SynthesisLimits,
    ) -> None:
        self._generator = generator
        self._decoder = decoder
        self.tokenization = tokenization
        self.voices = voices
        self.limits = limits
        self._admission = Admission(limits.max_concurrent, "synthesis", "calls")

    def admitted(self):
        """Counts one call in; RESOURCE_EXHAUSTED when `max_concurrent` are already speaking."""
        return self._admission.admitted()

    # -- planning ----------------------------------------------------------------------------

    async def _voice(self, request: SynthesisRequest) -> Voice:
        if request.prompt is not None:
            return (await self._prompt_voice(request.prompt, "prompt"))[0]
        if not request.voice:
            return JOE
        return await asyncio.to_thread(self.voices.get, request.voice)

    async def _prompt_voice(self, prompt: Prompt, field_name: str) -> tuple[Voice, np.ndarray]:
        """A voice for a prompt recording, and the recording at 16 kHz."""
        if not prompt.transcript.strip():
            raise InvalidArgument(f"{field_name}.transcript: required with prompt audio")
        with self.tokenization.budget.hold("audio") as hold:  # what decoding it takes
            wav = await asyncio.to_thread(
                load_16k, prompt.audio, self.limits.max_prompt_seconds, hold
            )
        features = await asyncio.to_thread(speaker_features, wav, prompt.transcript)
        return Voice("prompt", "prompt", False, features, prompt.transcript), wav

    async def engine(self) -> str:
        """The deployed generator's engine ("reference" or "step-audio")."""
        engine = (await self._generator.parameters()).get("engine", REFERENCE.name)
        if engine not in ENGINES:
            raise FailedPrecondition(f"the speech generator's engine {engine!r} is unknown")
        return engine

    async def plan(self, request: SynthesisRequest, text: str) -> _Plan:
        """Validates the request (before any audio is sent) and resolves voice and style."""
        if await self.engine() == styles.STEP_AUDIO.name:
            return await self._plan_step_audio(request, text)
        voice = await self._voice(request)
        applied, not_applied = styles.resolve(request.style, request.instruction, REFERENCE)
        speed = applied.speed or 1.0
        pitch = applied.pitch_semitones or 0.0
        shift = None
        if voice.features is not None and voice is not JOE:
            # The reference engine clones by matching the prompt's pitch level and rate.
            base = JOE.features
            assert base is not None
            if voice.features.pitch_median_hz > 0:
                pitch += 12 * math.log2(voice.features.pitch_median_hz / base.pitch_median_hz)
            if voice.features.speaking_rate > 0:
                speed *= voice.features.speaking_rate / base.speaking_rate
            pitch = float(np.clip(pitch, *styles.PITCH_RANGE))
            speed = float(np.clip(speed, *styles.SPEED_RANGE))
            # The decoder renders the tokens with the prompt's spectral envelope and the pitch
            # residual the generator's whole F0 levels cannot express.
            shift = speaker_shift(voice.features, base, pitch)
            if voice.features.cepstrum:
                not_applied.append(
                    "voice: the reference engine matches the prompt's pitch, speaking rate and "
                    "average spectral envelope, which only approximates its timbre"
                )
            else:
                not_applied.append(
                    "voice: the reference engine matches the prompt's pitch and speaking rate; "
                    "the voice has no measured spectral envelope, so its timbre is not cloned"
                )
        report = Report("reference", voice.id, applied, not_applied, text)
        params = {
            "voice": np.array([JOE.id.encode()], np.object_),
            "speed": np.array([speed], np.float32),
            "pitch_semitones": np.array([pitch], np.float32),
        }
        gain = 10 ** ((applied.volume_db or 0.0) / 20)
        return _Plan(voice, applied, report, params, gain, shift)

    async def _plan_step_audio(self, request: SynthesisRequest, text: str) -> _Plan:
        """The step-audio engine clones as Step-Audio does (the prompt's transcript and audio
        tokens in its template) and takes style as Step-Audio's text prefixes."""
        applied, not_applied = styles.resolve(request.style, request.instruction, styles.STEP_AUDIO)
        _, speed = styles.step_audio_speed(applied.speed)
        if applied.speed is not None and speed != applied.speed:
            not_applied.append(
                f"speed={applied.speed:g}: the step-audio engine has speed tags only; "
                f"using {speed or 1.0:g}"
            )
        applied = dataclasses.replace(applied, speed=speed)
        params = {
            "instruction": np.array([styles.step_audio_prefix(applied).encode()], np.object_),
            "seed": np.array([0], np.int64),
        }
        if request.prompt is not None:
            voice, wav = await self._prompt_voice(request.prompt, "prompt")
            voice = dataclasses.replace(voice, tokens=await self._prompt_tokens(wav))
        elif request.voice and request.voice != JOE.id:
            voice = await asyncio.to_thread(self.voices.get, request.voice)
        else:
            voice = Voice("", "the model's default speaker", True)
            if request.voice:
                not_applied.append(
                    f"voice={request.voice}: a reference-engine voice; the step-audio engine "
                    "speaks with its default speaker"
                )
        if voice.tokens is not None and len(voice.tokens):
            params["prompt_text"] = np.array([voice.transcript.encode()], np.object_)
            params["prompt_tokens"] = np.asarray(voice.tokens, np.int64).reshape(-1)
        report = Report(styles.STEP_AUDIO.name, voice.id, applied, not_applied, text)
        gain = 10 ** ((applied.volume_db or 0.0) / 20)
        return _Plan(voice, applied, report, params, gain)

    def _check_text(self, text: str, field_name: str = "text") -> str:
        if not text.strip():
            raise InvalidArgument(f"{field_name}: empty")
        if len(text) > self.limits.max_text_chars:
            raise OutOfRange(
                f"{field_name}: {len(text)} characters is more than the "
                f"{self.limits.max_text_chars} limit"
            )
        return text

    # -- speaking ----------------------------------------------------------------------------

    async def synthesize(
        self, request: SynthesisRequest, timeout_s: float | None = None
    ) -> AsyncIterator[Piece]:
        """Speech for a whole text, piece by piece."""
        with self.admitted():
            clauses = texts.speakable_clauses(self._check_text(request.text))
            plan = await self.plan(request, " ".join(clauses))
            speaker = _Speaker(self, plan, timeout_s)
            async for piece in speaker.speak(clauses):
                yield piece

    def open_stream(self, request: SynthesisRequest) -> SpeechStream:
        """A session that speaks text arriving piece by piece."""
        return SpeechStream(self, request)

    async def _next(self, responses: AsyncIterator[dict], deadline: float | None) -> dict | None:
        """The generator's next response, or DeadlineExceeded if it stalls."""
        wait = self.limits.stall_timeout_s
        if deadline is not None:
            wait = min(wait, max(0.0, deadline - asyncio.get_running_loop().time() - 0.05))
        try:
            return await asyncio.wait_for(anext(responses, None), wait)
        except TimeoutError:
            raise DeadlineExceeded(
                f"the speech generator produced nothing for {wait:.1f} s"
            ) from None

    # -- voices ------------------------------------------------------------------------------

    async def create_voice(
        self, prompt: Prompt, name: str, consent_note: str, keep_audio: bool
    ) -> Voice:
        if not name.strip():
            raise InvalidArgument("name: required")
        voice, wav = await self._prompt_voice(prompt, "prompt")
        tokens = await self._prompt_tokens(wav)
        audio = wav.astype("<f4").tobytes() if keep_audio else None
        assert voice.features is not None
        return await asyncio.to_thread(  # SQLite: off the event loop
            self.voices.create,
            name,
            prompt.transcript,
            consent_note,
            tokens,
            voice.features,
            audio,
        )

    async def _prompt_tokens(self, wav: np.ndarray) -> np.ndarray:
        """A 16 kHz prompt's interleaved ids (whole groups), by the deployment's tokenizer."""
        result = await self.tokenization.tokenize_samples(
            wav, 0, len(wav) // GROUP_SAMPLES, len(wav)
        )
        return result.interleaved()

    async def list_voices(self) -> list[Voice]:
        return await asyncio.to_thread(self.voices.list)

    async def delete_voice(self, voice_id: str) -> None:
        await asyncio.to_thread(self.voices.delete, voice_id)


class _Speaker:
    """Speaks clauses for one call: generator -> decode -> gain, keeping the stream's clock."""

    def __init__(self, owner: Synthesis, plan: _Plan, timeout_s: float | None) -> None:
        self._owner = owner
        self._plan = plan
        loop = asyncio.get_running_loop()
        self._deadline = None if timeout_s is None else loop.time() + timeout_s
        self._decode = DecodeStream(
            owner._decoder, owner.limits.decode_chunk_groups, speaker_shift=plan.speaker_shift
        )
        self._samples_out = 0
        self._reported = False

    async def speak(self, clauses: list[str]) -> AsyncIterator[Piece]:
        if not clauses:
            return
        inputs = {
            "text": np.array([c.encode() for c in clauses], np.object_),
            **self._plan.generator_params,
        }
        timeout = None
        if self._deadline is not None:
            timeout = max(0.01, self._deadline - asyncio.get_running_loop().time())
        responses = self._owner._generator.generate(
            inputs, outputs=GENERATOR_OUTPUTS, timeout_s=timeout
        )
        async with contextlib.aclosing(responses):
            while (response := await self._owner._next(responses, self._deadline)) is not None:
                piece = await self._piece(response)
                if piece is not None:
                    yield piece

    async def _piece(self, response: dict) -> Piece | None:
        tokens = np.asarray(response["audio_tokens"], np.int64).reshape(-1)
        tokens = tokens[: len(tokens) // TOKENS_PER_GROUP * TOKENS_PER_GROUP]
        # A response that ends a clause (or a piece of a long one) is decoded whole now; within
        # a clause (a streaming LM) groups wait for their look-ahead.
        samples = await self._decode.push(tokens, flush=_flag(response.get("end_of_clause"), True))
        rate = self._decode.sample_rate or SAMPLE_RATE
        start = self._samples_out / rate
        self._samples_out += len(samples)
        if self._plan.gain != 1.0:
            samples = np.clip(samples * self._plan.gain, -1.0, 1.0).astype(np.float32)
        words = [
            (str(w), int(a + start * 1000), int(b + start * 1000))
            for w, a, b in _word_timings(response.get("word_timings"))
        ]
        report = None
        if not self._reported:
            report, self._reported = self._plan.report, True
        return Piece(samples, rate, tokens, words, start, report)


def _flag(value: np.ndarray | None, default: bool) -> bool:
    return (
        default if value is None or not np.size(value) else bool(np.asarray(value).reshape(-1)[0])
    )


def _word_timings(value: np.ndarray | None) -> list[tuple[str, int, int]]:
    if value is None or not len(value):
        return []
    raw = value.reshape(-1)[0]
    try:
        return [tuple(w) for w in json.loads(raw.decode() if isinstance(raw, bytes) else raw)]
    except (ValueError, TypeError):
        return []


class SpeechStream:
    """StreamSynthesize: clauses are spoken as soon as their text is complete."""

    def __init__(self, owner: Synthesis, request: SynthesisRequest) -> None:
        self._owner = owner
        self._request = request
        self._buffer = texts.ClauseBuffer(owner.limits.max_text_chars)
        self._speaker: _Speaker | None = None
        self._spoken_text: list[str] = []

    async def start(self, timeout_s: float | None) -> None:
        """Validates voice and style before any text arrives."""
        plan = await self._owner.plan(self._request, "")
        self._speaker = _Speaker(self._owner, plan, timeout_s)

    async def push(self, piece: str) -> AsyncIterator[Piece]:
        if self._buffer.total_chars + len(piece) > self._owner.limits.max_text_chars:
            raise OutOfRange(
                f"text: more than the {self._owner.limits.max_text_chars} character limit"
            )
        clauses = self._buffer.push(piece)
        if not clauses and not self._spoken_text:
            clauses = self._buffer.head()  # the first words, before their clause is complete
        async for out in self._speak(clauses):
            yield out

    async def flush(self) -> AsyncIterator[Piece]:
        async for out in self._speak(self._buffer.flush()):
            yield out

    async def _speak(self, clauses: list[str]) -> AsyncIterator[Piece]:
        assert self._speaker is not None, "start() first"
        if not self._spoken_text:
            clauses = texts.fast_start(clauses)  # as written, like speakable_clauses
        normalized = [c for c in (texts.normalize(c) for c in clauses) if c]
        self._spoken_text.extend(normalized)
        if normalized and not self._speaker._reported:
            self._speaker._plan.report = _with_text(self._speaker._plan.report, normalized)
        async for out in self._speaker.speak(normalized):
            yield out


def _with_text(report: Report, clauses: list[str]) -> Report:
    return Report(
        report.engine, report.voice, report.applied, report.not_applied, " ".join(clauses)
    )
