"""Step-Audio's two front ends as ONNX subgraphs (so GPU configs run them in onnxruntime/TensorRT).

- Whisper log-mel (vq06, speech_tokenizer_v1): n_fft 400, hop 160, periodic Hann, centred frames
  (reflect padding), the last frame dropped as Whisper does, |X|^2, 128 Slaney mel bins, log10
  with a 1e-10 floor, max(x, x.max() - 8) per utterance, (x + 4) / 4.
- Kaldi fbank (vq02's Paraformer front end; campplus): 25 ms / 10 ms frames without padding
  (snip_edges), DC removal, pre-emphasis 0.97, Hamming window, 512-point power spectrum, 80
  triangular bins on Kaldi's mel scale (20 Hz .. Nyquist), natural log floored at float32
  epsilon, no dither. Paraformer scales the waveform by 2^15 first; then LFR (7 frames stacked
  every 6, the first repeated 3 times in front, the last repeated at the end) and CMVN from am.mvn.

Every linear step before the power spectrum (framing, DC removal, pre-emphasis, window, DFT) is
folded into one strided Conv, so the graphs use only Pad, Conv, Mul, Add, MatMul, Max, Log,
ReduceMax, Gather, Concat, Slice and Reshape: ops TensorRT also runs.
"""

from __future__ import annotations

import numpy as np

from voxgate.step_audio.onnx_util import FLOAT, Graph, value

SAMPLE_RATE = 16000
WHISPER_N_FFT, WHISPER_HOP, WHISPER_MELS = 400, 160, 128
KALDI_WINDOW, KALDI_SHIFT, KALDI_FFT, KALDI_MELS = 400, 160, 512, 80
LFR_M, LFR_N = 7, 6
PARAFORMER_SCALE = 32768.0  # FunASR's WavFrontend multiplies [-1, 1] audio by 2^15


# -- filterbanks (numpy, float64) ------------------------------------------------------------


def _hz_to_slaney_mel(f: np.ndarray) -> np.ndarray:
    # Slaney's scale (librosa's default, htk=False): linear below 1 kHz, logarithmic above.
    f = np.asarray(f, np.float64)
    linear = f / (200.0 / 3)
    log_part = 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(f >= 1000.0, log_part, linear)


def _slaney_mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, np.float64)
    return np.where(m >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)), m * 200.0 / 3)


