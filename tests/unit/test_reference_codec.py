"""Artifact-free tests: Step-Audio interleaving, chunking helpers, corpus sentences."""

from __future__ import annotations

import numpy as np
import pytest
from voxgate import interleave as token_format
from voxgate.errors import InvalidArgument
from voxgate.reference import codec, corpus, dsp


def test_interleave_follows_step_audio():
    ling = np.arange(7)  # 3 groups possible
    sem = np.arange(100, 110)  # 3 groups possible
    ids = codec.interleave(ling, sem)
    assert ids.tolist()[:5] == [0, 1, 1124, 1125, 1126]
    assert len(ids) == 15
    assert codec.interleave(np.arange(2), np.arange(2)).size == 0
    lg, sm = codec.deinterleave(ids)
    assert lg.tolist() == list(range(6)) and sm.tolist() == list(range(100, 109))


def test_one_token_format() -> None:
    """The reference code uses voxgate.interleave's rule and constants, not copies."""
    assert codec.interleave is token_format.interleave
    assert dsp.GROUP == token_format.GROUP_SAMPLES and dsp.SR == token_format.SAMPLE_RATE
    assert dsp.LING_HOP * token_format.LINGUISTIC_PER_GROUP == dsp.GROUP
    assert dsp.SEM_HOP * token_format.SEMANTIC_PER_GROUP == dsp.GROUP
    assert corpus.SAMPLE_RATE == token_format.SAMPLE_RATE
    with pytest.raises(InvalidArgument):  # the one deinterleave validates
        codec.deinterleave(np.array([0, 1, 2, 1025, 1026]))


def test_tokenize_chunked_with_a_local_model():
    # A toy "tokenizer" whose token k is a function of samples within 1 group either side.
    def run(x):
        x = x[0]
        n = len(x) // 640
        pad = np.pad(x, (1920, 1920))
        return np.array(
            [
                [
                    int(1000 * pad[1920 + 640 * k - 1900 : 1920 + 640 * k + 2500].sum())
                    for k in range(n)
                ]
            ]
        )

    rng = np.random.default_rng(0)
    wav = rng.standard_normal(640 * 23 + 100).astype(np.float32)
    whole = run(wav[None])[0]
    for cuts in ([1000], [640 * 5, 640 * 9 + 3], [1, 2, 3, 14000], [], [10**6], [-5, 3840]):
        np.testing.assert_array_equal(codec.tokenize_chunked(run, wav, 640, 1, cuts), whole)


@pytest.mark.parametrize("hop", [640, 960])
@pytest.mark.parametrize("n", [0, 500, 1920 * 4, 1920 * 7 + 100, 1920 * 7 + 1000])
def test_tokenize_chunked_cuts_at_groups_and_keeps_the_tail(hop: int, n: int) -> None:
    calls: list[int] = []

    def run(x):  # token k = k-th hop's sum; context-free, so any window gives the same tokens
        calls.append(x.shape[1])
        k = x.shape[1] // hop
        return x[:, : k * hop].reshape(1, k, hop).sum(-1)

    wav = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    cuts = [1920 * 2 + 7, 1920 * 5 - 1, 1920 * 7 + 50]
    whole = run(wav[None])[0]
    calls.clear()
    np.testing.assert_array_equal(codec.tokenize_chunked(run, wav, hop, 0, cuts), whole)
    # with no context each call covers exactly its piece, and pieces end on group boundaries
    assert all(c % 1920 == 0 for c in calls[:-1])
    assert len(whole) * hop <= sum(calls) <= n


def test_decode_chunked_with_a_local_model():
    # A toy "decoder": each group's 1920 samples depend on that group's ids and its neighbours'.
    def run(ids):
        g = ids.reshape(-1, 5).sum(1).astype(np.float64)
        pad = np.pad(g, 1)
        per_group = 1.0 * pad[1:-1] + 0.5 * pad[:-2] + 0.25 * pad[2:]
        return np.repeat(per_group, 1920)[None].astype(np.float32)

    ids = np.random.default_rng(1).integers(0, 5120, 5 * 11)
    whole = run(ids[None])[0]
    for chunk in (1, 2, 3, 11, 50):
        np.testing.assert_array_equal(codec.decode_chunked(run, ids, 1, chunk), whole)
    assert codec.decode_chunked(run, ids[:4], 1, 2).size == 0


def test_sentences_are_deterministic_and_splits_disjoint():
    a = list(corpus.sentences(0, 50))
    assert a == list(corpus.sentences(0, 50))
    test = list(corpus.sentences(0, 40, split="test"))
    assert len(set(test)) == 40 and not set(a) & set(test)
    assert not set(list(corpus.sentences(0, 300))) & set(test)


def test_held_out_voices_are_never_used_for_fitting():
    items = corpus.plan(0, 30)
    assert corpus.HELD_OUT_FLITE_VOICE not in {u.voice for u in items if u.engine == "flite"}
    espeak = {(u.voice, u.variant) for u in items if u.engine == "espeak"}
    assert (corpus.HELD_OUT_ESPEAK_VOICE, corpus.HELD_OUT_ESPEAK_VARIANT) not in espeak
    assert corpus.HELD_OUT_ESPEAK_VOICE not in corpus.ESPEAK_VOICES


def test_piper_joe_speaks_the_training_sentences_without_moving_the_other_items():
    with_piper = corpus.plan(0, 30)
    without = corpus.plan(0, 30, piper_every=0)
    assert [u for u in with_piper if u.engine != "piper"] == without
    piper = [u for u in with_piper if u.engine == "piper"]
    texts = list(corpus.sentences(0, 30))
    assert [u.text for u in piper] == texts[:: corpus.PIPER_EVERY]
    assert {u.voice for u in piper} == {"joe"}
    lo, hi = corpus.PIPER_LENGTH_PERCENT
    assert all(lo <= u.speed <= hi for u in piper)
    assert len({u.speed for u in piper}) > 1  # the pace varies


def test_piper_synthesis_is_reproducible_and_normalised():
    a = corpus.synthesize_piper("The small dog opened the garden gate.", "joe", 90)
    b = corpus.synthesize_piper("The small dog opened the garden gate.", "joe", 90)
    slower = corpus.synthesize_piper("The small dog opened the garden gate.", "joe", 115)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and a.ndim == 1
    assert 1.0 < len(a) / corpus.SAMPLE_RATE < 5.0
    assert len(slower) > len(a) * 1.05  # longer phonemes (the edges of silence do not scale)
    assert abs(20 * np.log10(np.abs(a).max()) + 3.0) < 0.1  # -3 dBFS peak, as sox normalises
