"""voxgate.v1.TokenizerService."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from prometheus_client import Gauge

from voxgate import model_names
from voxgate.core.pacing import RealTimeLag
from voxgate.core.tokenization import Limits, Tokenization
from voxgate.errors import InvalidArgument
from voxgate.interleave import SAMPLE_RATE, Tokens
from voxgate.logs import request_id
from voxgate.registry import ServiceContext, ServiceEntry
from voxgate.servicers import convert
from voxgate.v1 import tokenizer_pb2, tokenizer_pb2_grpc

ACTIVE_STREAMS = Gauge("voxgate_active_token_streams", "StreamTokenize calls in progress")
# A DetokenizeResponse's fields besides the audio bytes (request id, format, counts).
RESPONSE_ENVELOPE_BYTES = 1024


class TokenizerServicer(tokenizer_pb2_grpc.TokenizerServiceServicer):
    def __init__(self, tokenization: Tokenization, max_lag_s: float = 0.0) -> None:
        self._tok = tokenization
        self._max_lag_s = max_lag_s  # 0: live streams may fall behind without limit

    async def Tokenize(
        self, request: tokenizer_pb2.TokenizeRequest, context: grpc.aio.ServicerContext
    ) -> tokenizer_pb2.TokenizeResponse:
        result = await self._tok.tokenize(convert.audio_source(request.audio))
        return tokenizer_pb2.TokenizeResponse(
            request_id=request_id(),
            tokens=convert.tokens_pb(result.tokens, request.include_text),
            audio_duration_seconds=result.duration_seconds,
        )

    async def StreamTokenize(
        self,
        request_iterator: AsyncIterator[tokenizer_pb2.StreamTokenizeRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[tokenizer_pb2.StreamTokenizeResponse]:
        ACTIVE_STREAMS.inc()
        stream = None
        try:
            first = await anext(aiter(request_iterator), None)
            if first is None or first.WhichOneof("message") != "config":
                raise InvalidArgument("config: the first message must carry the config")
            include_text = first.config.include_text
            stream = self._tok.open_stream(*convert.stream_format(first.config.format))

            def response(index: int, tokens: Tokens, final: bool = False):
                return tokenizer_pb2.StreamTokenizeResponse(
                    request_id=request_id(),
                    tokens=convert.tokens_pb(tokens, include_text),
                    group_offset=index,
                    final=final,
                )

            lag = RealTimeLag(self._max_lag_s if stream.live else 0)
            async for message in request_iterator:
                lag.arrived()
                if message.WhichOneof("message") != "audio":
                    raise InvalidArgument("config: only the first message may carry a config")
                before = stream.samples
                for index, tokens in await stream.push(message.audio):
                    yield response(index, tokens)
                lag.done((stream.samples - before) / SAMPLE_RATE)
            rest = await stream.finish()
            for n, (index, tokens) in enumerate(rest):
                yield response(index, tokens, final=n == len(rest) - 1)
            if not rest:
                yield response(stream.groups_done, Tokens.empty(), final=True)
        finally:
            if stream is not None:
                stream.close()
            ACTIVE_STREAMS.dec()

    async def Detokenize(
        self, request: tokenizer_pb2.DetokenizeRequest, context: grpc.aio.ServicerContext
    ) -> tokenizer_pb2.DetokenizeResponse:
        tokens = convert.detokenize_tokens(request)
        out = convert.output_format(request.output_format)
        result = await self._tok.detokenize(tokens, out)
        return tokenizer_pb2.DetokenizeResponse(
            request_id=request_id(),
            audio=convert.audio_output_pb(result.data, result.fmt, result.duration_seconds),
            group_count=result.group_count,
        )


def _build(ctx: ServiceContext) -> TokenizerServicer:
    s = ctx.settings
    limits = Limits(
        max_audio_seconds=s.max_audio_seconds,
        max_detokenize_tokens=s.max_detokenize_tokens,
        chunk_groups=s.chunk_groups,
        decode_chunk_groups=s.decode_chunk_groups,
        max_output_bytes=s.max_response_bytes - RESPONSE_ENVELOPE_BYTES,
        max_container_stream_bytes=s.max_request_bytes,
    )
    return TokenizerServicer(
        Tokenization(
            ctx.models,
            ctx.models,
            limits,
            ctx.budget,
            stream=ctx.models.sequence_model(model_names.STREAM_TOKENIZER),
        ),
        s.max_stream_lag_s,
    )


SERVICE = ServiceEntry(
    proto=tokenizer_pb2.DESCRIPTOR.services_by_name["TokenizerService"],
    models=model_names.ENSEMBLES,  # their steps come from the repository's ensemble configs
    build=_build,
    add_to_server=tokenizer_pb2_grpc.add_TokenizerServiceServicer_to_server,
)
