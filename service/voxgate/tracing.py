"""OpenTelemetry traces: a server span per RPC (continuing the client's W3C `traceparent`), a
client span per Triton request (passing `traceparent` on to Triton, which can trace with
`--trace-config mode=opentelemetry`). Off unless an OTLP endpoint is configured: the API's
default tracer then records nothing and costs next to nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from voxgate import __version__
from voxgate.logs import get_logger

log = get_logger(__name__)
TRACER_NAME = "voxgate"


def setup(otlp_endpoint: str, service_name: str = "voxgate") -> None:
    """Exports spans in batches over OTLP/gRPC to `otlp_endpoint` (host:port or a URL)."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name, "service.version": __version__})
    )
    insecure = not otlp_endpoint.startswith("https://")
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint, insecure=insecure))
    )
    trace.set_tracer_provider(provider)
    log.info("tracing", otlp_endpoint=otlp_endpoint)


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME, __version__)


def server_span(full_method: str, metadata: Iterable[tuple[str, str | bytes]] | None):
    """The span of one RPC, child of the caller's `traceparent` when it sent one."""
    carrier = {k: v for k, v in metadata or () if isinstance(v, str)}
    service, _, method = full_method.rpartition("/")
    return tracer().start_as_current_span(
        full_method,
        context=propagate.extract(carrier),
        kind=SpanKind.SERVER,
        attributes={"rpc.system": "grpc", "rpc.service": service, "rpc.method": method},
    )


def model_span(model: str, kind: str) -> Span:
    """A started span for one request to a Triton model (kind: infer, stream), child of the
    current RPC's span. Not made current: a stream's span stays open across the caller's
    other awaits (a Chat reply reads the LLM and the speech generator at once), and a current
    span there would parent the wrong calls. End it with `span.end()`."""
    return tracer().start_span(
        f"triton {kind} {model}",
        kind=SpanKind.CLIENT,
        attributes={"rpc.system": "grpc", "triton.model": model, "triton.call": kind},
    )


def headers(span: Span) -> dict[str, str]:
    """W3C trace context of `span`, as request headers / gRPC metadata for Triton."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=trace.set_span_in_context(span))
    return carrier


def fail(span: Span, code_name: str, message: str = "") -> None:
    span.set_attribute("rpc.grpc.status_code", code_name)
    if code_name != "OK":
        span.set_status(Status(StatusCode.ERROR, message or code_name))
