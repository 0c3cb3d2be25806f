"""Hostile audio inputs (issue 11): small requests that decode or render to a lot of memory.

Shared by tests/unit/test_audio.py, tests/service/test_bad_input.py and bench/memory.py, so
the figures in bench/results/memory.md come from the same bytes the tests send.
"""

from __future__ import annotations

import io
import struct

import numpy as np
import soundfile as sf

_STREAMINFO = 8 + 10  # "fLaC", the metadata block header, then 10 bytes before rate/ch/bps/total


def silent_flac(rate: int, channels: int, seconds: float, subtype: str = "PCM_16") -> bytes:
    """`seconds` of digital silence as FLAC: a long recording in a few hundred KB.

    Written one second at a time, so making it never holds the whole signal.
    """
    buf = io.BytesIO()
    second = np.zeros((rate, channels), np.float32)
    whole, rest = divmod(round(seconds * rate), rate)
    with sf.SoundFile(buf, "w", rate, channels, format="FLAC", subtype=subtype) as f:
        for _ in range(whole):
            f.write(second)
        f.write(second[:rest])
    return buf.getvalue()


def with_flac_total(data: bytes, total_samples: int) -> bytes:
    """The FLAC with its STREAMINFO total sample count replaced (0 means "unknown")."""
    assert data[:4] == b"fLaC"
    out = bytearray(data)
    (v,) = struct.unpack_from(">Q", out, _STREAMINFO)
    v = (v & ~((1 << 36) - 1)) | (total_samples & ((1 << 36) - 1))
    struct.pack_into(">Q", out, _STREAMINFO, v)
    return bytes(out)


def flac_header(rate: int = 192000, channels: int = 8, subtype: str = "PCM_24") -> bytes:
    """The first bytes of a valid FLAC stream (its metadata and first frames)."""
    return silent_flac(rate, channels, 0.5, subtype)


def f32_with(value: float, n: int = 16000, at: int = 8000) -> bytes:
    """n samples of F32LE PCM, quiet noise, with one sample set to `value`."""
    x = np.random.default_rng(0).uniform(-0.1, 0.1, n).astype("<f4")
    x[at] = value
    return x.tobytes()


def float_wav_with(value: float, n: int = 16000, at: int = 8000, rate: int = 16000) -> bytes:
    """A float WAV with one sample set to `value` (libsndfile stores it as it is)."""
    x = np.frombuffer(f32_with(value, n, at), "<f4")
    buf = io.BytesIO()
    sf.write(buf, x, rate, format="WAV", subtype="FLOAT")
    return buf.getvalue()


# --- mutation of valid inputs: the unit fuzz tests (hypothesis) and bench/fuzz.py ---------

# Values that header fields (sizes, rates, counts) are set to: the edges of their types.
EXTREMES = (0, 1, 2, 0x7F, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFE)
# Float samples that float PCM may carry: out of range, huge, not finite.
FLOATS = (1.0000001, -2.0, 1e19, 1e30, -3.4e38, float("inf"), float("-inf"), float("nan"))
KINDS = ("flip", "set32", "set16", "float", "insert", "delete", "truncate", "duplicate")
# Where the headers keep sizes, rates and counts (byte offsets): RIFF/WAVE size, fmt size,
# format tag, channels, rate, byte rate, block align, bits, data id/size; FLAC STREAMINFO's
# block and frame sizes, rate / channels / bits / total samples.
HEADER_FIELDS = {
    "WAV": (4, 16, 20, 22, 24, 28, 32, 34, 36, 40),
    "FLAC": (5, 6, 8, 10, 12, 15, 18, 19, 20, 21, 22, 24),
}


def mutate(data: bytes, ops: list[tuple[str, int, int, bytes]]) -> bytes:
    """Applies mutations (kind, position, value, payload) to `data`; positions wrap around.

    flip: XOR one byte with `value`; set32/set16: write `value` as a little- or big-endian
    field (a header's sizes and rates); float: write FLOATS[value] as a float32 sample;
    insert: `payload` at the position; delete: `value` bytes; truncate: cut at the position;
    duplicate: repeat the `value` bytes from there.
    """
    out = bytearray(data)
    for kind, pos, value, payload in ops:
        if not out and kind != "insert":
            continue
        at = pos % (len(out) + 1) if kind in ("insert", "truncate") else pos % len(out)
        if kind == "flip":
            out[at] ^= value & 0xFF or 0x80
        elif kind == "float":  # a float32 sample, at a 4-byte boundary
            at -= at % 4
            value_bytes = struct.pack("<f", FLOATS[value % len(FLOATS)])
            out[at : at + 4] = value_bytes[: len(out) - at]
        elif kind in ("set32", "set16"):
            size = 4 if kind == "set32" else 2
            order = "little" if value & 1 else "big"
            field = (value >> 1) % (1 << (8 * size))
            out[at : at + size] = field.to_bytes(size, order)[: len(out) - at]
        elif kind == "insert":
            out[at:at] = payload
        elif kind == "delete":
            del out[at : at + 1 + value % 4096]
        elif kind == "truncate":
            del out[at:]
        elif kind == "duplicate":
            out[at:at] = out[at : at + 1 + value % 4096]
    return bytes(out)


def seed_files() -> dict[str, bytes]:
    """Small valid files of each container and flavour the service reads."""
    rng = np.random.default_rng(7)

    def noise(rate: int, seconds: float, channels: int = 1) -> np.ndarray:
        return rng.uniform(-0.5, 0.5, (round(rate * seconds), channels)).astype(np.float32)

    def write(x: np.ndarray, rate: int, fmt: str, subtype: str | None = None) -> bytes:
        buf = io.BytesIO()
        sf.write(buf, x, rate, format=fmt, subtype=subtype)
        return buf.getvalue()

    return {
        "wav_s16": write(noise(16000, 0.3), 16000, "WAV", "PCM_16"),
        "wav_f32_stereo": write(noise(48000, 0.1, 2), 48000, "WAV", "FLOAT"),
        "wavex_s24_3ch": write(noise(22050, 0.1, 3), 22050, "WAVEX", "PCM_24"),
        "wav_ulaw": write(noise(8000, 0.3), 8000, "WAV", "ULAW"),
        "flac_s16": write(noise(16000, 0.3), 16000, "FLAC", "PCM_16"),
        "flac_s24_stereo": write(noise(44100, 0.1, 2), 44100, "FLAC", "PCM_24"),
        "ogg_vorbis": write(noise(16000, 0.4), 16000, "OGG", "VORBIS"),
        "ogg_opus": write(noise(48000, 0.2), 48000, "OGG", "OPUS"),
        "mp3": write(noise(16000, 0.4), 16000, "MP3", "MPEG_LAYER_III"),
    }
