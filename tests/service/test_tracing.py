"""OpenTelemetry over real gRPC and the real Triton, recorded by the SDK's in-memory exporter:
a server span per RPC continuing the client's W3C traceparent, a client span per Triton
request under it (unary and streaming), the status of a failed call."""

from __future__ import annotations

import grpc
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from voxgate.v1 import (
    audio_pb2,
    synthesis_pb2,
    synthesis_pb2_grpc,
    tokenizer_pb2,
    tokenizer_pb2_grpc,
)

from tests.conftest import speechlike, wav_bytes

pytestmark = pytest.mark.triton
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = (("traceparent", f"00-{TRACE_ID}-{PARENT_ID}-01"),)


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)  # once per process: voxgate's tracer follows it
    if trace.get_tracer_provider() is not provider:
        pytest.skip("another tracer provider was set first in this process")
    return exporter


def ours(exporter: InMemorySpanExporter):
    return [s for s in exporter.get_finished_spans() if f"{s.context.trace_id:032x}" == TRACE_ID]


async def test_a_call_continues_the_clients_trace_down_to_triton(channel, spans) -> None:
    spans.clear()
    audio = audio_pb2.AudioInput(container=wav_bytes(speechlike(1.2), 16000))
    stub = tokenizer_pb2_grpc.TokenizerServiceStub(channel)
    await stub.Tokenize(tokenizer_pb2.TokenizeRequest(audio=audio), metadata=TRACEPARENT)
    found = ours(spans)
    (server,) = [s for s in found if s.kind is SpanKind.SERVER]
    assert server.name == "voxgate.v1.TokenizerService/Tokenize"
    assert f"{server.parent.span_id:016x}" == PARENT_ID
    assert server.attributes["rpc.grpc.status_code"] == "OK"
    clients = [s for s in found if s.kind is SpanKind.CLIENT]
    assert clients and all(s.parent.span_id == server.context.span_id for s in clients)
    assert {s.attributes["triton.model"] for s in clients} == {"tokenize"}


async def test_a_stream_to_a_decoupled_model_has_its_span(channel, spans) -> None:
    spans.clear()
    stub = synthesis_pb2_grpc.SynthesisServiceStub(channel)
    request = synthesis_pb2.SynthesizeRequest(text="Hello there.")
    [p async for p in stub.Synthesize(request, timeout=60, metadata=TRACEPARENT)]
    found = ours(spans)
    (server,) = [s for s in found if s.kind is SpanKind.SERVER]
    names = {s.name for s in found if s.parent and s.parent.span_id == server.context.span_id}
    assert "triton stream tts_generator" in names and "triton infer detokenize" in names


async def test_a_failed_call_is_an_error_span(channel, spans) -> None:
    spans.clear()
    stub = tokenizer_pb2_grpc.TokenizerServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError):
        await stub.Tokenize(tokenizer_pb2.TokenizeRequest(), metadata=TRACEPARENT)
    (server,) = [s for s in ours(spans) if s.kind is SpanKind.SERVER]
    assert server.status.status_code is StatusCode.ERROR
    assert server.attributes["rpc.grpc.status_code"] == "INVALID_ARGUMENT"
