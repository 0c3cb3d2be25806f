"""Convenience API over the four ONNX files (onnxruntime), plus Step-Audio interleaving and
the context-padded chunking that the façade mirrors for streaming."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from . import dsp

LING_CODES = 1024
GROUP = dsp.GROUP
NAMES = ("linguistic_tokenizer", "semantic_tokenizer", "token_decoder", "vocoder")


def interleave(linguistic: np.ndarray, semantic: np.ndarray) -> np.ndarray:
    """Step-Audio interleaving: per group [l, l, s, s, s], semantic ids offset by 1024.

    Groups = min(len(l) // 2, len(s) // 3); leftovers are dropped.
    """
    lg = np.asarray(linguistic, np.int64).reshape(-1)
    sm = np.asarray(semantic, np.int64).reshape(-1)
    g = min(len(lg) // 2, len(sm) // 3)
    out = np.concatenate([lg[: 2 * g].reshape(g, 2), sm[: 3 * g].reshape(g, 3) + LING_CODES], 1)
    return out.reshape(-1)


def deinterleave(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    g = np.asarray(ids, np.int64).reshape(-1, 5)
    return g[:, :2].reshape(-1), g[:, 2:].reshape(-1) - LING_CODES


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
    ctx = context_groups * GROUP
    per = GROUP // hop
    bounds = {min(n_tok, max(0, b // GROUP * per)) for b in piece_samples}
    cuts = sorted({0, n_tok} | bounds)
    out = []
    for a, b in itertools.pairwise(cuts):
        start = max(0, a * hop - ctx)  # a group boundary: ctx and a * hop are multiples of 1920
        stop = min(len(wav), b * hop + ctx)
        toks = run(wav[None, start:stop])[0]
        first = (a * hop - start) // hop
        out.append(toks[first : first + (b - a)])
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def decode_chunked(
    run: Callable[[np.ndarray], np.ndarray], ids: np.ndarray, context_groups: int, chunk_groups: int
) -> np.ndarray:
    """Decode interleaved ids in chunks of ``chunk_groups`` groups with ``context_groups``
    groups of context on either side, trimming the context's audio."""
    ids = np.asarray(ids, np.int64).reshape(-1)
    n_g = len(ids) // 5
    out = []
    for a in range(0, n_g, chunk_groups):
        b = min(n_g, a + chunk_groups)
        s, e = max(0, a - context_groups), min(n_g, b + context_groups)
        y = run(ids[None, 5 * s : 5 * e])[0]
        out.append(y[(a - s) * GROUP : (b - s) * GROUP])
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
            for n in NAMES
        }
        meta = self.sessions["semantic_tokenizer"].get_modelmeta().custom_metadata_map
        self.context_groups = int(meta.get("context_groups", 4))

    def _run(self, name: str, feed: dict[str, np.ndarray]) -> np.ndarray:
        return self.sessions[name].run(None, feed)[0]

    def linguistic(self, wav: np.ndarray) -> np.ndarray:
        return self._run("linguistic_tokenizer", {"waveform": _batch(wav)})

    def semantic(self, wav: np.ndarray) -> np.ndarray:
        return self._run("semantic_tokenizer", {"waveform": _batch(wav)})

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
        return self._run("token_decoder", {"audio_tokens": ids[:, : ids.shape[1] // 5 * 5]})

    def detokenize(self, interleaved: np.ndarray) -> np.ndarray:
        """Interleaved ids [5G] (or [B, 5G]) -> waveform [1920 G] (or [B, 1920 G]) at 16 kHz."""
        ids = np.asarray(interleaved, np.int64)
        y = self._run("vocoder", {"acoustic_features": self.features(ids)})
        return y[0] if ids.ndim == 1 else y


def _batch(wav: np.ndarray) -> np.ndarray:
    x = np.asarray(wav, np.float32)
    return x[None] if x.ndim == 1 else x
