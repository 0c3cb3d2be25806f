"""Audio framing: container and raw PCM decoding, resampling, streaming, encoding."""

from __future__ import annotations

import io
import struct
import warnings

import numpy as np
import pytest
import soundfile as sf
import soxr
from voxgate import audio as A
from voxgate.audio import Container, Encoding, OutputFormat, PcmFormat, PcmStreamDecoder
from voxgate.core.tokenization import ContainerAudio, RawAudio, load_16k
from voxgate.errors import InvalidArgument, OutOfRange

from tests.hostile import f32_with, flac_header, float_wav_with, silent_flac, with_flac_total

with warnings.catch_warnings():  # stdlib G.711 codecs, independent of libsndfile (3.11 has it)
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

RATES = [8000, 22050, 44100, 48000, 96000, 192000]
MAX_S = 600.0


def sine(freq: float, rate: int, seconds: float, amp: float = 0.5, phase: float = 0.0):
    t = np.arange(round(rate * seconds)) / rate
    return (amp * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)


def stereo(rate: int, seconds: float) -> np.ndarray:
    """Left and right differ, so a wrong downmix (e.g. left only, or a sum) is detectable."""
    left = sine(440, rate, seconds, 0.5)
    right = sine(1000, rate, seconds, 0.3, phase=1.0)
    return np.stack([left, right], axis=1)


def write(samples: np.ndarray, rate: int, fmt: str, subtype: str | None = None) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


def dominant_hz(x: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spec) * rate / len(x))


# --- containers -----------------------------------------------------------------------------


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("fmt", ["WAV", "FLAC", "OGG"])
def test_decode_container_formats_rates_channels(fmt: str, rate: int, channels: int) -> None:
    seconds = 0.25
    frames = stereo(rate, seconds) if channels == 2 else sine(440, rate, seconds)[:, None]
    mono_expected = frames.mean(axis=1)
    data = write(frames, rate, fmt)
    samples, got_rate = A.decode_container(data)
    assert got_rate == rate
    assert samples.dtype == np.float32
    assert samples.ndim == 1
    if fmt == "OGG":  # lossy: same length, same dominant tone, close waveform
        assert len(samples) == len(mono_expected)
        corr = np.corrcoef(samples, mono_expected)[0, 1]
        assert corr > 0.95
    else:  # 16-bit PCM: quantisation error only
        np.testing.assert_allclose(samples, mono_expected, atol=2e-4)


@pytest.mark.parametrize("channels", [2, 3, 8])
def test_downmix_is_channel_mean(channels: int) -> None:
    rng = np.random.default_rng(channels)
    frames = rng.uniform(-0.9, 0.9, (500, channels)).astype(np.float32)
    samples, _ = A.decode_container(write(frames, 16000, "WAV", "FLOAT"))
    np.testing.assert_allclose(samples, frames.mean(axis=1), rtol=0, atol=1e-6)
    # not just the first channel
    assert not np.allclose(samples, frames[:, 0], atol=1e-3)


@pytest.mark.parametrize("rate", [*RATES, 11025, 12345])
def test_resampled_length(rate: int) -> None:
    for seconds in (1.0, 0.37):
        x = sine(300, rate, seconds)
        y = A.to_16k(x, rate)
        assert abs(len(y) - len(x) * 16000 / rate) <= 1


def test_to_16k_is_identity_at_16k() -> None:
    x = np.random.default_rng(0).uniform(-1, 1, 1234).astype(np.float32)
    np.testing.assert_array_equal(A.to_16k(x, 16000), x)


