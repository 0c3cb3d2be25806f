"""Speaker conditioning over the real Triton (speaker_adapter, detokenize_voice) and through
Synthesize over real gRPC: the adapter equals its numpy reference, a zero shift changes nothing,
a log-F0 shift moves the pitch, a cepstral shift the envelope, and cloning two different
speakers moves each output's envelope toward its prompt's."""

from __future__ import annotations

import io
import math
import shutil

import numpy as np
import parselmouth
import pytest
import soundfile as sf
from tritonclient.grpc import InferInput
from voxgate.core.decoding import decode_all
from voxgate.model_names import SPEAKER_ADAPTER
from voxgate.reference import corpus, dsp, speaker
from voxgate.triton import TritonModels, inference_client
from voxgate.v1 import audio_pb2, synthesis_pb2, synthesis_pb2_grpc

from tests.conftest import wav_bytes

pytestmark = [
    pytest.mark.triton,
    pytest.mark.skipif(not shutil.which("flite"), reason="flite makes the test speakers"),
]
pb = synthesis_pb2
F32 = audio_pb2.OutputAudioFormat(
    container=audio_pb2.AUDIO_CONTAINER_RAW, encoding=audio_pb2.PCM_ENCODING_F32LE
)
SENTENCE = "I will call you back tomorrow morning to confirm the details."
PROMPT_TEXT = (
    "The north wind and the sun were disputing which was the stronger, "
    "when a traveler came along wrapped in a warm cloak."
)


@pytest.fixture
async def models(triton):
    m = TritonModels(triton.url, 60.0)
    yield m
    await m.close()


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return corpus.synthesize_flite("Please call Stella and ask her to bring these things.", "awb")


