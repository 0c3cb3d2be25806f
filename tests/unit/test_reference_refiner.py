"""The learned decoder stage (voxgate.reference.refiner): graph == numpy reference, bounded
look-ahead of the whole decoder, deterministic training that improves on the lookup."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from voxgate.interleave import SEMANTIC_CODES, TOKENS_PER_GROUP  # noqa: E402
from voxgate.reference import decoder, dsp, onnx_export, refiner  # noqa: E402


def _params(seed: int) -> decoder.DecoderParams:
    rng = np.random.default_rng(seed)
    table = rng.normal(0, 3, (SEMANTIC_CODES, refiner.ROW)).astype(np.float32)
    table[:, [0, dsp.N_CEP]] -= 60.0  # speech-like c0
    table[:, 2 * dsp.N_CEP :] = rng.uniform(0, 1, (SEMANTIC_CODES, 2))
    n_in = (2 * refiner.WINDOW + 1) * refiner.IN

    def dense(a: int, b: int) -> np.ndarray:
        return (rng.normal(0, 1, (a, b)) / np.sqrt(a)).astype(np.float32)

    rp = refiner.RefinerParams(
        mean=rng.normal(0, 1, refiner.IN).astype(np.float32),
        scale=rng.uniform(0.5, 2, refiner.IN).astype(np.float32),
        w1=dense(n_in, refiner.HIDDEN),
        b1=rng.normal(0, 0.1, refiner.HIDDEN).astype(np.float32),
        w2=dense(refiner.HIDDEN, refiner.HIDDEN),
        b2=rng.normal(0, 0.1, refiner.HIDDEN).astype(np.float32),
        w3=dense(refiner.HIDDEN, refiner.ROW),
        b3=rng.normal(0, 0.1, refiner.ROW).astype(np.float32),
    )
    scale, offset = decoder.postfilter_rows(rng.normal(0, 1, dsp.N_CEP - 1), 1.15, -0.5)
    return decoder.DecoderParams(table, refiner=rp, row_scale=scale, row_offset=offset)


def _ids(rng: np.random.Generator, groups: int, batch: int = 1) -> np.ndarray:
    ids = np.empty((batch, groups, TOKENS_PER_GROUP), np.int64)
    ids[..., :2] = rng.integers(0, 1024, (batch, groups, 2))
    ids[..., 2:] = 1024 + rng.integers(0, SEMANTIC_CODES, (batch, groups, 3))
    return ids.reshape(batch, -1)


def test_token_decoder_graph_matches_numpy_with_a_refiner() -> None:
    prm = _params(0)
    model = onnx_export.token_decoder_model(prm)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    ids = _ids(np.random.default_rng(1), 9, batch=2)
    got = sess.run(None, {"audio_tokens": ids})[0]
    want = decoder.token_decoder(ids, prm)
    assert got.shape == (2, 9 * dsp.FRAMES_PER_GROUP, dsp.N_FEAT)
    np.testing.assert_allclose(got, want, atol=2e-3, rtol=1e-5)
    # The refiner changes the features (the test would pass vacuously otherwise).
    plain = decoder.token_decoder(ids, decoder.DecoderParams(prm.dec_table))
    assert np.abs(plain[..., : dsp.N_CEP] - want[..., : dsp.N_CEP]).max() > 0.1
    # Its constants round-trip through the graph.
    back = onnx_export.decoder_params(model)
    assert back.refiner is not None
    np.testing.assert_array_equal(back.refiner.w2, prm.refiner.w2)
    np.testing.assert_array_equal(back.row_scale, prm.row_scale)
    np.testing.assert_array_equal(back.row_offset, prm.row_offset)


def test_postfilter_sharpens_the_shape_and_trims_the_level_exactly() -> None:
    rng = np.random.default_rng(8)
    mu = rng.normal(0, 1, dsp.N_CEP - 1).astype(np.float32)
    prm = _params(6)
    ids = _ids(np.random.default_rng(9), 6)
    plain = decoder.DecoderParams(prm.dec_table, refiner=prm.refiner)
    scale, offset = decoder.postfilter_rows(mu, 1.3, 0.0)
    sharp = decoder.DecoderParams(
        prm.dec_table, refiner=prm.refiner, row_scale=scale, row_offset=offset
    )
    a = decoder.token_decoder(ids, plain)
    b = decoder.token_decoder(ids, sharp)
    np.testing.assert_allclose(
        b[..., 1 : dsp.N_CEP] - mu, 1.3 * (a[..., 1 : dsp.N_CEP] - mu), atol=1e-3
    )
    np.testing.assert_array_equal(b[..., dsp.N_CEP :], a[..., dsp.N_CEP :])
    np.testing.assert_allclose(b[..., 0], a[..., 0], atol=1e-4)
    # A level trim of g dB scales the waveform by exactly g dB.
    scale, offset = decoder.postfilter_rows(mu, 1.0, -2.0)
    quiet = decoder.DecoderParams(
        prm.dec_table, refiner=prm.refiner, row_scale=scale, row_offset=offset
    )
    ya, yq = decoder.decode(ids, plain), decoder.decode(ids, quiet)
    ratio_db = 10 * np.log10(
        np.sum(yq.astype(np.float64) ** 2) / np.sum(ya.astype(np.float64) ** 2)
    )
    assert ratio_db == pytest.approx(-2.0, abs=1e-3)


def test_decoded_audio_depends_on_bounded_context() -> None:
    """Group g's waveform does not change when tokens more than K+1 groups away change.

    The envelope path (refiner window, sub-frame interpolation, STFT) stays within K groups;
    only the excitation phase, carried over from group g-1 whose F0 interpolates the
    linguistic token before it, reaches one group further, which the chunked-decoding test
    bounds (SNR >= 30 dB).
    """
    prm = _params(2)
    rng = np.random.default_rng(3)
    k = decoder.DECODER_CONTEXT_GROUPS
    n_g, g = 11, 5
    ids = _ids(rng, n_g)
    other = _ids(rng, n_g)
    changed = ids.copy()
    far = [i for i in range(n_g) if abs(i - g) > k + 1]
    for i in far:
        changed[0, i * 5 : (i + 1) * 5] = other[0, i * 5 : (i + 1) * 5]
    a = decoder.decode(ids, prm)[0, g * dsp.GROUP : (g + 1) * dsp.GROUP]
    b = decoder.decode(changed, prm)[0, g * dsp.GROUP : (g + 1) * dsp.GROUP]
    np.testing.assert_allclose(a, b, atol=1e-6)
    # ... and it does change with the groups inside the context.
    near = ids.copy()
    near[0, (g - k) * 5 : (g - k + 1) * 5] = other[0, (g - k) * 5 : (g - k + 1) * 5]
    c = decoder.decode(near, prm)[0, g * dsp.GROUP : (g + 1) * dsp.GROUP]
    assert np.abs(a - c).max() > 1e-6


def _training_set(seed: int) -> tuple[list, np.ndarray]:
    """Sequences whose analysed rows are a smooth function of the token window plus noise."""
    rng = np.random.default_rng(seed)
    table = rng.normal(0, 2, (SEMANTIC_CODES, refiner.ROW)).astype(np.float32)
    table[:, [0, dsp.N_CEP]] -= 40.0
    seqs = []
    for _ in range(12):
        ids = _ids(rng, 20)
        ling, sem = decoder.split_ids(ids)
        _, base = refiner.token_inputs(ling, sem, table)
        nxt = np.concatenate([base[:, 1:], base[:, -1:]], 1)
        y = 0.6 * base + 0.4 * nxt + rng.normal(0, 0.1, base.shape)
        seqs.append((ling[0], sem[0], y[0].astype(np.float32)))
    return seqs, table


def test_training_is_deterministic_and_beats_the_lookup() -> None:
    pytest.importorskip("torch")
    seqs, table = _training_set(4)
    logs: list[str] = []
    a = refiner.train(seqs, table, seed=7, epochs=30, log=logs.append)
    b = refiner.train(seqs, table, seed=7, epochs=30, log=lambda _: None)
    for k, v in a.arrays().items():
        np.testing.assert_array_equal(v, b.arrays()[k], err_msg=k)
    lookup = float(logs[0].rsplit(" ", 1)[1])
    last = float(logs[-1].rsplit(" ", 1)[1])
    assert last < 0.8 * lookup, logs


def test_refiner_targets_keep_the_tokens_envelope_normalisation() -> None:
    """fit.refiner_sequences: c0 and aperiodicity as analysed, the envelope shape c1..c23
    minus its bounded local mean plus the training mean (what the tokens carry)."""
    from voxgate.reference import encoder, fit

    rng = np.random.default_rng(5)
    n = 6 * dsp.GROUP + 500
    t = np.arange(n) / dsp.SR
    wav = (0.2 * np.sin(2 * np.pi * 140 * t) * (1 + np.sin(2 * np.pi * 2 * t))).astype(np.float32)
    wav += rng.normal(0, 0.01, n).astype(np.float32)
    w_ = encoder.half_window_for(2)
    codes = 64
    prm = encoder.EncoderParams(
        2,
        w_,
        fit.PRIOR_WEIGHT,
        rng.normal(0, 1, encoder.NC).astype(np.float32),
        fit.vq_weights(),
        rng.normal(0, 1, (codes, encoder.SEM_DIM)).astype(np.float32),
        rng.normal(0, 1, (codes, refiner.ROW)).astype(np.float32),
    )
    an = encoder.analyse(fit._frames(wav, w_))
    ((ling, sem, y),) = fit.refiner_sequences([wav], [[an]], prm)
    n_sem = 3 * (n // dsp.GROUP)
    assert ling.shape == (2 * (n // dsp.GROUP),) and sem.shape == (n_sem,)
    assert y.shape == (n_sem, refiner.ROW)
    raw = refiner.targets(an, w_, n_sem)
    np.testing.assert_array_equal(y[:, [0, dsp.N_CEP]], raw[:, [0, dsp.N_CEP]])
    np.testing.assert_array_equal(y[:, 2 * dsp.N_CEP :], raw[:, 2 * dsp.N_CEP :])
    shape = encoder.normalise(an["cep"], prm)[0, : 2 * n_sem] + prm.mu
    np.testing.assert_allclose(y[:, 1 : dsp.N_CEP], shape[0::2], atol=1e-6)
    np.testing.assert_allclose(y[:, dsp.N_CEP + 1 : 2 * dsp.N_CEP], shape[1::2], atol=1e-6)
    assert np.abs(y[:, 1 : dsp.N_CEP] - raw[:, 1 : dsp.N_CEP]).max() > 0.1