@pytest.mark.parametrize("rate", RATES)
def test_1khz_sine_survives_resampling(rate: int) -> None:
    y = A.to_16k(sine(1000, rate, 0.5), rate)
    assert abs(dominant_hz(y, 16000) - 1000) <= 4
    # amplitude is preserved away from the edges
    mid = y[len(y) // 4 : 3 * len(y) // 4]
    assert 0.45 < np.max(np.abs(mid)) < 0.55


@pytest.mark.parametrize("rate", [22050, 48000])
def test_load_16k_of_container_resamples(rate: int) -> None:
    wav = load_16k(ContainerAudio(write(sine(1000, rate, 0.5), rate, "WAV")), MAX_S)
    assert abs(len(wav) - 8000) <= 1
    assert abs(dominant_hz(wav, 16000) - 1000) <= 4


# --- raw PCM --------------------------------------------------------------------------------


def encode_raw(frames: np.ndarray, enc: Encoding) -> bytes:
    """Independent little-endian encoders (numpy / audioop), frames [n, channels] in [-1, 1)."""
    flat = frames.reshape(-1).astype(np.float64)
    if enc is Encoding.F32LE:
        return flat.astype("<f4").tobytes()
    if enc is Encoding.S16LE:
        return np.round(flat * 32767).astype("<i2").tobytes()
    if enc is Encoding.S32LE:
        return np.round(flat * 2147483647).astype("<i4").tobytes()
    if enc is Encoding.S24LE:
        v = np.round(flat * 8388607).astype(np.int64) & 0xFFFFFF
        b = np.stack([v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF], axis=1).astype(np.uint8)
        return b.tobytes()
    pcm16 = np.round(flat * 32767).astype("<i2").tobytes()
    if enc is Encoding.MULAW:
        return audioop.lin2ulaw(pcm16, 2)
    if enc is Encoding.ALAW:
        return audioop.lin2alaw(pcm16, 2)
    raise AssertionError(enc)


TOL = {
    Encoding.F32LE: 1e-7,
    Encoding.S16LE: 1e-4,
    Encoding.S24LE: 1e-6,
    Encoding.S32LE: 1e-6,
    Encoding.MULAW: 0.02,
    Encoding.ALAW: 0.02,
}


@pytest.mark.parametrize("enc", list(Encoding))
@pytest.mark.parametrize("channels", [1, 2])
def test_raw_pcm_every_encoding(enc: Encoding, channels: int) -> None:
    rate = 16000
    frames = stereo(rate, 0.1) if channels == 2 else sine(440, rate, 0.1)[:, None]
    data = encode_raw(frames, enc)
    assert len(data) == len(frames) * channels * enc.sample_bytes
    samples = A.decode_pcm(data, PcmFormat(enc, rate, channels))
    assert samples.dtype == np.float32
    np.testing.assert_allclose(samples, frames.mean(axis=1), atol=TOL[enc])


@pytest.mark.parametrize("enc", list(Encoding))
def test_raw_pcm_via_load_16k_resamples(enc: Encoding) -> None:
    frames = sine(1000, 48000, 0.3)[:, None]
    wav = load_16k(RawAudio(encode_raw(frames, enc), PcmFormat(enc, 48000, 1)), MAX_S)
    assert abs(len(wav) - 4800) <= 1
    assert abs(dominant_hz(wav, 16000) - 1000) <= 5


def test_raw_pcm_s16_sign_and_endianness() -> None:
    data = struct.pack("<hhh", 16384, -16384, -32768)
    np.testing.assert_allclose(
        A.decode_pcm(data, PcmFormat(Encoding.S16LE, 16000, 1)), [0.5, -0.5, -1.0]
    )


# --- errors ---------------------------------------------------------------------------------


def test_empty_container_rejected() -> None:
    with pytest.raises(InvalidArgument):
        A.decode_container(b"")


@pytest.mark.parametrize("seed", range(6))
def test_random_bytes_rejected(seed: int) -> None:
    junk = np.random.default_rng(seed).bytes(2000)
    with pytest.raises(InvalidArgument):
        A.decode_container(junk)


def test_zero_bytes_rejected() -> None:
    with pytest.raises(InvalidArgument):
        A.decode_container(b"\x00" * 100)


def test_wav_with_no_samples_rejected() -> None:
    with pytest.raises(InvalidArgument):
        A.decode_container(write(np.zeros((0, 1), np.float32), 16000, "WAV"))


def test_truncated_wav_rejected_as_documented() -> None:
    data = write(sine(440, 16000, 1.0), 16000, "WAV")
    with pytest.raises(InvalidArgument):
        A.decode_container(data[: len(data) // 2])


def test_truncated_flac_rejected() -> None:
    data = write(sine(440, 16000, 3.0), 16000, "FLAC")
    with pytest.raises(InvalidArgument):
        A.decode_container(data[: len(data) // 2])


@pytest.mark.parametrize("rate", [4000, 7999, 192001, 200000])
def test_rate_out_of_range(rate: int) -> None:
    with pytest.raises(InvalidArgument):
        A.decode_container(write(np.zeros(400, np.float32), rate, "WAV"))
    with pytest.raises(InvalidArgument):
        load_16k(RawAudio(b"\x00\x00" * 10, PcmFormat(Encoding.S16LE, rate, 1)), MAX_S)
    with pytest.raises(InvalidArgument):
        PcmFormat(Encoding.S16LE, rate, 1).validate()


@pytest.mark.parametrize("rate", [8000, 192000])
def test_rate_limits_inclusive(rate: int) -> None:
    assert PcmFormat(Encoding.S16LE, rate, 1).validate().sample_rate == rate


@pytest.mark.parametrize("channels", [0, 9])
def test_channels_out_of_range(channels: int) -> None:
    with pytest.raises(InvalidArgument):
        PcmFormat(Encoding.S16LE, 16000, channels).validate()
    with pytest.raises(InvalidArgument):
        load_16k(RawAudio(b"\x00\x00" * 18, PcmFormat(Encoding.S16LE, 16000, channels)), MAX_S)
    if channels:
        with pytest.raises(InvalidArgument):
            A.decode_container(write(np.zeros((100, channels), np.float32), 16000, "WAV"))


def test_empty_raw_rejected() -> None:
    with pytest.raises(InvalidArgument):
        load_16k(RawAudio(b"", PcmFormat(Encoding.S16LE, 16000, 1)), MAX_S)


@pytest.mark.parametrize(
    ("enc", "channels", "n_bytes"),
    [
        (Encoding.S16LE, 1, 3),
        (Encoding.S16LE, 2, 6),
        (Encoding.S24LE, 1, 7),
        (Encoding.S32LE, 1, 6),
        (Encoding.F32LE, 2, 12),
        (Encoding.MULAW, 3, 4),
    ],
)
def test_partial_frames_rejected(enc: Encoding, channels: int, n_bytes: int) -> None:
    with pytest.raises(InvalidArgument):
        A.decode_pcm(b"\x01" * n_bytes, PcmFormat(enc, 16000, channels))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_float_samples_rejected(bad: float) -> None:
    x = np.zeros(100, np.float32)
    x[37] = bad
    with pytest.raises(InvalidArgument):
        A.decode_pcm(x.astype("<f4").tobytes(), PcmFormat(Encoding.F32LE, 16000, 1))
    with pytest.raises(InvalidArgument):
        A.decode_container(write(x, 16000, "WAV", "FLOAT"))


def test_check_duration() -> None:
    A.check_duration(16000 * 10, 16000, 10.0)  # exactly the limit is fine
    with pytest.raises(OutOfRange):
        A.check_duration(16000 * 10 + 1, 16000, 10.0)
    with pytest.raises(OutOfRange):
        load_16k(ContainerAudio(write(np.zeros(8001, np.float32), 8000, "WAV")), 1.0)
    load_16k(ContainerAudio(write(np.zeros(8000, np.float32), 8000, "WAV")), 1.0)


# --- streaming ------------------------------------------------------------------------------


def cut(data: bytes, mode: str | int, seed: int = 0) -> list[bytes]:
    if isinstance(mode, int):
        return [data[i : i + mode] for i in range(0, len(data), mode)]
    rng = np.random.default_rng(seed)
    pieces, i = [], 0
    while i < len(data):
        n = int(rng.integers(0, 5000))  # zero-length pieces included
        pieces.append(data[i : i + n])
        i += n
    return pieces


def stream(decoder: PcmStreamDecoder, pieces: list[bytes]) -> np.ndarray:
    out = [decoder.push(p) for p in pieces]
    out.append(decoder.finish())
    return np.concatenate(out)


def signal(rate: int, channels: int, seconds: float) -> np.ndarray:
    rng = np.random.default_rng(rate + channels)
    base = stereo(rate, seconds) if channels == 2 else sine(700, rate, seconds)[:, None]
    return (base + rng.normal(0, 0.05, base.shape)).clip(-1, 1).astype(np.float32)


CASES = [(44100, 2), (16000, 1)]


@pytest.mark.parametrize(("rate", "channels"), CASES)
@pytest.mark.parametrize(("piece", "seconds"), [(1, 0.06), (7, 0.4), ("random", 1.3)])
def test_wav_stream_equals_whole_file(rate: int, channels: int, piece, seconds: float) -> None:
    data = write(signal(rate, channels, seconds), rate, "WAV")
    whole = load_16k(ContainerAudio(data), MAX_S)
    got = stream(PcmStreamDecoder(Container.WAV, None, MAX_S), cut(data, piece, seed=rate))
    assert got.dtype == np.float32
    assert np.array_equal(got, whole)


@pytest.mark.parametrize(("rate", "channels"), CASES)
@pytest.mark.parametrize(("piece", "seconds"), [(1, 0.06), (7, 0.4), ("random", 1.3)])
def test_raw_stream_equals_whole(rate: int, channels: int, piece, seconds: float) -> None:
    fmt = PcmFormat(Encoding.S16LE, rate, channels)
    data = encode_raw(signal(rate, channels, seconds), Encoding.S16LE)
    whole = load_16k(RawAudio(data, fmt), MAX_S)
    got = stream(PcmStreamDecoder(Container.RAW, fmt, MAX_S), cut(data, piece, seed=channels))
    assert np.array_equal(got, whole)


def test_wav_float_stream_with_extra_chunks_equals_whole() -> None:
    # soundfile's FLOAT WAV has fact/PEAK chunks before data, so the data offset is not 44
    data = write(signal(48000, 2, 0.2), 48000, "WAV", "FLOAT")
    assert A.parse_wav_header(data).data_offset > 44
    whole = load_16k(ContainerAudio(data), MAX_S)
    got = stream(PcmStreamDecoder(Container.WAV, None, MAX_S), cut(data, 13))
    assert np.array_equal(got, whole)


def test_wav_stream_with_trailing_list_chunk_equals_whole_file() -> None:
    buf = io.BytesIO()
    with sf.SoundFile(buf, "w", 16000, 1, format="WAV", subtype="PCM_16") as f:
        f.write(sine(440, 16000, 1.0))
        f.title = "a title"  # libsndfile writes a LIST chunk after the data chunk
    data = buf.getvalue()
    assert data.find(b"LIST") > data.find(b"data")
    whole = load_16k(ContainerAudio(data), MAX_S)
    assert len(whole) == 16000
    got = stream(PcmStreamDecoder(Container.WAV, None, MAX_S), cut(data, 1000))
    assert np.array_equal(got, whole)


def test_parse_wav_header_none_on_every_prefix() -> None:
    data = write(signal(44100, 2, 0.05), 44100, "WAV")
    header = A.parse_wav_header(data)
    assert header == A.WavHeader(PcmFormat(Encoding.S16LE, 44100, 2), 44, len(data) - 44)
    for n in range(header.data_offset):
        assert A.parse_wav_header(data[:n]) is None, n
    assert A.parse_wav_header(data[: header.data_offset]) == header


@pytest.mark.parametrize(
    "junk",
    [b"X", b"RIFX", b"OggS\x00\x02", b"fLaC\x00\x00\x00\x22", b"RIFF\x10\x00\x00\x00WAVX", b"ID3"],
)
def test_parse_wav_header_rejects_non_riff(junk: bytes) -> None:
    with pytest.raises(InvalidArgument):
        A.parse_wav_header(junk + b"\x00" * 64)
    if len(junk) < 12 and not b"RIFF".startswith(junk[:4]):
        with pytest.raises(InvalidArgument):
            A.parse_wav_header(junk)


def test_wav_stream_of_flac_rejected() -> None:
    dec = PcmStreamDecoder(Container.WAV, None, MAX_S)
    with pytest.raises(InvalidArgument):
        dec.push(write(sine(440, 16000, 0.1), 16000, "FLAC"))


@pytest.mark.parametrize(
    ("subtype", "channels", "enc"),
    [
        ("PCM_16", 1, Encoding.S16LE),
        ("PCM_24", 2, Encoding.S24LE),
        ("PCM_32", 3, Encoding.S32LE),
        ("FLOAT", 4, Encoding.F32LE),
    ],
)
def test_wave_format_extensible(subtype: str, channels: int, enc: Encoding) -> None:
    # soundfile writes plain WAVE_FORMAT_PCM even for 3+ channels or 24 bit; "WAVEX" forces
    # WAVE_FORMAT_EXTENSIBLE (tag 0xFFFE with the real format in the sub-format GUID).
    frames = np.random.default_rng(channels).uniform(-0.8, 0.8, (3000, channels))
    data = write(frames.astype(np.float32), 22050, "WAVEX", subtype)
    assert struct.unpack_from("<H", data, 20)[0] == 0xFFFE
    header = A.parse_wav_header(data)
    assert header.fmt == PcmFormat(enc, 22050, channels)
    whole = load_16k(ContainerAudio(data), MAX_S)
    got = stream(PcmStreamDecoder(Container.WAV, None, MAX_S), cut(data, "random"))
    assert np.array_equal(got, whole)


def test_unsupported_wav_format_rejected() -> None:
    data = bytearray(write(np.zeros(100, np.float32), 16000, "WAV", "PCM_U8"))
    with pytest.raises(InvalidArgument):
        A.parse_wav_header(bytes(data))


def test_stream_errors() -> None:
    with pytest.raises(ValueError):
        PcmStreamDecoder(Container.FLAC, None, MAX_S)
    dec = PcmStreamDecoder(Container.WAV, None, MAX_S)
    dec.push(b"RIFF")
    with pytest.raises(InvalidArgument):
        dec.finish()  # ended before a complete header
    fmt = PcmFormat(Encoding.S16LE, 16000, 1)
    dec = PcmStreamDecoder(Container.RAW, fmt, MAX_S)
    dec.push(b"\x00\x00\x00")
    with pytest.raises(InvalidArgument):
        dec.finish()  # partial frame left over
    with pytest.raises(InvalidArgument):
        PcmStreamDecoder(Container.RAW, PcmFormat(Encoding.S16LE, 4000, 1), MAX_S)


def test_stream_duration_limit() -> None:
    fmt = PcmFormat(Encoding.S16LE, 8000, 1)
    dec = PcmStreamDecoder(Container.RAW, fmt, 1.0)
    dec.push(b"\x00\x00" * 8000)  # exactly 1 s is allowed
    with pytest.raises(OutOfRange):
        dec.push(b"\x00\x00")


def test_stream_nan_rejected() -> None:
    x = np.zeros(64, "<f4")
    x[10] = np.nan
    dec = PcmStreamDecoder(Container.RAW, PcmFormat(Encoding.F32LE, 16000, 1), MAX_S)
    with pytest.raises(InvalidArgument):
        dec.push(x.tobytes())


# --- encode ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("container", "enc", "atol"),
    [
        (Container.WAV, Encoding.S16LE, 1e-4),
        (Container.WAV, Encoding.F32LE, 1e-7),
        (Container.WAV, Encoding.S24LE, 1e-6),
        (Container.FLAC, Encoding.S16LE, 1e-4),
        (Container.FLAC, Encoding.S24LE, 1e-6),
        (Container.RAW, Encoding.S16LE, 1e-4),
        (Container.RAW, Encoding.F32LE, 1e-7),
        (Container.RAW, Encoding.MULAW, 0.02),
    ],
)
def test_encode_round_trip(container: Container, enc: Encoding, atol: float) -> None:
    x = signal(16000, 1, 0.3)[:, 0]
    data, resolved = A.encode(x, 16000, OutputFormat(container, enc))
    assert resolved == OutputFormat(container, enc, 16000)
    if container is Container.RAW:
        y, rate = sf.read(
            io.BytesIO(data),
            format="RAW",
            subtype=enc.subtype,
            samplerate=16000,
            channels=1,
            endian="LITTLE",
            dtype="float32",
        )
        assert len(data) == len(x) * enc.sample_bytes
    else:
        info = sf.info(io.BytesIO(data))
        assert info.format == container.value
        assert info.subtype == enc.subtype
        y, rate = sf.read(io.BytesIO(data), dtype="float32")
    assert rate == 16000
    np.testing.assert_allclose(y, x, atol=atol)


def test_encode_ogg() -> None:
    x = sine(1000, 16000, 0.5)
    data, resolved = A.encode(x, 16000, OutputFormat(Container.OGG))
    assert resolved.container is Container.OGG and resolved.sample_rate == 16000
    assert sf.info(io.BytesIO(data)).format == "OGG"
    y, rate = sf.read(io.BytesIO(data), dtype="float32")
    assert rate == 16000 and len(y) == len(x)
    assert abs(dominant_hz(y, 16000) - 1000) <= 4


def test_encode_clips() -> None:
    x = np.array([2.0, -3.0, 0.5], np.float32)
    data, _ = A.encode(x, 16000, OutputFormat(Container.RAW, Encoding.F32LE))
    np.testing.assert_array_equal(np.frombuffer(data, "<f4"), [1.0, -1.0, 0.5])


@pytest.mark.parametrize("target", [8000, 48000])
def test_encode_resamples(target: int) -> None:
    x = sine(1000, 16000, 0.5)
    data, resolved = A.encode(x, 16000, OutputFormat(Container.WAV, Encoding.S16LE, target))
    assert resolved.sample_rate == target
    y, rate = sf.read(io.BytesIO(data), dtype="float32")
    assert rate == target
    assert abs(len(y) - len(x) * target / 16000) <= 1
    assert abs(dominant_hz(y, target) - 1000) <= 4


@pytest.mark.parametrize(
    "fmt",
    [
        OutputFormat(Container.MP3),
        OutputFormat(Container.FLAC, Encoding.F32LE),
        OutputFormat(Container.FLAC, Encoding.MULAW),
        OutputFormat(Container.WAV, Encoding.S16LE, 4000),
        OutputFormat(Container.WAV, Encoding.S16LE, 200000),
    ],
)
def test_encode_rejects(fmt: OutputFormat) -> None:
    with pytest.raises(InvalidArgument):
        A.encode(sine(440, 16000, 0.1), 16000, fmt)


# --- hostile input: sizes from headers, bounded memory, sample range (issue 11) -----------


def peak_alloc_mb(fn) -> tuple[object, float]:
    """Runs fn(); returns its result (or the exception it raised) and the peak of the memory
    Python and numpy allocated meanwhile (numpy reports its arrays to tracemalloc), in MB."""
    import tracemalloc

    tracemalloc.start()
    try:
        try:
            result: object = fn()
        except Exception as err:  # the caller asserts on what came out
            result = err
        return result, tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def test_declared_duration_refused_before_decoding() -> None:
    data = silent_flac(8000, 1, 700)  # 700 s, ~50 KB
    result, peak = peak_alloc_mb(lambda: load_16k(ContainerAudio(data), MAX_S))
    assert isinstance(result, OutOfRange)
    assert "declares 700.0 s" in result.message and "600 s limit" in result.message
    assert peak < 2, peak  # nothing decoded


@pytest.mark.parametrize("total", [(1 << 36) - 1, 192000 * 3600])
def test_absurd_declared_length_allocates_nothing(total: int) -> None:
    data = with_flac_total(silent_flac(192000, 8, 0.5), total)
    result, peak = peak_alloc_mb(lambda: A.decode_container(data, MAX_S))
    assert isinstance(result, OutOfRange) and "declares" in result.message
    assert peak < 2, peak
    # without a limit, the declared length sizes no allocation (no terabytes): what is there
    # is decoded, into a first buffer of at most 64 MiB
    result, peak = peak_alloc_mb(lambda: A.decode_container(data))
    assert isinstance(result, tuple) and len(result[0]) == 96000 and result[1] == 192000
    assert peak < 70, peak


def test_unknown_length_stops_at_the_limit_while_decoding() -> None:
    data = with_flac_total(silent_flac(8000, 1, 90), 0)  # STREAMINFO: length unknown
    with A.AudioReader.container(data) as reader:
        assert reader.info.frames is None
    result, peak = peak_alloc_mb(lambda: load_16k(ContainerAudio(data), 60.0))
    assert isinstance(result, OutOfRange)
    assert "at least 6" in result.message and "60 s limit" in result.message
    assert peak < 12, peak  # 60 s at 16 kHz is 3.84 MB (+ growth), not the whole file
    assert len(load_16k(ContainerAudio(data), MAX_S)) == 90 * 16000


def test_many_channels_high_rate_decode_in_blocks() -> None:
    data = silent_flac(192000, 8, 10)  # whole-file decoding: 10 s x 8 ch x 192 kHz = 61 MB
    wav, peak = peak_alloc_mb(lambda: load_16k(ContainerAudio(data), MAX_S))
    assert isinstance(wav, np.ndarray) and abs(len(wav) - 160000) <= 1
    assert peak < 6, peak  # the 16 kHz result (0.64 MB), a block and the resampler's state


def test_raw_pcm_too_long_refused_before_decoding() -> None:
    data = bytes(8000 * 601)  # 601 s of 8 kHz mu-law
    fmt = PcmFormat(Encoding.MULAW, 8000, 1)
    result, peak = peak_alloc_mb(lambda: load_16k(RawAudio(data, fmt), MAX_S))
    assert isinstance(result, OutOfRange) and "601.0 s" in result.message
    assert peak < 1, peak


def test_stream_piece_too_long_refused_before_decoding() -> None:
    dec = PcmStreamDecoder(Container.RAW, PcmFormat(Encoding.MULAW, 8000, 1), 10.0)
    result, peak = peak_alloc_mb(lambda: dec.push(bytes(8000 * 11)))
    assert isinstance(result, OutOfRange)
    assert peak < 1, peak


def test_block_decoding_equals_whole_decoding() -> None:
    # several blocks, an odd length, two channels: same samples as libsndfile's whole read
    frames = signal(44100, 2, 1.7)
    data = write(frames, 44100, "WAV", "FLOAT")
    whole, _ = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    samples, _ = A.decode_container(data)
    np.testing.assert_array_equal(samples, whole.mean(axis=1, dtype=np.float32))
    assert np.array_equal(load_16k(ContainerAudio(data), MAX_S), A.to_16k(samples, 44100))


@pytest.mark.parametrize("value", [1.5, -7.0, 1e19, 1e30, -3.4e38])
def test_out_of_range_float_samples_are_clipped(value: float) -> None:
    raw = f32_with(value)
    x = A.decode_pcm(raw, PcmFormat(Encoding.F32LE, 16000, 1))
    assert x[8000] == np.sign(value)
    expected = np.frombuffer(raw, "<f4").copy()
    expected[8000] = np.sign(value)
    np.testing.assert_array_equal(x, expected)
    y, _ = A.decode_container(float_wav_with(value))
    np.testing.assert_array_equal(y, expected)
    z = load_16k(ContainerAudio(float_wav_with(value)), MAX_S)
    assert np.abs(z).max() < 1.5  # the resampler may ring a little past 1, never far


def test_libsndfile_wording_never_reaches_the_message() -> None:
    for junk in (b"\x00garbage" * 100, b"OggS" + bytes(200), b"fLaC" + bytes(100), b"ID3\x03"):
        with pytest.raises(InvalidArgument) as info:
            A.decode_container(junk)
        assert info.value.message in (A._UNREADABLE, A._CORRUPT)
    data = write(sine(440, 16000, 3.0), 16000, "FLAC")
    with pytest.raises(InvalidArgument) as info:
        A.decode_container(data[: len(data) // 2])
    assert info.value.message in (A._UNREADABLE, A._CORRUPT, "audio.container: no samples")


def test_wav_stream_chunk_before_data_cannot_declare_gigabytes() -> None:
    head = write(np.zeros(16, np.float32), 16000, "WAV")[:36]  # RIFF, WAVE, fmt
    big_list = b"LIST" + struct.pack("<I", 0x7FFFFFF0)
    dec = PcmStreamDecoder(Container.WAV, None, MAX_S)
    with pytest.raises(InvalidArgument, match="before the data"):
        dec.push(head + big_list + bytes(100))


# FLAC/OGG/MP3 streams: held until the end, bounded by what their header declares


@pytest.mark.parametrize(
    ("container", "fmt", "subtype"),
    [
        (Container.FLAC, "FLAC", None),
        (Container.OGG, "OGG", "VORBIS"),
        (Container.MP3, "MP3", None),
    ],
)
def test_container_stream_equals_whole_file(container, fmt, subtype) -> None:
    data = write(signal(22050, 2, 2.0), 22050, fmt, subtype)
    held = A.ContainerStream(container, MAX_S, 64 << 20)
    for piece in cut(data, 3000):
        held.push(piece)
    got = held.finish()
    assert held.info is not None and held.info.sample_rate == 22050
    assert bytes(got) == data and not held.data
    np.testing.assert_array_equal(
        load_16k(ContainerAudio(got), MAX_S), load_16k(ContainerAudio(data), MAX_S)
    )


def test_container_stream_rejects_other_bytes_at_once() -> None:
    held = A.ContainerStream(Container.FLAC, MAX_S, 64 << 20)
    with pytest.raises(InvalidArgument, match="not FLAC"):
        held.push(b"\x00" * 4)
    held = A.ContainerStream(Container.OGG, MAX_S, 64 << 20)
    with pytest.raises(InvalidArgument, match="not OGG"):
        held.push(b"Og")
        held.push(silent_flac(16000, 1, 1.0))  # checked once 4 bytes are there
    held = A.ContainerStream(Container.MP3, MAX_S, 64 << 20)
    with pytest.raises(InvalidArgument, match="not a readable MP3 stream"):
        held.push(b"\xff" + bytes(5 << 20))  # a sync byte, then nothing its header read finds


def test_container_stream_bounded_by_its_declared_rate() -> None:
    held = A.ContainerStream(Container.FLAC, 10.0, 64 << 20)
    held.push(silent_flac(8000, 1, 0.5))  # 8 kHz mono 16 bit: 10 s take at most 176 KB
    with pytest.raises(OutOfRange, match="declared rate"):
        for _ in range(100):
            held.push(bytes(64 * 1024))
    assert len(held.data) < 4 * 2**20 + 180_000


def test_container_stream_bounded_by_max_bytes() -> None:
    held = A.ContainerStream(Container.FLAC, MAX_S, 6 << 20)
    held.push(flac_header())  # 192 kHz x 8 x 24 bit: the rate allows gigabytes
    with pytest.raises(OutOfRange, match="may hold at most 6 MiB"):
        for _ in range(100):
            held.push(bytes(1 << 20))
    assert len(held.data) <= 6 << 20


def test_container_stream_declared_too_long() -> None:
    held = A.ContainerStream(Container.FLAC, MAX_S, 64 << 20)
    with pytest.raises(OutOfRange, match=r"declares 3600\.0 s"):
        held.push(silent_flac(8000, 1, 3600)[:5000])


def test_container_stream_header_checked_as_soon_as_it_is_there() -> None:
    held = A.ContainerStream(Container.FLAC, MAX_S, 64 << 20)
    with pytest.raises(InvalidArgument, match="sample_rate_hz: 4000 outside"):
        held.push(silent_flac(4000, 1, 2.0) + bytes(5000))


def test_container_stream_unreadable() -> None:
    held = A.ContainerStream(Container.FLAC, MAX_S, 64 << 20)
    held.push(b"fLaC" + bytes(100))
    with pytest.raises(InvalidArgument, match="not a readable FLAC stream"):
        held.finish()
    with pytest.raises(InvalidArgument, match="no audio"):
        A.ContainerStream(Container.MP3, MAX_S, 1 << 20).finish()


# Detokenize output: its size is known before rendering


def test_output_size_refused_before_any_work() -> None:
    fmt = OutputFormat(Container.WAV, Encoding.S32LE, 192000)
    n = 600 * 16000  # 600 s at the model's rate
    assert A.output_bytes(n, 16000, fmt) == 600 * 192000 * 4 + 128
    with pytest.raises(OutOfRange, match="a response may carry"):
        A.check_output_size(n, 16000, fmt, 64 << 20)
    A.check_output_size(n, 16000, OutputFormat(Container.RAW, Encoding.MULAW, 8000), 64 << 20)
    x = np.zeros(n, np.float32)
    result, peak = peak_alloc_mb(lambda: A.encode(x, 16000, fmt, max_bytes=64 << 20))
    assert isinstance(result, OutOfRange)
    assert peak < 1, peak


def test_compressed_output_stops_at_the_limit() -> None:
    x = np.random.default_rng(0).uniform(-1, 1, 16000 * 20).astype(np.float32)  # noise
    with pytest.raises(OutOfRange, match="FLAC"):
        A.encode(x, 16000, OutputFormat(Container.FLAC, Encoding.S16LE, 48000), 1 << 20)
    data, _ = A.encode(x, 16000, OutputFormat(Container.FLAC), 1 << 20)  # 640 KB: fits
    assert len(data) < 1 << 20


@pytest.mark.parametrize("target", [8000, 16000, 44100, 192000])
def test_block_encoding_equals_whole_resampling(target: int) -> None:
    x = signal(16000, 1, 2.3)[:, 0] * 1.3  # past full scale: clipped after resampling
    data, _ = A.encode(x, 16000, OutputFormat(Container.RAW, Encoding.F32LE, target))
    whole = x if target == 16000 else soxr.resample(x, 16000, target, quality="HQ")
    np.testing.assert_array_equal(np.frombuffer(data, "<f4"), np.clip(whole, -1, 1))


def test_mono_s16le_fast_path_gives_libsndfiles_samples():
    """decode_pcm's numpy path for mono S16LE (live streams) equals libsndfile's decoding."""
    every = np.arange(-32768, 32768, dtype="<i2").tobytes()
    fmt = PcmFormat(Encoding.S16LE, 16000, 1)
    with A.AudioReader.pcm(every, fmt) as reader:
        want = reader.read()
    got = A.decode_pcm(every, fmt)
    assert got.dtype == want.dtype == np.float32
    np.testing.assert_array_equal(got, want)
