"""Property-based fuzzing of audio decoding and request parsing (issue 11).

Whatever the bytes, decoding and parsing either succeed with sane audio or raise a domain
error the interceptor maps to INVALID_ARGUMENT / OUT_OF_RANGE; never anything else, which the
interceptor would answer INTERNAL. Bounded and derandomized, so the run takes seconds and is
the same every time; `bench/fuzz.py` is the large randomized run over real gRPC.
"""

from __future__ import annotations

import numpy as np
import pytest
from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from voxgate import audio as A
from voxgate.audio import Container, Encoding, PcmFormat, PcmStreamDecoder
from voxgate.core.tokenization import ContainerAudio, RawAudio, load_16k
from voxgate.errors import InvalidArgument, OutOfRange
from voxgate.interleave import from_text
from voxgate.servicers import convert
from voxgate.v1 import audio_pb2, tokenizer_pb2

from tests.hostile import EXTREMES, FLOATS, HEADER_FIELDS, KINDS, mutate, seed_files

MAX_S = 30.0
SEEDS = seed_files()
DOMAIN = (InvalidArgument, OutOfRange)  # what bad input may raise (INVALID_ARGUMENT, OUT_OF_RANGE)
FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ops = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        st.one_of(st.integers(0, 63), st.integers(0, 1 << 20)),
        st.one_of(
            st.sampled_from(EXTREMES).map(lambda v: v << 1),
            st.integers(0, len(FLOATS) - 1),
            st.integers(0, 1 << 33),
        ),
        st.binary(max_size=64),
    ),
    min_size=1,
    max_size=6,
)
mutated = st.builds(mutate, st.sampled_from(sorted(SEEDS)).map(SEEDS.__getitem__), ops)


def check_audio(wav: np.ndarray) -> None:
    """What decoded audio always is: 1-D float32 at 16 kHz, finite, near [-1, 1], in limit."""
    assert wav.dtype == np.float32 and wav.ndim == 1
    assert np.isfinite(wav).all()
    assert np.abs(wav).max(initial=0.0) < 2.0  # clipped input; the resampler rings a little
    assert len(wav) <= MAX_S * 16000 + 1


def decode_or_refuse(source) -> None:
    try:
        wav = load_16k(source, MAX_S)
    except DOMAIN:
        return
    check_audio(wav)


def test_the_seeds_decode() -> None:
    for name, data in SEEDS.items():
        assert len(load_16k(ContainerAudio(data), MAX_S)) > 1000, name


@FUZZ
@given(mutated)
def test_mutated_containers(data: bytes) -> None:
    decode_or_refuse(ContainerAudio(data))


@FUZZ
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_as_a_container(data: bytes) -> None:
    decode_or_refuse(ContainerAudio(data))


@FUZZ
@given(
    st.binary(max_size=4096),
    st.sampled_from(list(Encoding)),
    st.one_of(st.sampled_from([8000, 16000, 44100, 192000]), st.integers(-(2**31), 2**31 - 1)),
    st.integers(-3, 12),
)
def test_raw_pcm_any_bytes_any_format(data: bytes, enc: Encoding, rate: int, channels: int):
    try:
        fmt = PcmFormat(enc, rate, channels).validate("audio.raw.format")
    except InvalidArgument:
        return
    decode_or_refuse(RawAudio(data, fmt))


@FUZZ
@given(mutated, st.lists(st.integers(0, 3000), min_size=1, max_size=8))
def test_mutated_wav_streamed_in_pieces(data: bytes, cuts: list[int]) -> None:
    dec = PcmStreamDecoder(Container.WAV, None, MAX_S)
    pieces, pos = [], 0
    for n in cuts:
        pieces.append(data[pos : pos + n])
        pos += n
    pieces.append(data[pos:])
    try:
        out = [dec.push(p) for p in pieces]
        out.append(dec.finish())
    except DOMAIN:
        return
    check_audio(np.concatenate(out))


@FUZZ
@given(mutated, st.sampled_from([Container.FLAC, Container.OGG, Container.MP3]))
def test_mutated_container_streams(data: bytes, container: Container) -> None:
    held = A.ContainerStream(container, MAX_S, 1 << 20)
    try:
        for i in range(0, len(data), 1000):
            held.push(data[i : i + 1000])
        whole = held.finish()
        wav = load_16k(ContainerAudio(whole), MAX_S)
    except DOMAIN:
        return
    check_audio(wav)


# --- request parsing: bytes off the wire, and well-formed messages with any field values ----


def parse(message_type, data: bytes):
    try:
        return message_type.FromString(data)
    except DecodeError:  # the interceptor answers INVALID_ARGUMENT (test_interceptor.py)
        return None


@FUZZ
@given(st.binary(max_size=512))
def test_tokenize_request_bytes(data: bytes) -> None:
    request = parse(tokenizer_pb2.TokenizeRequest, data)
    if request is not None:
        try:
            source = convert.audio_source(request.audio)
        except DOMAIN:
            return
        decode_or_refuse(source)


