"""vad in the real embedded Triton: Silero VAD v6 with per-conversation state through the
sequence batcher, called with tritonclient's gRPC client (sequence_id / sequence_start /
sequence_end), as the façade will call it.

Speech is espeak-ng with inserted silences: probabilities are high in speech and low in
silence, and speech onsets/offsets are within 100 ms of the truth taken from the signal's
energy. The probabilities do not depend on how the audio is cut into requests, nor on other
sequences running at the same time; END frees the state (Triton custom metrics); bad
requests get one error with a plain message. A second Triton with a short idle timeout and
one slot shows what happens to abandoned sequences.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import statistics
import time
from pathlib import Path

import numpy as np
import pytest
from tritonclient.grpc import InferInput
from tritonclient.utils import InferenceServerException
from voxgate.config import default_model_repository
from voxgate.triton import inference_client

from tests.service.conftest import triton_metrics

pytestmark = [
    pytest.mark.triton,
    pytest.mark.skipif(
        not (shutil.which("espeak-ng") and shutil.which("sox")), reason="espeak-ng, sox needed"
    ),
]

MODEL = "vad"
RATE = 16000
FRAME = 512
FRAME_S = FRAME / RATE
SOURCE = default_model_repository() / MODEL
TEXTS = (  # no commas: one stretch of speech each
    "My name is Anna and I live in London",
    "Please send me the report before noon",
    "We will meet again on Monday morning",
)
GAPS_S = (0.6, 1.0, 0.8, 0.7)  # silence before, between and after the sentences
_ids = itertools.count(5000)


def new_id() -> int:
    return next(_ids)


# -- audio and its truth ---------------------------------------------------------------------


class Speech:
    """espeak-ng sentences separated by silences, with -60 dBFS noise over everything; the
    truth is each sentence's span where its 10 ms energy is within 40 dB of its loudest."""

    def __init__(self) -> None:
        from voxgate.reference.corpus import synthesize_espeak

        parts, self.truth, pos = [], [], 0
        for gap, text in zip(GAPS_S, TEXTS, strict=False):
            parts.append(np.zeros(int(gap * RATE), np.float32))
            pos += parts[-1].size
            utt = synthesize_espeak(text, "en-us")
            w = RATE // 100
            n = utt.size // w
            rms = np.sqrt((utt[: n * w].reshape(n, w) ** 2).mean(axis=1))
            loud = np.flatnonzero(rms > rms.max() * 10 ** (-40 / 20))
            self.truth.append(((pos + loud[0] * w) / RATE, (pos + (loud[-1] + 1) * w) / RATE))
            parts.append(utt)
            pos += utt.size
        parts.append(np.zeros(int(GAPS_S[-1] * RATE), np.float32))
        audio = np.concatenate(parts)
        audio += 0.001 * np.random.default_rng(0).standard_normal(audio.size).astype(np.float32)
        self.audio = audio.astype(np.float32)


def segments(p: np.ndarray, threshold: float = 0.5, bridge_s: float = 0.3) -> list:
    """Speech segments (start s, end s) from frame probabilities: frames >= threshold, gaps
    shorter than `bridge_s` (pauses between words) bridged."""
    on = np.flatnonzero(p >= threshold)
    if on.size == 0:
        return []
    out = [[on[0], on[0] + 1]]
    for f in on[1:]:
        if (f - out[-1][1]) * FRAME_S < bridge_s:
            out[-1][1] = f + 1
        else:
            out.append([f, f + 1])
    return [(a * FRAME_S, b * FRAME_S) for a, b in out]


# -- Triton --------------------------------------------------------------------------------------


async def wait_model(client, runtime) -> None:
    for _ in range(240):
        try:
            if await client.is_model_ready(MODEL):
                return
        except Exception:  # not listening yet
            pass
        await asyncio.sleep(0.5)
    pytest.fail(f"{MODEL} not ready:\n" + runtime.log_tail())


