"""The demo's ASGI app: static page + HTTP and WebSocket bridges to voxgate's gRPC API.

The message protocol is in this package's docstring (`voxgate.demo`). Each WebSocket handler
runs two tasks: `upstream` reads the browser's frames and writes requests to the gRPC call,
`downstream` reads the call's responses and sends frames to the browser. The browser going
away (or sending something unreadable) cancels the call; the call ending closes the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.json_format import MessageToDict
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from voxgate.client import service_config
from voxgate.v1 import (
    audio_pb2,
    chat_pb2,
    chat_pb2_grpc,
    discovery_pb2,
    discovery_pb2_grpc,
    synthesis_pb2,
    synthesis_pb2_grpc,
    tokenizer_pb2,
    tokenizer_pb2_grpc,
)

STATIC = Path(__file__).parent / "static"
UNARY_TIMEOUT_S = 60.0
SYNTHESIS_TIMEOUT_S = 300.0
# gRPC status -> HTTP status for the plain HTTP endpoints.
HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}
PCM16 = audio_pb2.PCM_ENCODING_S16LE
RAW_PCM16_OUT = audio_pb2.OutputAudioFormat(container=audio_pb2.AUDIO_CONTAINER_RAW, encoding=PCM16)


# What writing to a call that has already ended raises.
CALL_ENDED = (grpc.RpcError, grpc.aio.UsageError, asyncio.InvalidStateError)


class BadMessage(Exception):
    """A browser frame the bridge cannot use (sent back as `BAD_MESSAGE`)."""


class Stubs:
    """One grpc.aio channel to voxgate (made inside the server's event loop) and its stubs."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.channel = grpc.aio.insecure_channel(
            address,
            options=[
                ("grpc.max_receive_message_length", 64 * 1024 * 1024),
                ("grpc.max_send_message_length", 64 * 1024 * 1024),
                # No wait-for-ready: a server that is down is an error on the page at once.
                ("grpc.service_config", service_config(wait_for_ready=False)),
                ("grpc.enable_retries", 1),
            ],
        )
        self.tokenizer = tokenizer_pb2_grpc.TokenizerServiceStub(self.channel)
        self.synthesis = synthesis_pb2_grpc.SynthesisServiceStub(self.channel)
        self.chat = chat_pb2_grpc.ChatServiceStub(self.channel)
        self.discovery = discovery_pb2_grpc.DiscoveryServiceStub(self.channel)

    async def close(self) -> None:
        await self.channel.close()


def as_dict(message) -> dict[str, Any]:
    return MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message}


def rpc_error(err: grpc.aio.AioRpcError) -> dict[str, Any]:
    return error_body(err.code().name, err.details() or "")


def sniff_container(head: bytes) -> int:
    """The container of an uploaded file, from its first bytes."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return audio_pb2.AUDIO_CONTAINER_WAV
    if head[:4] == b"fLaC":
        return audio_pb2.AUDIO_CONTAINER_FLAC
    if head[:4] == b"OggS":
        return audio_pb2.AUDIO_CONTAINER_OGG
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return audio_pb2.AUDIO_CONTAINER_MP3
    raise BadMessage("file: not a WAV, FLAC, OGG or MP3 file")


def raw_pcm16(sample_rate: Any) -> audio_pb2.StreamAudioFormat:
    if not isinstance(sample_rate, int) or isinstance(sample_rate, bool):
        raise BadMessage("start.sample_rate: an integer (Hz) is required with pcm16 audio")
    return audio_pb2.StreamAudioFormat(
        container=audio_pb2.AUDIO_CONTAINER_RAW,
        raw=audio_pb2.RawAudioFormat(encoding=PCM16, sample_rate_hz=sample_rate, channels=1),
    )


async def receive(ws: WebSocket) -> str | bytes:
    """The next frame (text or bytes); WebSocketDisconnect when the browser has gone."""
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    if message.get("text") is not None:
        return message["text"]
    return message.get("bytes") or b""


def parse(frame: str | bytes) -> dict[str, Any]:
    if isinstance(frame, bytes):
        raise BadMessage("expected a JSON text frame")
    try:
        value = json.loads(frame)
    except ValueError as err:
        raise BadMessage(f"not JSON: {err}") from None
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        raise BadMessage('expected a JSON object with a "type"')
    return value


async def receive_start(ws: WebSocket) -> dict[str, Any]:
    start = parse(await receive(ws))
    if start["type"] != "start":
        raise BadMessage('the first message must be {"type": "start", ...}')
    return start


async def until_disconnect(ws: WebSocket) -> None:
    """Reads (and ignores) frames until the browser goes away."""
    while True:
        await receive(ws)


async def bridge(
    ws: WebSocket,
    call,
    upstream: Callable[[], Awaitable[None]],
    downstream: Callable[[], Awaitable[None]],
) -> None:
    """Runs one WebSocket ↔ gRPC call pair until the call ends or the browser goes away.

    `upstream` returning means the browser finished sending; it raising (WebSocketDisconnect,
    BadMessage) ends everything. In every case the call is cancelled on the way out (a no-op
    for a call that has finished).
    """
    up = asyncio.create_task(upstream(), name="demo-upstream")
    down = asyncio.create_task(downstream(), name="demo-downstream")
    pending = {up, down}
    try:
        while down in pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            if up in done and (error := up.exception()) is not None:
                if isinstance(error, CALL_ENDED):
                    continue  # a write after the call ended: downstream reports its status
                if isinstance(error, BadMessage):
                    await finish(ws, error_body("BAD_MESSAGE", str(error)))
                elif not isinstance(error, WebSocketDisconnect):
                    raise error
                break
    finally:
        call.cancel()
        for task in (up, down):
            task.cancel()
        await asyncio.gather(up, down, return_exceptions=True)
    if down.done() and not down.cancelled() and down.exception() is not None:
        error = down.exception()
        if not isinstance(error, WebSocketDisconnect | RuntimeError | OSError):
            raise error


async def finish(ws: WebSocket, ending: dict[str, Any]) -> None:
    """Sends the call's last word and closes the socket (the browser may have gone)."""
    with contextlib.suppress(Exception):
        await ws.send_json(ending)
        await ws.close(1000)


