"""SynthesisService over real gRPC and a real Triton (tts_generator + detokenize): streaming,
StreamSynthesize, styles, cloning, the voice registry across a restart, cancel and errors."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import time

import grpc
import numpy as np
import parselmouth
import pytest
import soundfile as sf
from grpc_health.v1 import health_pb2, health_pb2_grpc
from voxgate.server import create_server
from voxgate.v1 import audio_pb2, synthesis_pb2, synthesis_pb2_grpc

from tests.conftest import wav_bytes
from tests.service.conftest import triton_metrics

pytestmark = pytest.mark.triton
C = grpc.StatusCode
pb = synthesis_pb2
F32 = audio_pb2.OutputAudioFormat(
    container=audio_pb2.AUDIO_CONTAINER_RAW, encoding=audio_pb2.PCM_ENCODING_F32LE
)
SENTENCE = "Hello there, this is voxgate."
PARAGRAPH = (
    "The quick brown fox jumps over the lazy dog. It was 25°C on 2024-03-15, a fine day. "
    "Dr. Smith paid $12.50 for three apples, and then he went home."
)


def stub(channel) -> synthesis_pb2_grpc.SynthesisServiceStub:
    return synthesis_pb2_grpc.SynthesisServiceStub(channel)


async def synthesize(channel, **fields) -> list[pb.SynthesizeResponse]:
    fields.setdefault("output_format", F32)
    return [r async for r in stub(channel).Synthesize(pb.SynthesizeRequest(**fields), timeout=120)]


def samples(pieces) -> np.ndarray:
    return np.concatenate([np.frombuffer(p.audio.data, np.float32) for p in pieces])


def tokens(pieces) -> list[int]:
    return [t for p in pieces for t in p.audio_tokens]


def median_pitch(wav: np.ndarray, rate: int) -> float:
    f0 = parselmouth.Sound(wav.astype(np.float64), rate).to_pitch().selected_array["frequency"]
    return float(np.median(f0[f0 > 0]))


async def test_synthesis_is_serving(channel):
    reply = await health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service="voxgate.v1.SynthesisService"), timeout=5
    )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_synthesize_streams_pieces_then_final(channel):
    pieces = await synthesize(channel, text=PARAGRAPH)
    assert len(pieces) >= 4 and pieces[-1].final and not any(p.final for p in pieces[:-1])
    report = pieces[0].report
    assert report.engine == "reference" and report.voice == "joe"
    assert "twelve dollars fifty cents" in report.normalized_text
    assert "March fifteenth" in report.normalized_text
    assert all(not p.HasField("report") for p in pieces[1:])
    ids = tokens(pieces)
    assert len(ids) % 5 == 0 and len(ids) > 0
    groups = np.asarray(ids).reshape(-1, 5)
    assert (groups[:, :2] < 1024).all() and (groups[:, 2:] >= 1024).all() and groups.max() < 5120
    wav = samples(pieces)
    rate = pieces[0].audio.format.sample_rate_hz
    assert len(wav) == len(ids) // 5 * rate * 120 // 1000
    starts = [p.start_seconds for p in pieces]
    assert starts == sorted(starts)
    assert np.abs(wav).max() > 0.01
    words = [w for p in pieces for w in p.words]
    if words:  # word timings, where the engine knows them: in order, within the audio
        assert all(w.start_ms <= w.end_ms for w in words)
        assert words[-1].end_ms <= len(wav) * 1000 / rate + 1


async def test_same_text_same_tokens(channel):
    a = await synthesize(channel, text=SENTENCE)
    b = await synthesize(channel, text=SENTENCE)
    assert tokens(a) == tokens(b)


async def test_wav_output_is_one_whole_file_in_the_final_message(channel):
    wav_format = audio_pb2.OutputAudioFormat(
        container=audio_pb2.AUDIO_CONTAINER_WAV, sample_rate_hz=24000
    )
    pieces = await synthesize(channel, text=SENTENCE, output_format=wav_format)
    assert all(not p.audio.data for p in pieces[:-1])
    audio, rate = sf.read(io.BytesIO(pieces[-1].audio.data), dtype="float32")
    assert rate == 24000
    expected = len(tokens(pieces)) // 5 * 0.12
    assert abs(len(audio) / rate - expected) < 0.01


async def test_stream_synthesize_speaks_each_clause_when_complete(channel):
    texts: asyncio.Queue[str | None] = asyncio.Queue()

    async def requests():
        yield pb.StreamSynthesizeRequest(
            config=pb.StreamSynthesizeConfig(request=pb.SynthesizeRequest(output_format=F32))
        )
        while (piece := await texts.get()) is not None:
            yield pb.StreamSynthesizeRequest(text=piece)

    call = stub(channel).StreamSynthesize(requests(), timeout=120)
    for piece in ("Hello the", "re, this is vox", "gate. And "):
        await texts.put(piece)
    first = await asyncio.wait_for(call.read(), 60)  # before the rest of the text is sent
    assert first.piece.report.engine == "reference" and len(first.piece.audio_tokens) > 0
    for piece in ("this is the second sentence.", " The end"):
        await texts.put(piece)
    await texts.put(None)
    rest = []
    while (message := await call.read()) is not grpc.aio.EOF:
        rest.append(message.piece)
    pieces = [first.piece, *rest]
    assert pieces[-1].final
    whole = await synthesize(
        channel, text="Hello there, this is voxgate. And this is the second sentence. The end"
    )
    assert tokens(pieces) == tokens(whole)


async def test_styles_change_the_speech_and_unsupported_ones_are_reported(channel):
    normal = await synthesize(channel, text=SENTENCE)
    slow = await synthesize(channel, text=SENTENCE, style_instruction="slowly and happily")
    normal_long = await synthesize(channel, text=PARAGRAPH)
    slow_long = await synthesize(channel, text=PARAGRAPH, style=pb.SpeechStyle(speed=0.8))
    high = await synthesize(channel, text=SENTENCE, style=pb.SpeechStyle(pitch_semitones=7))
    loud = await synthesize(channel, text=SENTENCE, style=pb.SpeechStyle(volume_db=-12))
    assert len(tokens(slow)) > len(tokens(normal))
    assert len(tokens(slow_long)) > 1.15 * len(tokens(normal_long))
    assert slow[0].report.applied.speed == pytest.approx(0.8)
    assert any("emotion=happy" in n for n in slow[0].report.not_applied)
    rate = normal[0].audio.format.sample_rate_hz
    assert median_pitch(samples(high), rate) > 1.2 * median_pitch(samples(normal), rate)
    ratio = np.sqrt(np.mean(samples(loud) ** 2) / np.mean(samples(normal) ** 2))
    assert ratio == pytest.approx(10 ** (-12 / 20), rel=0.05)


async def _prompt_wav(channel, semitones: float) -> bytes:
    """A prompt recording: the built-in voice, pitch-shifted, as a WAV file."""
    pieces = await synthesize(
        channel,
        text="Please call Stella and ask her to bring these things with her from the store.",
        style=pb.SpeechStyle(pitch_semitones=semitones),
    )
    return wav_bytes(samples(pieces), pieces[0].audio.format.sample_rate_hz)


async def test_cloning_follows_the_prompt_pitch_and_the_registry_persists(
    channel, triton, settings
):
    prompt = await _prompt_wav(channel, 9.0)
    transcript = "Please call Stella and ask her to bring these things with her from the store."
    created = await stub(channel).CreateVoice(
        pb.CreateVoiceRequest(
            prompt=pb.VoicePrompt(
                audio=audio_pb2.AudioInput(container=prompt), transcript=transcript
            ),
            name="Stella",
            consent_note="synthetic test voice",
        ),
        timeout=60,
    )
    voice = created.voice
    assert voice.id.startswith("v-") and not voice.builtin and voice.pitch_median_hz > 130
    normal = await synthesize(channel, text=SENTENCE)
    cloned = await synthesize(channel, text=SENTENCE, voice=voice.id)
    rate = normal[0].audio.format.sample_rate_hz
    prompt_wav, prompt_rate = sf.read(io.BytesIO(prompt), dtype="float32")
    target = median_pitch(prompt_wav, prompt_rate)
    assert abs(np.log2(median_pitch(samples(cloned), rate) / target)) < abs(
        np.log2(median_pitch(samples(normal), rate) / target)
    )
    assert cloned[0].report.voice == voice.id
    # Per-request prompt: the same effect without registering.
    once = await synthesize(
        channel,
        text=SENTENCE,
        prompt=pb.VoicePrompt(audio=audio_pb2.AudioInput(container=prompt), transcript=transcript),
    )
    assert tokens(once) == tokens(cloned)

    # A restarted server (same database file) still knows the voice.
    srv, port = create_server(settings, triton.url)
    await srv.start()
    try:
        await asyncio.wait_for(srv.serving.wait(), 60)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
            listed = await stub(ch).ListVoices(pb.ListVoicesRequest(), timeout=10)
            assert listed.voices[0].builtin and listed.voices[0].id == "joe"
            assert voice.id in [v.id for v in listed.voices]
            await stub(ch).DeleteVoice(pb.DeleteVoiceRequest(voice_id=voice.id), timeout=10)
    finally:
        await srv.stop(grace=1.0)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await synthesize(channel, text=SENTENCE, voice=voice.id)
    assert info.value.code() == C.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub(channel).DeleteVoice(pb.DeleteVoiceRequest(voice_id="joe"), timeout=10)
    assert info.value.code() == C.FAILED_PRECONDITION


CANCELLED = 'voxgate_tts_requests_total{outcome="cancelled"}'
GROUPS = "voxgate_tts_groups_total"
ACTIVE = "voxgate_tts_active_requests"


async def test_cancel_mid_stream_stops_the_generator(channel, triton):
    url = triton.metrics_url
    before = await triton_metrics(url, "voxgate_tts_")
    call = stub(channel).Synthesize(
        pb.SynthesizeRequest(text=" ".join([PARAGRAPH] * 6), output_format=F32), timeout=120
    )
    await call.read()
    call.cancel()
    t0 = time.monotonic()
    while time.monotonic() - t0 < 5:
        now = await triton_metrics(url, "voxgate_tts_")
        if now.get(CANCELLED, 0.0) > before.get(CANCELLED, 0.0):
            break
        await asyncio.sleep(0.02)
    after = await triton_metrics(url, "voxgate_tts_")
    assert after.get(CANCELLED, 0.0) == before.get(CANCELLED, 0.0) + 1
    assert after.get(ACTIVE, 0.0) == 0
    whole = len(" ".join([PARAGRAPH] * 6)) / 15 / 0.12  # ~15 characters per second of speech
    assert after.get(GROUPS, 0.0) - before.get(GROUPS, 0.0) < whole / 3


async def test_a_stalled_generator_fails_before_the_deadline(triton, settings):
    impatient = dataclasses.replace(settings, synthesis_stall_s=0.001)
    srv, port = create_server(impatient, triton.url)
    await srv.start()
    try:
        await asyncio.wait_for(srv.serving.wait(), 60)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
            t0 = time.monotonic()
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await synthesize(ch, text=PARAGRAPH)
            assert info.value.code() == C.DEADLINE_EXCEEDED
            assert "produced nothing" in info.value.details()
            assert time.monotonic() - t0 < 10
    finally:
        await srv.stop(grace=1.0)


@pytest.mark.parametrize(
    "fields,code,words",
    [
        ({"text": ""}, C.INVALID_ARGUMENT, "text: empty"),
        ({"text": "   "}, C.INVALID_ARGUMENT, "text: empty"),
        ({"text": "x" * 5001}, C.OUT_OF_RANGE, "5001 characters"),
        ({"text": "hi", "voice": "nobody"}, C.NOT_FOUND, "nobody"),
        (
            {"text": "hi", "style": pb.SpeechStyle(speed=3)},
            C.INVALID_ARGUMENT,
            "style.speed",
        ),
        (
            {
                "text": "hi",
                "prompt": pb.VoicePrompt(audio=audio_pb2.AudioInput(container=b"RIFFjunk")),
            },
            C.INVALID_ARGUMENT,
            "prompt.transcript",
        ),
        (
            {
                "text": "hi",
                "prompt": pb.VoicePrompt(
                    audio=audio_pb2.AudioInput(container=b"not audio at all"), transcript="x"
                ),
            },
            C.INVALID_ARGUMENT,
            "audio",
        ),
        (
            {
                "text": "hi",
                "output_format": audio_pb2.OutputAudioFormat(
                    container=audio_pb2.AUDIO_CONTAINER_MP3
                ),
            },
            C.INVALID_ARGUMENT,
            "MP3",
        ),
    ],
)
async def test_error_table(channel, fields, code, words):
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await synthesize(channel, **fields)
    assert info.value.code() == code
    assert words in info.value.details()


def _stream_blocking(address: str, messages: list) -> grpc.StatusCode:
    # Blocking client: see grpc/grpc#36066 (asyncio client, server ends a stream early).
    with grpc.insecure_channel(address) as ch:
        with pytest.raises(grpc.RpcError) as info:
            list(stub(ch).StreamSynthesize(iter(messages), timeout=30))
        return info.value.code()


async def test_stream_synthesize_needs_the_config_first(server):
    text_first = [pb.StreamSynthesizeRequest(text="hello")]
    config = pb.StreamSynthesizeRequest(config=pb.StreamSynthesizeConfig())
    two_configs = [config, config]
    for messages in (text_first, two_configs):
        code = await asyncio.to_thread(_stream_blocking, server[1], messages)
        assert code == C.INVALID_ARGUMENT


async def test_ogg_opus_pages_stream_before_the_end(channel):
    ogg = audio_pb2.OutputAudioFormat(container=audio_pb2.AUDIO_CONTAINER_OGG)
    pieces = await synthesize(channel, text=PARAGRAPH, output_format=ogg)
    assert pieces[0].audio.data.startswith(b"OggS")
    assert sum(len(p.audio.data) for p in pieces[:-1]) > len(pieces[-1].audio.data)
    audio, rate = sf.read(io.BytesIO(b"".join(p.audio.data for p in pieces)), dtype="float32")
    assert rate == 16000
    assert abs(len(audio) / rate - len(tokens(pieces)) // 5 * 0.12) < 0.05
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await synthesize(
            channel,
            text=SENTENCE,
            output_format=audio_pb2.OutputAudioFormat(
                container=audio_pb2.AUDIO_CONTAINER_OGG, sample_rate_hz=22050
            ),
        )
    assert info.value.code() == C.INVALID_ARGUMENT and "Opus" in info.value.details()


async def test_more_calls_than_the_limit_are_refused_at_once(triton, settings):
    small = dataclasses.replace(settings, max_concurrent_syntheses=2)
    srv, port = create_server(small, triton.url)
    await srv.start()
    try:
        await asyncio.wait_for(srv.serving.wait(), 60)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:

            async def one():
                try:
                    return len(await synthesize(ch, text=PARAGRAPH))
                except grpc.aio.AioRpcError as err:
                    return err.code()

            results = await asyncio.gather(*(one() for _ in range(5)))
            assert sum(r == C.RESOURCE_EXHAUSTED for r in results) >= 1
            assert sum(isinstance(r, int) for r in results) >= 2
            assert len(await synthesize(ch, text=SENTENCE)) > 1  # and it serves again after
    finally:
        await srv.stop(grace=1.0)


async def test_sixteen_concurrent_calls_all_complete(channel):
    """Regression: concurrent phonemization in tts_generator crashed tritonserver."""
    text = "The morning train was late again, so Maria walked to the office along the river."
    results = await asyncio.gather(*(synthesize(channel, text=text) for _ in range(16)))
    assert all(r[-1].final for r in results)
    assert len({tuple(tokens(r)) for r in results}) == 1
