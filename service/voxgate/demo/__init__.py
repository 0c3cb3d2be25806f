"""`voxgate demo`: a browser demo of a running voxgate server.

A small ASGI app (Starlette, served by uvicorn) that is only a bridge: the page in the browser
talks HTTP and WebSockets to it, and it talks gRPC (grpc.aio) to the voxgate server at
`--address` (default `$VOXGATE_ADDR`, else 127.0.0.1:50051). Each WebSocket is exactly one gRPC
call; closing the socket cancels the call, and the call's end closes the socket. Every asset
(HTML, JS, CSS, the AudioWorklet) is served from `voxgate/demo/static/`: no CDN, no build step.

Browser ↔ bridge protocol (docs/demo.md has the walkthrough)
------------------------------------------------------------
Text frames are JSON objects with a `type`; binary frames are audio. Audio from the browser
is mono PCM16 little-endian at the rate the `start` message declares (the browser's native
rate: the server resamples), or the bytes of a file. Audio to the browser is mono PCM16 LE:
each binary frame follows the JSON `audio` message that describes it (same socket, in order).

Every socket: the browser's first text frame is `{"type": "start", ...}`. The bridge ends a
call with `{"type": "end"}` (the gRPC call finished OK) or `{"type": "error", "code":
"INVALID_ARGUMENT", "message": "..."}` (a gRPC status name, or `BAD_MESSAGE` for a frame the
bridge cannot read), then closes the socket.

`/ws/tokenize` → TokenizerService.StreamTokenize
    browser: `{"type": "start", "audio": "pcm16", "sample_rate": 48000}` or
             `{"type": "start", "audio": "file"}` (WAV/FLAC/OGG/MP3 bytes; the container is
             read from the first bytes), then binary pieces of any size, then `{"type": "end"}`.
    bridge:  `{"type": "tokens", "group_offset": g, "group_count": n, "linguistic": [...],
             "semantic": [...], "interleaved": [...]}` per completed 120 ms group(s), then
             `{"type": "end", "groups": total}`.

`/ws/synthesize` → SynthesisService.Synthesize (RAW S16LE at the model's rate)
    browser: `{"type": "start", "text": "...", "voice": "", "style": ""}`.
    bridge:  `{"type": "report", ...SynthesisReport}` first, then per piece
             `{"type": "audio", "sample_rate": r, "start_seconds": s, "duration": d,
             "tokens": [...], "words": [{"word", "start_ms", "end_ms"}]}` + one binary frame,
             then `{"type": "end"}`.

`/ws/chat` → ChatService.Chat (as voxgate.client.ChatSession uses it)
    browser: `{"type": "start", "audio": "pcm16", "sample_rate": 48000, "turn_detection":
             "server_vad" | "manual", "voice": "", "system_prompt": "", "text_only": false,
             "silence_ms": 0, "max_reply_tokens": 0}`, then at any time: binary PCM pieces,
             `{"type": "text", "text": "...", "end_of_turn": true}`, `{"type": "end_of_turn"}`
             (push-to-talk released), `{"type": "interrupt"}`, `{"type": "playback",
             "turn_index": i, "played_ms": ms}` (what the user has heard, for barge-in), and
             `{"type": "end"}` (no more input: the reply in progress finishes, then `end`).
    bridge:  `{"type": "speech_started" | "speech_stopped", "turn_index", "audio_offset_ms"}`,
             `{"type": "transcript", "turn_index", "text", "is_final"}`,
             `{"type": "text_delta", "turn_index", "text"}`,
             `{"type": "audio", "turn_index", "sample_rate", "start_seconds", "duration",
             "tokens", "words"}` + one binary frame,
             `{"type": "turn_end", "turn_index", "text", "user_transcript", "interrupted",
             "heard_text", "latency": {...}, "reply_tokens", "audio_seconds"}`.

Plain HTTP (JSON errors: `{"error": {"code", "message"}}` with a matching HTTP status)
    `GET /api/info`          GetServerInfo, plus `address` (the voxgate address).
    `GET /api/voices`        ListVoices: `{"voices": [...]}`.
    `POST /api/voices?name=&transcript=&consent=`  body: a recording (WAV/FLAC/OGG/MP3 bytes)
                             → CreateVoice → `{"voice": {...}}`.
    `POST /api/detokenize`   body `{"ids": [...interleaved ids]}` → Detokenize → `audio/wav`
                             (headers `X-Group-Count`, `X-Duration-Seconds`).
"""

from __future__ import annotations

import argparse
import os
import socket
import sys

DEFAULT_ADDRESS = "127.0.0.1:50051"
DEFAULT_PORT = 8080


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Registers `voxgate demo` on the main CLI's subparsers."""
    demo = subparsers.add_parser(
        "demo",
        help="serve the browser demo (tokenize, synthesize, chat) for a running voxgate",
        description="Serves a web page that records from the microphone and shows the two "
        "token streams live, speaks text with streamed playback, and holds a spoken "
        "conversation, all through the voxgate server at --address. Open the printed URL "
        "(microphone access needs http://127.0.0.1 or localhost, or HTTPS).",
    )
    demo.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    demo.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"HTTP port (0: any free port; default {DEFAULT_PORT})",
    )
    demo.add_argument(
        "--address",
        default=None,
        help=f"the voxgate server, host:port (default $VOXGATE_ADDR or {DEFAULT_ADDRESS})",
    )
    demo.add_argument(
        "--log-level",
        default="warning",
        choices=["debug", "info", "warning", "error"],
        help="uvicorn's log level",
    )
    demo.set_defaults(run=run)
    return demo


def resolve_address(address: str | None) -> str:
    return address or os.environ.get("VOXGATE_ADDR") or DEFAULT_ADDRESS


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: the kernel picks one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def run(args: argparse.Namespace) -> int:
    """Serves the demo until interrupted (Ctrl-C / SIGTERM)."""
    import uvicorn

    from voxgate.demo.app import create_app

    address = resolve_address(args.address)
    try:
        sock = listen(args.host, args.port)
    except OSError as err:
        print(f"voxgate demo: cannot listen on {args.host}:{args.port}: {err}", file=sys.stderr)
        return 2
    port = sock.getsockname()[1]
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"voxgate demo: http://{shown}:{port}/ (voxgate at {address})", flush=True)
    config = uvicorn.Config(
        create_app(address),
        loop="asyncio",  # grpc.aio runs on the standard asyncio loop
        ws="websockets-sansio",
        lifespan="on",
        log_level=args.log_level,
        ws_max_size=4 * 1024 * 1024,
    )
    uvicorn.Server(config).run(sockets=[sock])
    return 0
