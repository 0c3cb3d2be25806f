from voxgate.v1 import audio_pb2 as _audio_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VoicePrompt(_message.Message):
    __slots__ = ("audio", "transcript")
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    TRANSCRIPT_FIELD_NUMBER: _ClassVar[int]
    audio: _audio_pb2.AudioInput
    transcript: str
    def __init__(self, audio: _Optional[_Union[_audio_pb2.AudioInput, _Mapping]] = ..., transcript: _Optional[str] = ...) -> None: ...

class SpeechStyle(_message.Message):
    __slots__ = ("speed", "pitch_semitones", "volume_db", "emotion", "dialect")
    SPEED_FIELD_NUMBER: _ClassVar[int]
    PITCH_SEMITONES_FIELD_NUMBER: _ClassVar[int]
    VOLUME_DB_FIELD_NUMBER: _ClassVar[int]
    EMOTION_FIELD_NUMBER: _ClassVar[int]
    DIALECT_FIELD_NUMBER: _ClassVar[int]
    speed: float
    pitch_semitones: float
    volume_db: float
    emotion: str
    dialect: str
    def __init__(self, speed: _Optional[float] = ..., pitch_semitones: _Optional[float] = ..., volume_db: _Optional[float] = ..., emotion: _Optional[str] = ..., dialect: _Optional[str] = ...) -> None: ...

class SynthesizeRequest(_message.Message):
    __slots__ = ("text", "voice", "prompt", "style_instruction", "output_format", "style")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    VOICE_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    STYLE_INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FORMAT_FIELD_NUMBER: _ClassVar[int]
    STYLE_FIELD_NUMBER: _ClassVar[int]
    text: str
    voice: str
    prompt: VoicePrompt
    style_instruction: str
    output_format: _audio_pb2.OutputAudioFormat
    style: SpeechStyle
    def __init__(self, text: _Optional[str] = ..., voice: _Optional[str] = ..., prompt: _Optional[_Union[VoicePrompt, _Mapping]] = ..., style_instruction: _Optional[str] = ..., output_format: _Optional[_Union[_audio_pb2.OutputAudioFormat, _Mapping]] = ..., style: _Optional[_Union[SpeechStyle, _Mapping]] = ...) -> None: ...

class StreamSynthesizeConfig(_message.Message):
    __slots__ = ("request",)
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    request: SynthesizeRequest
    def __init__(self, request: _Optional[_Union[SynthesizeRequest, _Mapping]] = ...) -> None: ...

class StreamSynthesizeRequest(_message.Message):
    __slots__ = ("config", "text", "flush")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    FLUSH_FIELD_NUMBER: _ClassVar[int]
    config: StreamSynthesizeConfig
    text: str
    flush: bool
    def __init__(self, config: _Optional[_Union[StreamSynthesizeConfig, _Mapping]] = ..., text: _Optional[str] = ..., flush: _Optional[bool] = ...) -> None: ...

class WordTiming(_message.Message):
    __slots__ = ("word", "start_ms", "end_ms")
    WORD_FIELD_NUMBER: _ClassVar[int]
    START_MS_FIELD_NUMBER: _ClassVar[int]
    END_MS_FIELD_NUMBER: _ClassVar[int]
    word: str
    start_ms: int
    end_ms: int
    def __init__(self, word: _Optional[str] = ..., start_ms: _Optional[int] = ..., end_ms: _Optional[int] = ...) -> None: ...

class SynthesisReport(_message.Message):
    __slots__ = ("engine", "voice", "applied", "not_applied", "normalized_text")
    ENGINE_FIELD_NUMBER: _ClassVar[int]
    VOICE_FIELD_NUMBER: _ClassVar[int]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    NOT_APPLIED_FIELD_NUMBER: _ClassVar[int]
    NORMALIZED_TEXT_FIELD_NUMBER: _ClassVar[int]
    engine: str
    voice: str
    applied: SpeechStyle
    not_applied: _containers.RepeatedScalarFieldContainer[str]
    normalized_text: str
    def __init__(self, engine: _Optional[str] = ..., voice: _Optional[str] = ..., applied: _Optional[_Union[SpeechStyle, _Mapping]] = ..., not_applied: _Optional[_Iterable[str]] = ..., normalized_text: _Optional[str] = ...) -> None: ...