int32 = st.integers(-(2**31), 2**31 - 1)
raw_formats = st.builds(
    audio_pb2.RawAudioFormat,
    encoding=st.one_of(st.integers(0, 7), int32),
    sample_rate_hz=st.one_of(st.sampled_from([0, 7999, 8000, 16000, 192000, 192001]), int32),
    channels=st.one_of(st.integers(-1, 10), int32),
)
output_formats = st.builds(
    audio_pb2.OutputAudioFormat,
    container=st.one_of(st.integers(0, 6), int32),
    encoding=st.one_of(st.integers(0, 7), int32),
    sample_rate_hz=st.one_of(st.sampled_from([0, 8000, 24000, 192000, 192001]), int32),
)


@FUZZ
@given(raw_formats, st.binary(max_size=2048))
def test_raw_audio_messages(fmt: audio_pb2.RawAudioFormat, data: bytes) -> None:
    message = audio_pb2.AudioInput(raw=audio_pb2.RawAudio(format=fmt, data=data))
    try:
        source = convert.audio_source(message)
    except DOMAIN:
        return
    decode_or_refuse(source)


@FUZZ
@given(
    st.one_of(
        st.lists(int32, max_size=40).map(
            lambda ids: tokenizer_pb2.DetokenizeRequest(
                interleaved=tokenizer_pb2.InterleavedTokens(ids=ids)
            )
        ),
        st.tuples(st.lists(int32, max_size=20), st.lists(int32, max_size=30)).map(
            lambda ls: tokenizer_pb2.DetokenizeRequest(
                streams=tokenizer_pb2.TokenStreams(linguistic=ls[0], semantic=ls[1])
            )
        ),
        st.text(alphabet="<>_audio0123456789 \n-x", max_size=200).map(
            lambda t: tokenizer_pb2.DetokenizeRequest(text=t)
        ),
    ),
    output_formats,
    st.sampled_from([16000, 24000]),
)
def test_detokenize_messages(request_, out_pb, model_rate: int) -> None:
    try:
        tokens = convert.detokenize_tokens(request_)
        out = convert.output_format(out_pb)
        A.check_output(out, model_rate)
        n = tokens.group_count * 1920 * model_rate // 16000
        A.check_output_size(n, model_rate, out, 64 << 20)
    except DOMAIN:
        return
    assert tokens.group_count >= 1


@FUZZ
@given(st.binary(max_size=512))
def test_detokenize_request_bytes(data: bytes) -> None:
    request = parse(tokenizer_pb2.DetokenizeRequest, data)
    if request is not None:
        try:
            convert.detokenize_tokens(request)
            A.check_output(convert.output_format(request.output_format), 24000)
        except DOMAIN:
            return


@FUZZ
@given(
    st.builds(
        audio_pb2.StreamAudioFormat, container=st.one_of(st.integers(0, 6), int32), raw=raw_formats
    ),
    st.lists(st.binary(max_size=3000), max_size=5),
)
def test_stream_configs_and_pieces(fmt: audio_pb2.StreamAudioFormat, pieces: list[bytes]):
    try:
        container, raw = convert.stream_format(fmt)
        if container in (Container.RAW, Container.WAV):
            dec = PcmStreamDecoder(container, raw, MAX_S)
            out = [dec.push(p) for p in pieces] + [dec.finish()]
            check_audio(np.concatenate(out))
        else:
            held = A.ContainerStream(container, MAX_S, 1 << 20)
            for p in pieces:
                held.push(p)
            check_audio(load_16k(ContainerAudio(held.finish()), MAX_S))
    except DOMAIN:
        return


@FUZZ
@given(st.text(max_size=300))
def test_token_text_form(text: str) -> None:
    try:
        ids = from_text(text)
    except DOMAIN:
        return
    assert ids.dtype == np.int64


@pytest.mark.parametrize("name", [n for n in sorted(SEEDS) if n.split("_")[0] in ("wav", "flac")])
def test_every_header_field_at_every_extreme(name: str) -> None:
    """Each size/rate/count field of the header set to each edge value, both byte orders."""
    fields = HEADER_FIELDS[name.split("_")[0].upper()]
    for at in fields:
        for value in EXTREMES:
            for kind in ("set32", "set16"):
                for order in (0, 1):
                    data = mutate(SEEDS[name], [(kind, at, value << 1 | order, b"")])
                    decode_or_refuse(ContainerAudio(data))


@pytest.mark.parametrize("value", FLOATS)
def test_float_samples_of_any_value(value: float) -> None:
    for name in ("wav_f32_stereo",):
        data = SEEDS[name]
        for at in range(100, len(data), len(data) // 7):
            decode_or_refuse(
                ContainerAudio(mutate(data, [("float", at, FLOATS.index(value), b"")]))
            )
    raw = mutate(bytes(4000), [("float", 2000, FLOATS.index(value), b"")])
    decode_or_refuse(RawAudio(raw, PcmFormat(Encoding.F32LE, 16000, 1)))


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_every_cut_of_a_header_is_refused_cleanly(name: str) -> None:
    """Each prefix of the first 200 bytes (the headers) decodes or is refused, never crashes."""
    data = SEEDS[name]
    for n in range(0, 200, 3):
        decode_or_refuse(ContainerAudio(data[:n]))
