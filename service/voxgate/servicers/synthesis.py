"""voxgate.v1.SynthesisService: UNIMPLEMENTED until a deployment has a TTS generator."""

from __future__ import annotations

from voxgate import model_names
from voxgate.errors import Unimplemented
from voxgate.registry import ServiceEntry
from voxgate.v1 import synthesis_pb2, synthesis_pb2_grpc


class SynthesisServicer(synthesis_pb2_grpc.SynthesisServiceServicer):
    async def Synthesize(self, request, context):
        raise Unimplemented("Synthesize: no synthesis engine is implemented on this server yet")
        yield  # an async generator, like every server-streaming handler


SERVICE = ServiceEntry(
    proto=synthesis_pb2.DESCRIPTOR.services_by_name["SynthesisService"],
    models=(model_names.TTS_GENERATOR, model_names.DETOKENIZE),
    build=lambda ctx: SynthesisServicer(),
    add_to_server=synthesis_pb2_grpc.add_SynthesisServiceServicer_to_server,
)
