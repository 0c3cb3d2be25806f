"""asr in the real embedded Triton (faster-whisper, whisper tiny.en int8), through tritonclient's
gRPC client with sequence_id / sequence_start / sequence_end, as the façade will call it.

Speech is a known sentence spoken by flite (voice slt), streamed in 200 ms chunks: interim
hypotheses come before the end, the final transcript has the sentence's words, two turns
recognised at the same time stay apart, END frees the turn's state (custom metrics), and bad
input is one clear error. Prints decode times and the WER of 10 sentences.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from tritonclient.grpc import InferInput, InferRequestedOutput
from tritonclient.utils import InferenceServerException
from voxgate.reference import corpus
from voxgate.triton import TritonModels, inference_client

from tests.service.conftest import running_triton, triton_metrics, wait_until_ready

pytestmark = [
    pytest.mark.triton,
    pytest.mark.skipif(
        not (shutil.which("flite") and shutil.which("sox")), reason="flite and sox make the speech"
    ),
]

MODEL = "asr"
RATE = 16000
CHUNK = RATE // 5  # 200 ms
VOICE = "slt"
SENTENCE = "Please close the window before you leave the room."  # ~2.9 s
OTHER = "The children played in the park until it got dark."
SENTENCES = [  # the first ten of bench/synthesis.py's WER sentences (no numbers to spell out)
    SENTENCE,
    OTHER,
    "Can you tell me where the nearest train station is?",
    "My brother bought a new bicycle last weekend.",
    "We need more milk, eggs and bread for breakfast.",
    "The doctor said I should drink more water every day.",
    "It was raining so hard that the streets were flooded.",
    "Do you know what time the museum opens tomorrow?",
    "She wrote a long letter to her grandmother in Spain.",
    "The meeting has been moved to Thursday afternoon.",
]
WER_BOUND = 0.10  # measured 0 on these sentences and voice (tiny.en, int8, beam 5)
SENTENCE_WER_BOUND = 0.25  # one sentence: at most 2 of its 10 words wrong

_ids = iter(range(1_000_000, 2_000_000))


@pytest.fixture(scope="module")
async def client(triton):
    models = TritonModels(triton.url, 60.0)
    try:
        await wait_until_ready(models, (MODEL,), triton)
    finally:
        await models.close()
    c = inference_client(triton.url)
    yield c
    await c.close()


@pytest.fixture(scope="module")
def speech() -> dict[str, np.ndarray]:
    return {s: corpus.synthesize_flite(s, VOICE) for s in SENTENCES}


async def send(
    client, seq, audio, *, start=False, end=False, finalize=None
) -> tuple[str, bool, int]:
    x = np.asarray(audio, np.float32).reshape(1, -1)
    inputs = [InferInput("audio", list(x.shape), "FP32")]
    inputs[0].set_data_from_numpy(x)
    if finalize is not None:
        f = InferInput("finalize", [1, 1], "BOOL")
        f.set_data_from_numpy(np.array([[finalize]], np.bool_))
        inputs.append(f)
    result = await client.infer(
        MODEL,
        inputs,
        outputs=[InferRequestedOutput(n) for n in ("text", "is_final", "audio_ms")],
        sequence_id=seq,
        sequence_start=start,
        sequence_end=end,
    )
    text, final, ms = (result.as_numpy(n) for n in ("text", "is_final", "audio_ms"))
    return text.reshape(-1)[0].decode(), bool(final.reshape(-1)[0]), int(ms.reshape(-1)[0])


async def stream(client, wav: np.ndarray, seq=None) -> tuple[list[tuple], tuple, list[float]]:
    """The audio in 200 ms chunks (START on the first), then an empty END: the responses to
    the chunks, the final one, and each request's round-trip time."""
    seq = next(_ids) if seq is None else seq
    responses, times = [], []
    for i in range(0, wav.size, CHUNK):
        t = time.perf_counter()
        responses.append(await send(client, seq, wav[i : i + CHUNK], start=i == 0))
        times.append(time.perf_counter() - t)
    t = time.perf_counter()
    final = await send(client, seq, np.zeros(0, np.float32), end=True)
    times.append(time.perf_counter() - t)
    return responses, final, times


def delta(after: dict, before: dict, name: str) -> float:
    return after.get(name, 0.0) - before.get(name, 0.0)


INTERIM = 'voxgate_asr_decodes_total{kind="interim"}'
FINAL = 'voxgate_asr_decodes_total{kind="final"}'
INTERIM_S = 'voxgate_asr_decode_seconds_total{kind="interim"}'
FINAL_S = 'voxgate_asr_decode_seconds_total{kind="final"}'
ACTIVE = "voxgate_asr_active_sequences"
AUDIO = "voxgate_asr_audio_seconds_total"
FREED_END = 'voxgate_asr_sequences_freed_total{reason="end"}'


def words(text: str) -> list[str]:
    """Lower case, punctuation dropped (apostrophes inside words kept), as bench/metrics.py."""
    return [w.strip("'") for w in re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split() if w != "'"]


