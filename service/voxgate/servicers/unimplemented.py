"""Services of the v1 API that no model on this server provides yet: UNIMPLEMENTED."""

from __future__ import annotations

from voxgate.errors import Unimplemented
from voxgate.v1 import chat_pb2_grpc, synthesis_pb2_grpc


class SynthesisServicer(synthesis_pb2_grpc.SynthesisServiceServicer):
    async def Synthesize(self, request, context):
        raise Unimplemented("Synthesize: no synthesis model is deployed on this server")
        yield  # an async generator, like every server-streaming handler


class ChatServicer(chat_pb2_grpc.ChatServiceServicer):
    async def Chat(self, request_iterator, context):
        raise Unimplemented("Chat: no chat model is deployed on this server")
        yield
