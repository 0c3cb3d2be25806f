from voxgate.v1 import audio_pb2 as _audio_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetServerInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("name", "role", "version", "ready", "backend")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    name: str
    role: str
    version: str
    ready: bool
    backend: str
    def __init__(self, name: _Optional[str] = ..., role: _Optional[str] = ..., version: _Optional[str] = ..., ready: _Optional[bool] = ..., backend: _Optional[str] = ...) -> None: ...

class TokenStreamSpec(_message.Message):
    __slots__ = ("name", "frame_rate_hz", "frame_ms", "codebook_size", "id_offset", "tokens_per_group")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FRAME_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    FRAME_MS_FIELD_NUMBER: _ClassVar[int]
    CODEBOOK_SIZE_FIELD_NUMBER: _ClassVar[int]
    ID_OFFSET_FIELD_NUMBER: _ClassVar[int]
    TOKENS_PER_GROUP_FIELD_NUMBER: _ClassVar[int]
    name: str
    frame_rate_hz: float
    frame_ms: int
    codebook_size: int
    id_offset: int
    tokens_per_group: int
    def __init__(self, name: _Optional[str] = ..., frame_rate_hz: _Optional[float] = ..., frame_ms: _Optional[int] = ..., codebook_size: _Optional[int] = ..., id_offset: _Optional[int] = ..., tokens_per_group: _Optional[int] = ...) -> None: ...

class TokenSpec(_message.Message):
    __slots__ = ("streams", "group_ms", "group_pattern", "vocabulary_size", "llm_vocabulary_offset", "text_form", "input_sample_rate_hz", "output_sample_rate_hz", "tokenizer_lookahead_groups")
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    GROUP_MS_FIELD_NUMBER: _ClassVar[int]
    GROUP_PATTERN_FIELD_NUMBER: _ClassVar[int]
    VOCABULARY_SIZE_FIELD_NUMBER: _ClassVar[int]
    LLM_VOCABULARY_OFFSET_FIELD_NUMBER: _ClassVar[int]
    TEXT_FORM_FIELD_NUMBER: _ClassVar[int]
    INPUT_SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    TOKENIZER_LOOKAHEAD_GROUPS_FIELD_NUMBER: _ClassVar[int]
    streams: _containers.RepeatedCompositeFieldContainer[TokenStreamSpec]
    group_ms: int
    group_pattern: str
    vocabulary_size: int
    llm_vocabulary_offset: int
    text_form: str
    input_sample_rate_hz: int
    output_sample_rate_hz: int
    tokenizer_lookahead_groups: int
    def __init__(self, streams: _Optional[_Iterable[_Union[TokenStreamSpec, _Mapping]]] = ..., group_ms: _Optional[int] = ..., group_pattern: _Optional[str] = ..., vocabulary_size: _Optional[int] = ..., llm_vocabulary_offset: _Optional[int] = ..., text_form: _Optional[str] = ..., input_sample_rate_hz: _Optional[int] = ..., output_sample_rate_hz: _Optional[int] = ..., tokenizer_lookahead_groups: _Optional[int] = ...) -> None: ...

class Limits(_message.Message):
    __slots__ = ("max_audio_seconds", "max_request_bytes", "max_response_bytes", "min_sample_rate_hz", "max_sample_rate_hz", "max_detokenize_tokens", "pcm_encodings", "containers", "max_calls", "max_streams", "max_calls_per_tenant", "max_streams_per_connection", "max_stream_lag_seconds", "stream_write_timeout_seconds")
    MAX_AUDIO_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_REQUEST_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_RESPONSE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MIN_SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    MAX_SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    MAX_DETOKENIZE_TOKENS_FIELD_NUMBER: _ClassVar[int]
    PCM_ENCODINGS_FIELD_NUMBER: _ClassVar[int]
    CONTAINERS_FIELD_NUMBER: _ClassVar[int]
    MAX_CALLS_FIELD_NUMBER: _ClassVar[int]
    MAX_STREAMS_FIELD_NUMBER: _ClassVar[int]
    MAX_CALLS_PER_TENANT_FIELD_NUMBER: _ClassVar[int]
    MAX_STREAMS_PER_CONNECTION_FIELD_NUMBER: _ClassVar[int]
    MAX_STREAM_LAG_SECONDS_FIELD_NUMBER: _ClassVar[int]
    STREAM_WRITE_TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    max_audio_seconds: float
    max_request_bytes: int
    max_response_bytes: int
    min_sample_rate_hz: int
    max_sample_rate_hz: int
    max_detokenize_tokens: int
    pcm_encodings: _containers.RepeatedScalarFieldContainer[_audio_pb2.PcmEncoding]
    containers: _containers.RepeatedScalarFieldContainer[_audio_pb2.AudioContainer]
    max_calls: int
    max_streams: int
    max_calls_per_tenant: int
    max_streams_per_connection: int
    max_stream_lag_seconds: float
    stream_write_timeout_seconds: float
    def __init__(self, max_audio_seconds: _Optional[float] = ..., max_request_bytes: _Optional[int] = ..., max_response_bytes: _Optional[int] = ..., min_sample_rate_hz: _Optional[int] = ..., max_sample_rate_hz: _Optional[int] = ..., max_detokenize_tokens: _Optional[int] = ..., pcm_encodings: _Optional[_Iterable[_Union[_audio_pb2.PcmEncoding, str]]] = ..., containers: _Optional[_Iterable[_Union[_audio_pb2.AudioContainer, str]]] = ..., max_calls: _Optional[int] = ..., max_streams: _Optional[int] = ..., max_calls_per_tenant: _Optional[int] = ..., max_streams_per_connection: _Optional[int] = ..., max_stream_lag_seconds: _Optional[float] = ..., stream_write_timeout_seconds: _Optional[float] = ...) -> None: ...

class GetServerInfoResponse(_message.Message):
    __slots__ = ("request_id", "version", "profile", "models", "token_spec", "limits", "implemented_services", "voices")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_SPEC_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    IMPLEMENTED_SERVICES_FIELD_NUMBER: _ClassVar[int]
    VOICES_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    version: str
    profile: str
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    token_spec: TokenSpec
    limits: Limits
    implemented_services: _containers.RepeatedScalarFieldContainer[str]
    voices: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, request_id: _Optional[str] = ..., version: _Optional[str] = ..., profile: _Optional[str] = ..., models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ..., token_spec: _Optional[_Union[TokenSpec, _Mapping]] = ..., limits: _Optional[_Union[Limits, _Mapping]] = ..., implemented_services: _Optional[_Iterable[str]] = ..., voices: _Optional[_Iterable[str]] = ...) -> None: ...
