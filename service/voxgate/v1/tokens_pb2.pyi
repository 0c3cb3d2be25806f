from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class AudioTokens(_message.Message):
    __slots__ = ("linguistic", "semantic", "interleaved", "text", "group_count")
    LINGUISTIC_FIELD_NUMBER: _ClassVar[int]
    SEMANTIC_FIELD_NUMBER: _ClassVar[int]
    INTERLEAVED_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    GROUP_COUNT_FIELD_NUMBER: _ClassVar[int]
    linguistic: _containers.RepeatedScalarFieldContainer[int]
    semantic: _containers.RepeatedScalarFieldContainer[int]
    interleaved: _containers.RepeatedScalarFieldContainer[int]
    text: str
    group_count: int
    def __init__(self, linguistic: _Optional[_Iterable[int]] = ..., semantic: _Optional[_Iterable[int]] = ..., interleaved: _Optional[_Iterable[int]] = ..., text: _Optional[str] = ..., group_count: _Optional[int] = ...) -> None: ...