async def open_socket(ws: WebSocket) -> dict[str, Any] | None:
    """Accepts the socket and reads `start`; None (after telling the browser) if it is bad."""
    await ws.accept()
    try:
        return await receive_start(ws)
    except BadMessage as err:
        await finish(ws, error_body("BAD_MESSAGE", str(err)))
    except WebSocketDisconnect:
        pass
    return None


# --- /ws/tokenize: StreamTokenize ------------------------------------------------------------


async def tokenize_socket(ws: WebSocket) -> None:
    stubs: Stubs = ws.app.state.stubs
    start = await open_socket(ws)
    if start is None:
        return
    first_piece = b""
    try:
        if start.get("audio") == "file":  # the container is known from the first bytes
            frame = await receive(ws)
            if not isinstance(frame, bytes) or not frame:
                raise BadMessage("file: send the file's bytes as binary frames after start")
            fmt = audio_pb2.StreamAudioFormat(container=sniff_container(frame))
            first_piece = frame
        elif start.get("audio", "pcm16") == "pcm16":
            fmt = raw_pcm16(start.get("sample_rate"))
        else:
            raise BadMessage('start.audio: "pcm16" or "file"')
    except BadMessage as err:
        await finish(ws, error_body("BAD_MESSAGE", str(err)))
        return
    except WebSocketDisconnect:
        return

    call = stubs.tokenizer.StreamTokenize()

    async def upstream() -> None:
        config = tokenizer_pb2.StreamTokenizeConfig(format=fmt)
        await call.write(tokenizer_pb2.StreamTokenizeRequest(config=config))
        if first_piece:
            await call.write(tokenizer_pb2.StreamTokenizeRequest(audio=first_piece))
        while True:
            frame = await receive(ws)
            if isinstance(frame, bytes):
                if frame:
                    await call.write(tokenizer_pb2.StreamTokenizeRequest(audio=frame))
            elif parse(frame)["type"] == "end":
                await call.done_writing()
                break
            else:
                raise BadMessage('expected audio or {"type": "end"}')
        await until_disconnect(ws)  # so that leaving before the final answer cancels

    async def downstream() -> None:
        groups = 0
        try:
            async for response in call:
                t = response.tokens
                if t.group_count:
                    groups = response.group_offset + t.group_count
                    await ws.send_json(
                        {
                            "type": "tokens",
                            "group_offset": response.group_offset,
                            "group_count": t.group_count,
                            "linguistic": list(t.linguistic),
                            "semantic": list(t.semantic),
                            "interleaved": list(t.interleaved),
                        }
                    )
                if response.final:
                    break
        except grpc.aio.AioRpcError as err:
            await finish(ws, rpc_error(err))
            return
        await finish(ws, {"type": "end", "groups": groups})

    await bridge(ws, call, upstream, downstream)


# --- /ws/synthesize: Synthesize ----------------------------------------------------------------


def synthesize_request(start: dict[str, Any]) -> synthesis_pb2.SynthesizeRequest:
    fields = {k: start.get(k, "") for k in ("text", "voice", "style")}
    if not all(isinstance(v, str) for v in fields.values()):
        raise BadMessage("start: text, voice and style are strings")
    return synthesis_pb2.SynthesizeRequest(
        text=fields["text"],
        voice=fields["voice"],
        style_instruction=fields["style"],
        output_format=RAW_PCM16_OUT,
    )


