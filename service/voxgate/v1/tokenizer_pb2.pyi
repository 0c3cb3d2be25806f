from voxgate.v1 import audio_pb2 as _audio_pb2
from voxgate.v1 import tokens_pb2 as _tokens_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TokenizeRequest(_message.Message):
    __slots__ = ("audio", "include_text")
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_TEXT_FIELD_NUMBER: _ClassVar[int]
    audio: _audio_pb2.AudioInput
    include_text: bool
    def __init__(self, audio: _Optional[_Union[_audio_pb2.AudioInput, _Mapping]] = ..., include_text: _Optional[bool] = ...) -> None: ...

class TokenizeResponse(_message.Message):
    __slots__ = ("request_id", "tokens", "audio_duration_seconds")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    AUDIO_DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    tokens: _tokens_pb2.AudioTokens
    audio_duration_seconds: float
    def __init__(self, request_id: _Optional[str] = ..., tokens: _Optional[_Union[_tokens_pb2.AudioTokens, _Mapping]] = ..., audio_duration_seconds: _Optional[float] = ...) -> None: ...

class StreamTokenizeConfig(_message.Message):
    __slots__ = ("format", "include_text")
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_TEXT_FIELD_NUMBER: _ClassVar[int]
    format: _audio_pb2.StreamAudioFormat
    include_text: bool
    def __init__(self, format: _Optional[_Union[_audio_pb2.StreamAudioFormat, _Mapping]] = ..., include_text: _Optional[bool] = ...) -> None: ...

class StreamTokenizeRequest(_message.Message):
    __slots__ = ("config", "audio")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    config: StreamTokenizeConfig
    audio: bytes
    def __init__(self, config: _Optional[_Union[StreamTokenizeConfig, _Mapping]] = ..., audio: _Optional[bytes] = ...) -> None: ...

class StreamTokenizeResponse(_message.Message):
    __slots__ = ("request_id", "tokens", "group_offset", "final")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    GROUP_OFFSET_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    tokens: _tokens_pb2.AudioTokens
    group_offset: int
    final: bool
    def __init__(self, request_id: _Optional[str] = ..., tokens: _Optional[_Union[_tokens_pb2.AudioTokens, _Mapping]] = ..., group_offset: _Optional[int] = ..., final: _Optional[bool] = ...) -> None: ...

class TokenStreams(_message.Message):
    __slots__ = ("linguistic", "semantic")
    LINGUISTIC_FIELD_NUMBER: _ClassVar[int]
    SEMANTIC_FIELD_NUMBER: _ClassVar[int]
    linguistic: _containers.RepeatedScalarFieldContainer[int]
    semantic: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, linguistic: _Optional[_Iterable[int]] = ..., semantic: _Optional[_Iterable[int]] = ...) -> None: ...

class InterleavedTokens(_message.Message):
    __slots__ = ("ids",)
    IDS_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, ids: _Optional[_Iterable[int]] = ...) -> None: ...

class DetokenizeRequest(_message.Message):
    __slots__ = ("interleaved", "streams", "text", "output_format")
    INTERLEAVED_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FORMAT_FIELD_NUMBER: _ClassVar[int]
    interleaved: InterleavedTokens
    streams: TokenStreams
    text: str
    output_format: _audio_pb2.OutputAudioFormat
    def __init__(self, interleaved: _Optional[_Union[InterleavedTokens, _Mapping]] = ..., streams: _Optional[_Union[TokenStreams, _Mapping]] = ..., text: _Optional[str] = ..., output_format: _Optional[_Union[_audio_pb2.OutputAudioFormat, _Mapping]] = ...) -> None: ...

class DetokenizeResponse(_message.Message):
    __slots__ = ("request_id", "audio", "group_count")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    GROUP_COUNT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    audio: _audio_pb2.AudioOutput
    group_count: int
    def __init__(self, request_id: _Optional[str] = ..., audio: _Optional[_Union[_audio_pb2.AudioOutput, _Mapping]] = ..., group_count: _Optional[int] = ...) -> None: ...
