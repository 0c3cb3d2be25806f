"""Audio framing: decode containers and raw PCM, mix down, resample to 16 kHz, encode output.

Unary and streaming input share one path (`PcmDecoder` + `Resampler16k`), so a recording sent
whole or in pieces yields the same 16 kHz samples, and therefore the same tokens.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from enum import Enum

import numpy as np
import soundfile as sf
import soxr

from voxgate.errors import InvalidArgument, OutOfRange
from voxgate.interleave import SAMPLE_RATE

MIN_RATE = 8_000
MAX_RATE = 192_000
MAX_CHANNELS = 8


class Encoding(Enum):
    """Raw PCM sample encodings, as libsndfile RAW subtypes."""

    S16LE = ("PCM_16", 2)
    S24LE = ("PCM_24", 3)
    S32LE = ("PCM_32", 4)
    F32LE = ("FLOAT", 4)
    MULAW = ("ULAW", 1)
    ALAW = ("ALAW", 1)

    @property
    def subtype(self) -> str:
        return self.value[0]

    @property
    def sample_bytes(self) -> int:
        return self.value[1]


class Container(Enum):
    """Audio containers."""

    RAW = "RAW"
    WAV = "WAV"
    FLAC = "FLAC"
    OGG = "OGG"
    MP3 = "MP3"


@dataclass(frozen=True)
class PcmFormat:
    """Layout of raw PCM: encoding, rate and interleaved channel count."""

    encoding: Encoding
    sample_rate: int
    channels: int

    @property
    def frame_bytes(self) -> int:
        return self.encoding.sample_bytes * self.channels

    def validate(self, field: str = "format") -> PcmFormat:
        if not MIN_RATE <= self.sample_rate <= MAX_RATE:
            raise InvalidArgument(
                f"{field}.sample_rate_hz: {self.sample_rate} outside {MIN_RATE}-{MAX_RATE} Hz"
            )
        if not 1 <= self.channels <= MAX_CHANNELS:
            raise InvalidArgument(f"{field}.channels: {self.channels} outside 1-{MAX_CHANNELS}")
        return self


@dataclass(frozen=True)
class OutputFormat:
    """How to encode produced audio; `sample_rate` 0 means the model's rate."""

    container: Container = Container.WAV
    encoding: Encoding = Encoding.S16LE
    sample_rate: int = 0


def _check_finite(samples: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(samples)):
        raise InvalidArgument("audio: contains NaN or infinite samples")
    return samples


def _mono(frames: np.ndarray) -> np.ndarray:
    """Mixes [n, channels] float32 down to mono [n]."""
    return frames.mean(axis=1, dtype=np.float32) if frames.shape[1] > 1 else frames[:, 0]


def decode_pcm(data: bytes, fmt: PcmFormat) -> np.ndarray:
    """Decodes whole frames of raw PCM to mono float32 at the source rate."""
    if len(data) % fmt.frame_bytes:
        raise InvalidArgument(
            f"audio: {len(data)} bytes is not a whole number of {fmt.frame_bytes}-byte frames"
        )
    if not data:
        return np.zeros(0, np.float32)
    frames, _ = sf.read(
        io.BytesIO(data),
        format="RAW",
        subtype=fmt.encoding.subtype,
        endian="LITTLE",
        samplerate=fmt.sample_rate,
        channels=fmt.channels,
        dtype="float32",
        always_2d=True,
    )
    return _check_finite(_mono(frames))


def decode_container(data: bytes) -> tuple[np.ndarray, int]:
    """Decodes a whole WAV/FLAC/OGG/MP3 file to mono float32 and its rate."""
    if not data:
        raise InvalidArgument("audio.container: empty")
    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            rate, channels = f.samplerate, f.channels
            PcmFormat(Encoding.F32LE, rate, channels).validate("audio.container")
            frames = f.read(dtype="float32", always_2d=True)
    except sf.LibsndfileError as err:
        raise InvalidArgument(
            f"audio.container: not a readable audio file ({err.error_string})"
        ) from None
    except RuntimeError as err:  # soundfile raises RuntimeError for some truncated files
        raise InvalidArgument("audio.container: truncated or corrupt audio") from err
    if frames.shape[0] == 0:
        raise InvalidArgument("audio.container: no samples")
    _check_wav_complete(data)
    return _check_finite(_mono(frames)), rate


