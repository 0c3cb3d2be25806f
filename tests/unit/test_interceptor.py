"""The interceptor over real gRPC (loopback, no Triton): all four RPC kinds, the status table
along the class hierarchy, garbage protobuf, request ids in trailers, no leaked internals.

The client is grpc's blocking API in a thread: the asyncio client sometimes reports INTERNAL
"Internal error from Core" instead of the server's status when a server ends a client-streaming
call before the client half-closes (grpc/grpc#36066), which is exactly what these tests do.
"""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from voxgate import errors
from voxgate.interceptors import ServiceInterceptor, status_code
from voxgate.v1 import tokenizer_pb2

Req = tokenizer_pb2.TokenizeRequest
SERVICE = "voxgate.test.Probe"
GARBAGE = b"\xff\xff\xff\xff"  # not a valid tag/varint: protobuf refuses to parse it


class TooManyVoices(errors.OutOfRange):
    """A subclass the table does not list: it inherits OUT_OF_RANGE."""


class BadVoice(errors.InvalidArgument):
    pass


def _outcome(request: Req):
    """What a handler does, chosen by the request: answer, or raise a given error."""
    what = request.include_text and request.audio.container
    if what == b"subclass":
        raise BadVoice("voice.name: no such voice shape")
    if what == b"deep":
        raise TooManyVoices("voices: 11 is more than 10")
    if what == b"crash":
        raise RuntimeError("secret /etc/shadow")
    return Req(audio=request.audio)


async def unary_unary(request, context):
    return _outcome(request)


async def unary_stream(request, context):
    yield Req()
    yield _outcome(request)


async def stream_unary(requests, context):
    last = None
    async for r in requests:
        last = _outcome(r)
    return last or Req()


async def stream_stream(requests, context):
    async for r in requests:
        yield _outcome(r)


KINDS = {
    "UU": grpc.unary_unary_rpc_method_handler,
    "US": grpc.unary_stream_rpc_method_handler,
    "SU": grpc.stream_unary_rpc_method_handler,
    "SS": grpc.stream_stream_rpc_method_handler,
}
BEHAVIOURS = {"UU": unary_unary, "US": unary_stream, "SU": stream_unary, "SS": stream_stream}


@pytest.fixture(scope="module")
async def address():
    admitted = []

    def admit(service: str) -> None:
        admitted.append(service)
        if service == "voxgate.test.Absent":
            raise errors.Unimplemented("Absent is not served here: this deployment has no x")

    server = grpc.aio.server(interceptors=[ServiceInterceptor(admit=admit)])
    handlers = {
        kind: factory(BEHAVIOURS[kind], Req.FromString, Req.SerializeToString)
        for kind, factory in KINDS.items()
    }
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler(SERVICE, handlers),
            grpc.method_handlers_generic_handler("voxgate.test.Absent", handlers),
        ]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield f"127.0.0.1:{port}"
    await server.stop(None)


@pytest.fixture
def channel(address):
    with grpc.insecure_channel(address) as ch:
        yield ch


def _call(channel, kind: str, service: str = SERVICE):
    method = f"/{service}/{kind}"
    ident = {"request_serializer": lambda b: b, "response_deserializer": Req.FromString}
    return {
        "UU": channel.unary_unary,
        "US": channel.unary_stream,
        "SU": channel.stream_unary,
        "SS": channel.stream_stream,
    }[kind](method, **ident)


def _run_blocking(channel, kind: str, payload: bytes, service: str):
    stub = _call(channel, kind, service)
    request = iter([Req().SerializeToString(), payload]) if kind[0] == "S" else payload
    if kind[1] == "S":
        call = stub(request, timeout=10)
        return list(call), call
    response, call = stub.with_call(request, timeout=10)
    return [response], call


async def _run(channel, kind: str, payload: bytes, service: str = SERVICE):
    """Calls one method with raw bytes; returns (responses, call)."""
    return await asyncio.to_thread(_run_blocking, channel, kind, payload, service)


def _req(what: bytes) -> bytes:
    return Req(include_text=True, audio={"container": what}).SerializeToString()


@pytest.mark.parametrize("kind", KINDS)
async def test_garbage_protobuf_is_invalid_argument_in_every_rpc_kind(channel, kind):
    with pytest.raises(grpc.RpcError) as info:
        await _run(channel, kind, GARBAGE)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details() == f"request: the message is not a valid protobuf {kind} request"
    assert "DecodeError" not in info.value.details()


@pytest.mark.parametrize("kind", KINDS)
async def test_codes_follow_the_class_hierarchy(channel, kind):
    with pytest.raises(grpc.RpcError) as info:
        await _run(channel, kind, _req(b"subclass"))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    trailers = dict(info.value.trailing_metadata())
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    detail = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(detail)
    assert detail.field_violations[0].field == "voice.name"
    with pytest.raises(grpc.RpcError) as info:
        await _run(channel, kind, _req(b"deep"))
    assert info.value.code() == grpc.StatusCode.OUT_OF_RANGE


@pytest.mark.parametrize("kind", KINDS)
async def test_request_id_in_headers_and_trailers_on_success_and_error(channel, kind):
    responses, call = await _run(channel, kind, _req(b"fine"))
    assert responses[-1].audio.container == b"fine"
    rid = dict(call.initial_metadata())["x-request-id"]
    assert dict(call.trailing_metadata())["x-request-id"] == rid
    with pytest.raises(grpc.RpcError) as info:
        await _run(channel, kind, _req(b"crash"))
    err = info.value
    assert err.code() == grpc.StatusCode.INTERNAL
    rid = dict(err.trailing_metadata())["x-request-id"]
    assert err.details() == f"internal error (request id {rid})"
    assert "secret" not in err.details()


@pytest.mark.parametrize("kind", KINDS)
async def test_admission_runs_first(channel, kind):
    with pytest.raises(grpc.RpcError) as info:
        await _run(channel, kind, _req(b"fine"), service="voxgate.test.Absent")
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "no x" in info.value.details()


def test_status_table_walks_the_mro():
    assert status_code(BadVoice("x")) == grpc.StatusCode.INVALID_ARGUMENT
    assert status_code(errors.MalformedMessage("x")) == grpc.StatusCode.INVALID_ARGUMENT
    assert status_code(TooManyVoices("x")) == grpc.StatusCode.OUT_OF_RANGE
    assert status_code(errors.DeadlineExceeded("x")) == grpc.StatusCode.DEADLINE_EXCEEDED
    assert status_code(errors.VoxgateError("x")) == grpc.StatusCode.INTERNAL
