"""The committed reference ONNX models against their numpy references and the contract."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from voxgate.model_names import (  # noqa: E402
    JOINT_TOKENIZER,
    LINGUISTIC_TOKENIZER,
    ONNX_MODELS,
    SEMANTIC_TOKENIZER,
    TOKEN_DECODER,
    VOCODER,
)
from voxgate.reference import codec, decoder, dsp, encoder, onnx_export  # noqa: E402

MODELS = Path(
    os.environ.get("VOXGATE_REFERENCE_MODELS")
    or Path(__file__).resolve().parents[2] / "triton_models"
)
NAMES = ONNX_MODELS


def _path(name: str) -> Path:
    return MODELS / name / "1" / "model.onnx"


missing = [n for n in NAMES if not _path(n).exists()]
pytestmark = pytest.mark.skipif(
    bool(missing),
    reason=f"reference artifacts missing ({', '.join(missing)}): run "
    "`python -m voxgate.reference.build`",
)


@pytest.fixture(scope="module")
def sessions():
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    return {
        n: ort.InferenceSession(str(_path(n)), so, providers=["CPUExecutionProvider"])
        for n in NAMES
    }


@pytest.fixture(scope="module")
def enc_prm():
    return onnx_export.encoder_params(onnx.load(str(_path(SEMANTIC_TOKENIZER))))


@pytest.fixture(scope="module")
def dec_prm():
    return onnx_export.decoder_params(onnx.load(str(_path(TOKEN_DECODER))))


def _synthetic(seconds: float, seed: int) -> np.ndarray:
    """Speech-like test signal: gliding harmonic source with formant-ish AM, noise and gaps."""
    rng = np.random.default_rng(seed)
    n = int(seconds * dsp.SR)
    t = np.arange(n) / dsp.SR
    f0 = 110 + 60 * np.sin(2 * np.pi * 0.7 * t + seed)
    ph = 2 * np.pi * np.cumsum(f0) / dsp.SR
    x = sum(np.sin(h * ph) / h for h in range(1, 30))
    x *= 0.5 + 0.5 * np.sin(2 * np.pi * 3.1 * t) ** 2
    x += 0.05 * rng.standard_normal(n)
    x[(t % 1.3) > 1.1] *= 0.01
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    """A real utterance (flite, held-out voice) when flite is available, else synthetic."""
    if shutil.which("flite") and shutil.which("sox"):
        from voxgate.reference import corpus

        return corpus.synthesize_flite("The quick brown fox jumps over the lazy dog.", "slt")
    return _synthetic(3.0, 0)


def _run(sess, name, x):
    inp = sess[name].get_inputs()[0].name
    return sess[name].run(None, {inp: x})[0]


def _ling(sess):
    return lambda x: _run(sess, LINGUISTIC_TOKENIZER, x)


def _sem(sess):
    return lambda x: _run(sess, SEMANTIC_TOKENIZER, x)


def test_contract_io(sessions):
    for name, (i, o) in {
        LINGUISTIC_TOKENIZER: ("waveform", "linguistic_tokens"),
        SEMANTIC_TOKENIZER: ("waveform", "semantic_tokens"),
        TOKEN_DECODER: ("audio_tokens", "acoustic_features"),
        VOCODER: ("acoustic_features", "waveform"),
    }.items():
        assert [x.name for x in sessions[name].get_inputs()] == [i]
        assert [x.name for x in sessions[name].get_outputs()] == [o]
        m = onnx.load(str(_path(name)), load_external_data=False)
        assert m.ir_version == 9
        assert all(op.version <= 17 for op in m.opset_import if op.domain in ("", "ai.onnx"))


def test_vocoder_graph_is_float32_and_noise_free():
    m = onnx.load(str(_path(VOCODER)))
    ops = {n.op_type for n in m.graph.node}
    assert not ops & {
        "RandomNormal",
        "RandomUniform",
        "RandomNormalLike",
        "RandomUniformLike",
        "DFT",
    }
    for init in m.graph.initializer:
        assert init.data_type in (onnx.TensorProto.FLOAT, onnx.TensorProto.INT64)
    for n in m.graph.node:
        if n.op_type == "Cast":
            assert n.attribute[0].i in (onnx.TensorProto.FLOAT, onnx.TensorProto.INT64)


def test_manifest_matches_artifacts():
    import hashlib

    man = json.loads((MODELS / "reference_manifest.json").read_text())
    assert 1 <= man["context_groups"] <= 4
    assert 0 <= man["decoder_context_groups"] <= 2
    total = 0
    for name in NAMES:
        data = _path(name).read_bytes()
        total += len(data)
        assert man["models"][name]["sha256"] == hashlib.sha256(data).hexdigest()
    assert total < 20e6


def test_tokenizers_match_numpy(sessions, enc_prm, speech):
    x = np.stack([speech[:-7], speech[7:]])
    ling = _run(sessions, LINGUISTIC_TOKENIZER, x)
    sem = _run(sessions, SEMANTIC_TOKENIZER, x)
    enc_prm_l = onnx_export.encoder_params(onnx.load(str(_path(LINGUISTIC_TOKENIZER))))
    gains = onnx.numpy_helper.to_array(
        next(
            i
            for i in onnx.load(str(_path(LINGUISTIC_TOKENIZER))).graph.initializer
            if i.name == "gain_table"
        )
    )
    enc_prm_l.dec_table[:, 0] = gains[:, 0]
    enc_prm_l.dec_table[:, dsp.N_CEP] = gains[:, 1]
    np.testing.assert_array_equal(sem, encoder.semantic_tokens(x, enc_prm))
    np.testing.assert_array_equal(ling, encoder.linguistic_tokens(x, enc_prm_l))


def test_token_shapes_and_ranges(sessions):
    for s in (0, 1, 639, 640, 959, 960, 1920 * 3 + 17):
        x = _synthetic(1.0, 1)[:s][None] if s else np.zeros((1, 0), np.float32)
        if s and x.shape[1] < s:
            x = np.pad(x, ((0, 0), (0, s - x.shape[1])))
        ling = _run(sessions, LINGUISTIC_TOKENIZER, x)
        sem = _run(sessions, SEMANTIC_TOKENIZER, x)
        assert ling.shape == (1, s // 960) and ling.dtype == np.int64
        assert sem.shape == (1, s // 640) and sem.dtype == np.int64
    x = np.stack([_synthetic(2.0, k) for k in range(2)])
    x[1, :5000] = 0.0
    ling = _run(sessions, LINGUISTIC_TOKENIZER, x)
    sem = _run(sessions, SEMANTIC_TOKENIZER, x)
    assert ling.min() >= 0 and ling.max() < 1024
    assert sem.min() >= 0 and sem.max() < 4096


def test_joint_tokenizer_gives_the_two_tokenizers_ids(sessions, speech):
    """One shared analysis, the same ids as the two tokenizers, at every length and in a batch."""
    joint = sessions[JOINT_TOKENIZER]
    assert [o.name for o in joint.get_outputs()] == ["linguistic_tokens", "semantic_tokens"]
    long = np.concatenate([speech, _synthetic(2.0, 4)])
    for s in (0, 1, 639, 640, 959, 960, 1279, 1920 * 3 + 17, 1920 * 7 + 961, len(long)):
        x = long[:s][None]
        ling, sem = joint.run(None, {"waveform": x})
        np.testing.assert_array_equal(ling, _run(sessions, LINGUISTIC_TOKENIZER, x))
        np.testing.assert_array_equal(sem, _run(sessions, SEMANTIC_TOKENIZER, x))
    both = np.stack([speech[:30000], 3.0 * _synthetic(30000 / dsp.SR, 9)]).clip(-1, 1)
    ling, sem = joint.run(None, {"waveform": both})
    np.testing.assert_array_equal(ling, _run(sessions, LINGUISTIC_TOKENIZER, both))
    np.testing.assert_array_equal(sem, _run(sessions, SEMANTIC_TOKENIZER, both))


def test_determinism_and_batch_independence(sessions, speech):
    a, b = speech[:32000], _synthetic(2.0, 3)
    both = np.stack([a, b])
    for name in (LINGUISTIC_TOKENIZER, SEMANTIC_TOKENIZER):
        whole = _run(sessions, name, both)
        again = _run(sessions, name, both)
        np.testing.assert_array_equal(whole, again)
        np.testing.assert_array_equal(whole[0], _run(sessions, name, a[None])[0])
        np.testing.assert_array_equal(whole[1], _run(sessions, name, b[None])[0])
    ids = np.stack(
        [
            codec.interleave(_ling(sessions)(a[None])[0], _sem(sessions)(a[None])[0]),
            codec.interleave(_ling(sessions)(b[None])[0], _sem(sessions)(b[None])[0]),
        ]
    )
    feats = _run(sessions, TOKEN_DECODER, ids)
    y = _run(sessions, VOCODER, feats)
    np.testing.assert_array_equal(y, _run(sessions, VOCODER, feats))
    y0 = _run(sessions, VOCODER, _run(sessions, TOKEN_DECODER, ids[:1]))
    np.testing.assert_allclose(y[0], y0[0], atol=1e-5)


def _splits(rng, n, aligned):
    k = int(rng.integers(1, 5))
    pts = rng.integers(1, n, size=k)
    return [int(p) // dsp.GROUP * dsp.GROUP for p in pts] if aligned else [int(p) for p in pts]


@pytest.mark.parametrize("aligned", [True, False])
def test_split_tokenization_equals_whole(sessions, speech, aligned):
    cg = onnx_export.encoder_params(onnx.load(str(_path(SEMANTIC_TOKENIZER)))).context_groups
    rng = np.random.default_rng(11 + aligned)
    wav = np.concatenate([speech, _synthetic(1.5, 5)])
    for name, hop in ((LINGUISTIC_TOKENIZER, 960), (SEMANTIC_TOKENIZER, 640)):

        def run(x, n=name):
            return _run(sessions, n, x)

        whole = run(wav[None])[0]
        for _ in range(3):
            cuts = _splits(rng, len(wav), aligned)
            np.testing.assert_array_equal(codec.tokenize_chunked(run, wav, hop, cg, cuts), whole)


def _snr(ref, test):
    return 10 * np.log10(np.sum(ref**2) / max(np.sum((ref - test) ** 2), 1e-20))


def test_decoder_matches_numpy_and_chunks(sessions, dec_prm, speech):
    ids = codec.interleave(_ling(sessions)(speech[None])[0], _sem(sessions)(speech[None])[0])
    feats = _run(sessions, TOKEN_DECODER, ids[None])
    np.testing.assert_allclose(feats, decoder.token_decoder(ids[None], dec_prm), atol=1e-4)
    y = _run(sessions, VOCODER, feats)
    y_np = decoder.vocoder(feats)
    assert y.shape == (1, len(ids) // 5 * dsp.GROUP)
    assert _snr(y_np[0], y[0]) > 40
    assert np.isfinite(y).all() and np.abs(y).max() < 4

    def run(x):
        return _run(sessions, VOCODER, _run(sessions, TOKEN_DECODER, x))

    k = decoder.DECODER_CONTEXT_GROUPS
    for chunk in (1, 2, 5):
        chunked = codec.decode_chunked(run, ids, k, chunk)
        assert _snr(y[0], chunked) >= 30, chunk


def test_decoder_is_robust_to_any_ids(sessions):
    rng = np.random.default_rng(0)
    ids = rng.integers(-5, 6000, size=(2, 5 * 7))
    y = _run(sessions, VOCODER, _run(sessions, TOKEN_DECODER, ids))
    assert y.shape == (2, 7 * dsp.GROUP) and np.isfinite(y).all()


def test_codec_roundtrip(speech):
    c = codec.ReferenceCodec(MODELS, threads=1)
    ling, sem = c.tokenize(speech)
    assert len(ling) == len(speech) // 960 and len(sem) == len(speech) // 640
    ids = codec.interleave(ling, sem)
    y = c.detokenize(ids)
    assert y.shape == (len(ids) // 5 * dsp.GROUP,)
    n = len(y)
    # Loose sanity: the output follows the input's energy contour.
    e_in = np.sqrt(np.mean(speech[:n].reshape(-1, 1920) ** 2, 1))
    e_out = np.sqrt(np.mean(y.reshape(-1, 1920) ** 2, 1))
    assert np.corrcoef(e_in, e_out)[0, 1] > 0.7


def test_soft_limit_is_identity_below_the_knee_and_stays_inside_full_scale():
    x = np.linspace(-40, 40, 80001, dtype=np.float32)
    y = decoder.soft_limit(x)
    inside = np.abs(x) <= decoder.OUTPUT_KNEE
    np.testing.assert_array_equal(y[inside], x[inside])
    assert np.abs(y).max() <= 1.0 and np.all(np.diff(y) >= 0)  # bounded, monotonic
    assert np.abs(np.diff(y)).max() <= 1.0 / 1000 + 1e-6  # continuous: slope <= 1


def test_loud_features_come_out_below_full_scale_as_in_numpy(sessions, speech):
    ids = codec.interleave(_ling(sessions)(speech[None])[0], _sem(sessions)(speech[None])[0])
    feats = _run(sessions, TOKEN_DECODER, ids[None])
    feats[..., 0] += 2.0 * np.sqrt(dsp.N_MEL)  # c0: mean log-mel power + 2 nats (about +17 dB)
    y = _run(sessions, VOCODER, feats)[0]
    y_np = decoder.vocoder(feats)[0]
    assert np.abs(y).max() <= 1.0  # (tanh reaches 1 in float32 for the loudest peaks)
    assert np.mean(np.abs(y) > decoder.OUTPUT_KNEE) > 0.01  # the limiter was needed here
    assert _snr(y_np, y) > 40
