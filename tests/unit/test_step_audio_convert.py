"""The step-audio converter: its feature graphs against numpy references, its wrappers, its
configs, and its refusals of missing or malformed sources (with the CLI's exit status)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2
from voxgate.cli import main
from voxgate.cli_errors import Exit
from voxgate.core.chunking import plan_aligned
from voxgate.step_audio import features
from voxgate.step_audio.convert import OutputError, convert
from voxgate.step_audio.sources import SourceError

from tests.conftest import speechlike
from tests.tiny_step_audio_codec import build_tokenizer_dir, build_tts_dir


def _run(model: onnx.ModelProto | Path, feeds: dict) -> list[np.ndarray]:
    source = str(model) if isinstance(model, Path) else model.SerializeToString()
    return ort.InferenceSession(source).run(None, feeds)


# -- numpy references, written independently of features.py (loops, Hz-domain triangles) ----


def slaney_reference(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    """librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels) (Slaney scale and norm), built
    one triangle at a time: Slaney's mel is 3 f / 200 below 1 kHz and 15 + 27 log_6.4(f / 1000)
    above; n_mels + 2 points equally spaced on it from 0 to sr / 2; filter i rises from point i
    to point i + 1 and falls to point i + 2 (in Hz, over the FFT bin frequencies), scaled by
    2 / (width in Hz) so each has the same area."""

    def to_hz(m):
        return 200 * m / 3 if m < 15 else 1000 * 6.4 ** ((m - 15) / 27)

    top = 15 + 27 * math.log(sr / 2 / 1000, 6.4)
    points = [to_hz(top * i / (n_mels + 1)) for i in range(n_mels + 2)]
    freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    out = np.zeros((n_mels, len(freqs)))
    for i in range(n_mels):
        lo, mid, hi = points[i : i + 3]
        for k, f in enumerate(freqs):
            w = (f - lo) / (mid - lo) if f <= mid else (hi - f) / (hi - mid)
            out[i, k] = max(0.0, w) * 2 / (hi - lo)
    return out


def whisper_reference(x: np.ndarray) -> np.ndarray:
    """Whisper's log_mel_spectrogram in float64 numpy (STFT centred with reflect padding)."""
    padded = np.pad(x.astype(np.float64), 200, mode="reflect")
    window = np.hanning(401)[:-1]  # periodic Hann of 400
    frames = [padded[i * 160 : i * 160 + 400] for i in range(1 + len(x) // 160)]
    power = np.abs(np.fft.rfft(np.array(frames) * window, axis=1)) ** 2
    mel = slaney_reference(16000, 400, 128) @ power[:-1].T
    log = np.log10(np.maximum(mel, 1e-10))
    return (np.maximum(log, log.max() - 8.0) + 4.0) / 4.0


def kaldi_reference(x: np.ndarray, scale: float) -> np.ndarray:
    """torchaudio.compliance.kaldi.fbank(80 bins, dither 0, hamming, snip_edges), per frame."""
    x = x.astype(np.float64) * scale
    n = 1 + (len(x) - 400) // 160
    rows = []
    banks = features.kaldi_mel_banks()
    for i in range(n):
        f = x[i * 160 : i * 160 + 400].copy()
        f -= f.mean()
        f = np.concatenate([[f[0] - 0.97 * f[0]], f[1:] - 0.97 * f[:-1]])
        f *= 0.54 - 0.46 * np.cos(2 * np.pi * np.arange(400) / 399)
        power = np.abs(np.fft.rfft(f, 512)) ** 2
        rows.append(np.log(np.maximum(banks @ power, np.finfo(np.float32).eps)))
    return np.array(rows)


def lfr_reference(feats: np.ndarray) -> np.ndarray:
    """FunASR's apply_lfr(m=7, n=6), as its loop does it."""
    t = len(feats)
    padded = np.vstack([np.repeat(feats[:1], 3, axis=0), feats])
    t_lfr = math.ceil(t / 6)
    out = []
    for i in range(t_lfr):
        if len(padded) - i * 6 >= 7:
            out.append(padded[i * 6 : i * 6 + 7].reshape(-1))
        else:
            rest = padded[i * 6 :]
            rest = np.vstack([rest, np.repeat(padded[-1:], 7 - len(rest), axis=0)])
            out.append(rest.reshape(-1))
    return np.array(out)


# -- features ---------------------------------------------------------------------------------


def test_slaney_filterbank_matches_the_reference_construction():
    np.testing.assert_allclose(
        features.slaney_mel_filters(16000, 400, 128), slaney_reference(16000, 400, 128), atol=1e-9
    )


@pytest.mark.parametrize("n", [16000, 16000 * 2 + 1234])
def test_whisper_log_mel_graph_matches_numpy(n):
    x = speechlike(n / 16000, seed=n)[:n]
    x[: n // 4] *= 1e-4  # quiet part: the 1e-10 floor and the max - 8 clamp both matter
    (mel,) = _run(features.whisper_log_mel_model(), {"waveform": x[None]})
    ref = whisper_reference(x)
    assert mel.shape == (1, 128, n // 160) == (1, *ref.shape)
    np.testing.assert_allclose(mel[0], ref, atol=2e-3)


def test_kaldi_fbank_and_lfr_cmvn_graphs_match_numpy():
    x = speechlike(1.3, seed=4)
    (fbank,) = _run(features.kaldi_fbank_model(features.PARAFORMER_SCALE), {"waveform": x[None]})
    ref = kaldi_reference(x, features.PARAFORMER_SCALE)
    assert fbank.shape == (1, *ref.shape)
    np.testing.assert_allclose(fbank[0], ref, atol=2e-3, rtol=1e-4)
    rng = np.random.default_rng(0)
    shift, scale = rng.normal(-10, 1, 560), rng.uniform(0.2, 0.4, 560)
    model = features.paraformer_features_model(shift.astype(np.float32), scale.astype(np.float32))
    (speech,) = _run(model, {"waveform": x[None]})
    expected = (lfr_reference(ref) + shift) * scale
    assert speech.shape == (1, *expected.shape)
    np.testing.assert_allclose(speech[0], expected, atol=2e-3, rtol=1e-4)


def test_am_mvn_parse_refuses_wrong_sizes(tmp_path):
    build_tokenizer_dir(tmp_path)
    shift, scale = features.parse_am_mvn((tmp_path / "am.mvn").read_text())
    assert shift.shape == scale.shape == (560,) and (shift < 0).all()
    short = "<AddShift> 560 560\n[ " + "1 " * 560 + "]\n<Rescale> 3 3\n[ 1 2 3 ]\n"
    with pytest.raises(ValueError, match="<Rescale> has 3 values, expected 560"):
        features.parse_am_mvn(short)


# -- conversion ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("sources")
    return build_tokenizer_dir(root / "tokenizer"), build_tts_dir(root / "tts")


@pytest.fixture(scope="module")
def repo(sources, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out") / "models"
    convert(sources[0], out, sources[1])
    return out


def _config(path: Path) -> model_config_pb2.ModelConfig:
    return text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())


def test_repository_has_cpu_and_gpu_configs_with_the_facade_parameters(repo):
    leaves = ["linguistic_tokenizer", "semantic_tokenizer", "token_decoder", "vocoder"]
    for name in leaves:
        cpu, gpu = (_config(repo / name / "configs" / f"{k}.pbtxt") for k in ("cpu", "gpu"))
        assert cpu.name == gpu.name == name and (repo / name / "1" / "model.onnx").is_file()
        assert cpu.backend == "voxgate_onnx" and gpu.platform == "onnxruntime_onnx"
        assert [i.name for i in cpu.input] == [i.name for i in gpu.input]
        onnx.checker.check_model(str(repo / name / "1" / "model.onnx"))
    params = {
        k: v.string_value
        for k, v in _config(repo / leaves[0] / "configs/cpu.pbtxt").parameters.items()
    }
    assert params == {
        "context_groups": "0",
        "profile": "step-audio",
        "window_groups": "250",
        "intra_op_threads": "1",
    }
    dec = _config(repo / "token_decoder/configs/gpu.pbtxt").parameters
    assert dec["decoder_context_groups"].string_value == "2"
    vocoder = _config(repo / "vocoder/configs/gpu.pbtxt")
    assert vocoder.parameters["sample_rate"].string_value == "22050"
    accel = vocoder.optimization.execution_accelerators.gpu_execution_accelerator[0]
    assert accel.name == "tensorrt"
    for name in ("tokenize", "detokenize"):
        assert _config(repo / name / "config.pbtxt").platform == "ensemble"
    assert not (repo / "speaker_adapter").exists() and not (repo / "tts_generator").exists()


def test_tokenizer_graphs_count_and_quantise_as_step_audio(repo, sources):
    x = speechlike(2.05, seed=8)
    n = len(x)
    (ling,) = _run(repo / "linguistic_tokenizer/1/model.onnx", {"waveform": x[None]})
    (sem,) = _run(repo / "semantic_tokenizer/1/model.onnx", {"waveform": x[None]})
    assert ling.shape == (1, n // 960) and sem.shape == (1, n // 640)
    assert ling.dtype == sem.dtype == np.int64 and sem.min() >= 0 and sem.max() < 4096
    # vq02 by hand: front end, encoder, then the Euclidean nearest of the 1024 centroids.
    shift, scale = features.parse_am_mvn((sources[0] / "am.mvn").read_text())
    (speech,) = _run(features.paraformer_features_model(shift, scale), {"waveform": x[None]})
    lengths = np.array([speech.shape[1]], np.int32)
    enc = _run(
        sources[0] / "paraformer_encoder.onnx", {"speech": speech, "speech_lengths": lengths}
    )[0][0]
    codebook = np.load(sources[0] / "linguistic_tokenizer.npy").astype(np.float64)
    dist = ((enc[:, None, :] - codebook[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(ling[0], dist.argmin(1)[: n // 960])
    # vq06 by hand: Whisper log-mel into speech_tokenizer_v1 with its frame count.
    (mel,) = _run(features.whisper_log_mel_model(), {"waveform": x[None]})
    feeds = {"feats": mel, "feats_length": np.array([mel.shape[2]], np.int32)}
    ids = _run(sources[0] / "speech_tokenizer_v1.onnx", feeds)[0][0]
    np.testing.assert_array_equal(sem[0], ids[: n // 640])


@pytest.mark.parametrize("groups", [1, 7, 31])
def test_decoder_gives_2646_samples_per_group(repo, groups):
    ids = (np.arange(5 * groups) * 997 % 5120)[None].astype(np.int64)
    (mel,) = _run(repo / "token_decoder/1/model.onnx", {"audio_tokens": ids})
    assert mel.shape == (1, math.ceil(groups * 2646 / 256), 80)
    (wav,) = _run(repo / "vocoder/1/model.onnx", {"acoustic_features": mel})
    assert wav.shape == (1, groups * 2646)


def test_speaker_recording_is_baked_into_the_decoder(repo, sources, tmp_path):
    import soundfile as sf

    sf.write(tmp_path / "spk.wav", speechlike(1.0, 22050, seed=2), 22050)
    manifest = convert(sources[0], tmp_path / "voiced", sources[1], tmp_path / "spk.wav")
    assert manifest["default_speaker"]["groups"] == 8
    ids = (np.arange(25) * 313 % 5120)[None].astype(np.int64)
    neutral = _run(repo / "token_decoder/1/model.onnx", {"audio_tokens": ids})[0]
    voiced = _run(tmp_path / "voiced/token_decoder/1/model.onnx", {"audio_tokens": ids})[0]
    assert neutral.shape == voiced.shape and not np.allclose(neutral, voiced)


def test_plan_aligned_cuts_at_whole_windows():
    windows = plan_aligned(3, 530, 531, 250)
    assert [(w.first, w.stop, w.lo, w.hi) for w in windows] == [
        (3, 250, 0, 250),
        (250, 500, 250, 500),
        (500, 530, 500, 531),
    ]


# -- refusals -------------------------------------------------------------------------------------


def _broken(sources, tmp_path, tweak) -> tuple[Path, Path]:
    tok, tts = tmp_path / "tok", tmp_path / "tts"
    shutil.copytree(sources[0], tok)
    shutil.copytree(sources[1], tts)
    tweak(tok, tts / "CosyVoice-300M-25Hz")
    return tok, tts


def _reshape_codebook(tok, _):
    np.save(tok / "linguistic_tokenizer.npy", np.zeros((1024, 256), np.float32))


def _swap_encoder(tok, _):
    shutil.copy(tok / "speech_tokenizer_v1.onnx", tok / "paraformer_encoder.onnx")


def _hift_as_flow(_, cosy):
    shutil.copy(cosy / "hift.onnx", cosy / "flow.onnx")


@pytest.mark.parametrize(
    "tweak,message",
    [
        (
            lambda tok, _: (tok / "speech_tokenizer_v1.onnx").unlink(),
            "speech_tokenizer_v1.onnx: missing",
        ),
        (_reshape_codebook, r"shape \(1024, 256\) dtype float32, expected float \(1024, 512\)"),
        (lambda tok, _: (tok / "am.mvn").write_text("<Nnet>\n</Nnet>\n"), "am.mvn: no <AddShift>"),
        (_swap_encoder, r"paraformer_encoder.onnx: expected enc \[B, T, 512\]"),
        (lambda _, cosy: (cosy / "hift.onnx").write_bytes(b"not onnx"), "hift.onnx: not an ONNX"),
        (_hift_as_flow, r"flow.onnx: inputs \['speech_feat'\], expected"),
        (lambda _, cosy: (cosy / "campplus.onnx").unlink(), "campplus.onnx: missing"),
    ],
)
def test_bad_sources_are_refused_before_writing(sources, tmp_path, tweak, message):
    tok, tts = _broken(sources, tmp_path, tweak)
    out = tmp_path / "out"
    with pytest.raises(SourceError, match=message):
        convert(tok, out, tts)
    assert not out.exists() and not list(tmp_path.glob("*.converting"))


def test_cli_exit_statuses(sources, tmp_path, capsys):
    tok, _ = _broken(sources, tmp_path, _reshape_codebook)
    assert (
        main(["models", "convert", "step-audio", str(tok), "-o", str(tmp_path / "x")])
        == Exit.BAD_INPUT
    )
    assert "linguistic_tokenizer.npy: shape (1024, 256)" in capsys.readouterr().err
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep").write_text("")
    argv = ["models", "convert", "step-audio", str(sources[0]), "-o", str(out)]
    assert main(argv) == Exit.CANNOT_WRITE
    assert "exists and is not empty (use --force" in capsys.readouterr().err
    assert main([*argv, "--force"]) == Exit.OK
    assert (out / "tokenize" / "config.pbtxt").is_file() and not (out / "keep").exists()
    assert not (out / "detokenize").exists()  # no decoder given: tokenize only
    with pytest.raises(OutputError):
        convert(sources[0], out, None)
