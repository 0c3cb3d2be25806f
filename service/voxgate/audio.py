"""Audio framing: decode containers and raw PCM, mix down, resample to 16 kHz, encode output.

Unary and streaming input share one path (`PcmDecoder` + `Resampler16k`), so a recording sent
whole or in pieces yields the same 16 kHz samples, and therefore the same tokens.
"""

from __future__ import annotations

import io
import math
import struct
from collections.abc import Callable, Iterator
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


BLOCK_FRAMES = 16_384  # frames decoded (and mixed down, resampled) at a time
_PREALLOCATE_MAX = 1 << 24  # samples (64 MiB): the most a header may make us allocate at once
_UNKNOWN_FRAMES = 1 << 62  # libsndfile reports "length unknown" (FLAC total 0) as INT64_MAX
_UNREADABLE = "audio.container: not a readable WAV, FLAC, OGG or MP3 file"
_CORRUPT = "audio.container: truncated or corrupt audio"


def _bounded(frames: np.ndarray) -> np.ndarray:
    """Rejects NaN and infinities; clips finite samples to [-1, 1] (in place).

    Integer PCM is always inside; float PCM may not be, and the tokenizers' power spectra
    overflow float32 for samples past ~1e19 (a NaN, cast to an id, was -9.2e18).
    """
    if not np.isfinite(frames).all():
        raise InvalidArgument("audio: contains NaN or infinite samples")
    return np.clip(frames, -1.0, 1.0, out=frames)


def _mono(frames: np.ndarray) -> np.ndarray:
    """Mixes [n, channels] float32 down to a new mono [n] array."""
    return frames.mean(axis=1, dtype=np.float32) if frames.shape[1] > 1 else frames[:, 0].copy()


class _ByteReader:
    """A read-only file over bytes or a bytearray, without copying it (libsndfile's virtual
    I/O calls these methods; they never raise, as an error inside a callback is lost)."""

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self._view = memoryview(data).cast("B")
        self._pos = 0

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._view)}
        self._pos = max(0, base.get(whence, 0) + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buf) -> int:
        chunk = self._view[self._pos : self._pos + len(buf)]
        n = len(chunk)
        memoryview(buf).cast("B")[:n] = chunk
        self._pos += n
        return n

    def read(self, n: int = -1) -> bytes:
        end = len(self._view) if n is None or n < 0 else self._pos + n
        chunk = bytes(self._view[self._pos : end])
        self._pos += len(chunk)
        return chunk

    def write(self, data: bytes) -> int:
        return 0

    def release(self) -> None:
        self._view.release()


@dataclass(frozen=True)
class AudioInfo:
    """What a header says, before any sample is decoded."""

    container: str  # libsndfile's name: WAV, FLAC, OGG, MP3, RAW, ...
    subtype: str  # PCM_16, FLOAT, VORBIS, ...
    sample_rate: int
    channels: int
    frames: int | None  # None: the header does not say (a streamed FLAC, ...)

    @property
    def seconds(self) -> float | None:
        return None if self.frames is None else self.frames / self.sample_rate


