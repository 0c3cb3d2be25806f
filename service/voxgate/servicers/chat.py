"""voxgate.v1.ChatService: UNIMPLEMENTED until its servicer lands (its models are landing first:
chat_llm, then vad and asr)."""

from __future__ import annotations

from voxgate import model_names
from voxgate.errors import Unimplemented
from voxgate.registry import ServiceEntry
from voxgate.v1 import chat_pb2, chat_pb2_grpc


class ChatServicer(chat_pb2_grpc.ChatServiceServicer):
    async def Chat(self, request_iterator, context):
        raise Unimplemented("Chat: no chat engine is implemented on this server yet")
        yield  # an async generator, like every bidirectional handler


SERVICE = ServiceEntry(
    proto=chat_pb2.DESCRIPTOR.services_by_name["ChatService"],
    models=(
        model_names.VAD,
        model_names.ASR,
        model_names.CHAT_LLM,
        model_names.TTS_GENERATOR,
        model_names.DETOKENIZE,
    ),
    build=lambda ctx: ChatServicer(),
    add_to_server=chat_pb2_grpc.add_ChatServiceServicer_to_server,
    implemented=False,
)
