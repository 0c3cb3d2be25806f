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

class SynthesizeRequest(_message.Message):
    __slots__ = ("text", "voice", "prompt", "style_instruction", "output_format")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    VOICE_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    STYLE_INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FORMAT_FIELD_NUMBER: _ClassVar[int]
    text: str
    voice: str
    prompt: VoicePrompt
    style_instruction: str
    output_format: _audio_pb2.OutputAudioFormat
    def __init__(self, text: _Optional[str] = ..., voice: _Optional[str] = ..., prompt: _Optional[_Union[VoicePrompt, _Mapping]] = ..., style_instruction: _Optional[str] = ..., output_format: _Optional[_Union[_audio_pb2.OutputAudioFormat, _Mapping]] = ...) -> None: ...

class SynthesizeResponse(_message.Message):
    __slots__ = ("request_id", "audio", "audio_tokens", "final")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    AUDIO_TOKENS_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    audio: _audio_pb2.AudioOutput
    audio_tokens: _containers.RepeatedScalarFieldContainer[int]
    final: bool
    def __init__(self, request_id: _Optional[str] = ..., audio: _Optional[_Union[_audio_pb2.AudioOutput, _Mapping]] = ..., audio_tokens: _Optional[_Iterable[int]] = ..., final: _Optional[bool] = ...) -> None: ...
