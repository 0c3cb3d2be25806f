"""A small Python client for voxgate.v1 (blocking), used by the CLI, tests and benchmarks."""

from __future__ import annotations

import json
import os
import queue
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc

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

DEFAULT_ADDRESS = "127.0.0.1:50051"
# The published gRPC service config: retries (UNAVAILABLE, with backoff) for the idempotent
# unary RPCs, wait-for-ready for all (a call waits for a connection instead of failing while a
# server restarts or a mesh moves it). Clients in other languages can load the same file.
SERVICE_CONFIG = (Path(__file__).parent / "service_config.json").read_text()


def service_config(wait_for_ready: bool = True) -> str:
    """The service config as JSON; without wait-for-ready a call to a server that is down
    fails at once (UNAVAILABLE), as a command-line user expects."""
    config = json.loads(SERVICE_CONFIG)
    for method in config["methodConfig"]:
        method["waitForReady"] = wait_for_ready
    return json.dumps(config)


class VoxgateClientError(Exception):
    """A failed call: `code` is the gRPC status code, `message` the server's explanation."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class StreamResult:
    """Concatenated tokens of a StreamTokenize call and the number of messages received."""

    interleaved: list[int]
    linguistic: list[int]
    semantic: list[int]
    messages: int


@dataclass(frozen=True)
class TlsOptions:
    """TLS to the server: `ca` to trust (default: the system's roots), and a client
    certificate + key for servers that require one (mutual TLS)."""

    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    server_name: str | None = None  # check the certificate for this name, not the address's

    def credentials(self) -> grpc.ChannelCredentials:
        if (self.cert is None) != (self.key is None):
            raise ValueError("a client certificate needs its key (and the key its certificate)")
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca.read_bytes() if self.ca else None,
            private_key=self.key.read_bytes() if self.key else None,
            certificate_chain=self.cert.read_bytes() if self.cert else None,
        )


class _BearerToken(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds `authorization: Bearer <token>` to every call (on TLS or, behind a mesh sidecar,
    on plaintext: gRPC's own call credentials refuse plaintext channels)."""

    def __init__(self, token: str) -> None:
        self._entry = ("authorization", f"Bearer {token}")

    def _with_token(self, details):
        metadata = [*(details.metadata or ()), self._entry]
        return details._replace(metadata=metadata)

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._with_token(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._with_token(details), request)

    def intercept_stream_unary(self, continuation, details, requests):
        return continuation(self._with_token(details), requests)

    def intercept_stream_stream(self, continuation, details, requests):
        return continuation(self._with_token(details), requests)


class VoxgateClient:
    """Blocking client; every call has a deadline (`timeout_s`).

    `tls` makes the channel TLS (mutual with a client certificate); `token` is sent as a
    bearer token with every call (default: $VOXGATE_TOKEN).
    """

    def __init__(
        self,
        address: str | None = None,
        timeout_s: float = 60.0,
        wait_for_ready: bool = True,
        tls: TlsOptions | None = None,
        token: str | None = None,
    ) -> None:
        self.address = address or os.environ.get("VOXGATE_ADDR", DEFAULT_ADDRESS)
        self.timeout_s = timeout_s
        options = [
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
            ("grpc.service_config", service_config(wait_for_ready)),
            ("grpc.enable_retries", 1),
        ]
        if tls is not None:
            if tls.server_name:
                options.append(("grpc.ssl_target_name_override", tls.server_name))
            channel = grpc.secure_channel(self.address, tls.credentials(), options=options)
        else:
            channel = grpc.insecure_channel(self.address, options=options)
        token = token if token is not None else os.environ.get("VOXGATE_TOKEN") or None
        self._channel = grpc.intercept_channel(channel, _BearerToken(token)) if token else channel
        self._tok = tokenizer_pb2_grpc.TokenizerServiceStub(self._channel)
        self._info = discovery_pb2_grpc.DiscoveryServiceStub(self._channel)
        self._syn = synthesis_pb2_grpc.SynthesisServiceStub(self._channel)
        self._chat = chat_pb2_grpc.ChatServiceStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> VoxgateClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, fn, request, **kw):
        try:
            return fn(request, timeout=kw.pop("timeout", self.timeout_s), **kw)
        except grpc.RpcError as err:
            raise VoxgateClientError(err.code(), err.details() or "") from None

    def tokenize(self, audio: bytes, include_text: bool = False) -> tokenizer_pb2.TokenizeResponse:
        """Tokenizes a whole audio file (WAV/FLAC/OGG/MP3 bytes)."""
        request = tokenizer_pb2.TokenizeRequest(
            audio=audio_pb2.AudioInput(container=audio), include_text=include_text
        )
        return self._call(self._tok.Tokenize, request)

    def tokenize_file(self, path: str | Path, include_text: bool = False):
        return self.tokenize(Path(path).read_bytes(), include_text)

    def stream_tokenize(
        self,
        pieces: Iterable[bytes],
        container: int = audio_pb2.AUDIO_CONTAINER_WAV,
        raw: audio_pb2.RawAudioFormat | None = None,
    ) -> StreamResult:
        """Streams audio pieces through StreamTokenize and joins the per-group answers."""

        def requests() -> Iterator[tokenizer_pb2.StreamTokenizeRequest]:
            fmt = audio_pb2.StreamAudioFormat(container=container, raw=raw)
            yield tokenizer_pb2.StreamTokenizeRequest(
                config=tokenizer_pb2.StreamTokenizeConfig(format=fmt)
            )
            for piece in pieces:
                yield tokenizer_pb2.StreamTokenizeRequest(audio=piece)

        inter, ling, sem, n = [], [], [], 0
        try:
            for response in self._tok.StreamTokenize(requests(), timeout=self.timeout_s):
                inter += response.tokens.interleaved
                ling += response.tokens.linguistic
                sem += response.tokens.semantic
                n += 1
        except grpc.RpcError as err:
            raise VoxgateClientError(err.code(), err.details() or "") from None
        return StreamResult(inter, ling, sem, n)

    def detokenize(
        self, interleaved: Iterable[int], output_format: audio_pb2.OutputAudioFormat | None = None
    ) -> tokenizer_pb2.DetokenizeResponse:
        """Decodes interleaved ids to audio (WAV S16LE at the model rate by default)."""
        request = tokenizer_pb2.DetokenizeRequest(
            interleaved=tokenizer_pb2.InterleavedTokens(ids=list(interleaved)),
            output_format=output_format,
        )
        return self._call(self._tok.Detokenize, request)

    def server_info(self) -> discovery_pb2.GetServerInfoResponse:
        return self._call(self._info.GetServerInfo, discovery_pb2.GetServerInfoRequest())

    def health(self, service: str = "") -> str:
        """grpc.health.v1 status of the server ("") or one service: SERVING, NOT_SERVING..."""
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        stub = health_pb2_grpc.HealthStub(self._channel)
        reply = self._call(stub.Check, health_pb2.HealthCheckRequest(service=service))
        return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)

    def synthesize(
        self, request: synthesis_pb2.SynthesizeRequest
    ) -> Iterator[synthesis_pb2.SynthesizeResponse]:
        """Streams Synthesize's pieces; the last one has `final` set."""
        try:
            yield from self._syn.Synthesize(request, timeout=self.timeout_s)
        except grpc.RpcError as err:
            raise VoxgateClientError(err.code(), err.details() or "") from None

    def stream_synthesize(
        self, config: synthesis_pb2.SynthesizeRequest, texts: Iterable[str]
    ) -> Iterator[synthesis_pb2.SynthesizeResponse]:
        """StreamSynthesize: `config` (voice, style, format), then text pieces as they come."""

        def requests() -> Iterator[synthesis_pb2.StreamSynthesizeRequest]:
            yield synthesis_pb2.StreamSynthesizeRequest(
                config=synthesis_pb2.StreamSynthesizeConfig(request=config)
            )
            for text in texts:
                yield synthesis_pb2.StreamSynthesizeRequest(text=text)

        try:
            for response in self._syn.StreamSynthesize(requests(), timeout=self.timeout_s):
                yield response.piece
        except grpc.RpcError as err:
            raise VoxgateClientError(err.code(), err.details() or "") from None

    def synthesize_to_wav(self, request: synthesis_pb2.SynthesizeRequest) -> tuple[bytes, list]:
        """Synthesizes into one WAV file's bytes; returns them and every piece received."""
        request.output_format.container = audio_pb2.AUDIO_CONTAINER_WAV
        pieces = list(self.synthesize(request))
        return pieces[-1].audio.data, pieces

    def create_voice(
        self, audio: bytes, transcript: str, name: str, consent_note: str = "", keep_audio=False
    ) -> synthesis_pb2.Voice:
        request = synthesis_pb2.CreateVoiceRequest(
            prompt=synthesis_pb2.VoicePrompt(
                audio=audio_pb2.AudioInput(container=audio), transcript=transcript
            ),
            name=name,
            consent_note=consent_note,
            keep_audio=keep_audio,
        )
        return self._call(self._syn.CreateVoice, request).voice

    def list_voices(self) -> list[synthesis_pb2.Voice]:
        return list(self._call(self._syn.ListVoices, synthesis_pb2.ListVoicesRequest()).voices)

    def delete_voice(self, voice_id: str) -> None:
        self._call(self._syn.DeleteVoice, synthesis_pb2.DeleteVoiceRequest(voice_id=voice_id))

    def chat(self, config: chat_pb2.ChatConfig, timeout_s: float | None = None) -> ChatSession:
        """Opens a conversation (ChatService.Chat); close it when done."""
        return ChatSession(self._chat, config, timeout_s or self.timeout_s)


