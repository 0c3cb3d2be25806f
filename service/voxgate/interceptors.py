"""One server interceptor: request id, admission, structured access log, metrics, error -> status.

The exception -> status table below is the only place errors become gRPC codes; a domain error
gets the code of its nearest class in the table (a subclass of InvalidArgument is
INVALID_ARGUMENT). Messages of domain errors are written for clients; anything unexpected
becomes INTERNAL with a generic message and the request id, its details go to the log only.
All four RPC kinds are covered, including requests whose bytes do not parse as protobuf
(INVALID_ARGUMENT), and `x-request-id` goes out in the initial and the trailing metadata.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable

import grpc
import structlog
from google.rpc import error_details_pb2, status_pb2
from opentelemetry import trace
from prometheus_client import Counter, Gauge, Histogram

from voxgate import auth, errors, tracing
from voxgate.call_limits import CallLimits
from voxgate.logs import REQUEST_ID, get_logger

log = get_logger("voxgate.access")

STATUS_OF: dict[type[errors.VoxgateError], grpc.StatusCode] = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.OutOfRange: grpc.StatusCode.OUT_OF_RANGE,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.ModelUnavailable: grpc.StatusCode.UNAVAILABLE,
    errors.DeadlineExceeded: grpc.StatusCode.DEADLINE_EXCEEDED,
    errors.Cancelled: grpc.StatusCode.CANCELLED,
    errors.ModelFailed: grpc.StatusCode.INTERNAL,
    errors.Unimplemented: grpc.StatusCode.UNIMPLEMENTED,
    auth.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    auth.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
}

REQUESTS = Counter("voxgate_requests", "Finished RPCs", ["method", "code"])
LATENCY = Histogram(
    "voxgate_request_seconds",
    "RPC duration",
    ["method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
_STREAM_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.4, 0.6, 1, 1.5, 2.5, 5, 10, 30)
ACTIVE = Gauge("voxgate_active_calls", "RPCs in progress", ["method"])
FIRST_RESPONSE = Histogram(
    "voxgate_first_response_seconds",
    "Streaming RPCs: call start to the first response message",
    ["method"],
    buckets=_STREAM_BUCKETS,
)
RESPONSE_GAP = Histogram(
    "voxgate_response_gap_seconds",
    "Streaming RPCs: time between consecutive response messages",
    ["method"],
    buckets=_STREAM_BUCKETS,
)
REFUSED = Counter(
    "voxgate_refused_calls",
    "Calls refused before any work: RESOURCE_EXHAUSTED (admission), UNIMPLEMENTED, "
    "UNAUTHENTICATED or PERMISSION_DENIED",
    ["method", "code"],
)
_REFUSALS = {
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.UNIMPLEMENTED,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
}
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _peer_identity(context: grpc.aio.ServicerContext) -> str:
    """The verified client certificate's subject (mTLS): its first SAN, else its common name."""
    found = context.auth_context() or {}
    for key in ("x509_subject_alternative_name", "x509_common_name"):
        values = found.get(key)
        if values:
            return values[0].decode(errors="replace")
    return ""


def _request_id(context: grpc.aio.ServicerContext) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == "x-request-id" and isinstance(value, str) and _CLIENT_ID.match(value):
            return value
    return uuid.uuid4().hex


def status_code(err: errors.VoxgateError) -> grpc.StatusCode:
    """The code of the nearest class of `err` in STATUS_OF (INTERNAL if none)."""
    for cls in type(err).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return grpc.StatusCode.INTERNAL


def _status_details(err: errors.VoxgateError, code: grpc.StatusCode) -> bytes:
    """google.rpc.Status with a BadRequest detail when the error names fields, and a RetryInfo
    detail when it says when to retry."""
    status = status_pb2.Status(code=code.value[0], message=err.message)
    if err.violations:
        detail = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field, description=v.description
                )
                for v in err.violations
            ]
        )
        status.details.add().Pack(detail)
    retry_after_s = getattr(err, "retry_after_s", None)
    if retry_after_s is not None:  # ResourceExhausted that a retry may fix: when to retry
        delay = error_details_pb2.RetryInfo()
        delay.retry_delay.FromNanoseconds(round(retry_after_s * 1e9))
        status.details.add().Pack(delay)
    return status.SerializeToString()


class _Undecodable:
    """Stands in for a request message whose bytes did not parse."""


def _lenient(deserializer: Callable | None) -> Callable | None:
    """Wraps a request deserializer so garbage becomes a marker the handler can reject.

    (grpc would otherwise answer UNKNOWN, or INTERNAL for streams, with the exception's class.)
    """
    if deserializer is None:
        return None

    def deserialize(data: bytes):
        try:
            return deserializer(data)
        except Exception:  # DecodeError, or anything a hostile payload provokes
            return _Undecodable()

    return deserialize


def _malformed(method: str) -> errors.MalformedMessage:
    return errors.MalformedMessage(f"request: the message is not a valid protobuf {method} request")


