"""One server interceptor: request id, structured access log, metrics, error -> status.

The exception -> status table below is the only place errors become gRPC codes. Messages of
domain errors are written for clients; anything unexpected becomes INTERNAL with a generic
message and the request id, and its details go to the log only.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Callable

import grpc
import structlog
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from prometheus_client import Counter, Histogram

from voxgate import errors
from voxgate.logs import REQUEST_ID, get_logger

log = get_logger("voxgate.access")

STATUS_OF: dict[type[errors.VoxgateError], grpc.StatusCode] = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.OutOfRange: grpc.StatusCode.OUT_OF_RANGE,
    errors.ModelUnavailable: grpc.StatusCode.UNAVAILABLE,
    errors.ModelFailed: grpc.StatusCode.INTERNAL,
    errors.Unimplemented: grpc.StatusCode.UNIMPLEMENTED,
}

REQUESTS = Counter("voxgate_requests", "Finished RPCs", ["method", "code"])
LATENCY = Histogram(
    "voxgate_request_seconds",
    "RPC duration",
    ["method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _request_id(context: grpc.aio.ServicerContext) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == "x-request-id" and isinstance(value, str) and _CLIENT_ID.match(value):
            return value
    return uuid.uuid4().hex


def _status_for(err: errors.VoxgateError) -> grpc.Status:
    code = STATUS_OF.get(type(err), grpc.StatusCode.INTERNAL)
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
    return rpc_status.to_status(status)


class _Call:
    """Book-keeping of one RPC: binds the request id, logs and counts its outcome."""

    def __init__(self, method: str, context: grpc.aio.ServicerContext) -> None:
        self.method, self.context = method, context
        self.rid = _request_id(context)
        # Read now: after a client cancels, the call object behind the context may be gone.
        self.peer = context.peer()
        self.start = time.perf_counter()
        self.code = grpc.StatusCode.OK
        REQUEST_ID.set(self.rid)
        structlog.contextvars.bind_contextvars(request_id=self.rid, method=method)

    async def fail(self, err: BaseException) -> None:
        """Turns an exception into the call's status (context.abort raises AbortError)."""
        if isinstance(err, errors.VoxgateError):
            status = _status_for(err)
            self.code = status.code
            await self.context.abort_with_status(status)
        self.code = grpc.StatusCode.INTERNAL
        log.error("unexpected_error", exc_info=err)
        await self.context.abort(
            grpc.StatusCode.INTERNAL, f"internal error (request id {self.rid})"
        )

    async def __aenter__(self) -> _Call:
        await self.context.send_initial_metadata((("x-request-id", self.rid),))
        return self

    async def __aexit__(self, kind, err, tb) -> bool:
        try:
            if isinstance(err, asyncio.CancelledError | GeneratorExit):
                self.code = grpc.StatusCode.CANCELLED  # the client went away
            elif isinstance(err, Exception) and not isinstance(err, grpc.aio.AbortError):
                await self.fail(err)
            return False
        finally:
            self._finish()

    def _finish(self) -> None:
        if self.code == grpc.StatusCode.OK:
            code = self.context.code()
            self.code = code if isinstance(code, grpc.StatusCode) else self.code
        seconds = time.perf_counter() - self.start
        REQUESTS.labels(self.method, self.code.name).inc()
        LATENCY.labels(self.method).observe(seconds)
        log.info("rpc", code=self.code.name, ms=round(seconds * 1000, 1), peer=self.peer)
        structlog.contextvars.clear_contextvars()


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    """Wraps every voxgate handler (health and reflection pass through untouched)."""

    async def intercept_service(
        self, continuation: Callable, details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(details)
        if handler is None or not details.method.startswith("/voxgate."):
            return handler
        method = details.method.rsplit("/", 1)[-1]
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                _wrap_unary(method, handler.unary_unary),
                handler.request_deserializer,
                handler.response_serializer,
            )
        wrapped = _wrap_stream(method, handler.unary_stream or handler.stream_stream)
        factory = (
            grpc.unary_stream_rpc_method_handler
            if handler.unary_stream
            else grpc.stream_stream_rpc_method_handler
        )
        return factory(wrapped, handler.request_deserializer, handler.response_serializer)


def _wrap_unary(method: str, behavior: Callable) -> Callable:
    async def wrapper(request, context):
        async with _Call(method, context):
            return await behavior(request, context)

    return wrapper


def _wrap_stream(method: str, behavior: Callable) -> Callable:
    async def wrapper(request_or_iterator, context):
        async with _Call(method, context):
            async for response in behavior(request_or_iterator, context):
                yield response

    return wrapper