@dataclass
class ChatTurn:
    """One reply as a client sees it: its messages, text, transcript and audio."""

    responses: list[chat_pb2.ChatResponse] = field(default_factory=list)

    @property
    def end(self) -> chat_pb2.TurnEnd:
        return self.responses[-1].turn_end

    @property
    def text(self) -> str:
        return "".join(r.text_delta for r in self.responses if r.HasField("text_delta"))

    @property
    def transcript(self) -> str:
        finals = [r.transcript.text for r in self.responses if r.transcript.is_final]
        return finals[-1] if finals else ""

    @property
    def audio(self) -> bytes:
        """The reply's audio bytes joined (with WAV output: the whole file)."""
        return b"".join(r.audio.data for r in self.responses if r.HasField("audio"))


class ChatSession:
    """One Chat stream (blocking): send user input at any time, iterate over server messages.

    Sending never blocks: requests go through a queue that gRPC drains from its own thread.
    """

    def __init__(self, stub, config: chat_pb2.ChatConfig, timeout_s: float) -> None:
        self._requests: queue.Queue[chat_pb2.ChatRequest | None] = queue.Queue()
        self._requests.put(chat_pb2.ChatRequest(config=config))
        self._call = stub.Chat(self._request_iter(), timeout=timeout_s)
        self._closed = False

    def _request_iter(self) -> Iterator[chat_pb2.ChatRequest]:
        while (request := self._requests.get()) is not None:
            yield request

    def send_text(self, text: str, end_of_turn: bool = True) -> None:
        self._send(
            chat_pb2.ChatRequest(input=chat_pb2.UserInput(text=text, end_of_turn=end_of_turn))
        )

    def send_audio(self, data: bytes, end_of_turn: bool = False) -> None:
        self._send(
            chat_pb2.ChatRequest(input=chat_pb2.UserInput(audio=data, end_of_turn=end_of_turn))
        )

    def end_turn(self) -> None:
        self._send(chat_pb2.ChatRequest(input=chat_pb2.UserInput(end_of_turn=True)))

    def interrupt(self) -> None:
        self._send(chat_pb2.ChatRequest(interrupt=chat_pb2.Interrupt()))

    def ack_playback(self, turn_index: int, played_ms: int) -> None:
        self._send(
            chat_pb2.ChatRequest(
                playback=chat_pb2.Playback(turn_index=turn_index, played_ms=played_ms)
            )
        )

    def _send(self, request: chat_pb2.ChatRequest) -> None:
        if self._closed:
            raise ValueError("chat session: already closed for sending")
        self._requests.put(request)

    def close_send(self) -> None:
        """No more input: the server finishes the reply in progress, then ends the stream."""
        if not self._closed:
            self._closed = True
            self._requests.put(None)

    def receive(self) -> chat_pb2.ChatResponse | None:
        """The next server message; None when the stream has ended."""
        try:
            return next(self._call)
        except StopIteration:
            return None
        except grpc.RpcError as err:
            raise VoxgateClientError(err.code(), err.details() or "") from None

    def __iter__(self) -> Iterator[chat_pb2.ChatResponse]:
        while (response := self.receive()) is not None:
            yield response

    def next_turn(self) -> ChatTurn:
        """Messages up to the next TurnEnd (speech events and transcripts included)."""
        turn = ChatTurn()
        while (response := self.receive()) is not None:
            turn.responses.append(response)
            if response.HasField("turn_end"):
                return turn
        raise VoxgateClientError(grpc.StatusCode.UNKNOWN, "chat: stream ended before TurnEnd")

    def cancel(self) -> None:
        self.close_send()
        self._call.cancel()

    def __enter__(self) -> ChatSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()
