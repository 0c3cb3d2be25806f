from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PcmEncoding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PCM_ENCODING_UNSPECIFIED: _ClassVar[PcmEncoding]
    PCM_ENCODING_S16LE: _ClassVar[PcmEncoding]
    PCM_ENCODING_S24LE: _ClassVar[PcmEncoding]
    PCM_ENCODING_S32LE: _ClassVar[PcmEncoding]
    PCM_ENCODING_F32LE: _ClassVar[PcmEncoding]
    PCM_ENCODING_MULAW: _ClassVar[PcmEncoding]
    PCM_ENCODING_ALAW: _ClassVar[PcmEncoding]

class AudioContainer(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUDIO_CONTAINER_UNSPECIFIED: _ClassVar[AudioContainer]
    AUDIO_CONTAINER_RAW: _ClassVar[AudioContainer]
    AUDIO_CONTAINER_WAV: _ClassVar[AudioContainer]
    AUDIO_CONTAINER_FLAC: _ClassVar[AudioContainer]
    AUDIO_CONTAINER_OGG: _ClassVar[AudioContainer]
    AUDIO_CONTAINER_MP3: _ClassVar[AudioContainer]
PCM_ENCODING_UNSPECIFIED: PcmEncoding
PCM_ENCODING_S16LE: PcmEncoding
PCM_ENCODING_S24LE: PcmEncoding
PCM_ENCODING_S32LE: PcmEncoding
PCM_ENCODING_F32LE: PcmEncoding
PCM_ENCODING_MULAW: PcmEncoding
PCM_ENCODING_ALAW: PcmEncoding
AUDIO_CONTAINER_UNSPECIFIED: AudioContainer
AUDIO_CONTAINER_RAW: AudioContainer
AUDIO_CONTAINER_WAV: AudioContainer
AUDIO_CONTAINER_FLAC: AudioContainer
AUDIO_CONTAINER_OGG: AudioContainer
AUDIO_CONTAINER_MP3: AudioContainer

class RawAudioFormat(_message.Message):
    __slots__ = ("encoding", "sample_rate_hz", "channels")
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    encoding: PcmEncoding
    sample_rate_hz: int
    channels: int
    def __init__(self, encoding: _Optional[_Union[PcmEncoding, str]] = ..., sample_rate_hz: _Optional[int] = ..., channels: _Optional[int] = ...) -> None: ...

class RawAudio(_message.Message):
    __slots__ = ("format", "data")
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    format: RawAudioFormat
    data: bytes
    def __init__(self, format: _Optional[_Union[RawAudioFormat, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class AudioInput(_message.Message):
    __slots__ = ("container", "raw")
    CONTAINER_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    container: bytes
    raw: RawAudio
    def __init__(self, container: _Optional[bytes] = ..., raw: _Optional[_Union[RawAudio, _Mapping]] = ...) -> None: ...

class StreamAudioFormat(_message.Message):
    __slots__ = ("container", "raw")
    CONTAINER_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    container: AudioContainer
    raw: RawAudioFormat
    def __init__(self, container: _Optional[_Union[AudioContainer, str]] = ..., raw: _Optional[_Union[RawAudioFormat, _Mapping]] = ...) -> None: ...

class OutputAudioFormat(_message.Message):
    __slots__ = ("container", "encoding", "sample_rate_hz")
    CONTAINER_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    container: AudioContainer
    encoding: PcmEncoding
    sample_rate_hz: int
    def __init__(self, container: _Optional[_Union[AudioContainer, str]] = ..., encoding: _Optional[_Union[PcmEncoding, str]] = ..., sample_rate_hz: _Optional[int] = ...) -> None: ...

class AudioOutput(_message.Message):
    __slots__ = ("data", "format", "duration_seconds")
    DATA_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    format: OutputAudioFormat
    duration_seconds: float
    def __init__(self, data: _Optional[bytes] = ..., format: _Optional[_Union[OutputAudioFormat, _Mapping]] = ..., duration_seconds: _Optional[float] = ...) -> None: ...