def _check_wav_complete(data: bytes) -> None:
    """libsndfile silently shortens a cut WAV; its data chunk size tells the truth."""
    if data[:4] != b"RIFF":
        return
    try:
        header = parse_wav_header(data[:65536])
    except InvalidArgument:
        return  # a WAV flavour only libsndfile understands; it decoded it, so accept
    if header and header.data_bytes is not None:
        present = len(data) - header.data_offset
        if present < header.data_bytes:
            raise InvalidArgument(
                f"audio.container: truncated WAV ({present} of {header.data_bytes} data bytes)"
            )


class Resampler16k:
    """Streaming resampler to 16 kHz; output is independent of how the input is cut."""

    def __init__(self, source_rate: int) -> None:
        self._stream = (
            None
            if source_rate == SAMPLE_RATE
            else soxr.ResampleStream(source_rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
        )

    def push(self, samples: np.ndarray, last: bool = False) -> np.ndarray:
        if self._stream is None:
            return samples.astype(np.float32, copy=False)
        return self._stream.resample_chunk(samples, last=last)


def to_16k(samples: np.ndarray, source_rate: int) -> np.ndarray:
    """Resamples a whole recording, the same way a stream of it would be."""
    return Resampler16k(source_rate).push(samples, last=True)


def check_duration(n_samples: int, rate: int, max_seconds: float) -> None:
    """Raises OutOfRange when the audio is longer than allowed."""
    seconds = n_samples / rate
    if seconds > max_seconds:
        raise OutOfRange(f"audio: {seconds:.1f} s is longer than the {max_seconds:g} s limit")


# Streaming writers that cannot seek back leave the data size as 0 or 0xFFFFFFFF: "unknown".
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)


@dataclass(frozen=True)
class WavHeader:
    """What a WAV header says: sample format, where samples start, how many bytes (or None)."""

    fmt: PcmFormat
    data_offset: int
    data_bytes: int | None


_WAV_FORMATS = {
    (1, 16): Encoding.S16LE,
    (1, 24): Encoding.S24LE,
    (1, 32): Encoding.S32LE,
    (3, 32): Encoding.F32LE,
    (7, 8): Encoding.MULAW,
    (6, 8): Encoding.ALAW,
}


def parse_wav_header(buf: bytes) -> WavHeader | None:
    """Parses a RIFF/WAVE header from the start of a stream; None until enough bytes arrived."""
    if len(buf) < 12:
        if not b"RIFF".startswith(buf[:4]):
            raise InvalidArgument("audio: stream is not a WAV file (no RIFF header)")
        return None
    if buf[:4] != b"RIFF" or buf[8:12] != b"WAVE":
        raise InvalidArgument("audio: stream is not a WAV file (no RIFF/WAVE header)")
    pos, fmt = 12, None
    while len(buf) >= pos + 8:
        chunk_id, size = buf[pos : pos + 4], struct.unpack_from("<I", buf, pos + 4)[0]
        body = pos + 8
        if chunk_id == b"data":
            if fmt is None:
                raise InvalidArgument("audio: WAV data chunk before its fmt chunk")
            return WavHeader(fmt, body, None if size in _UNKNOWN_SIZES else size)
        if len(buf) < body + size:
            return None
        if chunk_id == b"fmt ":
            if size < 16:
                raise InvalidArgument("audio: WAV fmt chunk too short")
            tag, channels, rate = struct.unpack_from("<HHI", buf, body)
            bits = struct.unpack_from("<H", buf, body + 14)[0]
            if tag == 0xFFFE and size >= 40:  # WAVE_FORMAT_EXTENSIBLE: sub-format GUID
                tag = struct.unpack_from("<H", buf, body + 24)[0]
            encoding = _WAV_FORMATS.get((tag, bits))
            if encoding is None:
                raise InvalidArgument(f"audio: unsupported WAV format tag {tag} / {bits} bits")
            fmt = PcmFormat(encoding, rate, channels).validate("audio")
        pos = body + size + (size & 1)
    return None


