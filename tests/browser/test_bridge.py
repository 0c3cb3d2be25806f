"""The `voxgate demo` bridge without a browser: its WebSocket and HTTP protocol against the
real server (the same package-scoped server and bridge process as the browser tests)."""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.error
import urllib.request

import grpc
import pytest
from voxgate.v1 import audio_pb2, tokenizer_pb2, tokenizer_pb2_grpc
from websockets.asyncio.client import connect

from tests.browser.conftest import running_demo
from tests.conftest import speechlike, wav_bytes

pytestmark = [pytest.mark.triton]


def ws_url(demo_url: str, path: str) -> str:
    return demo_url.replace("http://", "ws://").rstrip("/") + path


async def messages(ws) -> list:
    """Every frame until the bridge closes the socket (JSON decoded, audio as bytes)."""
    out = []
    async for frame in ws:
        out.append(json.loads(frame) if isinstance(frame, str) else frame)
    return out


def http(url: str, body: bytes | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


async def test_an_uploaded_file_streams_the_tokens_unary_tokenize_gives(demo_url, server) -> None:
    wav = wav_bytes(speechlike(2.5, seed=5), 16000)
    async with connect(ws_url(demo_url, "/ws/tokenize")) as ws:
        await ws.send(json.dumps({"type": "start", "audio": "file"}))
        for at in range(0, len(wav), 7000):  # pieces that cut the header too
            await ws.send(wav[at : at + 7000])
        await ws.send(json.dumps({"type": "end"}))
        got = await messages(ws)
    assert got[-1] == {"type": "end", "groups": 20}
    parts = got[:-1]
    assert len(parts) >= 2 and all(m["type"] == "tokens" for m in parts)
    assert [m["group_offset"] for m in parts] == sorted(m["group_offset"] for m in parts)
    streamed = [t for m in parts for t in m["interleaved"]]
    async with grpc.aio.insecure_channel(server[1]) as channel:
        unary = await tokenizer_pb2_grpc.TokenizerServiceStub(channel).Tokenize(
            tokenizer_pb2.TokenizeRequest(audio=audio_pb2.AudioInput(container=wav)), timeout=60
        )
    assert streamed == list(unary.tokens.interleaved)
    assert [t for m in parts for t in m["linguistic"]] == list(unary.tokens.linguistic)
    assert [t for m in parts for t in m["semantic"]] == list(unary.tokens.semantic)


@pytest.mark.parametrize(
    ("path", "frames", "code", "words"),
    [
        ("/ws/tokenize", [b"\0\0"], "BAD_MESSAGE", "JSON text frame"),
        ("/ws/tokenize", ['{"type": "audio"}'], "BAD_MESSAGE", '"start"'),
        ("/ws/tokenize", ['{"type": "start", "audio": "pcm16"}'], "BAD_MESSAGE", "sample_rate"),
        ("/ws/tokenize", ['{"type": "start", "audio": "file"}', b"JUNKJUNK"], "BAD_MESSAGE", "WAV"),
        # The server's own checks come back as they are. No audio after the bad config: the
        # server ends the call on the config alone, and a bridge write racing that end makes
        # grpc.aio replace the status with INTERNAL "Internal error from Core" (grpc#36066).
        (
            "/ws/tokenize",
            ['{"type": "start", "audio": "pcm16", "sample_rate": 1000}'],
            "INVALID_ARGUMENT",
            "sample_rate",
        ),
        ("/ws/synthesize", ['{"type": "start", "text": "  "}'], "INVALID_ARGUMENT", "empty"),
        (
            "/ws/synthesize",
            ['{"type": "start", "text": "Hi.", "voice": "nobody"}'],
            "NOT_FOUND",
            "nobody",
        ),
        ("/ws/chat", ['{"type": "start", "turn_detection": "psychic"}'], "BAD_MESSAGE", "manual"),
        (
            "/ws/chat",
            ['{"type": "start", "text_only": true}', '{"type": "dance"}'],
            "BAD_MESSAGE",
            "dance",
        ),
        (
            "/ws/chat",
            ['{"type": "start", "text_only": true}', b"\0\0" * 100],
            "INVALID_ARGUMENT",
            "input_format",
        ),
    ],
)
async def test_bad_input_ends_the_socket_with_one_error(demo_url, path, frames, code, words):
    async with connect(ws_url(demo_url, path)) as ws:
        for frame in frames:
            await ws.send(frame)
        got = await asyncio.wait_for(messages(ws), 30)
    assert got[-1]["type"] == "error", got
    assert got[-1]["code"] == code and words in got[-1]["message"], got[-1]


async def test_synthesize_sends_a_report_then_pcm_pieces(demo_url) -> None:
    async with connect(ws_url(demo_url, "/ws/synthesize")) as ws:
        await ws.send(json.dumps({"type": "start", "text": "One clause. And another one."}))
        got = await asyncio.wait_for(messages(ws), 60)
    assert got[0]["type"] == "report" and got[0]["engine"] == "reference"
    assert got[-1] == {"type": "end"}
    pieces = got[1:-1]
    assert len(pieces) >= 4 and len(pieces) % 2 == 0
    for meta, pcm in zip(pieces[::2], pieces[1::2], strict=True):
        assert meta["type"] == "audio" and isinstance(pcm, bytes)
        assert len(pcm) == round(meta["duration"] * meta["sample_rate"]) * 2
        assert meta["tokens"] and len(meta["tokens"]) % 5 == 0


async def test_a_typed_chat_turn_over_the_bridge(demo_url) -> None:
    async with connect(ws_url(demo_url, "/ws/chat")) as ws:
        start = {"type": "start", "text_only": True, "max_reply_tokens": 12, "temperature": 0}
        await ws.send(json.dumps(start))
        await ws.send(json.dumps({"type": "text", "text": "Say hello."}))
        await ws.send(json.dumps({"type": "end"}))  # the reply finishes, then the stream ends
        got = await asyncio.wait_for(messages(ws), 120)
    kinds = [m["type"] for m in got]
    assert kinds[-2:] == ["turn_end", "end"] and "text_delta" in kinds, kinds
    end = got[-2]
    assert end["user_transcript"] == "Say hello." and not end["interrupted"]
    deltas = "".join(m["text"] for m in got if m["type"] == "text_delta")
    assert deltas.strip() == end["text"] and end["reply_tokens"] <= 12


async def test_http_endpoints(demo_url) -> None:
    base = demo_url.rstrip("/")
    status, _, body = await asyncio.to_thread(http, f"{base}/api/info")
    info = json.loads(body)
    assert status == 200 and "voxgate.v1.ChatService" in info["implemented_services"]
    assert info["token_spec"]["group_ms"] == 120
    status, _, body = await asyncio.to_thread(http, f"{base}/api/voices")
    assert status == 200 and json.loads(body)["voices"][0]["id"] == "joe"

    ids = json.dumps({"ids": [1, 2, 1030, 1031, 1032] * 10}).encode()
    status, headers, wav = await asyncio.to_thread(http, f"{base}/api/detokenize", ids)
    assert status == 200 and headers["content-type"] == "audio/wav" and wav[:4] == b"RIFF"
    assert headers["x-group-count"] == "10"
    assert float(headers["x-duration-seconds"]) == pytest.approx(1.2, abs=0.01)

    status, _, body = await asyncio.to_thread(http, f"{base}/api/detokenize", b'{"ids": [1, 2]}')
    assert status == 400 and json.loads(body)["error"]["code"] == "INVALID_ARGUMENT"
    status, _, body = await asyncio.to_thread(http, f"{base}/api/detokenize", b"[")
    assert status == 400 and json.loads(body)["error"]["code"] == "BAD_MESSAGE"
    status, _, body = await asyncio.to_thread(http, f"{base}/api/voices?name=x", b"not audio")
    assert status == 400 and json.loads(body)["error"]["code"] == "INVALID_ARGUMENT"
    status, _, body = await asyncio.to_thread(http, f"{base}/static/app.js")
    assert status == 200 and b"voxgateDemo" in body


async def test_a_server_that_is_down_is_an_error_on_the_page(tmp_path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{probe.getsockname()[1]}"
    demo = running_demo(dead, tmp_path / "demo.log")
    url = await asyncio.to_thread(demo.__enter__)
    try:
        status, _, body = await asyncio.to_thread(http, f"{url.rstrip('/')}/api/info")
        assert status == 503 and json.loads(body)["error"]["code"] == "UNAVAILABLE"
        async with connect(ws_url(url, "/ws/tokenize")) as ws:
            await ws.send(json.dumps({"type": "start", "audio": "pcm16", "sample_rate": 16000}))
            await ws.send(b"\0\0" * 1600)
            got = await asyncio.wait_for(messages(ws), 30)
        assert got[-1]["type"] == "error" and got[-1]["code"] == "UNAVAILABLE", got
    finally:
        await asyncio.to_thread(demo.__exit__, None, None, None)