class SynthesizeResponse(_message.Message):
    __slots__ = ("request_id", "audio", "audio_tokens", "final", "words", "report", "start_seconds")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    AUDIO_TOKENS_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    WORDS_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    START_SECONDS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    audio: _audio_pb2.AudioOutput
    audio_tokens: _containers.RepeatedScalarFieldContainer[int]
    final: bool
    words: _containers.RepeatedCompositeFieldContainer[WordTiming]
    report: SynthesisReport
    start_seconds: float
    def __init__(self, request_id: _Optional[str] = ..., audio: _Optional[_Union[_audio_pb2.AudioOutput, _Mapping]] = ..., audio_tokens: _Optional[_Iterable[int]] = ..., final: _Optional[bool] = ..., words: _Optional[_Iterable[_Union[WordTiming, _Mapping]]] = ..., report: _Optional[_Union[SynthesisReport, _Mapping]] = ..., start_seconds: _Optional[float] = ...) -> None: ...

class StreamSynthesizeResponse(_message.Message):
    __slots__ = ("piece",)
    PIECE_FIELD_NUMBER: _ClassVar[int]
    piece: SynthesizeResponse
    def __init__(self, piece: _Optional[_Union[SynthesizeResponse, _Mapping]] = ...) -> None: ...

class Voice(_message.Message):
    __slots__ = ("id", "name", "builtin", "transcript", "consent_note", "created_unix", "pitch_median_hz", "speaking_rate", "prompt_seconds", "audio_stored")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    BUILTIN_FIELD_NUMBER: _ClassVar[int]
    TRANSCRIPT_FIELD_NUMBER: _ClassVar[int]
    CONSENT_NOTE_FIELD_NUMBER: _ClassVar[int]
    CREATED_UNIX_FIELD_NUMBER: _ClassVar[int]
    PITCH_MEDIAN_HZ_FIELD_NUMBER: _ClassVar[int]
    SPEAKING_RATE_FIELD_NUMBER: _ClassVar[int]
    PROMPT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    AUDIO_STORED_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    builtin: bool
    transcript: str
    consent_note: str
    created_unix: int
    pitch_median_hz: float
    speaking_rate: float
    prompt_seconds: float
    audio_stored: bool
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., builtin: _Optional[bool] = ..., transcript: _Optional[str] = ..., consent_note: _Optional[str] = ..., created_unix: _Optional[int] = ..., pitch_median_hz: _Optional[float] = ..., speaking_rate: _Optional[float] = ..., prompt_seconds: _Optional[float] = ..., audio_stored: _Optional[bool] = ...) -> None: ...

class CreateVoiceRequest(_message.Message):
    __slots__ = ("prompt", "name", "consent_note", "keep_audio")
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONSENT_NOTE_FIELD_NUMBER: _ClassVar[int]
    KEEP_AUDIO_FIELD_NUMBER: _ClassVar[int]
    prompt: VoicePrompt
    name: str
    consent_note: str
    keep_audio: bool
    def __init__(self, prompt: _Optional[_Union[VoicePrompt, _Mapping]] = ..., name: _Optional[str] = ..., consent_note: _Optional[str] = ..., keep_audio: _Optional[bool] = ...) -> None: ...

class CreateVoiceResponse(_message.Message):
    __slots__ = ("request_id", "voice")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VOICE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    voice: Voice
    def __init__(self, request_id: _Optional[str] = ..., voice: _Optional[_Union[Voice, _Mapping]] = ...) -> None: ...

class ListVoicesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListVoicesResponse(_message.Message):
    __slots__ = ("request_id", "voices")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VOICES_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    voices: _containers.RepeatedCompositeFieldContainer[Voice]
    def __init__(self, request_id: _Optional[str] = ..., voices: _Optional[_Iterable[_Union[Voice, _Mapping]]] = ...) -> None: ...

class DeleteVoiceRequest(_message.Message):
    __slots__ = ("voice_id",)
    VOICE_ID_FIELD_NUMBER: _ClassVar[int]
    voice_id: str
    def __init__(self, voice_id: _Optional[str] = ...) -> None: ...

class DeleteVoiceResponse(_message.Message):
    __slots__ = ("request_id",)
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    def __init__(self, request_id: _Optional[str] = ...) -> None: ...