def edits(reference: list[str], hypothesis: list[str]) -> int:
    """Word-level Levenshtein distance (substitutions + deletions + insertions)."""
    row = list(range(len(hypothesis) + 1))
    for i, r in enumerate(reference, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hypothesis, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def corpus_wer(references: list[str], hypotheses: list[str]) -> float:
    pairs = [(words(r), words(h)) for r, h in zip(references, hypotheses, strict=True)]
    return sum(edits(r, h) for r, h in pairs) / sum(len(r) for r, _ in pairs)


def wer(reference: str, hypothesis: str) -> float:
    return corpus_wer([reference], [hypothesis])


# -- tests ---------------------------------------------------------------------------------------


async def test_interim_hypotheses_then_the_final_transcript(client, triton, speech) -> None:
    wav = speech[SENTENCE]
    before = await triton_metrics(triton.metrics_url, "voxgate_asr_")
    responses, final, times = await stream(client, wav)
    after = await triton_metrics(triton.metrics_url, "voxgate_asr_")
    interims = [(i, text) for i, (text, _, _) in enumerate(responses) if text]
    print(f"\n{wav.size / RATE:.2f} s of speech; interims (chunk index, text): {interims}")
    print(f"final: {final[0]!r}")
    assert interims, "no interim hypothesis before the end"
    assert not any(is_final for _, is_final, _ in responses)
    assert [ms for _, _, ms in responses] == [
        min(i + CHUNK, wav.size) * 1000 // RATE for i in range(0, wav.size, CHUNK)
    ]
    assert final[1] and final[2] == wav.size * 1000 // RATE
    assert wer(SENTENCE, final[0]) <= SENTENCE_WER_BOUND, final[0]
    n_interim, n_final = delta(after, before, INTERIM), delta(after, before, FINAL)
    assert n_interim >= len(interims) and n_final == 1
    assert delta(after, before, AUDIO) == pytest.approx(wav.size / RATE, rel=1e-6)
    interim_ms = 1000 * delta(after, before, INTERIM_S) / n_interim
    print(
        f"decode time (Triton metrics): interim {interim_ms:.0f} ms mean of {n_interim:.0f}, "
        f"final {1000 * delta(after, before, FINAL_S):.0f} ms; "
        f"round trip: END request {1000 * times[-1]:.0f} ms, chunk with an interim "
        f"{1000 * np.mean([times[i] for i, _ in interims]):.0f} ms mean, chunk without "
        f"{1000 * np.median([t for i, t in enumerate(times[:-1]) if not responses[i][0]]):.0f}"
        f" ms median"
    )


async def test_end_frees_the_state(client, triton, speech) -> None:
    seq = next(_ids)
    before = await triton_metrics(triton.metrics_url, "voxgate_asr_")
    await send(client, seq, speech[OTHER][:CHUNK], start=True)
    during = await triton_metrics(triton.metrics_url, "voxgate_asr_")
    assert delta(during, before, ACTIVE) == 1
    final = await send(client, seq, speech[OTHER][CHUNK : 2 * CHUNK], end=True)
    assert final[1] and final[2] == 400
    after = await triton_metrics(triton.metrics_url, "voxgate_asr_")
    assert after[ACTIVE] == before.get(ACTIVE, 0)
    assert delta(after, before, FREED_END) == 1
    with pytest.raises(InferenceServerException, match="must specify the START flag"):
        await send(client, seq, speech[OTHER][:CHUNK])  # the sequence is over


async def test_finalize_gives_a_final_and_keeps_the_turn(client, speech) -> None:
    seq = next(_ids)
    wav = speech[SENTENCE]
    half = (wav.size // 2) // CHUNK * CHUNK
    await send(client, seq, wav[:half], start=True)
    first = await send(client, seq, np.zeros(0, np.float32), finalize=True)
    assert first[1] and first[2] == half * 1000 // RATE and first[0]
    await send(client, seq, wav[half:])
    final = await send(client, seq, np.zeros(0, np.float32), end=True)
    assert final[1] and wer(SENTENCE, final[0]) <= SENTENCE_WER_BOUND, final[0]


async def test_two_turns_at_once_stay_apart(client, speech) -> None:
    (_, a, _), (_, b, _) = await asyncio.gather(
        stream(client, speech[SENTENCE]), stream(client, speech[OTHER], seq=f"turn-{next(_ids)}")
    )
    print(f"\nA: {a[0]!r}\nB: {b[0]!r}")
    assert wer(SENTENCE, a[0]) <= SENTENCE_WER_BOUND and "children" not in a[0].lower()
    assert wer(OTHER, b[0]) <= SENTENCE_WER_BOUND and "window" not in b[0].lower()


async def test_bad_input_is_one_clear_error(client, triton, speech) -> None:
    seq = next(_ids)
    before = await triton_metrics(triton.metrics_url, "voxgate_asr_")
    await send(client, seq, speech[SENTENCE][:CHUNK], start=True)
    nan = np.zeros(CHUNK, np.float32)
    nan[7] = np.nan
    with pytest.raises(
        InferenceServerException, match=r"1 sample\(s\) are not finite.*index 7"
    ) as e:
        await send(client, seq, nan)
    assert e.value.status() == "StatusCode.INVALID_ARGUMENT"
    with pytest.raises(InferenceServerException, match="more than the 30 s allowed") as e:
        await send(client, seq, np.zeros(30 * RATE, np.float32))
    assert e.value.status() == "StatusCode.INVALID_ARGUMENT"
    # the refused audio is not kept, and the turn goes on
    assert await send(client, seq, speech[SENTENCE][CHUNK : 2 * CHUNK]) == ("", False, 400)
    final = await send(client, seq, np.zeros(0, np.float32), end=True)
    assert final[1] and final[2] == 400
    with pytest.raises(InferenceServerException, match="must specify the START flag"):
        await send(client, next(_ids), speech[SENTENCE][:CHUNK])  # never started
    after = await triton_metrics(triton.metrics_url, "voxgate_asr_")
    assert after[ACTIVE] == before.get(ACTIVE, 0)


async def test_word_error_rate_of_ten_sentences(client, triton, speech) -> None:
    """Each sentence streamed in 200 ms chunks, two turns at a time (the two instances)."""
    before = await triton_metrics(triton.metrics_url, "voxgate_asr_")
    finals: dict[str, str] = {}
    started = time.perf_counter()
    for pair in (SENTENCES[i : i + 2] for i in range(0, len(SENTENCES), 2)):
        results = await asyncio.gather(*(stream(client, speech[s]) for s in pair))
        for sentence, (_, final, _) in zip(pair, results, strict=True):
            finals[sentence] = final[0]
    took = time.perf_counter() - started
    after = await triton_metrics(triton.metrics_url, "voxgate_asr_")
    score = corpus_wer(SENTENCES, [finals[s] for s in SENTENCES])
    audio = sum(speech[s].size for s in SENTENCES) / RATE
    n_interim, n_final = delta(after, before, INTERIM), delta(after, before, FINAL)
    print(
        f"\nWER {score:.3f} on {len(SENTENCES)} sentences ({audio:.1f} s, flite {VOICE}); "
        f"{took:.1f} s wall; {n_interim:.0f} interim decodes "
        f"({1000 * delta(after, before, INTERIM_S) / max(n_interim, 1):.0f} ms mean), "
        f"{n_final:.0f} finals ({1000 * delta(after, before, FINAL_S) / max(n_final, 1):.0f} ms "
        "mean)"
    )
    for s in SENTENCES:
        if words(finals[s]) != words(s):
            print(f"  {s!r} -> {finals[s]!r}")
    assert n_final == len(SENTENCES)
    assert score <= WER_BOUND


# -- abandoned turns: a Triton of our own, one slot, 2 s idle timeout ----------------------------

SOURCE = Path(__file__).resolve().parents[2] / "triton_models" / MODEL
CAPACITY = 'voxgate_asr_sequences_freed_total{reason="capacity"}'
IDLE = 'voxgate_asr_sequences_freed_total{reason="idle"}'


@pytest.mark.slow
async def test_abandoned_turns_are_freed(tmp_path: Path, speech) -> None:
    repo = tmp_path / "models"
    shutil.copytree(SOURCE, repo / MODEL, ignore=shutil.ignore_patterns("__pycache__"))
    config = repo / MODEL / "config.pbtxt"
    text = config.read_text()
    for old, new in [
        ("max_sequence_idle_microseconds: 30000000", "max_sequence_idle_microseconds: 2000000"),
        ("max_candidate_sequences: 8", "max_candidate_sequences: 1"),
        (
            "instance_group [ { kind: KIND_CPU, count: 2 } ]",
            "instance_group [ { kind: KIND_CPU } ]",
        ),
    ]:
        assert old in text, old
        text = text.replace(old, new)
    config.write_text(text)
    async with running_triton(repo, tmp_path / "run", (MODEL,)) as runtime:
        c = inference_client(runtime.url)
        try:
            x = speech[SENTENCE][:CHUNK]
            t0 = time.monotonic()
            await send(c, 1, x, start=True)  # turn 1 takes the only slot, then goes quiet
            # Turn 2 waits in Triton's backlog until Triton ends turn 1 for idleness (2 s);
            # its START finds the instance full and frees turn 1's state.
            await send(c, 2, x, start=True)
            waited = time.monotonic() - t0
            m = await triton_metrics(runtime.metrics_url, "voxgate_asr_")
            assert waited > 1.5, waited
            assert m[ACTIVE] == 1 and m[CAPACITY] == 1, m
            with pytest.raises(InferenceServerException, match="must specify the START flag"):
                await send(c, 1, x)  # Triton has forgotten turn 1
            # Turn 2 goes quiet: the model frees its state after 2 x 2 s without requests.
            t1 = time.monotonic()
            while True:
                m = await triton_metrics(runtime.metrics_url, "voxgate_asr_")
                if m[ACTIVE] == 0 or time.monotonic() - t1 >= 15:
                    break
                await asyncio.sleep(0.25)
            swept = time.monotonic() - t1
            print(f"\nbacklog wait {waited:.2f} s; idle state freed after {swept:.2f} s more")
            assert m[ACTIVE] == 0 and m[IDLE] == 1 and 3.0 < swept < 8.0, (m, swept)
        finally:
            await c.close()
