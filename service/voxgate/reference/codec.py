"""Convenience API over the four ONNX files (onnxruntime), plus chunked tokenization and
decoding on the façade's window planner (`voxgate.core.chunking`).

Step-Audio interleaving lives in `voxgate.interleave`; `interleave` / `deinterleave` here are
that implementation (the latter as a tuple, for numpy-style callers).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from voxgate.core.chunking import plan, plan_cuts, sample_span
from voxgate.interleave import GROUP_SAMPLES, TOKENS_PER_GROUP, interleave
from voxgate.interleave import deinterleave as _deinterleave
from voxgate.model_names import (
    LINGUISTIC_TOKENIZER,
    ONNX_MODELS,
    SEMANTIC_TOKENIZER,
    TOKEN_DECODER,
    VOCODER,
)

__all__ = [
    "ReferenceCodec",
    "decode_chunked",
    "deinterleave",
    "interleave",
    "tokenize_chunked",
]


def deinterleave(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`voxgate.interleave.deinterleave` (validating) as a (linguistic, semantic) tuple."""
    tokens = _deinterleave(np.asarray(ids).reshape(-1))
    return tokens.linguistic, tokens.semantic


def tokenize_chunked(
    run: Callable[[np.ndarray], np.ndarray],
    wav: np.ndarray,
    hop: int,
    context_groups: int,
    piece_samples: Sequence[int],
) -> np.ndarray:
    """Tokenize ``wav`` piece by piece, each with ``context_groups`` groups of real audio on
    either side (fewer at the ends), dropping the tokens that belong to the context.

    ``run`` maps a [1, S] waveform to [1, S // hop] tokens. ``piece_samples`` are requested
    piece boundaries (any sample offsets); each is rounded down to a group boundary (1920
    samples) because the linguistic tokens' gain correction refers to the semantic token
    pairing of the recording, which is anchored at group boundaries. The last piece runs to the
    end of the recording. The result equals ``run(wav)`` token for token.
    """
    wav = np.asarray(wav, np.float32).reshape(-1)
    n_tok = len(wav) // hop
    per = GROUP_SAMPLES // hop
    total = -(-len(wav) // GROUP_SAMPLES)  # a trailing partial group included
    cuts = [0, total, *(min(total, max(0, b // GROUP_SAMPLES)) for b in piece_samples)]
    out = []
    for w in plan_cuts(cuts, total, context_groups):
        a, b = min(n_tok, w.first * per), min(n_tok, w.stop * per)
        if a == b:  # a partial last group too short for a token
            continue
        toks = run(wav[None, sample_span(w, len(wav))])[0]
        out.append(toks[w.skip * per : w.skip * per + (b - a)])
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def decode_chunked(
    run: Callable[[np.ndarray], np.ndarray], ids: np.ndarray, context_groups: int, chunk_groups: int
) -> np.ndarray:
    """Decode interleaved ids in chunks of ``chunk_groups`` groups with ``context_groups``
    groups of context on either side, trimming the context's audio."""
    ids = np.asarray(ids, np.int64).reshape(-1)
    n_g = len(ids) // TOKENS_PER_GROUP
    out = []
    for w in plan(0, n_g, n_g, chunk_groups, context_groups):
        y = run(ids[None, w.lo * TOKENS_PER_GROUP : w.hi * TOKENS_PER_GROUP])[0]
        out.append(y[w.skip * GROUP_SAMPLES : (w.skip + w.keep) * GROUP_SAMPLES])
    return np.concatenate(out) if out else np.zeros(0, np.float32)


class ReferenceCodec:
    """Runs the reference ONNX models: audio (16 kHz) <-> Step-Audio interleaved token ids."""

    def __init__(self, model_dir: str | Path, threads: int | None = None):
        import onnxruntime as ort

        model_dir = Path(model_dir)
        so = ort.SessionOptions()
        if threads is not None:  # threads=1 for one-core RTF measurements
            so.intra_op_num_threads = threads
            so.inter_op_num_threads = 1
            so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.sessions = {
            n: ort.InferenceSession(
                str(model_dir / n / "1" / "model.onnx"), so, providers=["CPUExecutionProvider"]
            )
            for n in ONNX_MODELS
        }
        meta = self.sessions[SEMANTIC_TOKENIZER].get_modelmeta().custom_metadata_map
        self.context_groups = int(meta.get("context_groups", 4))

    def _run(self, name: str, feed: dict[str, np.ndarray]) -> np.ndarray:
        return self.sessions[name].run(None, feed)[0]

    def linguistic(self, wav: np.ndarray) -> np.ndarray:
        return self._run(LINGUISTIC_TOKENIZER, {"waveform": _batch(wav)})

    def semantic(self, wav: np.ndarray) -> np.ndarray:
        return self._run(SEMANTIC_TOKENIZER, {"waveform": _batch(wav)})

    def tokenize(self, wav16k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mono 16 kHz waveform -> (linguistic [S//960], semantic [S//640]) int64 ids."""
        x = _batch(wav16k)
        return self.linguistic(x)[0], self.semantic(x)[0]

    def encode(self, wav16k: np.ndarray) -> np.ndarray:
        """Waveform -> interleaved Step-Audio ids."""
        return interleave(*self.tokenize(wav16k))

    def features(self, interleaved: np.ndarray) -> np.ndarray:
        ids = np.asarray(interleaved, np.int64)
        ids = ids.reshape(1, -1) if ids.ndim == 1 else ids
        whole = ids.shape[1] // TOKENS_PER_GROUP * TOKENS_PER_GROUP
        return self._run(TOKEN_DECODER, {"audio_tokens": ids[:, :whole]})

    def detokenize(self, interleaved: np.ndarray) -> np.ndarray:
        """Interleaved ids [5G] (or [B, 5G]) -> waveform [1920 G] (or [B, 1920 G]) at 16 kHz."""
        ids = np.asarray(interleaved, np.int64)
        y = self._run(VOCODER, {"acoustic_features": self.features(ids)})
        return y[0] if ids.ndim == 1 else y


def _batch(wav: np.ndarray) -> np.ndarray:
    x = np.asarray(wav, np.float32)
    return x[None] if x.ndim == 1 else x