async def send_audio(ws: WebSocket, response, **extra: Any) -> None:
    """An `audio` message and its PCM16 frame (nothing for an empty piece)."""
    audio = response.audio
    if not audio.data:
        return
    await ws.send_json(
        {
            "type": "audio",
            **extra,
            "sample_rate": audio.format.sample_rate_hz,
            "start_seconds": response.start_seconds,
            "duration": audio.duration_seconds,
            "tokens": list(response.audio_tokens),
            "words": [as_dict(w) for w in response.words],
        }
    )
    await ws.send_bytes(audio.data)


async def synthesize_socket(ws: WebSocket) -> None:
    stubs: Stubs = ws.app.state.stubs
    start = await open_socket(ws)
    if start is None:
        return
    try:
        request = synthesize_request(start)
    except BadMessage as err:
        await finish(ws, error_body("BAD_MESSAGE", str(err)))
        return
    call = stubs.synthesis.Synthesize(request, timeout=SYNTHESIS_TIMEOUT_S)

    async def downstream() -> None:
        try:
            async for response in call:
                if response.HasField("report"):
                    await ws.send_json({"type": "report", **as_dict(response.report)})
                await send_audio(ws, response)
        except grpc.aio.AioRpcError as err:
            await finish(ws, rpc_error(err))
            return
        await finish(ws, {"type": "end"})

    await bridge(ws, call, lambda: until_disconnect(ws), downstream)


# --- /ws/chat: Chat ----------------------------------------------------------------------------

TURN_MODES = {
    "server_vad": chat_pb2.TURN_DETECTION_MODE_SERVER_VAD,
    "manual": chat_pb2.TURN_DETECTION_MODE_MANUAL,
}


def chat_config(start: dict[str, Any]) -> chat_pb2.ChatConfig:
    mode = TURN_MODES.get(start.get("turn_detection", "server_vad"))
    if mode is None:
        raise BadMessage('start.turn_detection: "server_vad" or "manual"')
    try:
        config = chat_pb2.ChatConfig(
            system_prompt=start.get("system_prompt") or "",
            voice=start.get("voice") or "",
            output_format=RAW_PCM16_OUT,
            text_only=bool(start.get("text_only", False)),
            turn_detection=chat_pb2.TurnDetection(
                mode=mode, silence_ms=int(start.get("silence_ms") or 0)
            ),
            max_reply_tokens=int(start.get("max_reply_tokens") or 0),
        )
        if start.get("temperature") is not None:
            config.temperature = float(start["temperature"])
        if start.get("seed") is not None:
            config.seed = int(start["seed"])
    except (TypeError, ValueError) as err:
        raise BadMessage(f"start: {err}") from None
    if start.get("audio", "pcm16") == "pcm16" and start.get("sample_rate") is not None:
        config.input_format.CopyFrom(raw_pcm16(start["sample_rate"]))
    return config


def chat_request(message: dict[str, Any]) -> chat_pb2.ChatRequest:
    kind = message["type"]
    if kind == "text":
        text = message.get("text")
        if not isinstance(text, str):
            raise BadMessage("text.text: a string is required")
        end = bool(message.get("end_of_turn", True))
        return chat_pb2.ChatRequest(input=chat_pb2.UserInput(text=text, end_of_turn=end))
    if kind == "end_of_turn":
        return chat_pb2.ChatRequest(input=chat_pb2.UserInput(end_of_turn=True))
    if kind == "interrupt":
        return chat_pb2.ChatRequest(interrupt=chat_pb2.Interrupt())
    if kind == "playback":
        try:
            ack = chat_pb2.Playback(
                turn_index=int(message["turn_index"]), played_ms=int(message["played_ms"])
            )
        except (KeyError, TypeError, ValueError):
            raise BadMessage("playback: turn_index and played_ms are integers") from None
        return chat_pb2.ChatRequest(playback=ack)
    raise BadMessage(f"unknown message type {kind!r}")


def chat_event(response: chat_pb2.ChatResponse) -> dict[str, Any] | None:
    """A ChatResponse other than audio -> its JSON message."""
    kind = response.WhichOneof("message")
    turn = {"turn_index": response.turn_index}
    if kind in ("speech_started", "speech_stopped"):
        offset = getattr(response, kind).audio_offset_ms
        return {"type": kind, **turn, "audio_offset_ms": offset}
    if kind == "transcript":
        t = response.transcript
        return {"type": "transcript", **turn, "text": t.text, "is_final": t.is_final}
    if kind == "text_delta":
        return {"type": "text_delta", **turn, "text": response.text_delta}
    if kind == "turn_end":
        return {"type": "turn_end", **turn, **as_dict(response.turn_end)}
    return None