def slaney_mel_filters(
    sr: int = SAMPLE_RATE, n_fft: int = 400, n_mels: int = 128, fmin: float = 0.0, fmax=None
) -> np.ndarray:
    """[n_mels, 1 + n_fft//2]: librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin,
    fmax) with htk=False, norm="slaney": the filterbank Whisper ships precomputed (16 kHz, 400,
    128) and CosyVoice's mel uses (22050 Hz, 1024, 80, fmax 8000)."""
    fmax = sr / 2 if fmax is None else fmax
    fft_freqs = np.linspace(0.0, sr / 2, 1 + n_fft // 2)
    lo, hi = _hz_to_slaney_mel(fmin), _hz_to_slaney_mel(fmax)
    mel_f = _slaney_mel_to_hz(np.linspace(lo, hi, n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    return weights * (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]  # Slaney area normalisation


def kaldi_mel_banks(n_mels: int = KALDI_MELS, sr: int = SAMPLE_RATE) -> np.ndarray:
    """[n_mels, KALDI_FFT//2 + 1]: Kaldi's triangular bins (mel = 1127 ln(1 + f/700),
    low 20 Hz, high Nyquist), zero on the Nyquist bin as torchaudio.compliance.kaldi pads it."""

    def mel(f):
        return 1127.0 * np.log(1.0 + np.asarray(f, np.float64) / 700.0)

    n_bins = KALDI_FFT // 2
    freqs = np.arange(n_bins) * sr / KALDI_FFT
    low, high = mel(20.0), mel(sr / 2)
    delta = (high - low) / (n_mels + 1)
    m = np.arange(n_mels)[:, None]
    left, center, right = low + m * delta, low + (m + 1) * delta, low + (m + 2) * delta
    up = (mel(freqs)[None] - left) / (center - left)
    down = (right - mel(freqs)[None]) / (right - center)
    banks = np.maximum(0.0, np.minimum(up, down))
    return np.concatenate([banks, np.zeros((n_mels, 1))], axis=1)


def _whisper_kernel() -> np.ndarray:
    """[2*201, 1, 400] Conv weights: Hann-windowed cosine and sine rows of the DFT."""
    n = np.arange(WHISPER_N_FFT)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / WHISPER_N_FFT)  # periodic, as torch.hann_window
    k = np.arange(WHISPER_N_FFT // 2 + 1)[:, None]
    angle = 2 * np.pi * k * n[None] / WHISPER_N_FFT
    return np.concatenate([np.cos(angle) * window, -np.sin(angle) * window])[:, None, :]


def _kaldi_kernel(scale: float) -> np.ndarray:
    """[2*257, 1, 400] Conv weights: scale, DC removal, pre-emphasis, Hamming, 512-point DFT."""
    n = KALDI_WINDOW
    frames = np.eye(n) * scale  # one column per input sample position
    frames = frames - frames.mean(axis=0, keepdims=True)  # remove_dc_offset
    emphasised = frames.copy()
    emphasised[1:] -= 0.97 * frames[:-1]
    emphasised[0] -= 0.97 * frames[0]  # Kaldi: x[0] -= 0.97 * x[0]
    hamming = 0.54 - 0.46 * np.cos(2 * np.pi * np.arange(n) / (n - 1))
    windowed = emphasised * hamming[:, None]  # [sample in frame, input position]
    k = np.arange(KALDI_FFT // 2 + 1)[:, None]
    angle = 2 * np.pi * k * np.arange(n)[None] / KALDI_FFT
    re, im = np.cos(angle) @ windowed, -np.sin(angle) @ windowed
    return np.concatenate([re, im])[:, None, :]


# -- subgraphs -------------------------------------------------------------------------------


def _power(g: Graph, waveform: str, kernel: np.ndarray, stride: int) -> str:
    """[B, S] waveform (already padded as needed) -> [B, bins, frames] power spectrum."""
    x = g.op("Unsqueeze", waveform, g.const([1], np.int64))
    spec = g.op("Conv", x, g.const(kernel), strides=[stride])
    re, im = g.op("Split", spec, g.const([kernel.shape[0] // 2] * 2, np.int64), axis=1, outputs=2)
    return g.op("Add", g.op("Mul", re, re), g.op("Mul", im, im))


def whisper_log_mel(g: Graph, waveform: str) -> str:
    """[B, S] float32 16 kHz -> [B, 128, S // 160] Whisper log-mel (needs S > 200)."""
    x = g.op("Unsqueeze", waveform, g.const([1], np.int64))
    pad = WHISPER_N_FFT // 2
    x = g.op("Pad", x, g.const([0, 0, pad, 0, 0, pad], np.int64), mode="reflect")
    x = g.op("Squeeze", x, g.const([1], np.int64))
    power = _power(g, x, _whisper_kernel(), WHISPER_HOP)
    # Whisper drops the last STFT frame: S // 160 frames remain.
    power = g.op(
        "Slice", power, g.const([0], np.int64), g.const([-1], np.int64), g.const([2], np.int64)
    )
    mel = g.op("MatMul", g.const(slaney_mel_filters()), power)
    log = g.op("Div", g.op("Log", g.op("Max", mel, g.const(1e-10))), g.const(np.log(10.0)))
    top = g.reduce_max(log, [1, 2])  # per utterance (batch item)
    log = g.op("Max", log, g.op("Sub", top, g.const(8.0)))
    return g.op("Div", g.op("Add", log, g.const(4.0)), g.const(4.0))


def kaldi_fbank(g: Graph, waveform: str, scale: float) -> str:
    """[B, S] float32 -> [B, 1 + (S - 400) // 160, 80] log mel fbank (needs S >= 400)."""
    power = _power(g, waveform, _kaldi_kernel(scale), KALDI_SHIFT)
    mel = g.op("MatMul", g.const(kaldi_mel_banks()), power)
    eps = float(np.finfo(np.float32).eps)
    return g.op("Transpose", g.op("Log", g.op("Max", mel, g.const(eps))), perm=[0, 2, 1])


def lfr_cmvn(g: Graph, feats: str, shift: np.ndarray, scale: np.ndarray) -> str:
    """[B, T, 80] -> [B, ceil(T / 6), 560]: FunASR's apply_lfr (m 7, n 6), then CMVN
    (x + shift) * scale."""
    head = (LFR_M - 1) // 2
    first = g.op(
        "Slice", feats, g.const([0], np.int64), g.const([1], np.int64), g.const([1], np.int64)
    )
    last = g.op(
        "Slice", feats, g.const([-1], np.int64), g.const([2**62], np.int64), g.const([1], np.int64)
    )
    padded = g.op("Concat", *([first] * head), feats, *([last] * LFR_M), axis=1)
    n = g.op("Gather", g.op("Shape", feats), g.const(1, np.int64), axis=0)
    # ceil(T / 6) output frames; frame i stacks padded frames [6 i, 6 i + 7).
    t_out = g.op("Div", g.op("Add", n, g.const(LFR_N - 1, np.int64)), g.const(LFR_N, np.int64))
    starts = g.op(
        "Mul",
        g.op("Range", g.const(0, np.int64), t_out, g.const(1, np.int64)),
        g.const(LFR_N, np.int64),
    )
    index = g.op(
        "Add",
        g.op("Unsqueeze", starts, g.const([1], np.int64)),
        g.const(np.arange(LFR_M)[None], np.int64),
    )  # [T', 7]
    stacked = g.op("Gather", padded, index, axis=1)  # [B, T', 7, 80]
    dims = g.const([0, 0, LFR_M * KALDI_MELS], np.int64)
    flat = g.op("Reshape", stacked, dims)
    return g.op("Mul", g.op("Add", flat, g.const(shift)), g.const(scale))


def parse_am_mvn(text: str) -> tuple[np.ndarray, np.ndarray]:
    """FunASR's am.mvn (Kaldi nnet text: <AddShift> then <Rescale>, 560 values each) ->
    (shift, scale). Raises ValueError naming what is missing or of the wrong size."""
    found: dict[str, np.ndarray] = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        for tag in ("<AddShift>", "<Rescale>"):
            if line.strip().startswith(tag):
                for nxt in lines[i + 1 : i + 3]:
                    if "[" in nxt:
                        body = nxt[nxt.index("[") + 1 : nxt.index("]")] if "]" in nxt else ""
                        found[tag] = np.array(body.split(), np.float32)
                        break
    for tag in ("<AddShift>", "<Rescale>"):
        if tag not in found:
            raise ValueError(f"no {tag} vector")
        if found[tag].shape != (LFR_M * KALDI_MELS,):
            raise ValueError(f"{tag} has {found[tag].size} values, expected {LFR_M * KALDI_MELS}")
    return found["<AddShift>"], found["<Rescale>"]


# -- standalone models (tests, conversion-time prompt features) ------------------------------


def whisper_log_mel_model():
    g = Graph("whisper_log_mel")
    g.op("Identity", whisper_log_mel(g, "waveform"), out="log_mel")
    return g.model(
        [value("waveform", FLOAT, ["B", "S"])], [value("log_mel", FLOAT, ["B", 128, "T"])]
    )


def kaldi_fbank_model(scale: float = 1.0):
    g = Graph("kaldi_fbank")
    g.op("Identity", kaldi_fbank(g, "waveform", scale), out="fbank")
    return g.model([value("waveform", FLOAT, ["B", "S"])], [value("fbank", FLOAT, ["B", "T", 80])])


def paraformer_features_model(shift: np.ndarray, scale: np.ndarray):
    g = Graph("paraformer_features")
    feats = kaldi_fbank(g, "waveform", PARAFORMER_SCALE)
    g.op("Identity", lfr_cmvn(g, feats, shift, scale), out="speech")
    return g.model(
        [value("waveform", FLOAT, ["B", "S"])], [value("speech", FLOAT, ["B", "T", 560])]
    )
