from voxgate.v1 import audio_pb2 as _audio_pb2
from voxgate.v1 import synthesis_pb2 as _synthesis_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TurnDetectionMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TURN_DETECTION_MODE_UNSPECIFIED: _ClassVar[TurnDetectionMode]
    TURN_DETECTION_MODE_SERVER_VAD: _ClassVar[TurnDetectionMode]
    TURN_DETECTION_MODE_MANUAL: _ClassVar[TurnDetectionMode]
TURN_DETECTION_MODE_UNSPECIFIED: TurnDetectionMode
TURN_DETECTION_MODE_SERVER_VAD: TurnDetectionMode
TURN_DETECTION_MODE_MANUAL: TurnDetectionMode

class TurnDetection(_message.Message):
    __slots__ = ("mode", "silence_ms", "prefix_padding_ms", "threshold")
    MODE_FIELD_NUMBER: _ClassVar[int]
    SILENCE_MS_FIELD_NUMBER: _ClassVar[int]
    PREFIX_PADDING_MS_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    mode: TurnDetectionMode
    silence_ms: int
    prefix_padding_ms: int
    threshold: float
    def __init__(self, mode: _Optional[_Union[TurnDetectionMode, str]] = ..., silence_ms: _Optional[int] = ..., prefix_padding_ms: _Optional[int] = ..., threshold: _Optional[float] = ...) -> None: ...

class ChatConfig(_message.Message):
    __slots__ = ("system_prompt", "voice", "input_format", "output_format", "text_only", "turn_detection", "max_reply_tokens", "temperature", "seed")
    SYSTEM_PROMPT_FIELD_NUMBER: _ClassVar[int]
    VOICE_FIELD_NUMBER: _ClassVar[int]
    INPUT_FORMAT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FORMAT_FIELD_NUMBER: _ClassVar[int]
    TEXT_ONLY_FIELD_NUMBER: _ClassVar[int]
    TURN_DETECTION_FIELD_NUMBER: _ClassVar[int]
    MAX_REPLY_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    system_prompt: str
    voice: str
    input_format: _audio_pb2.StreamAudioFormat
    output_format: _audio_pb2.OutputAudioFormat
    text_only: bool
    turn_detection: TurnDetection
    max_reply_tokens: int
    temperature: float
    seed: int
    def __init__(self, system_prompt: _Optional[str] = ..., voice: _Optional[str] = ..., input_format: _Optional[_Union[_audio_pb2.StreamAudioFormat, _Mapping]] = ..., output_format: _Optional[_Union[_audio_pb2.OutputAudioFormat, _Mapping]] = ..., text_only: _Optional[bool] = ..., turn_detection: _Optional[_Union[TurnDetection, _Mapping]] = ..., max_reply_tokens: _Optional[int] = ..., temperature: _Optional[float] = ..., seed: _Optional[int] = ...) -> None: ...

class UserInput(_message.Message):
    __slots__ = ("text", "audio", "end_of_turn")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    END_OF_TURN_FIELD_NUMBER: _ClassVar[int]
    text: str
    audio: bytes
    end_of_turn: bool
    def __init__(self, text: _Optional[str] = ..., audio: _Optional[bytes] = ..., end_of_turn: _Optional[bool] = ...) -> None: ...