async def chat_socket(ws: WebSocket) -> None:
    stubs: Stubs = ws.app.state.stubs
    start = await open_socket(ws)
    if start is None:
        return
    try:
        config = chat_config(start)
    except BadMessage as err:
        await finish(ws, error_body("BAD_MESSAGE", str(err)))
        return
    call = stubs.chat.Chat()

    async def upstream() -> None:
        await call.write(chat_pb2.ChatRequest(config=config))
        while True:
            frame = await receive(ws)
            if isinstance(frame, bytes):
                if frame:
                    await call.write(chat_pb2.ChatRequest(input=chat_pb2.UserInput(audio=frame)))
                continue
            message = parse(frame)
            if message["type"] == "end":
                await call.done_writing()
                break
            await call.write(chat_request(message))
        await until_disconnect(ws)

    async def downstream() -> None:
        try:
            async for response in call:
                if response.WhichOneof("message") == "audio":
                    await send_audio(ws, response, turn_index=response.turn_index)
                elif (event := chat_event(response)) is not None:
                    await ws.send_json(event)
        except grpc.aio.AioRpcError as err:
            await finish(ws, rpc_error(err))
            return
        await finish(ws, {"type": "end"})

    await bridge(ws, call, upstream, downstream)


# --- plain HTTP ------------------------------------------------------------------------------


def http_error(err: grpc.aio.AioRpcError) -> JSONResponse:
    body = {"error": {"code": err.code().name, "message": err.details() or ""}}
    return JSONResponse(body, status_code=HTTP_STATUS.get(err.code(), 502))


def bad_request(message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": "BAD_MESSAGE", "message": message}}, status_code=400)


async def info(request: Request) -> Response:
    stubs: Stubs = request.app.state.stubs
    try:
        reply = await stubs.discovery.GetServerInfo(
            discovery_pb2.GetServerInfoRequest(), timeout=UNARY_TIMEOUT_S
        )
    except grpc.aio.AioRpcError as err:
        return http_error(err)
    return JSONResponse({"address": stubs.address, **as_dict(reply)})


async def list_voices(request: Request) -> Response:
    stubs: Stubs = request.app.state.stubs
    try:
        reply = await stubs.synthesis.ListVoices(
            synthesis_pb2.ListVoicesRequest(), timeout=UNARY_TIMEOUT_S
        )
    except grpc.aio.AioRpcError as err:
        return http_error(err)
    return JSONResponse({"voices": [as_dict(v) for v in reply.voices]})


async def create_voice(request: Request) -> Response:
    stubs: Stubs = request.app.state.stubs
    data = await request.body()
    if not data:
        return bad_request("the body must be the prompt recording")
    q = request.query_params
    voice_request = synthesis_pb2.CreateVoiceRequest(
        prompt=synthesis_pb2.VoicePrompt(
            audio=audio_pb2.AudioInput(container=data), transcript=q.get("transcript", "")
        ),
        name=q.get("name", ""),
        consent_note=q.get("consent", ""),
    )
    try:
        reply = await stubs.synthesis.CreateVoice(voice_request, timeout=UNARY_TIMEOUT_S)
    except grpc.aio.AioRpcError as err:
        return http_error(err)
    return JSONResponse({"voice": as_dict(reply.voice)})


async def detokenize(request: Request) -> Response:
    stubs: Stubs = request.app.state.stubs
    try:
        body = json.loads(await request.body())
        ids = [int(i) for i in body["ids"]]
    except (ValueError, TypeError, KeyError):
        return bad_request('the body must be {"ids": [interleaved ids]}')
    try:
        reply = await stubs.tokenizer.Detokenize(
            tokenizer_pb2.DetokenizeRequest(interleaved=tokenizer_pb2.InterleavedTokens(ids=ids)),
            timeout=UNARY_TIMEOUT_S,
        )
    except grpc.aio.AioRpcError as err:
        return http_error(err)
    return Response(
        reply.audio.data,
        media_type="audio/wav",
        headers={
            "X-Group-Count": str(reply.group_count),
            "X-Duration-Seconds": f"{reply.audio.duration_seconds:.3f}",
        },
    )


async def index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


def create_app(address: str) -> Starlette:
    """The demo app for the voxgate server at `address`."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.stubs = Stubs(address)
        try:
            yield
        finally:
            await app.state.stubs.close()

    routes = [
        Route("/", index),
        Route("/api/info", info),
        Route("/api/voices", list_voices, methods=["GET"]),
        Route("/api/voices", create_voice, methods=["POST"]),
        Route("/api/detokenize", detokenize, methods=["POST"]),
        WebSocketRoute("/ws/tokenize", tokenize_socket),
        WebSocketRoute("/ws/synthesize", synthesize_socket),
        WebSocketRoute("/ws/chat", chat_socket),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
