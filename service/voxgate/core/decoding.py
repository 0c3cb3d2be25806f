"""Token groups -> audio, incrementally: the one decode path of Detokenize, Synthesize and Chat.

The decoder's audio for a group depends on at most `decoder_context_groups` groups on each side,
so a group's audio is final once that many groups after it have arrived. Each decode request
covers the groups to emit plus their context (clipped at the ends), and only the emitted groups'
audio is kept: the concatenation equals a whole-sequence decode within the decoder's tolerance
(>= 30 dB SNR for the reference decoder, tested).
"""

from __future__ import annotations

import asyncio

import numpy as np

from voxgate.core.chunking import Window, plan
from voxgate.core.ports import Decoder
from voxgate.interleave import TOKENS_PER_GROUP


class DecodeStream:
    """Interleaved token groups in, one by one or many at a time; final audio out.

    Holds only the ids still needed as context, so memory stays bounded on endless streams.
    Windows longer than `chunk_groups` are split and decoded concurrently.
    """

    def __init__(
        self,
        decoder: Decoder,
        chunk_groups: int,
        min_emit_groups: int = 1,
        speaker_shift: np.ndarray | None = None,
    ) -> None:
        self._decoder = decoder
        # Passed with every decode request (the same for all windows of the stream).
        self._shift = None if speaker_shift is None else np.asarray(speaker_shift, np.float32)
        self._chunk = chunk_groups
        self._min_emit = max(1, min_emit_groups)
        self._ids = np.zeros(0, np.int64)  # ids of groups [_held_from, received)
        self._held_from = 0
        self.received = 0  # groups pushed so far
        self.emitted = 0  # groups whose audio has been returned
        self.sample_rate = 0  # the decoder's native rate, known after the first decode

    async def push(self, interleaved: np.ndarray, *, flush: bool = False) -> np.ndarray:
        """Adds whole groups of interleaved ids; returns the audio that became final.

        `flush=True` decodes every group received so far without waiting for its look-ahead:
        at the end of input, or at a boundary (a clause's end) where none will come. Groups
        pushed after a flush still get their left context.
        """
        ids = np.asarray(interleaved, np.int64).reshape(-1)
        if ids.size % TOKENS_PER_GROUP:
            raise ValueError("DecodeStream.push takes whole groups of interleaved ids")
        self._ids = np.concatenate([self._ids, ids])
        self.received += ids.size // TOKENS_PER_GROUP
        spec = await self._decoder.spec()
        self.sample_rate = spec.output_sample_rate
        context = spec.decoder_context_groups
        ready = self.received if flush else self.received - context
        if not flush and ready - self.emitted < self._min_emit:
            return np.zeros(0, np.float32)
        return await self._emit(ready, context)

    async def finish(self) -> np.ndarray:
        """End of input: the audio of every group not yet returned."""
        return await self.push(np.zeros(0, np.int64), flush=True)

    async def _emit(self, ready: int, context: int) -> np.ndarray:
        if ready <= self.emitted:
            return np.zeros(0, np.float32)
        windows = plan(self.emitted, ready, self.received, self._chunk, context)
        parts = await asyncio.gather(*(self._decode_window(w) for w in windows))
        self.emitted = ready
        drop = max(0, ready - context) - self._held_from  # keep the next window's left context
        if drop > 0:
            self._ids = self._ids[drop * TOKENS_PER_GROUP :]
            self._held_from += drop
        return np.concatenate(parts)

    async def _decode_window(self, w: Window) -> np.ndarray:
        lo = (w.lo - self._held_from) * TOKENS_PER_GROUP
        hi = (w.hi - self._held_from) * TOKENS_PER_GROUP
        if self._shift is None:
            wav = await self._decoder.decode(self._ids[lo:hi])
        else:
            wav = await self._decoder.decode(self._ids[lo:hi], speaker_shift=self._shift)
        per_group = len(wav) // (w.hi - w.lo)
        return wav[w.skip * per_group : (w.skip + w.keep) * per_group]


async def decode_all(decoder: Decoder, interleaved: np.ndarray, chunk_groups: int) -> np.ndarray:
    """A whole sequence at once (Detokenize): the same pipeline, fed in one push."""
    return await DecodeStream(decoder, chunk_groups).push(interleaved, flush=True)
