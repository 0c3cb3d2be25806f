from voxgate.v1 import audio_pb2 as _audio_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChatConfig(_message.Message):
    __slots__ = ("system_prompt", "voice", "input_format", "output_format", "text_only")
    SYSTEM_PROMPT_FIELD_NUMBER: _ClassVar[int]
    VOICE_FIELD_NUMBER: _ClassVar[int]
    INPUT_FORMAT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FORMAT_FIELD_NUMBER: _ClassVar[int]
    TEXT_ONLY_FIELD_NUMBER: _ClassVar[int]
    system_prompt: str
    voice: str
    input_format: _audio_pb2.StreamAudioFormat
    output_format: _audio_pb2.OutputAudioFormat
    text_only: bool
    def __init__(self, system_prompt: _Optional[str] = ..., voice: _Optional[str] = ..., input_format: _Optional[_Union[_audio_pb2.StreamAudioFormat, _Mapping]] = ..., output_format: _Optional[_Union[_audio_pb2.OutputAudioFormat, _Mapping]] = ..., text_only: _Optional[bool] = ...) -> None: ...

class UserInput(_message.Message):
    __slots__ = ("text", "audio", "end_of_turn")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    END_OF_TURN_FIELD_NUMBER: _ClassVar[int]
    text: str
    audio: bytes
    end_of_turn: bool
    def __init__(self, text: _Optional[str] = ..., audio: _Optional[bytes] = ..., end_of_turn: _Optional[bool] = ...) -> None: ...

class ChatRequest(_message.Message):
    __slots__ = ("config", "input")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    config: ChatConfig
    input: UserInput
    def __init__(self, config: _Optional[_Union[ChatConfig, _Mapping]] = ..., input: _Optional[_Union[UserInput, _Mapping]] = ...) -> None: ...

class TurnEnd(_message.Message):
    __slots__ = ("text", "user_transcript")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    USER_TRANSCRIPT_FIELD_NUMBER: _ClassVar[int]
    text: str
    user_transcript: str
    def __init__(self, text: _Optional[str] = ..., user_transcript: _Optional[str] = ...) -> None: ...

class ChatResponse(_message.Message):
    __slots__ = ("request_id", "turn_index", "text_delta", "audio", "turn_end")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TURN_INDEX_FIELD_NUMBER: _ClassVar[int]
    TEXT_DELTA_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    TURN_END_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    turn_index: int
    text_delta: str
    audio: _audio_pb2.AudioOutput
    turn_end: TurnEnd
    def __init__(self, request_id: _Optional[str] = ..., turn_index: _Optional[int] = ..., text_delta: _Optional[str] = ..., audio: _Optional[_Union[_audio_pb2.AudioOutput, _Mapping]] = ..., turn_end: _Optional[_Union[TurnEnd, _Mapping]] = ...) -> None: ...
