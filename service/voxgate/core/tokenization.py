"""Tokenize and Detokenize use cases: audio framing, chunked model calls, token assembly."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from voxgate import audio as audiolib
from voxgate.core.chunking import Window, plan, sample_span
from voxgate.core.decoding import decode_all
from voxgate.core.ports import Decoder, Tokenizer
from voxgate.errors import InvalidArgument, OutOfRange
from voxgate.interleave import (
    GROUP_SAMPLES,
    LINGUISTIC_PER_GROUP,
    SAMPLE_RATE,
    SEMANTIC_PER_GROUP,
    Tokens,
)

LINGUISTIC_HOP = GROUP_SAMPLES // LINGUISTIC_PER_GROUP
SEMANTIC_HOP = GROUP_SAMPLES // SEMANTIC_PER_GROUP


@dataclass(frozen=True)
class ContainerAudio:
    """A whole audio file (WAV/FLAC/OGG/MP3)."""

    data: bytes


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


def load_16k(source: AudioSource, max_seconds: float) -> np.ndarray:
    """Decodes, mixes down and resamples a whole recording to 16 kHz mono float32."""
    if isinstance(source, RawAudio):
        fmt = source.fmt.validate("audio.raw.format")
        if not source.data:
            raise InvalidArgument("audio.raw.data: empty")
        samples, rate = audiolib.decode_pcm(source.data, fmt), fmt.sample_rate
    else:
        samples, rate = audiolib.decode_container(source.data)
    audiolib.check_duration(len(samples), rate, max_seconds)
    return audiolib.to_16k(samples, rate)


class Tokenization:
    """Tokenize, StreamTokenize and Detokenize over the Triton models."""

    def __init__(self, tokenizer: Tokenizer, decoder: Decoder, limits: Limits) -> None:
        self.models = tokenizer
        self.decoder = decoder
        self.limits = limits

    async def tokenize(self, source: AudioSource) -> TokenizeResult:
        """Tokens of a whole recording; long audio goes to Triton in concurrent windows."""
        wav = load_16k(source, self.limits.max_audio_seconds)
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
        return Tokens(ling.astype(np.int64), sem.astype(np.int64))

    def open_stream(
        self, container: audiolib.Container, raw: audiolib.PcmFormat | None
    ) -> TokenStream:
        """A live-audio tokenization session."""
        return TokenStream(self, container, raw)

    async def detokenize(self, tokens: Tokens, out: audiolib.OutputFormat) -> DetokenizeResult:
        """Decodes whole groups of tokens to audio in the requested format."""
        ids = tokens.interleaved()
        if len(ids) > self.limits.max_detokenize_tokens:
            raise OutOfRange(
                f"tokens: {len(ids)} ids is more than the {self.limits.max_detokenize_tokens} limit"
            )
        wav = await decode_all(self.decoder, ids, self.limits.decode_chunk_groups)
        rate = (await self.decoder.spec()).output_sample_rate
        data, fmt = audiolib.encode(wav, rate, out)
        return DetokenizeResult(data, fmt, len(wav) / rate, tokens.group_count)


class TokenStream:
    """Tokenizes audio as it arrives; yields each group once its look-ahead has arrived."""

    def __init__(
        self,
        owner: Tokenization,
        container: audiolib.Container,
        raw: audiolib.PcmFormat | None,
    ) -> None:
        if container in (audiolib.Container.RAW, audiolib.Container.WAV):
            self._decoder: audiolib.PcmStreamDecoder | None = audiolib.PcmStreamDecoder(
                container, raw, owner.limits.max_audio_seconds
            )
        else:  # FLAC/OGG/MP3 cannot be cut anywhere: decode them whole at the end
            self._decoder = None
        self._owner = owner
        self._whole = bytearray()
        self._buffer = np.zeros(0, np.float32)
        self._buffer_start = 0  # sample index of _buffer[0]
        self._n_samples = 0
        self.groups_done = 0  # groups already returned

    async def push(self, piece: bytes) -> list[tuple[int, Tokens]]:
        """Adds audio; returns (group index, tokens) of groups that became final."""
        if self._decoder is None:
            self._whole += piece
            limit = 8 * self._owner.limits.max_audio_seconds * audiolib.MAX_RATE * 4
            if len(self._whole) > limit:
                raise OutOfRange("audio: stream longer than the duration limit")
            return []
        self._append(self._decoder.push(piece))
        spec = await self._owner.models.spec()
        ready = self._n_samples // GROUP_SAMPLES - spec.context_groups
        return await self._emit(ready)

    async def finish(self) -> list[tuple[int, Tokens]]:
        """Flushes at end of stream: every remaining whole group."""
        if self._decoder is None:
            self._append(
                load_16k(ContainerAudio(bytes(self._whole)), self._owner.limits.max_audio_seconds)
            )
        else:
            self._append(self._decoder.finish())
        return await self._emit(self._n_samples // GROUP_SAMPLES)

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
        return [
            (
                first + g,
                Tokens(
                    tokens.linguistic[g * LINGUISTIC_PER_GROUP : (g + 1) * LINGUISTIC_PER_GROUP],
                    tokens.semantic[g * SEMANTIC_PER_GROUP : (g + 1) * SEMANTIC_PER_GROUP],
                ),
            )
            for g in range(ready - first)
        ]


def split_groups(items: Sequence[tuple[int, Tokens]]) -> Tokens:
    """Concatenates per-group results (used by clients of TokenStream and by tests)."""
    out = Tokens.empty()
    for _, t in items:
        out = out.concat(t)
    return out