class PcmStreamDecoder:
    """Turns audio pieces of any size (raw PCM or a WAV file) into 16 kHz mono samples."""

    def __init__(
        self,
        container: Container,
        raw: PcmFormat | None,
        max_seconds: float,
        *,
        wav_files_in_a_row: bool = False,
    ) -> None:
        """`wav_files_in_a_row`: after a WAV's declared data, another WAV file may follow (a
        conversation's turns, one file each); chunks after the data are skipped."""
        if container not in (Container.RAW, Container.WAV):
            raise ValueError("only RAW and WAV stream incrementally")
        self._fmt = raw.validate("config.format.raw") if container is Container.RAW else None
        self._pending = b""
        self._resampler = Resampler16k(raw.sample_rate) if raw and self._fmt else None
        self._max_seconds = max_seconds
        self._source_samples = 0
        self._data_left: int | None = None  # WAV data bytes still to come, when declared
        self._in_a_row = wav_files_in_a_row and container is Container.WAV

    def push(self, piece: bytes) -> np.ndarray:
        """Adds a piece; returns the 16 kHz samples it completes (possibly none)."""
        if self._in_a_row and self._data_left == 0:  # after a file: skip to the next RIFF
            self._pending += piece
            at = self._pending.find(b"RIFF")
            if at < 0:
                self._pending = self._pending[-3:]  # a RIFF cut between pieces
                return np.zeros(0, np.float32)
            piece, self._pending = self._pending[at:], b""
            self._fmt, self._data_left = None, None
        if self._fmt is None:  # still reading the WAV header
            self._pending += piece
            header = parse_wav_header(self._pending)
            if header is None:
                return np.zeros(0, np.float32)
            self._fmt = header.fmt
            self._resampler = Resampler16k(header.fmt.sample_rate)
            self._data_left = header.data_bytes
            piece, self._pending = self._pending[header.data_offset :], b""
        if self._data_left is not None:  # chunks after the samples (LIST, id3) are not audio
            piece = piece[: self._data_left]
            self._data_left -= len(piece)
        self._pending += piece
        whole = len(self._pending) - len(self._pending) % self._fmt.frame_bytes
        data, self._pending = self._pending[:whole], self._pending[whole:]
        return self._convert(decode_pcm(data, self._fmt), last=False)

    def finish(self) -> np.ndarray:
        """Flushes the resampler at the end of the stream."""
        if self._fmt is None:
            raise InvalidArgument("audio: stream ended before a complete WAV header")
        if self._pending:
            raise InvalidArgument(
                f"audio: stream ended with {len(self._pending)} bytes of a partial frame"
            )
        return self._convert(np.zeros(0, np.float32), last=True)

    def _convert(self, samples: np.ndarray, last: bool) -> np.ndarray:
        assert self._fmt is not None and self._resampler is not None
        self._source_samples += len(samples)
        check_duration(self._source_samples, self._fmt.sample_rate, self._max_seconds)
        return self._resampler.push(samples, last=last)


def check_output(fmt: OutputFormat, rate: int) -> int:
    """Raises InvalidArgument for a format that cannot be produced; returns the output rate."""
    target = fmt.sample_rate or rate
    if not MIN_RATE <= target <= MAX_RATE:
        raise InvalidArgument(
            f"output_format.sample_rate_hz: {target} outside {MIN_RATE}-{MAX_RATE}"
        )
    if fmt.container is Container.MP3:
        raise InvalidArgument("output_format.container: MP3 output is not supported")
    if fmt.container is Container.FLAC and fmt.encoding not in (Encoding.S16LE, Encoding.S24LE):
        raise InvalidArgument("output_format.encoding: FLAC supports S16LE and S24LE")
    return target