@pytest.fixture(scope="module")
async def client(triton):
    c = inference_client(triton.url)
    await wait_model(c, triton)
    yield c
    await c.close()


@pytest.fixture(scope="module")
def speech() -> Speech:
    return Speech()


async def infer(client, audio, seq: int | str, *, start=False, end=False) -> tuple[np.ndarray, int]:
    x = np.asarray(audio, np.float32).reshape(1, -1)
    tensor = InferInput("audio", list(x.shape), "FP32")
    tensor.set_data_from_numpy(x)
    r = await client.infer(MODEL, [tensor], sequence_id=seq, sequence_start=start, sequence_end=end)
    p, first = r.as_numpy("speech_prob"), r.as_numpy("first_frame")
    assert p.dtype == np.float32 and p.shape[0] == 1 and first.shape == (1, 1)
    return p[0], int(first[0, 0])


async def stream(client, audio: np.ndarray, size: int | list[int], seq: int | None = None):
    """One whole sequence: `audio` in requests of `size` samples (or of the sizes listed, the
    rest in the last one). Checks first_frame; returns the probabilities."""
    seq = seq or new_id()
    sizes = [size] * (audio.size // size + 1) if isinstance(size, int) else list(size)
    cuts = np.cumsum(sizes)
    pieces = np.split(audio, cuts[cuts < audio.size])
    out, done = [], 0
    for i, piece in enumerate(pieces):
        p, first = await infer(client, piece, seq, start=i == 0, end=i == len(pieces) - 1)
        assert first == done
        out.append(p)
        done += p.size
    assert done == audio.size // FRAME
    return np.concatenate(out)


async def batch_sizes(client) -> dict[int, int]:
    """Triton's statistics for vad: executions per batch size (= ready slots + null ones)."""
    stats = await client.get_inference_statistics(MODEL, as_json=True)
    rows = stats["model_stats"][0].get("batch_stats", [])
    return {int(r["batch_size"]): int(r["compute_infer"]["count"]) for r in rows}


ACTIVE = "voxgate_vad_active_sequences"
FRAMES = "voxgate_vad_frames_total"


def freed(reason: str) -> str:
    return f'voxgate_vad_sequences_freed_total{{reason="{reason}"}}'


# -- tests -----------------------------------------------------------------------------------------


def test_vad_is_in_the_session_repository(model_repository) -> None:
    assert (model_repository / MODEL).resolve() == SOURCE.resolve()


async def test_speech_high_silence_low_and_boundaries(client, speech) -> None:
    p = await stream(client, speech.audio, 1600)  # 100 ms requests
    times = np.arange(p.size) * FRAME_S
    # High in speech, low in the inserted silences (150 ms away from the speech).
    for t0, t1 in speech.truth:
        inside = p[(times >= t0) & (times + FRAME_S <= t1)]
        assert np.median(inside) > 0.9 and (inside >= 0.5).mean() > 0.85, inside
    bounds = [0.0] + [t for span in speech.truth for t in span] + [times[-1] + FRAME_S]
    quiet = np.zeros(p.size, bool)
    for t0, t1 in zip(bounds[::2], bounds[1::2], strict=True):
        quiet |= (times >= t0 + 0.15) & (times + FRAME_S <= t1 - 0.15)
    assert p[quiet].max() < 0.1, p[quiet].max()
    # Onsets and offsets within 100 ms of the truth.
    found = segments(p)
    assert len(found) == len(speech.truth), found
    errors = [
        (round(1000 * (a - t0)), round(1000 * (b - t1)))
        for (a, b), (t0, t1) in zip(found, speech.truth, strict=True)
    ]
    print(f"\nonset/offset errors (ms, detected - truth): {errors}")
    assert all(abs(e) <= 100 for pair in errors for e in pair), errors


async def test_chunking_does_not_change_probabilities(client, speech) -> None:
    audio = speech.audio[: 4 * RATE]
    whole = await stream(client, audio, audio.size)
    rng = np.random.default_rng(1)
    for size in (FRAME, 160, 4000, [1, 511, 513, 0, 1023, 7, 9000], rng.integers(0, 6000, 40)):
        got = await stream(client, audio, size if isinstance(size, int) else list(size))
        np.testing.assert_array_equal(got, whole)  # bit for bit


async def test_interleaved_sequences_are_independent(client, speech) -> None:
    a = speech.audio[: 3 * RATE]
    b = speech.audio[3 * RATE : 6 * RATE][::-1].copy()
    solo_a, solo_b = await stream(client, a, 1600), await stream(client, b, 1000)
    # Alternating requests, one sequence after the other...
    ids = new_id(), new_id()
    out_a, out_b = [], []
    steps = max(a.size // 1600, b.size // 1000) + 1
    for i in range(steps):
        for seq, x, n, out in ((ids[0], a, 1600, out_a), (ids[1], b, 1000, out_b)):
            if i * n < x.size:
                last = (i + 1) * n >= x.size
                out.append(
                    (await infer(client, x[i * n : (i + 1) * n], seq, start=i == 0, end=last))[0]
                )
    np.testing.assert_array_equal(np.concatenate(out_a), solo_a)
    np.testing.assert_array_equal(np.concatenate(out_b), solo_b)
    # ...and many at once: batches with several slots ready (request i of a batch is slot i).
    r = a[::-1].copy()
    solo_r = await stream(client, r, 1000)
    before = await batch_sizes(client)
    jobs = [(a, 800), (b, 1200), (a, 3000), (b, 512), (r, 1600), (b, 4000)]
    got = await asyncio.gather(*(stream(client, x, n) for x, n in jobs))
    for want, p in zip((solo_a, solo_b, solo_a, solo_b, solo_r, solo_b), got, strict=True):
        np.testing.assert_array_equal(p, want)
    after = await batch_sizes(client)
    grown = {n for n, count in after.items() if count > before.get(n, 0)}
    print(f"\nbatch sizes executed: {sorted(grown)}")
    assert max(grown) > 1, after


async def test_end_frees_the_state(client, triton, speech) -> None:
    before = await triton_metrics(triton.metrics_url, "voxgate_vad_")
    seq = f"conversation-{new_id()}"  # correlation ids may be strings too
    await infer(client, speech.audio[:8000], seq, start=True)
    during = await triton_metrics(triton.metrics_url, "voxgate_vad_")
    assert during[ACTIVE] == before[ACTIVE] + 1
    p, first = await infer(client, speech.audio[8000:16000], seq, end=True)
    assert first == 15 and p.size == 16
    after = await triton_metrics(triton.metrics_url, "voxgate_vad_")
    assert after[ACTIVE] == before[ACTIVE]
    assert after[freed("end")] == before.get(freed("end"), 0) + 1
    assert after[FRAMES] == before.get(FRAMES, 0) + 31
    # The sequence is gone: without a new START, Triton refuses it.
    with pytest.raises(InferenceServerException, match="must specify the START flag"):
        await infer(client, speech.audio[:512], seq)


async def test_bad_requests_get_one_plain_error(client, triton, speech) -> None:
    audio = speech.audio[: 2 * RATE]
    clean = await stream(client, audio, 4000)
    with pytest.raises(InferenceServerException, match="must specify the START flag") as err:
        await infer(client, audio[:4000], new_id())  # a sequence never started
    assert err.value.status() == "StatusCode.INVALID_ARGUMENT"
    seq = new_id()
    got = [(await infer(client, audio[:4000], seq, start=True))[0]]
    bad = audio[4000:8000].copy()
    bad[5] = np.nan
    with pytest.raises(InferenceServerException) as err:
        await infer(client, bad, seq)
    assert err.value.message() == "audio: non-finite sample (NaN or infinity) at index 5"
    assert err.value.status() == "StatusCode.INVALID_ARGUMENT"
    with pytest.raises(InferenceServerException, match="the limit is 320000") as err:
        await infer(client, np.zeros(320001, np.float32), seq)
    # The refused requests changed nothing: the sequence goes on as if they were not sent.
    for i in range(1, audio.size // 4000):
        last = (i + 1) * 4000 >= audio.size
        got.append((await infer(client, audio[i * 4000 : (i + 1) * 4000], seq, end=last))[0])
    np.testing.assert_array_equal(np.concatenate(got), clean)
    assert (await triton_metrics(triton.metrics_url, "voxgate_vad_"))[ACTIVE] == 0


async def test_cost_per_frame_for_a_10_s_file(client, speech) -> None:
    audio = np.resize(speech.audio, 10 * RATE)  # 10 s, 312 frames
    frames = audio.size // FRAME
    results = {}
    for label, size in (("one request", audio.size), ("100 ms requests", 1600), ("32 ms", FRAME)):
        runs = []
        for _ in range(3):
            t = time.perf_counter()
            await stream(client, audio, size)
            runs.append(time.perf_counter() - t)
        results[label] = 1000 * statistics.median(runs) / frames
    print(
        f"\nvad through Triton, 10 s ({frames} frames of 32 ms), ms per frame (median of 3): "
        + ", ".join(f"{k}: {v:.3f}" for k, v in results.items())
    )
    assert results["one request"] < 32  # faster than real time, by far


# -- abandoned sequences: a Triton of our own, one slot, 2 s idle timeout ------------------------


@pytest.mark.slow
async def test_abandoned_sequences_are_freed(tmp_path: Path) -> None:
    from voxgate.runtime import EmbeddedTriton

    repo = tmp_path / "models"
    shutil.copytree(SOURCE, repo / MODEL, ignore=shutil.ignore_patterns("__pycache__"))
    config = repo / MODEL / "config.pbtxt"
    text = config.read_text()
    assert "max_sequence_idle_microseconds: 30000000" in text and "max_batch_size: 64" in text
    text = text.replace(
        "max_sequence_idle_microseconds: 30000000", "max_sequence_idle_microseconds: 2000000"
    )
    config.write_text(text.replace("max_batch_size: 64", "max_batch_size: 1"))
    runtime = EmbeddedTriton(repo, "cpu", tmp_path / "run")
    await runtime.start()
    c = inference_client(runtime.url)
    try:
        await wait_model(c, runtime)
        x = np.zeros(1600, np.float32)
        t0 = time.monotonic()
        await infer(c, x, 1, start=True)  # sequence 1 takes the only slot, then goes quiet
        # Sequence 2 waits in Triton's backlog until Triton ends 1 for idleness (2 s); its
        # START in the slot then frees the state of 1.
        await infer(c, x, 2, start=True)
        waited = time.monotonic() - t0
        assert waited > 1.5, waited
        m = await triton_metrics(runtime.metrics_url, "voxgate_vad_")
        assert m[ACTIVE] == 1 and m[freed("replaced")] == 1
        with pytest.raises(InferenceServerException, match="must specify the START flag"):
            await infer(c, x, 1)  # Triton has forgotten sequence 1
        # Sequence 2 goes quiet: the model frees its state after 2 x 2 s without requests.
        t1 = time.monotonic()
        while True:
            m = await triton_metrics(runtime.metrics_url, "voxgate_vad_")
            if m[ACTIVE] == 0 or time.monotonic() - t1 >= 15:
                break
            await asyncio.sleep(0.25)
        swept = time.monotonic() - t1
        print(f"\nbacklog wait {waited:.2f} s; idle state freed after {swept:.2f} s more")
        assert m[ACTIVE] == 0 and m[freed("idle")] == 1 and 3.0 < swept < 8.0, (m, swept)
    finally:
        await c.close()
        await runtime.stop()