class Interrupt(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Playback(_message.Message):
    __slots__ = ("turn_index", "played_ms")
    TURN_INDEX_FIELD_NUMBER: _ClassVar[int]
    PLAYED_MS_FIELD_NUMBER: _ClassVar[int]
    turn_index: int
    played_ms: int
    def __init__(self, turn_index: _Optional[int] = ..., played_ms: _Optional[int] = ...) -> None: ...

class ChatRequest(_message.Message):
    __slots__ = ("config", "input", "interrupt", "playback")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    INTERRUPT_FIELD_NUMBER: _ClassVar[int]
    PLAYBACK_FIELD_NUMBER: _ClassVar[int]
    config: ChatConfig
    input: UserInput
    interrupt: Interrupt
    playback: Playback
    def __init__(self, config: _Optional[_Union[ChatConfig, _Mapping]] = ..., input: _Optional[_Union[UserInput, _Mapping]] = ..., interrupt: _Optional[_Union[Interrupt, _Mapping]] = ..., playback: _Optional[_Union[Playback, _Mapping]] = ...) -> None: ...

class TurnLatency(_message.Message):
    __slots__ = ("transcript_ms", "first_text_ms", "first_audio_ms")
    TRANSCRIPT_MS_FIELD_NUMBER: _ClassVar[int]
    FIRST_TEXT_MS_FIELD_NUMBER: _ClassVar[int]
    FIRST_AUDIO_MS_FIELD_NUMBER: _ClassVar[int]
    transcript_ms: int
    first_text_ms: int
    first_audio_ms: int
    def __init__(self, transcript_ms: _Optional[int] = ..., first_text_ms: _Optional[int] = ..., first_audio_ms: _Optional[int] = ...) -> None: ...

class TurnEnd(_message.Message):
    __slots__ = ("text", "user_transcript", "interrupted", "heard_text", "latency", "reply_tokens", "audio_seconds")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    USER_TRANSCRIPT_FIELD_NUMBER: _ClassVar[int]
    INTERRUPTED_FIELD_NUMBER: _ClassVar[int]
    HEARD_TEXT_FIELD_NUMBER: _ClassVar[int]
    LATENCY_FIELD_NUMBER: _ClassVar[int]
    REPLY_TOKENS_FIELD_NUMBER: _ClassVar[int]
    AUDIO_SECONDS_FIELD_NUMBER: _ClassVar[int]
    text: str
    user_transcript: str
    interrupted: bool
    heard_text: str
    latency: TurnLatency
    reply_tokens: int
    audio_seconds: float
    def __init__(self, text: _Optional[str] = ..., user_transcript: _Optional[str] = ..., interrupted: _Optional[bool] = ..., heard_text: _Optional[str] = ..., latency: _Optional[_Union[TurnLatency, _Mapping]] = ..., reply_tokens: _Optional[int] = ..., audio_seconds: _Optional[float] = ...) -> None: ...

class SpeechStarted(_message.Message):
    __slots__ = ("audio_offset_ms",)
    AUDIO_OFFSET_MS_FIELD_NUMBER: _ClassVar[int]
    audio_offset_ms: int
    def __init__(self, audio_offset_ms: _Optional[int] = ...) -> None: ...

class SpeechStopped(_message.Message):
    __slots__ = ("audio_offset_ms",)
    AUDIO_OFFSET_MS_FIELD_NUMBER: _ClassVar[int]
    audio_offset_ms: int
    def __init__(self, audio_offset_ms: _Optional[int] = ...) -> None: ...

class Transcript(_message.Message):
    __slots__ = ("text", "is_final")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    IS_FINAL_FIELD_NUMBER: _ClassVar[int]
    text: str
    is_final: bool
    def __init__(self, text: _Optional[str] = ..., is_final: _Optional[bool] = ...) -> None: ...

class ChatResponse(_message.Message):
    __slots__ = ("request_id", "turn_index", "text_delta", "audio", "turn_end", "speech_started", "speech_stopped", "transcript", "audio_tokens", "words", "start_seconds")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TURN_INDEX_FIELD_NUMBER: _ClassVar[int]
    TEXT_DELTA_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    TURN_END_FIELD_NUMBER: _ClassVar[int]
    SPEECH_STARTED_FIELD_NUMBER: _ClassVar[int]
    SPEECH_STOPPED_FIELD_NUMBER: _ClassVar[int]
    TRANSCRIPT_FIELD_NUMBER: _ClassVar[int]
    AUDIO_TOKENS_FIELD_NUMBER: _ClassVar[int]
    WORDS_FIELD_NUMBER: _ClassVar[int]
    START_SECONDS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    turn_index: int
    text_delta: str
    audio: _audio_pb2.AudioOutput
    turn_end: TurnEnd
    speech_started: SpeechStarted
    speech_stopped: SpeechStopped
    transcript: Transcript
    audio_tokens: _containers.RepeatedScalarFieldContainer[int]
    words: _containers.RepeatedCompositeFieldContainer[_synthesis_pb2.WordTiming]
    start_seconds: float
    def __init__(self, request_id: _Optional[str] = ..., turn_index: _Optional[int] = ..., text_delta: _Optional[str] = ..., audio: _Optional[_Union[_audio_pb2.AudioOutput, _Mapping]] = ..., turn_end: _Optional[_Union[TurnEnd, _Mapping]] = ..., speech_started: _Optional[_Union[SpeechStarted, _Mapping]] = ..., speech_stopped: _Optional[_Union[SpeechStopped, _Mapping]] = ..., transcript: _Optional[_Union[Transcript, _Mapping]] = ..., audio_tokens: _Optional[_Iterable[int]] = ..., words: _Optional[_Iterable[_Union[_synthesis_pb2.WordTiming, _Mapping]]] = ..., start_seconds: _Optional[float] = ...) -> None: ...
