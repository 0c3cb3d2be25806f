"""Tokenize and Detokenize use cases: audio framing, chunked model calls, token assembly."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from voxgate import audio as audiolib
from voxgate.core.budget import AudioBudget, Hold, unlimited
from voxgate.core.chunking import Window, plan, plan_aligned, sample_span
from voxgate.core.decoding import decode_all
from voxgate.core.ports import Decoder, ModelSpec, SequenceModel, Tokenizer, new_sequence_id
from voxgate.errors import InvalidArgument, ModelFailed, OutOfRange
from voxgate.interleave import (
    GROUP_SAMPLES,
    LINGUISTIC_CODES,
    LINGUISTIC_PER_GROUP,
    SAMPLE_RATE,
    SEMANTIC_CODES,
    SEMANTIC_PER_GROUP,
    Tokens,
)

LINGUISTIC_HOP = GROUP_SAMPLES // LINGUISTIC_PER_GROUP
SEMANTIC_HOP = GROUP_SAMPLES // SEMANTIC_PER_GROUP
STREAM_OUTPUTS = ("linguistic_tokens", "semantic_tokens", "first_group")
# Samples per stream tokenizer request: a client's big piece goes in several (the model's
# max_samples_per_request is 320000; its frames of one request run in one batch).
STREAM_REQUEST_SAMPLES = 160000
# END requests of streams that closed before their end: kept referenced until they are sent.
_ENDING: set[asyncio.Task] = set()


@dataclass(frozen=True)
class ContainerAudio:
    """A whole audio file (WAV/FLAC/OGG/MP3)."""

    data: bytes | bytearray


@dataclass(frozen=True)
class RawAudio:
    """Raw PCM with its layout."""

    data: bytes
    fmt: audiolib.PcmFormat


AudioSource = ContainerAudio | RawAudio


@dataclass(frozen=True)
class Limits:
    """Request limits and chunk sizes of the tokenization use cases."""

    max_audio_seconds: float
    max_detokenize_tokens: int
    chunk_groups: int
    decode_chunk_groups: int
    # Detokenize's audio bytes (the response limit less its envelope): RAW/WAV output over it
    # is refused before decoding, FLAC/OGG as soon as the encoder passes it.
    max_output_bytes: int = 64 * 2**20 - 4096
    # What a FLAC/OGG/MP3 stream may hold before it is decoded at its end (a whole file in
    # Tokenize cannot be larger either: the request limit).
    max_container_stream_bytes: int = 64 * 2**20


@dataclass(frozen=True)
class TokenizeResult:
    tokens: Tokens
    duration_seconds: float


@dataclass(frozen=True)
class DetokenizeResult:
    data: bytes
    fmt: audiolib.OutputFormat
    duration_seconds: float
    group_count: int


def load_16k(source: AudioSource, max_seconds: float, hold: Hold | None = None) -> np.ndarray:
    """Decodes, mixes down and resamples a whole recording to 16 kHz mono float32.

    Sizes come from the header first (too long: OUT_OF_RANGE before decoding); decoding runs a
    block at a time, so memory is the 16 kHz result plus a block. `hold` (a share of the
    decoded-audio budget) is grown to what the result takes.
    """
    if isinstance(source, RawAudio):
        fmt = source.fmt.validate("audio.raw.format")
        if not source.data:
            raise InvalidArgument("audio.raw.data: empty")
        reader = audiolib.AudioReader.pcm(source.data, fmt, max_seconds)
    else:
        reader = audiolib.AudioReader.container(source.data, max_seconds)
    with reader:
        return reader.read_16k(None if hold is None else hold.ensure)


class Tokenization:
    """Tokenize, StreamTokenize and Detokenize over the Triton models."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        decoder: Decoder,
        limits: Limits,
        budget: AudioBudget | None = None,
        stream: SequenceModel | None = None,
    ) -> None:
        self.models = tokenizer
        self.decoder = decoder
        self.limits = limits
        self.budget = budget or unlimited()
        # The stateful stream tokenizer, used for live streams where the repository has it.
        self.stream_model = stream

    async def tokenize(self, source: AudioSource) -> TokenizeResult:
        """Tokens of a whole recording; long audio goes to Triton in concurrent windows."""
        with self.budget.hold("audio") as hold:
            wav = await asyncio.to_thread(load_16k, source, self.limits.max_audio_seconds, hold)
            tokens = await self.tokenize_samples(wav, 0, len(wav) // GROUP_SAMPLES, len(wav))
        return TokenizeResult(tokens, len(wav) / SAMPLE_RATE)

    async def tokenize_samples(
        self, buffer: np.ndarray, first: int, stop: int, n_samples: int, buffer_start: int = 0
    ) -> Tokens:
        """Tokens of groups [first, stop) of audio whose samples [buffer_start, ...) are held."""
        if stop <= first:
            return Tokens.empty()
        spec = await self.models.spec()
        total = -(-n_samples // GROUP_SAMPLES)
        if spec.window_groups:  # step-audio: Step-Audio's own fixed chunks, no context
            windows = plan_aligned(first, stop, total, spec.window_groups)
        else:
            windows = plan(first, stop, total, self.limits.chunk_groups, spec.context_groups)
        parts = await asyncio.gather(
            *(self._tokenize_window(buffer, w, n_samples, buffer_start) for w in windows)
        )
        out = Tokens.empty()
        for part in parts:
            out = out.concat(part)
        return out

    async def _tokenize_window(
        self, buffer: np.ndarray, w: Window, n_samples: int, buffer_start: int
    ) -> Tokens:
        ling, sem = await self.models.tokenize(buffer[sample_span(w, n_samples, buffer_start)])
        l0, s0 = w.skip * LINGUISTIC_PER_GROUP, w.skip * SEMANTIC_PER_GROUP
        ling = ling[l0 : l0 + w.keep * LINGUISTIC_PER_GROUP]
        sem = sem[s0 : s0 + w.keep * SEMANTIC_PER_GROUP]
        if len(ling) != w.keep * LINGUISTIC_PER_GROUP or len(sem) != w.keep * SEMANTIC_PER_GROUP:
            raise RuntimeError("tokenizer returned fewer tokens than its window holds")
        ling, sem = ling.astype(np.int64), sem.astype(np.int64)
        _check_ids(ling, sem)
        return Tokens(ling, sem)

    def open_stream(
        self, container: audiolib.Container, raw: audiolib.PcmFormat | None
    ) -> TokenStream:
        """A live-audio tokenization session; `close()` it when the call ends."""
        return TokenStream(self, container, raw)

    async def detokenize(self, tokens: Tokens, out: audiolib.OutputFormat) -> DetokenizeResult:
        """Decodes whole groups of tokens to audio in the requested format."""
        ids = tokens.interleaved()
        if len(ids) > self.limits.max_detokenize_tokens:
            raise OutOfRange(
                f"tokens: {len(ids)} ids is more than the {self.limits.max_detokenize_tokens} limit"
            )
        # The output's size is known before any decoding: refuse what cannot be sent.
        rate = (await self.decoder.spec()).output_sample_rate
        n_model = tokens.group_count * GROUP_SAMPLES * rate // SAMPLE_RATE
        max_bytes = self.limits.max_output_bytes
        audiolib.check_output_size(n_model, rate, out, max_bytes)
        out_bytes = min(audiolib.output_bytes(n_model, rate, out), max_bytes)
        with self.budget.hold("tokens") as hold:
            hold.ensure(n_model * 4 + 2 * out_bytes)  # the waveform, the file and its copy
            wav = await decode_all(self.decoder, ids, self.limits.decode_chunk_groups)
            data, fmt = await asyncio.to_thread(audiolib.encode, wav, rate, out, max_bytes)
        return DetokenizeResult(data, fmt, len(wav) / rate, tokens.group_count)


class TokenStream:
    """Tokenizes audio as it arrives; yields each group once its look-ahead has arrived.

    RAW and WAV are decoded as they arrive. Where the repository has the stream tokenizer, each
    piece goes to it as one request of a Triton sequence (the analysis stays there, so no
    context is sent twice); else the façade holds the audio a window needs and sends context
    windows to tokenize. FLAC, OGG and MP3 are held (bounded by `audiolib.ContainerStream` and
    the decoded-audio budget) and decoded when the stream ends.
    """

    def __init__(
        self,
        owner: Tokenization,
        container: audiolib.Container,
        raw: audiolib.PcmFormat | None,
    ) -> None:
        limits = owner.limits
        self._decoder: audiolib.PcmStreamDecoder | None = None
        self._whole: audiolib.ContainerStream | None = None
        if container in (audiolib.Container.RAW, audiolib.Container.WAV):
            self._decoder = audiolib.PcmStreamDecoder(container, raw, limits.max_audio_seconds)
        else:  # FLAC/OGG/MP3 cannot be cut anywhere: decode them whole at the end
            self._whole = audiolib.ContainerStream(
                container, limits.max_audio_seconds, limits.max_container_stream_bytes
            )
        self._owner = owner
        self._hold = owner.budget.hold("audio")
        self._buffer = np.zeros(0, np.float32)
        self._buffer_start = 0  # sample index of _buffer[0]
        self._n_samples = 0
        self._sequence: int | None = None  # the stream tokenizer's sequence, once started
        self._sequence_open = False  # started and not yet ended
        self.groups_done = 0  # groups already returned

    @property
    def live(self) -> bool:
        """Whether audio is tokenized as it arrives (RAW, WAV), not held until the end."""
        return self._whole is None

    @property
    def samples(self) -> int:
        """16 kHz samples decoded so far."""
        return self._n_samples

    def close(self) -> None:
        """Gives back what the stream held of the decoded-audio budget and, if the stream
        tokenizer holds state for it, ends that sequence (in the background: a client that is
        gone must not wait for it)."""
        if self._whole is not None:  # first, so that memory given back can go to the system
            self._whole.data = bytearray()
        self._whole = None
        self._buffer = np.zeros(0, np.float32)
        self._hold.release()
        if self._sequence_open:
            self._sequence_open = False
            task = asyncio.get_running_loop().create_task(self._end_quietly(self._sequence))
            _ENDING.add(task)
            task.add_done_callback(_ENDING.discard)

    async def _end_quietly(self, sequence: int) -> None:
        model = self._owner.stream_model
        assert model is not None
        with contextlib.suppress(Exception):  # Triton also frees it once idle
            await model.infer(
                sequence, {"waveform": np.zeros((1, 0), np.float32)}, STREAM_OUTPUTS, end=True
            )

    async def push(self, piece: bytes) -> list[tuple[int, Tokens]]:
        """Adds audio; returns (group index, tokens) of groups that became final."""
        if self._whole is not None:
            self._whole.push(piece)
            self._hold.ensure(len(self._whole.data))
            return []
        assert self._decoder is not None
        samples = self._decoder.push(piece)
        spec = await self._owner.models.spec()
        if self._stateful(spec):
            # Held until they complete a group's look-ahead: a request per group at most, however
            # small the client's pieces (a request per sample would fall behind real time).
            self._append(samples)
            lookahead = spec.stream_lookahead_samples or 0
            if self._n_samples < (self.groups_done + 1) * GROUP_SAMPLES + lookahead:
                return []
            return await self._stream_step(self._take_buffer(), end=False)
        self._append(samples)
        ready = self._n_samples // GROUP_SAMPLES - spec.context_groups
        if spec.window_groups:  # a window is final only when whole (or at the end)
            ready = self._n_samples // GROUP_SAMPLES // spec.window_groups * spec.window_groups
        return await self._emit(ready)

    async def finish(self) -> list[tuple[int, Tokens]]:
        """Flushes at end of stream: every remaining whole group."""
        if self._whole is not None:
            data = self._whole.finish()
            source = ContainerAudio(data)
            max_seconds = self._owner.limits.max_audio_seconds
            self._append(await asyncio.to_thread(load_16k, source, max_seconds, self._hold))
        else:
            assert self._decoder is not None
            self._append(self._decoder.finish())
            if self._stateful(await self._owner.models.spec()):
                return await self._stream_step(self._take_buffer(), end=True)
        return await self._emit(self._n_samples // GROUP_SAMPLES)

    def _stateful(self, spec: ModelSpec) -> bool:
        return spec.stream_lookahead_samples is not None and self._owner.stream_model is not None

    def _take_buffer(self) -> np.ndarray:
        """The held samples, which the stream tokenizer takes over."""
        samples, self._buffer = self._buffer, np.zeros(0, np.float32)
        self._buffer_start = self._n_samples
        return samples

    async def _stream_step(self, samples: np.ndarray, end: bool) -> list[tuple[int, Tokens]]:
        """Requests of the stream tokenizer's sequence (one per STREAM_REQUEST_SAMPLES): the
        groups they made final."""
        out: list[tuple[int, Tokens]] = []
        cuts = range(STREAM_REQUEST_SAMPLES, len(samples), STREAM_REQUEST_SAMPLES)
        pieces = np.split(samples, list(cuts))
        for n, piece in enumerate(pieces):
            out += await self._stream_request(piece, end and n == len(pieces) - 1)
        return out

    async def _stream_request(self, samples: np.ndarray, end: bool) -> list[tuple[int, Tokens]]:
        model = self._owner.stream_model
        assert model is not None
        start = self._sequence is None
        if start:
            self._sequence, self._sequence_open = new_sequence_id(), True
        wav = np.ascontiguousarray(samples, np.float32)[None, :]
        got = await model.infer(
            self._sequence, {"waveform": wav}, STREAM_OUTPUTS, start=start, end=end
        )
        if end:
            self._sequence_open = False
        ling = got["linguistic_tokens"].reshape(-1).astype(np.int64)
        sem = got["semantic_tokens"].reshape(-1).astype(np.int64)
        count = len(ling) // LINGUISTIC_PER_GROUP
        if (
            int(got["first_group"].reshape(-1)[0]) != self.groups_done
            or len(ling) != count * LINGUISTIC_PER_GROUP
            or len(sem) != count * SEMANTIC_PER_GROUP
        ):
            raise ModelFailed("stream tokenizer: returned groups out of order")
        _check_ids(ling, sem)
        first, self.groups_done = self.groups_done, self.groups_done + count
        return _per_group(first, Tokens(ling, sem), count)

    def _append(self, samples: np.ndarray) -> None:
        if len(samples):
            self._buffer = np.concatenate([self._buffer, samples])
            self._n_samples += len(samples)

    async def _emit(self, ready: int) -> list[tuple[int, Tokens]]:
        if ready <= self.groups_done:
            return []
        first, self.groups_done = self.groups_done, ready
        tokens = await self._owner.tokenize_samples(
            self._buffer, first, ready, self._n_samples, self._buffer_start
        )
        spec = await self._owner.models.spec()
        keep_from = max(0, ready - spec.context_groups) * GROUP_SAMPLES
        self._buffer = self._buffer[keep_from - self._buffer_start :]
        self._buffer_start = keep_from
        return _per_group(first, tokens, ready - first)


def _per_group(first: int, tokens: Tokens, count: int) -> list[tuple[int, Tokens]]:
    """(group index, tokens) of `count` groups starting at `first`."""
    return [
        (
            first + g,
            Tokens(
                tokens.linguistic[g * LINGUISTIC_PER_GROUP : (g + 1) * LINGUISTIC_PER_GROUP],
                tokens.semantic[g * SEMANTIC_PER_GROUP : (g + 1) * SEMANTIC_PER_GROUP],
            ),
        )
        for g in range(count)
    ]


def _check_ids(ling: np.ndarray, sem: np.ndarray) -> None:
    """Ids outside the vocabularies: never for input in [-1, 1]; a model fault, not the client's."""
    if ((ling < 0) | (ling >= LINGUISTIC_CODES)).any() or (
        (sem < 0) | (sem >= SEMANTIC_CODES)
    ).any():
        raise ModelFailed("tokenizer: returned ids outside its vocabulary")


def split_groups(items: Sequence[tuple[int, Tokens]]) -> Tokens:
    """Concatenates per-group results (used by clients of TokenStream and by tests)."""
    out = Tokens.empty()
    for _, t in items:
        out = out.concat(t)
    return out
