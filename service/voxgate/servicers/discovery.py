"""voxgate.v1.DiscoveryService."""

from __future__ import annotations

import grpc

from voxgate import __version__, interleave, model_names
from voxgate.audio import MAX_RATE, MIN_RATE
from voxgate.call_limits import default_max_streams
from voxgate.errors import ModelUnavailable
from voxgate.logs import request_id
from voxgate.registry import ServiceContext, ServiceEntry
from voxgate.servicers import convert
from voxgate.v1 import discovery_pb2, discovery_pb2_grpc


class DiscoveryServicer(discovery_pb2_grpc.DiscoveryServiceServicer):
    def __init__(self, ctx: ServiceContext) -> None:
        self._settings = ctx.settings
        self._models = ctx.models
        self._services = ctx.services

    async def GetServerInfo(
        self, request: discovery_pb2.GetServerInfoRequest, context: grpc.aio.ServicerContext
    ) -> discovery_pb2.GetServerInfoResponse:
        statuses = await self._models.statuses(self._services.model_names())
        try:
            spec = await self._models.spec()
            lookahead, out_rate, profile = (
                spec.context_groups,
                spec.output_sample_rate,
                spec.profile,
            )
        except ModelUnavailable:  # still answer while the models load
            lookahead, out_rate, profile = 0, 0, ""
        s = self._settings
        return discovery_pb2.GetServerInfoResponse(
            request_id=request_id(),
            version=__version__,
            profile=profile,
            models=[
                discovery_pb2.ModelInfo(
                    name=m.name,
                    role=model_names.ROLES.get(m.name, ""),
                    version=m.version,
                    ready=m.ready,
                    backend=m.backend,
                )
                for m in statuses
            ],
            token_spec=_token_spec(lookahead, out_rate),
            limits=discovery_pb2.Limits(
                max_audio_seconds=s.max_audio_seconds,
                max_request_bytes=s.max_request_bytes,
                max_response_bytes=s.max_response_bytes,
                min_sample_rate_hz=MIN_RATE,
                max_sample_rate_hz=MAX_RATE,
                max_detokenize_tokens=s.max_detokenize_tokens,
                pcm_encodings=convert.PCM_ENCODINGS,
                containers=convert.CONTAINERS,
                max_calls=s.max_calls,
                max_streams=s.max_streams or default_max_streams(),
                max_calls_per_tenant=s.max_calls_per_tenant,
                max_streams_per_connection=s.max_streams_per_connection,
                max_stream_lag_seconds=s.max_stream_lag_s,
                stream_write_timeout_seconds=s.stream_write_timeout_s,
            ),
            implemented_services=self._services.implemented(),
        )


def _token_spec(lookahead_groups: int, output_rate: int) -> discovery_pb2.TokenSpec:
    i = interleave
    return discovery_pb2.TokenSpec(
        streams=[
            discovery_pb2.TokenStreamSpec(
                name="linguistic",
                frame_rate_hz=1000 / 60,
                frame_ms=60,
                codebook_size=i.LINGUISTIC_CODES,
                id_offset=0,
                tokens_per_group=i.LINGUISTIC_PER_GROUP,
            ),
            discovery_pb2.TokenStreamSpec(
                name="semantic",
                frame_rate_hz=25.0,
                frame_ms=40,
                codebook_size=i.SEMANTIC_CODES,
                id_offset=i.SEMANTIC_OFFSET,
                tokens_per_group=i.SEMANTIC_PER_GROUP,
            ),
        ],
        group_ms=120,
        group_pattern=i.GROUP_PATTERN,
        vocabulary_size=i.VOCABULARY_SIZE,
        llm_vocabulary_offset=i.LLM_VOCABULARY_OFFSET,
        text_form=i.TEXT_FORM,
        input_sample_rate_hz=i.SAMPLE_RATE,
        output_sample_rate_hz=output_rate,
        tokenizer_lookahead_groups=lookahead_groups,
    )


SERVICE = ServiceEntry(
    proto=discovery_pb2.DESCRIPTOR.services_by_name["DiscoveryService"],
    models=(),
    build=DiscoveryServicer,
    add_to_server=discovery_pb2_grpc.add_DiscoveryServiceServicer_to_server,
)