def encode(samples: np.ndarray, rate: int, fmt: OutputFormat) -> tuple[bytes, OutputFormat]:
    """Encodes mono float32 audio at `rate` as asked; returns the bytes and resolved format."""
    target = check_output(fmt, rate)
    if target != rate:
        samples = soxr.resample(samples, rate, target, quality="HQ")
    samples = np.clip(samples, -1.0, 1.0).astype(np.float32)
    resolved = OutputFormat(fmt.container, fmt.encoding, target)
    buf = io.BytesIO()
    if fmt.container is Container.OGG:
        sf.write(buf, samples, target, format="OGG", subtype="VORBIS")
        return buf.getvalue(), OutputFormat(Container.OGG, fmt.encoding, target)
    kwargs = {"endian": "LITTLE"} if fmt.container is Container.RAW else {}
    sf.write(
        buf, samples, target, format=fmt.container.value, subtype=fmt.encoding.subtype, **kwargs
    )
    return buf.getvalue(), resolved


OPUS_RATES = (8000, 12000, 16000, 24000, 48000)


def check_stream_output(fmt: OutputFormat, rate: int) -> int:
    """`check_output` for a StreamEncoder, whose OGG is Ogg/Opus (only Opus rates)."""
    target = check_output(fmt, rate)
    if fmt.container is Container.OGG and target not in OPUS_RATES:
        raise InvalidArgument(
            "output_format.sample_rate_hz: Ogg/Opus supports " + ", ".join(map(str, OPUS_RATES))
        )
    return target


class StreamEncoder:
    """Audio produced piece by piece -> bytes to send with each piece.

    RAW: each piece's PCM at once (resampled as one continuous stream, so the pieces join
    without clicks). OGG: Ogg/Opus, pages sent as libsndfile completes them (about one per
    second of audio). WAV and FLAC: nothing until `last`, then the whole file.
    """

    def __init__(self, rate: int, fmt: OutputFormat) -> None:
        self.target = check_stream_output(fmt, rate)
        self.fmt = OutputFormat(fmt.container, fmt.encoding, self.target)
        self._rate = rate
        self._raw = fmt.container is Container.RAW
        self._opus: sf.SoundFile | None = None
        if fmt.container is Container.OGG:
            self._buf = io.BytesIO()
            self._sent = 0
            self._opus = sf.SoundFile(self._buf, "w", self.target, 1, format="OGG", subtype="OPUS")
        streamed = self._raw or self._opus is not None
        self._resampler = (
            soxr.ResampleStream(rate, self.target, 1, dtype="float32", quality="HQ")
            if streamed and self.target != rate
            else None
        )
        self._held: list[np.ndarray] = []

    def push(self, samples: np.ndarray, last: bool = False) -> bytes:
        samples = np.asarray(samples, np.float32)
        if not (self._raw or self._opus):
            self._held.append(samples)
            if not last:
                return b""
            whole = np.concatenate(self._held) if self._held else np.zeros(0, np.float32)
            self._held = []
            return encode(whole, self._rate, self.fmt)[0] if len(whole) else b""
        if self._resampler is not None:
            samples = self._resampler.resample_chunk(samples, last=last)
        if self._opus is not None:
            return self._push_opus(samples, last)
        if not len(samples):
            return b""
        return encode(samples, self.target, self.fmt)[0]

    def _push_opus(self, samples: np.ndarray, last: bool) -> bytes:
        assert self._opus is not None
        if len(samples):
            self._opus.write(np.clip(samples, -1.0, 1.0))
            self._opus.flush()
        if last:
            self._opus.close()
        data = self._buf.getvalue()[self._sent :]
        self._sent += len(data)
        return data
