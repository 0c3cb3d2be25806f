"""Artifact-free tests: Step-Audio interleaving, chunking helpers, corpus sentences."""

from __future__ import annotations

import numpy as np
from voxgate.reference import codec, corpus


def test_interleave_follows_step_audio():
    ling = np.arange(7)  # 3 groups possible
    sem = np.arange(100, 110)  # 3 groups possible
    ids = codec.interleave(ling, sem)
    assert ids.tolist()[:5] == [0, 1, 1124, 1125, 1126]
    assert len(ids) == 15
    assert codec.interleave(np.arange(2), np.arange(2)).size == 0
    lg, sm = codec.deinterleave(ids)
    assert lg.tolist() == list(range(6)) and sm.tolist() == list(range(100, 109))


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
    for cuts in ([1000], [640 * 5, 640 * 9 + 3], [1, 2, 3, 14000]):
        np.testing.assert_array_equal(codec.tokenize_chunked(run, wav, 640, 1, cuts), whole)


def test_sentences_are_deterministic_and_splits_disjoint():
    a = list(corpus.sentences(0, 50))
    assert a == list(corpus.sentences(0, 50))
    test = list(corpus.sentences(0, 40, split="test"))
    assert len(set(test)) == 40 and not set(a) & set(test)
    assert not set(list(corpus.sentences(0, 300))) & set(test)
