"""The default speaker baked into token_decoder at conversion: CosyVoice's three prompt inputs.

From a prompt recording: the x-vector (campplus.onnx on Kaldi fbank, mean-normalised over time,
as CosyVoice's frontend does), the prompt's interleaved ids (the converted tokenizers, so the
prompt is tokenized exactly as requests will be) and its 80-bin mel at 22050 Hz (CosyVoice's
matcha mel: n_fft 1024, hop 256, Hann, reflect padding 384, |X|, Slaney mel 0-8000 Hz,
ln(max(x, 1e-5))), cut to the frames the flow gives those tokens. Without a recording: a zero
x-vector and no prompt (a neutral voice, not a real speaker; docs/step-audio.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import soundfile as sf
import soxr

from voxgate.interleave import GROUP_SAMPLES, Tokens
from voxgate.step_audio import features
from voxgate.step_audio.graphs import GROUP_OUT, HOP, OUTPUT_RATE, Speaker
from voxgate.step_audio.sources import SourceError

MAX_PROMPT_GROUPS = 250  # 30 s: one tokenizer window


def neutral(embedding_dim: int) -> Speaker:
    return Speaker(
        np.zeros((1, embedding_dim), np.float32),
        np.zeros((1, 0), np.int64),
        np.zeros((1, 0, 80), np.float32),
    )


def cosyvoice_mel(wav22k: np.ndarray) -> np.ndarray:
    """[S] at 22050 Hz -> [S // 256, 80] log mel as CosyVoice's flow was trained on."""
    n_fft, pad = 1024, (1024 - HOP) // 2
    x = np.pad(np.asarray(wav22k, np.float64), pad, mode="reflect")
    n = 1 + (len(x) - n_fft) // HOP
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::HOP][:n]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    spectrum = np.fft.rfft(frames * window, axis=1)
    magnitude = np.sqrt(spectrum.real**2 + spectrum.imag**2 + 1e-9)
    mel = magnitude @ features.slaney_mel_filters(OUTPUT_RATE, n_fft, 80, 0.0, 8000.0).T
    return np.log(np.maximum(mel, 1e-5)).astype(np.float32)


def _load(path: Path) -> tuple[np.ndarray, int]:
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as err:
        raise SourceError(f"{path}: cannot read as audio ({err})") from None
    return data.mean(axis=1), rate


def from_recording(
    path: Path, campplus: Path, linguistic: Path, semantic: Path
) -> tuple[Speaker, dict]:
    """The speaker of a prompt recording; `linguistic`/`semantic` are the converted tokenizers."""
    audio, rate = _load(path)
    wav16 = soxr.resample(audio, rate, 16000).astype(np.float32)
    groups = min(len(wav16) // GROUP_SAMPLES, MAX_PROMPT_GROUPS)
    if groups < 1:
        raise SourceError(f"{path}: shorter than one 120 ms group")
    wav16 = wav16[: groups * GROUP_SAMPLES]

    fbank = ort.InferenceSession(features.kaldi_fbank_model(1.0).SerializeToString())
    feats = fbank.run(None, {"waveform": wav16[None]})[0][0]
    feats = feats - feats.mean(axis=0, keepdims=True)
    session = ort.InferenceSession(str(campplus))
    embedding = session.run(None, {session.get_inputs()[0].name: feats[None]})[0]

    def ids(model: Path, name: str) -> np.ndarray:
        return ort.InferenceSession(str(model)).run([name], {"waveform": wav16[None]})[0][0]

    ling = ids(linguistic, "linguistic_tokens")[: 2 * groups]
    sem = ids(semantic, "semantic_tokens")[: 3 * groups]
    tokens = Tokens(ling, sem).interleaved()

    wav22 = soxr.resample(wav16, 16000, OUTPUT_RATE)
    frames = groups * GROUP_OUT // HOP  # what the flow itself makes of `groups` groups
    mel = cosyvoice_mel(wav22)[:frames]
    mel = np.concatenate([mel, np.repeat(mel[-1:], frames - len(mel), axis=0)])
    speaker = Speaker(
        np.asarray(embedding, np.float32).reshape(1, -1),
        np.asarray(tokens, np.int64)[None],
        mel[None],
    )
    return speaker, {"recording": path.name, "groups": groups, "seconds": groups * 0.12}
