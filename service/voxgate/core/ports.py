"""What the use cases need from models, independent of who serves them (Triton in production).

`voxgate.triton` implements these protocols; tests may pass any object with the same methods.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class ModelSpec:
    """Model constants the use cases plan requests with, declared by the deployed models."""

    context_groups: int  # tokenizer look-ahead (and look-behind), in 120 ms groups
    decoder_context_groups: int  # decoder context on each side, in groups
    output_sample_rate: int  # the decoder's native rate
    profile: str  # "reference" or "step-audio"
    # > 0: the tokenizers see whole fixed windows of this many groups, aligned to the start of
    # the recording, with no context (step-audio: Whisper's 30 s chunks); 0: context windows.
    window_groups: int = 0
    # Where the repository serves stream_tokenizer (live streams keep their analysis in Triton
    # instead of re-sending context windows to tokenize): the samples after a group's end that
    # its ids need. None: no stream tokenizer.
    stream_lookahead_samples: int | None = None


@dataclass(frozen=True)
class ModelStatus:
    """Readiness of one model as the model server reports it."""

    name: str
    version: str
    ready: bool
    backend: str


class SpecSource(Protocol):
    async def spec(self) -> ModelSpec:
        """The deployed models' planning constants (ModelUnavailable while they load)."""
        ...


class Tokenizer(SpecSource, Protocol):
    async def tokenize(self, waveform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One 16 kHz mono window -> (linguistic codes, semantic codes)."""
        ...


class Decoder(SpecSource, Protocol):
    async def decode(
        self, interleaved: np.ndarray, speaker_shift: np.ndarray | None = None
    ) -> np.ndarray:
        """Interleaved ids of whole groups -> waveform at `spec().output_sample_rate`.

        `speaker_shift` (float32 [25]: Δc0..Δc23, Δlog F0 in the reference decoder's feature
        space) renders the same tokens in another speaker's envelope and pitch; the shift acts
        on each frame alone, so windowed decoding still equals whole decoding.
        """
        ...


class StreamingGenerator(Protocol):
    def generate(
        self,
        inputs: Mapping[str, np.ndarray],
        *,
        outputs: tuple[str, ...],
        parameters: Mapping[str, str | int | float | bool] | None = None,
        timeout_s: float | None = None,
    ) -> AsyncIterator[dict[str, np.ndarray]]:
        """Streams the outputs of one request to a decoupled model, response by response.

        Ends when the model sends its final flag. Raises ModelFailed / ModelUnavailable /
        DeadlineExceeded; leaving the iteration early (break, cancel) cancels the request in
        the model server.
        """
        ...

    async def parameters(self) -> Mapping[str, str]:
        """The model's configuration parameters (e.g. its `engine`); ModelUnavailable while
        the model server cannot be asked."""
        ...


def new_sequence_id() -> int:
    """A sequence id for a SequenceModel: random 62 bits, unique across the façades that may
    share one model server."""
    return random.getrandbits(62) + 1


class SequenceModel(Protocol):
    async def infer(
        self,
        sequence_id: int,
        inputs: Mapping[str, np.ndarray],
        outputs: tuple[str, ...],
        *,
        start: bool = False,
        end: bool = False,
    ) -> dict[str, np.ndarray]:
        """One request of a sequence to a stateful model (its state lives in the model server).

        Requests of one sequence must be sent one after the other. `start` opens the
        sequence, `end` closes it and frees its state. Raises ModelFailed / ModelUnavailable /
        DeadlineExceeded.
        """
        ...


class ModelCatalog(Protocol):
    async def index(self) -> dict[str, bool]:
        """Every model the model server's repository holds -> whether it is ready to serve.

        Raises ModelUnavailable when the server cannot be asked or is not ready.
        """
        ...

    async def statuses(self, names: list[str]) -> list[ModelStatus]:
        """Per-model readiness and backend, for discovery."""
        ...