@pytest.fixture
async def ids(models, speech) -> np.ndarray:
    ling, sem = await models.tokenize(speech)
    n = min(len(ling) // 2, len(sem) // 3)
    groups = np.concatenate([ling[: 2 * n].reshape(n, 2), 1024 + sem[: 3 * n].reshape(n, 3)], 1)
    return groups.reshape(-1).astype(np.int64)


def median_f0(wav: np.ndarray) -> float:
    pitch = parselmouth.Sound(wav.astype(np.float64), dsp.SR).to_pitch(
        pitch_floor=60.0, pitch_ceiling=500.0
    )
    f0 = pitch.selected_array["frequency"]
    return float(np.median(f0[f0 > 0]))


def low_high_ratio_db(wav: np.ndarray) -> float:
    """Energy below 1 kHz over energy in 2-6 kHz, dB (plain averaged FFT, not the codec's)."""
    n = 512
    frames = np.lib.stride_tricks.sliding_window_view(wav, n)[::256] * np.hanning(n)
    power = (np.abs(np.fft.rfft(frames, axis=-1)) ** 2).mean(0)
    freqs = np.fft.rfftfreq(n, 1 / dsp.SR)
    low = power[(freqs > 50) & (freqs < 1000)].sum()
    high = power[(freqs > 2000) & (freqs < 6000)].sum()
    return float(10 * np.log10(low / high))


def envelope(wav: np.ndarray) -> np.ndarray:
    env = speaker.envelope(wav)
    assert env is not None
    return env.cepstrum


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Envelope distance: c1..c23 (c0 is the level, which cloning leaves alone)."""
    return float(np.linalg.norm(np.asarray(a)[1:] - np.asarray(b)[1:]))


# -- the models --------------------------------------------------------------------------------


async def test_speaker_adapter_in_triton_equals_the_numpy_reference(triton):
    rng = np.random.default_rng(7)
    feats = rng.normal(0, 3, (2, 36, dsp.N_FEAT)).astype(np.float32)
    feats[..., dsp.F_LF0] = np.log(rng.uniform(60, 450, (2, 36))).astype(np.float32)
    shift = rng.normal(0, 1, (2, speaker.SHIFT_SIZE)).astype(np.float32)
    inputs = [
        InferInput("acoustic_features", list(feats.shape), "FP32"),
        InferInput("speaker_shift", list(shift.shape), "FP32"),
    ]
    inputs[0].set_data_from_numpy(feats)
    inputs[1].set_data_from_numpy(shift)
    client = inference_client(triton.url)
    try:
        result = await client.infer(SPEAKER_ADAPTER, inputs)
    finally:
        await client.close()
    np.testing.assert_array_equal(
        result.as_numpy("shifted_features"), speaker.shift_features(feats, shift)
    )


async def test_detokenize_voice_with_a_zero_shift_equals_detokenize(models, ids):
    plain = await models.decode(ids)
    zero = await models.decode(ids, speaker_shift=np.zeros(speaker.SHIFT_SIZE, np.float32))
    np.testing.assert_array_equal(zero, plain)
    assert len(plain) == len(ids) // 5 * dsp.GROUP


async def test_a_log_f0_shift_raises_the_pitch_by_its_ratio(models, ids):
    shift = np.zeros(speaker.SHIFT_SIZE, np.float32)
    shift[dsp.N_CEP] = math.log(1.3)
    plain, higher = await models.decode(ids), await models.decode(ids, speaker_shift=shift)
    ratio = median_f0(higher) / median_f0(plain)
    print(f"median F0 ratio for a log-F0 shift of log(1.3): {ratio:.3f}")
    assert ratio == pytest.approx(1.3, rel=0.04)


async def test_a_low_cepstral_shift_tilts_the_envelope(models, ids):
    darker = np.zeros(speaker.SHIFT_SIZE, np.float32)
    darker[1] = 3.0  # c1 up: more energy in the low bands, less in the high ones
    brighter = -darker
    plain = await models.decode(ids)
    dark = await models.decode(ids, speaker_shift=darker)
    bright = await models.decode(ids, speaker_shift=brighter)
    base = low_high_ratio_db(plain)
    dark_db, bright_db = low_high_ratio_db(dark) - base, low_high_ratio_db(bright) - base
    seen = envelope(dark)[1] - envelope(plain)[1]
    print(f"dc1 = +-3: low/high band ratio {dark_db:+.1f} / {bright_db:+.1f} dB, c1 {seen:+.2f}")
    assert dark_db > 3 and bright_db < -3
    # the codec's own analysis sees (about) the shift that was applied
    assert seen == pytest.approx(3.0, abs=0.7)


async def test_chunked_decoding_with_a_shift_equals_whole(models, ids):
    shift = np.zeros(speaker.SHIFT_SIZE, np.float32)
    shift[1:5] = [2.0, -1.0, 0.5, 0.5]
    shift[dsp.N_CEP] = 0.05
    whole = await models.decode(ids, speaker_shift=shift)
    chunked = await decode_all(_WithShift(models, shift), ids, chunk_groups=4)
    snr = 10 * np.log10(np.sum(whole**2) / max(np.sum((whole - chunked) ** 2), 1e-30))
    print(f"chunked vs whole with a shift: SNR {snr:.1f} dB")
    assert snr >= 30, snr


class _WithShift:
    """decode_all has no shift argument: a decoder that always passes one (what DecodeStream
    does for a cloned voice)."""

    def __init__(self, models: TritonModels, shift: np.ndarray) -> None:
        self._models, self._shift = models, shift

    async def spec(self):
        return await self._models.spec()

    async def decode(self, ids: np.ndarray, speaker_shift: np.ndarray | None = None):
        return await self._models.decode(ids, speaker_shift=self._shift)


# -- cloning through Synthesize ------------------------------------------------------------------


async def _synthesize(channel, **fields) -> list[pb.SynthesizeResponse]:
    stub = synthesis_pb2_grpc.SynthesisServiceStub(channel)
    request = pb.SynthesizeRequest(output_format=F32, **fields)
    return [r async for r in stub.Synthesize(request, timeout=120)]


def _samples(pieces) -> np.ndarray:
    return np.concatenate([np.frombuffer(p.audio.data, np.float32) for p in pieces])


def _tokens(pieces) -> np.ndarray:
    return np.asarray([t for p in pieces for t in p.audio_tokens], np.int64)


async def test_cloning_two_speakers_moves_each_envelope_toward_its_prompt(channel, models):
    prompts = {v: corpus.synthesize_flite(PROMPT_TEXT, v) for v in ("slt", "awb")}
    target = {v: envelope(w) for v, w in prompts.items()}
    outputs = {}
    for voice, wav in prompts.items():
        audio = audio_pb2.AudioInput(container=wav_bytes(wav, dsp.SR))
        pieces = await _synthesize(
            channel, text=SENTENCE, prompt=pb.VoicePrompt(audio=audio, transcript=PROMPT_TEXT)
        )
        assert any("spectral envelope" in n for n in pieces[0].report.not_applied)
        cloned = _samples(pieces)
        # The same tokens without the speaker shift (the plain detokenize ensemble).
        unshifted = await models.decode(_tokens(pieces))
        outputs[voice] = envelope(cloned)
        with_shift = distance(outputs[voice], target[voice])
        without = distance(envelope(unshifted), target[voice])
        print(f"{voice}: envelope distance to the prompt {without:.2f} -> {with_shift:.2f}")
        assert with_shift < 0.5 * without
    # ... and each output is nearer its own prompt than the other speaker's
    for own, other in (("slt", "awb"), ("awb", "slt")):
        assert distance(outputs[own], target[own]) < distance(outputs[own], target[other])


async def test_a_registered_voice_keeps_its_envelope(channel):
    wav = corpus.synthesize_flite(PROMPT_TEXT, "rms")
    prompt = pb.VoicePrompt(
        audio=audio_pb2.AudioInput(container=wav_bytes(wav, dsp.SR)), transcript=PROMPT_TEXT
    )
    stub = synthesis_pb2_grpc.SynthesisServiceStub(channel)
    created = await stub.CreateVoice(
        pb.CreateVoiceRequest(prompt=prompt, name="rms", consent_note="synthetic test voice"),
        timeout=60,
    )
    try:
        registered = await _synthesize(channel, text=SENTENCE, voice=created.voice.id)
        once = await _synthesize(channel, text=SENTENCE, prompt=prompt)
        # the stored envelope gives exactly what measuring the prompt again gives
        np.testing.assert_array_equal(_samples(registered), _samples(once))
        plain = await _synthesize(channel, text=SENTENCE)
        assert distance(envelope(_samples(registered)), envelope(wav)) < distance(
            envelope(_samples(plain)), envelope(wav)
        )
    finally:
        await stub.DeleteVoice(pb.DeleteVoiceRequest(voice_id=created.voice.id), timeout=10)


def test_wav_prompt_round_trip_keeps_the_envelope():
    """The WAV the tests send (16-bit) measures like the float prompt."""
    wav = corpus.synthesize_flite(PROMPT_TEXT, "slt")
    back, _ = sf.read(io.BytesIO(wav_bytes(wav, dsp.SR)), dtype="float32")
    assert distance(envelope(back), envelope(wav)) < 0.05