async def _checked(method: str, requests: AsyncIterator) -> AsyncIterator:
    async for request in requests:
        if isinstance(request, _Undecodable):
            raise _malformed(method)
        yield request


class _Call:
    """Book-keeping of one RPC: binds the request id, logs and counts its outcome."""

    def __init__(self, service: str, method: str, context: grpc.aio.ServicerContext) -> None:
        self.method, self.context = method, context
        self._span = tracing.server_span(f"{service}/{method}", context.invocation_metadata())
        self.rid = _request_id(context)
        # Read now: after a client cancels, the call object behind the context may be gone.
        self.peer = context.peer()
        self.identity = _peer_identity(context)
        self.tenant = ""
        self.release: Callable[[], None] | None = None  # the admission slot, once admitted
        self.start = time.perf_counter()
        self._last_sent: float | None = None
        self.code = grpc.StatusCode.OK
        REQUEST_ID.set(self.rid)
        structlog.contextvars.bind_contextvars(request_id=self.rid, method=method)

    async def fail(self, err: BaseException) -> None:
        """Turns an exception into the call's status (context.abort raises AbortError)."""
        trailers: tuple[tuple[str, str | bytes], ...] = (("x-request-id", self.rid),)
        if isinstance(err, errors.VoxgateError):
            self.code = status_code(err)
            details = _status_details(err, self.code)
            # Once the status is made, the traceback goes: its frames hold the failed call's
            # buffers (decoded audio, a held stream), and the AbortError raised next keeps it
            # reachable until the garbage collector happens to run.
            err.__traceback__ = None
            await self.context.abort(
                self.code, err.message, (*trailers, ("grpc-status-details-bin", details))
            )
        self.code = grpc.StatusCode.INTERNAL
        log.error("unexpected_error", exc_info=err)
        err.__traceback__ = None  # logged; see above
        await self.context.abort(
            grpc.StatusCode.INTERNAL, f"internal error (request id {self.rid})", trailers
        )

    def sent(self) -> None:
        """One response message of a streaming RPC went out."""
        now = time.perf_counter()
        if self._last_sent is None:
            FIRST_RESPONSE.labels(self.method).observe(now - self.start)
        else:
            RESPONSE_GAP.labels(self.method).observe(now - self._last_sent)
        self._last_sent = now

    async def __aenter__(self) -> _Call:
        self._span.__enter__().set_attribute("voxgate.request_id", self.rid)
        await self.context.send_initial_metadata((("x-request-id", self.rid),))
        ACTIVE.labels(self.method).inc()  # after: a failed send never reaches __aexit__
        return self

    async def __aexit__(self, kind, err, tb) -> bool:
        del tb  # the failed call's frames must not outlive it (see fail)
        try:
            if isinstance(err, asyncio.CancelledError | GeneratorExit):
                self.code = grpc.StatusCode.CANCELLED  # the client went away
            elif isinstance(err, Exception) and not isinstance(err, grpc.aio.AbortError):
                await self.fail(err)
            elif err is None:
                self.context.set_trailing_metadata((("x-request-id", self.rid),))
            return False
        finally:
            self._finish()

    def _finish(self) -> None:
        if self.release is not None:
            self.release()
        if self.code == grpc.StatusCode.OK:
            code = self.context.code()
            self.code = code if isinstance(code, grpc.StatusCode) else self.code
        seconds = time.perf_counter() - self.start
        ACTIVE.labels(self.method).dec()
        if self.code in _REFUSALS:
            REFUSED.labels(self.method, self.code.name).inc()
        REQUESTS.labels(self.method, self.code.name).inc()
        LATENCY.labels(self.method).observe(seconds)
        log.info(
            "rpc",
            code=self.code.name,
            ms=round(seconds * 1000, 1),
            peer=self.peer,
            **({"identity": self.identity} if self.identity else {}),
            **({"tenant": self.tenant} if self.tenant else {}),
        )
        structlog.contextvars.clear_contextvars()
        tracing.fail(trace.get_current_span(), self.code.name)
        self._span.__exit__(None, None, None)


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    """Wraps every voxgate handler; health and reflection pass through untouched, unless token
    auth covers them (then a call without a valid token is refused before its handler runs).

    In every voxgate call `authenticate(service, metadata)` (when tokens are on) and then
    `admit(service)` run first and may raise a domain error (the registry raises
    Unimplemented for a service whose models the deployment lacks). Streaming calls whose
    client stops taking responses end after `write_timeout_s` (see `_send_all`).
    """

    def __init__(
        self,
        admit: Callable[[str], None] | None = None,
        authenticate: auth.TokenAuth | None = None,
        limits: CallLimits | None = None,
        write_timeout_s: float = 30.0,
    ) -> None:
        self._admit = admit or (lambda service: None)
        self._write_timeout_s = write_timeout_s
        self._auth = authenticate
        self._limits = limits

    def _gate(self, service: str, call: _Call, streaming: bool) -> None:
        """Who (token), whether served here (registry), whether there is room (limits)."""
        if self._auth is not None:
            call.tenant = self._auth.authenticate(service, call.context.invocation_metadata())
        self._admit(service)
        if self._limits is not None:
            call.release = self._limits.enter(streaming, call.tenant, call.peer)

    async def intercept_service(
        self, continuation: Callable, details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(details)
        if handler is None:
            return None
        service, method = details.method[1:].rsplit("/", 1)
        kind = (handler.request_streaming, handler.response_streaming)
        if not details.method.startswith("/voxgate."):
            return self._guard_other(service, kind, handler, details)
        wrap, behavior, factory = _KINDS[kind]
        gate = functools.partial(self._gate, streaming=kind != (False, False))
        if handler.response_streaming:
            wrap = functools.partial(wrap, write_timeout_s=self._write_timeout_s)
        wrapped = wrap(service, method, getattr(handler, behavior), gate)
        return factory(wrapped, _lenient(handler.request_deserializer), handler.response_serializer)

    def _guard_other(self, service, kind, handler, details) -> grpc.RpcMethodHandler:
        """Health or reflection: as they are, or refused when they need a token it lacks."""
        if self._auth is None:
            return handler
        try:
            self._auth.authenticate(service, details.invocation_metadata)
        except errors.VoxgateError as err:
            code = status_code(err)
            REFUSED.labels(details.method.rsplit("/", 1)[1], code.name).inc()
            return _refusing_handler(kind, code, err.message, handler)
        return handler


def _refusing_handler(kind, code: grpc.StatusCode, message: str, handler):
    """A handler of the same kind as `handler` that only answers `code`."""

    async def refuse(_request, context):
        await context.abort(code, message)

    async def refuse_stream(_request, context):
        await context.abort(code, message)
        yield  # pragma: no cover - abort raises

    behavior = refuse_stream if kind[1] else refuse
    _, _, factory = _KINDS[kind]
    return factory(behavior, handler.request_deserializer, handler.response_serializer)


def _wrap_unary_unary(service: str, method: str, behavior: Callable, gate: Callable):
    async def wrapper(request, context):
        async with _Call(service, method, context) as call:
            gate(service, call)
            if isinstance(request, _Undecodable):
                raise _malformed(method)
            return await behavior(request, context)

    return wrapper


def _wrap_stream_unary(service: str, method: str, behavior: Callable, gate: Callable):
    async def wrapper(requests, context):
        async with _Call(service, method, context) as call:
            gate(service, call)
            return await behavior(_checked(method, requests), context)

    return wrapper


async def _send_all(call: _Call, responses: AsyncIterator, write_timeout_s: float) -> None:
    """Writes a streaming call's responses as the handler makes them.

    A client that takes none of them for `write_timeout_s` (it stopped reading: HTTP/2 flow
    control has stalled the write) gets RESOURCE_EXHAUSTED: its handler is closed at once (the
    model work stops, what it held is freed). gRPC still holds the responses it buffered, and
    the status has to queue behind them, so the call (and its admission slot) ends when the
    client reads them or its connection closes: a client that never reads costs a stream slot
    and at most a flow-control window, no work.
    """
    async with contextlib.aclosing(responses):  # the handler's `finally` runs now, not at GC
        async for response in responses:
            try:
                async with asyncio.timeout(write_timeout_s):
                    await call.context.write(response)
            except TimeoutError:
                raise errors.ResourceExhausted(
                    f"responses: none taken by the client for {write_timeout_s:g} s; "
                    "the call is ended"
                ) from None
            call.sent()


def _wrap_unary_stream(
    service: str, method: str, behavior: Callable, gate: Callable, write_timeout_s: float
):
    async def wrapper(request, context):
        async with _Call(service, method, context) as call:
            gate(service, call)
            if isinstance(request, _Undecodable):
                raise _malformed(method)
            await _send_all(call, behavior(request, context), write_timeout_s)

    return wrapper


def _wrap_stream_stream(
    service: str, method: str, behavior: Callable, gate: Callable, write_timeout_s: float
):
    async def wrapper(requests, context):
        async with _Call(service, method, context) as call:
            gate(service, call)
            responses = behavior(_checked(method, requests), context)
            await _send_all(call, responses, write_timeout_s)

    return wrapper


# (request streaming, response streaming) -> (wrapper, handler attribute, handler factory)
_KINDS = {
    (False, False): (_wrap_unary_unary, "unary_unary", grpc.unary_unary_rpc_method_handler),
    (True, False): (_wrap_stream_unary, "stream_unary", grpc.stream_unary_rpc_method_handler),
    (False, True): (_wrap_unary_stream, "unary_stream", grpc.unary_stream_rpc_method_handler),
    (True, True): (_wrap_stream_stream, "stream_stream", grpc.stream_stream_rpc_method_handler),
}