def samples_16k(frames: int, rate: int) -> int:
    """How many samples `frames` at `rate` become at 16 kHz (the resampler rounds; +1)."""
    return -(-frames * SAMPLE_RATE // rate) + 1


def _too_long(seconds: float, max_seconds: float, declared: bool = False) -> OutOfRange:
    what = "the header declares" if declared else "the audio is at least"
    return OutOfRange(f"audio: {what} {seconds:.1f} s, longer than the {max_seconds:g} s limit")


class AudioReader:
    """An opened recording (container or raw PCM), checked from its header, decoded in blocks.

    Opening reads only the header: rate and channels are validated and a declared duration over
    `max_seconds` is refused (OUT_OF_RANGE) before any sample is decoded. `blocks()` then
    yields mono float32 at the source rate, `BLOCK_FRAMES` frames at a time, each one checked
    (NaN/inf: INVALID_ARGUMENT; clipped to [-1, 1]), and stops with OUT_OF_RANGE as soon as more
    than `max_seconds` have been decoded, whatever the header said. Memory is O(block).
    """

    def __init__(
        self, data: bytes | bytearray, max_seconds: float, raw: PcmFormat | None = None
    ) -> None:
        self._source = _ByteReader(data)
        self._field = "audio.raw" if raw else "audio.container"
        self._data = data
        try:
            if raw is None:
                self._file = sf.SoundFile(self._source)
            else:
                self._file = sf.SoundFile(
                    self._source,
                    format="RAW",
                    subtype=raw.encoding.subtype,
                    endian="LITTLE",
                    samplerate=raw.sample_rate,
                    channels=raw.channels,
                )
        except (sf.SoundFileError, RuntimeError, ValueError, TypeError):
            self._source.release()
            raise InvalidArgument(
                _UNREADABLE if raw is None else "audio.raw: not readable as the given format"
            ) from None
        f = self._file
        frames = f.frames if 0 <= f.frames < _UNKNOWN_FRAMES else None
        self.info = AudioInfo(f.format, f.subtype, f.samplerate, f.channels, frames)
        self.max_seconds = max_seconds
        try:
            PcmFormat(Encoding.F32LE, f.samplerate, f.channels).validate(self._field)
            if self.info.seconds is not None and self.info.seconds > max_seconds:
                raise _too_long(self.info.seconds, max_seconds, declared=True)
        except BaseException:
            self.close()
            raise

    @classmethod
    def container(cls, data: bytes | bytearray, max_seconds: float = math.inf) -> AudioReader:
        if not data:
            raise InvalidArgument("audio.container: empty")
        return cls(data, max_seconds)

    @classmethod
    def pcm(cls, data: bytes | bytearray, fmt: PcmFormat, max_seconds: float = math.inf):
        """Raw PCM: its length is exact, so a long one is refused before decoding."""
        if len(data) % fmt.frame_bytes:
            raise InvalidArgument(
                f"audio: {len(data)} bytes is not a whole number of {fmt.frame_bytes}-byte frames"
            )
        check_duration(len(data) // fmt.frame_bytes, fmt.sample_rate, max_seconds)
        return cls(data, max_seconds, raw=fmt)

    def close(self) -> None:
        self._file.close()
        self._source.release()

    def __enter__(self) -> AudioReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def scratch_bytes(self) -> int:
        """Memory a decode needs besides its output (a block, its mix-down, the resampler's)."""
        return BLOCK_FRAMES * (self.info.channels + 8) * 4

    def blocks(self) -> Iterator[np.ndarray]:
        scratch = np.empty((BLOCK_FRAMES, self.info.channels), np.float32)
        limit = self.max_seconds * self.info.sample_rate
        done = 0
        while True:
            got = scratch[: _read_frames(self._file, scratch, self._field)]
            if not len(got):
                return
            done += len(got)
            if done > limit:
                raise _too_long(done / self.info.sample_rate, self.max_seconds)
            yield _mono(_bounded(got))
            if len(got) < BLOCK_FRAMES:
                return

    def read(self) -> np.ndarray:
        """The whole recording, mono at the source rate."""
        out = _Collector(self.info.frames)
        for block in self.blocks():
            out.append(block)
        return self._done(out.array())

    def read_16k(self, reserve: Callable[[int], None] | None = None) -> np.ndarray:
        """The whole recording, mono at 16 kHz, resampled block by block.

        `reserve(n)` is told the bytes the decode needs in all (a share of the server's
        decoded-audio budget): the declared size before decoding, more if the audio turns out
        longer; it raises to stop the decode.
        """
        expected = None
        if self.info.frames is not None:
            expected = samples_16k(self.info.frames, self.info.sample_rate)
        grow = None if reserve is None else (lambda n: reserve(n * 4 + self.scratch_bytes))
        most = None
        if math.isfinite(self.max_seconds):
            most = samples_16k(
                math.floor(self.max_seconds * self.info.sample_rate), self.info.sample_rate
            )
        out = _Collector(expected, most, on_grow=grow)
        if grow is not None:
            grow(out.capacity)
        resampler = Resampler16k(self.info.sample_rate)
        for block in self.blocks():
            out.append(resampler.push(block))
        out.append(resampler.push(np.zeros(0, np.float32), last=True))
        return self._done(out.array())

    def _done(self, samples: np.ndarray) -> np.ndarray:
        if len(samples) == 0 and self._field == "audio.container":
            raise InvalidArgument("audio.container: no samples")
        if self.info.container == "WAV" and self._field == "audio.container":
            _check_wav_complete(self._data)
        return samples


def _read_frames(f: sf.SoundFile, out: np.ndarray, field: str) -> int:
    """libsndfile's sf_readf_float into `out` ([frames, channels] float32); the frames read.

    Called directly (soundfile's `read` then seeks to keep its position, which fails for a
    file of unknown length such as a streamed FLAC). A decoder error (a FLAC that lost sync,
    a cut file) is INVALID_ARGUMENT in our words, never libsndfile's.
    """
    ptr = sf._ffi.cast("float *", sf._ffi.from_buffer(out))
    n = sf._snd.sf_readf_float(f._file, ptr, len(out))
    if n < 0 or sf._snd.sf_error(f._file):
        raise InvalidArgument(_CORRUPT.replace("audio.container", field))
    return int(n)


class _Collector:
    """Appends float32 blocks into one array, sized from a declared length when there is one
    (no second copy at the end), doubling when the audio turns out longer."""

    def __init__(
        self,
        expected: int | None,
        most: int | None = None,
        on_grow: Callable[[int], None] | None = None,
    ) -> None:
        # A declared length only sizes the first allocation up to the limit (and 64 MiB).
        self.capacity = min(max(expected or 0, 0), most or _PREALLOCATE_MAX, _PREALLOCATE_MAX)
        self.capacity = self.capacity or BLOCK_FRAMES
        self._buf = np.empty(self.capacity, np.float32)
        self._n = 0
        self._most = most  # never grown past this (the duration limit), unless a block needs it
        self._on_grow = on_grow

    def append(self, block: np.ndarray) -> None:
        need = self._n + len(block)
        if need > self.capacity:
            capacity = max(need, min(2 * self.capacity, self._most or 2 * self.capacity))
            if self._on_grow:
                self._on_grow(capacity + self.capacity)  # both live while copying
            grown = np.empty(capacity, np.float32)
            grown[: self._n] = self._buf[: self._n]
            self._buf, self.capacity = grown, capacity
        self._buf[self._n : need] = block
        self._n = need

    def array(self) -> np.ndarray:
        if self._n == self.capacity:
            return self._buf
        return self._buf[: self._n].copy() if self._n < self.capacity // 2 else self._buf[: self._n]


def decode_pcm(data: bytes | bytearray, fmt: PcmFormat) -> np.ndarray:
    """Decodes whole frames of raw PCM to mono float32 at the source rate."""
    if not data:
        return np.zeros(0, np.float32)
    if fmt.encoding is Encoding.S16LE and fmt.channels == 1 and len(data) % 2 == 0:
        # The live-stream case, decoded per piece: numpy gives libsndfile's very samples
        # (x / 32768, exact in float32) without opening a virtual file per piece.
        return np.frombuffer(data, "<i2").astype(np.float32) * np.float32(1 / 32768)
    with AudioReader.pcm(data, fmt) as reader:
        return reader.read()


def decode_container(data: bytes, max_seconds: float = math.inf) -> tuple[np.ndarray, int]:
    """Decodes a whole WAV/FLAC/OGG/MP3 file to mono float32 and its rate."""
    with AudioReader.container(data, max_seconds) as reader:
        return reader.read(), reader.info.sample_rate


def _check_wav_complete(data: bytes | bytearray) -> None:
    """libsndfile silently shortens a cut WAV; its data chunk size tells the truth."""
    if data[:4] != b"RIFF":
        return
    try:
        header = parse_wav_header(bytes(data[:65536]))
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
# A stream's header is held until the data chunk starts; chunks before it (LIST, bext, ...)
# may be at most this large, so a declared size cannot make the server buffer gigabytes.
MAX_WAV_HEADER_BYTES = 1024 * 1024


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
        if body + size > MAX_WAV_HEADER_BYTES:
            name = chunk_id.decode("latin-1").strip()
            raise InvalidArgument(
                f"audio: WAV chunk {name!r} before the data ends past "
                f"{MAX_WAV_HEADER_BYTES // 1024} KiB, the most a header may take"
            )
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
        # Refused before decoding; then decoded and resampled a block at a time.
        frames = len(data) // self._fmt.frame_bytes
        check_duration(self._source_samples + frames, self._fmt.sample_rate, self._max_seconds)
        step = BLOCK_FRAMES * self._fmt.frame_bytes
        out = [
            self._convert(decode_pcm(data[i : i + step], self._fmt), last=False)
            for i in range(0, len(data), step)
        ]
        if not out:
            return np.zeros(0, np.float32)
        return out[0] if len(out) == 1 else np.concatenate(out)

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


# How a declared FLAC/OGG/MP3 stream must begin (an ID3 tag may precede FLAC and MP3).
_MAGIC = {
    Container.FLAC: (b"fLaC", b"ID3"),
    Container.OGG: (b"OggS",),
    Container.MP3: (b"ID3", b"\xff"),
}
# libsndfile's name for what it found, per declared container.
_FOUND = {Container.FLAC: "FLAC", Container.OGG: "OGG", Container.MP3: "MP3"}
# The header is looked at when this much has arrived (metadata, tags and cover art first).
_PROBE_AT = (4096, 65536, 1024 * 1024, 4 * 1024 * 1024)
_SAMPLE_BYTES = {"PCM_S8": 1, "PCM_U8": 1, "PCM_16": 2, "PCM_24": 3}


class ContainerStream:
    """A FLAC/OGG/MP3 stream's bytes, held until the client half-closes (libsndfile decodes
    these formats only from a whole file), with the holding bounded:

    - the first bytes must be the declared container's (INVALID_ARGUMENT at once otherwise);
    - once its header has arrived (within 4 MiB), rate and channels are validated and a
      declared duration over `max_seconds` is refused (OUT_OF_RANGE);
    - the bytes may not exceed what `max_seconds` of audio takes at the declared rate, channels
      and sample size (compressed audio takes less than the PCM it decodes to; lossy codecs
      count as 16-bit), nor `max_bytes` (a whole file in a unary call cannot either):
      OUT_OF_RANGE.
    """

    def __init__(self, container: Container, max_seconds: float, max_bytes: int) -> None:
        if container not in _FOUND:
            raise ValueError("only FLAC, OGG and MP3 are held whole")
        self.container = container
        self.max_seconds = max_seconds
        self.max_bytes = max_bytes
        self.data = bytearray()
        self.info: AudioInfo | None = None
        self._cap = max_bytes
        self._next_probe = 0  # index into _PROBE_AT
        self._magic_checked = False

    def push(self, piece: bytes) -> None:
        self._check_size(len(self.data) + len(piece))
        self.data += piece
        if not self._magic_checked and len(self.data) >= 4:
            self._magic_checked = True
            head = bytes(self.data[:4])
            if not head.startswith(_MAGIC[self.container]):
                raise InvalidArgument(
                    f"audio: stream is not {self.container.value} (it starts {head!r})"
                )
        while self.info is None and self._next_probe < len(_PROBE_AT):
            if len(self.data) < _PROBE_AT[self._next_probe]:
                break
            self._next_probe += 1
            self._probe(final=self._next_probe == len(_PROBE_AT))
        self._check_size(len(self.data))

    def _check_size(self, size: int) -> None:
        if size <= self._cap:
            return
        name = self.container.value
        if self._cap < self.max_bytes:
            raise OutOfRange(
                f"audio: {size / 2**20:.1f} MiB of {name} is more than {self.max_seconds:g} s "
                "of it take at its declared rate and channels"
            )
        raise OutOfRange(
            f"audio: a {name} stream may hold at most {self.max_bytes / 2**20:g} MiB (it is "
            "decoded when it ends; stream RAW or WAV for longer audio)"
        )

    def finish(self) -> bytearray:
        """The whole file (its header checked); the stream holds nothing afterwards."""
        if not self.data:
            raise InvalidArgument("audio: the stream ended with no audio")
        if self.info is None:
            self._probe(final=True)
        data, self.data = self.data, bytearray()
        return data

    def _probe(self, final: bool) -> None:
        name = self.container.value
        try:
            with AudioReader.container(self.data, self.max_seconds) as reader:
                info = reader.info
        except InvalidArgument as err:
            if err.message != _UNREADABLE:  # read, and wrong: rate, channels
                raise
            if final:
                raise InvalidArgument(f"audio: not a readable {name} stream") from None
            return  # not enough of it yet
        if info.container != _FOUND[self.container]:
            raise InvalidArgument(f"audio: the stream is {info.container}, not {name}")
        self.info = info
        per_second = info.sample_rate * info.channels * _SAMPLE_BYTES.get(info.subtype, 2)
        cap = _PROBE_AT[-1] + math.ceil(self.max_seconds * per_second * 1.1)
        self._cap = min(self.max_bytes, cap)


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


# libsndfile's largest WAV header: RIFF, fmt (extensible), fact and PEAK chunks, data.
_WAV_HEADER_BYTES = 128


def output_samples(n_samples: int, rate: int, target: int) -> int:
    """How many samples `n_samples` at `rate` become at `target` (rounded up)."""
    return -(-n_samples * target // rate)


def output_bytes(n_samples: int, rate: int, fmt: OutputFormat) -> int:
    """Bytes `encode` makes of `n_samples` at `rate`: exact for RAW (WAV: up to its header);
    for FLAC and OGG, the same audio as PCM of the encoding (which they stay under)."""
    target = check_output(fmt, rate)
    n = output_samples(n_samples, rate, target) * fmt.encoding.sample_bytes
    return n if fmt.container is Container.RAW else n + _WAV_HEADER_BYTES


def _too_big(size: float, target: int, fmt: OutputFormat, max_bytes: int) -> OutOfRange:
    what = f"{target} Hz {fmt.encoding.name} {fmt.container.value}"
    return OutOfRange(
        f"output_format: the audio takes {size / 2**20:.1f} MiB or more as {what}, more than "
        f"the {max_bytes / 2**20:.1f} MiB a response may carry; ask for fewer tokens, a lower "
        "rate or a smaller encoding"
    )


def check_output_size(n_samples: int, rate: int, fmt: OutputFormat, max_bytes: int) -> None:
    """OUT_OF_RANGE, before any work, when RAW or WAV output would exceed `max_bytes`."""
    if fmt.container in (Container.RAW, Container.WAV):
        size = output_bytes(n_samples, rate, fmt)
        if size > max_bytes:
            raise _too_big(size, check_output(fmt, rate), fmt, max_bytes)


def encode(
    samples: np.ndarray, rate: int, fmt: OutputFormat, max_bytes: int | None = None
) -> tuple[bytes, OutputFormat]:
    """Encodes mono float32 audio at `rate` as asked; returns the bytes and resolved format.

    Resampled, clipped and written a block at a time, so besides the input and the output
    bytes memory is O(block). Output that would exceed `max_bytes` raises OUT_OF_RANGE: RAW and
    WAV (whose size is known) before any work, FLAC and OGG as soon as they pass it.
    """
    target = check_output(fmt, rate)
    if max_bytes is not None:
        check_output_size(len(samples), rate, fmt, max_bytes)
    resolved = OutputFormat(fmt.container, fmt.encoding, target)
    subtype = "VORBIS" if fmt.container is Container.OGG else fmt.encoding.subtype
    kwargs = {"endian": "LITTLE"} if fmt.container is Container.RAW else {}
    resampler = (
        soxr.ResampleStream(rate, target, 1, dtype="float32", quality="HQ")
        if target != rate
        else None
    )
    buf = io.BytesIO()
    with sf.SoundFile(
        buf, "w", target, 1, format=fmt.container.value, subtype=subtype, **kwargs
    ) as f:
        for i in range(0, len(samples), BLOCK_FRAMES):
            block = np.ascontiguousarray(samples[i : i + BLOCK_FRAMES], np.float32)
            if resampler is not None:
                block = resampler.resample_chunk(block, last=i + BLOCK_FRAMES >= len(samples))
            f.write(np.clip(block, -1.0, 1.0))
            if max_bytes is not None and buf.tell() > max_bytes:
                raise _too_big(buf.tell(), target, fmt, max_bytes)
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
