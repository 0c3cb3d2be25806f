"""voxgate.v1.ChatService: a spoken or typed conversation over one bidirectional stream."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import grpc
import numpy as np
from prometheus_client import Counter, Gauge

from voxgate import audio as audiolib
from voxgate import model_names
from voxgate.core import chat
from voxgate.core.admission import Admission
from voxgate.errors import InvalidArgument
from voxgate.logs import request_id
from voxgate.registry import ServiceContext, ServiceEntry
from voxgate.servicers import convert
from voxgate.servicers.synthesis import build_synthesis
from voxgate.v1 import chat_pb2, chat_pb2_grpc, synthesis_pb2

ACTIVE = Gauge("voxgate_active_chats", "Chat conversations in progress")
TURNS = Counter("voxgate_chat_turns_total", "Chat replies by outcome", ["outcome"])
pb = chat_pb2


class _ReplyAudio:
    """One reply's pieces -> audio messages in the conversation's output format."""

    def __init__(self, fmt: audiolib.OutputFormat) -> None:
        self._fmt = fmt
        self._encoder: audiolib.StreamEncoder | None = None

    def piece(self, e: chat.ReplyAudio) -> pb.ChatResponse:
        p = e.piece
        if self._encoder is None:
            self._encoder = audiolib.StreamEncoder(p.sample_rate, self._fmt)
        duration = len(p.samples) / p.sample_rate
        data = self._encoder.push(p.samples)
        return pb.ChatResponse(
            request_id=request_id(),
            turn_index=e.turn,
            audio=convert.audio_output_pb(data, self._encoder.fmt, duration),
            audio_tokens=p.tokens.tolist(),
            words=[synthesis_pb2.WordTiming(word=w, start_ms=a, end_ms=b) for w, a, b in p.words],
            start_seconds=p.start_seconds,
        )

    def last(self, turn: int, seconds: float) -> pb.ChatResponse | None:
        """The rest of the stream: a WAV/FLAC reply whole, the end of an Ogg/Opus one."""
        if self._encoder is None:
            return None
        data = self._encoder.push(np.zeros(0, np.float32), last=True)
        if not data:
            return None
        whole = self._fmt.container in (audiolib.Container.WAV, audiolib.Container.FLAC)
        return pb.ChatResponse(
            request_id=request_id(),
            turn_index=turn,
            audio=convert.audio_output_pb(data, self._encoder.fmt, seconds if whole else 0.0),
            start_seconds=0.0 if whole else seconds,
        )


class ChatServicer(chat_pb2_grpc.ChatServiceServicer):
    def __init__(self, models: chat.ChatModels, limits: chat.ChatLimits) -> None:
        self._models = models
        self._limits = limits
        self._admission = Admission(limits.max_concurrent, "chat", "conversations")

    async def Chat(
        self, request_iterator: AsyncIterator[pb.ChatRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.ChatResponse]:
        first = await anext(aiter(request_iterator), None)
        if first is None or first.WhichOneof("message") != "config":
            raise InvalidArgument("config: the first message must carry the config")
        options = convert.chat_options(first.config, self._limits.max_reply_tokens)
        fmt = convert.output_format(first.config.output_format)
        audiolib.check_stream_output(fmt, fmt.sample_rate or 16000)  # before any work
        with self._admission.admitted(), ACTIVE.track_inprogress():
            conversation = chat.Conversation(self._models, options, self._limits)
            await conversation.start()
            inputs = (convert.chat_input(m) async for m in request_iterator)
            audio: dict[int, _ReplyAudio] = {}
            events = conversation.run(inputs)
            async with contextlib.aclosing(events):
                async for event in events:
                    for message in _messages(event, audio, fmt):
                        yield message


def _messages(
    event: chat.Event, audio: dict[int, _ReplyAudio], fmt: audiolib.OutputFormat
) -> list[pb.ChatResponse]:
    rid, turn = request_id(), event.turn
    if isinstance(event, chat.ReplyAudio):
        return [audio.setdefault(turn, _ReplyAudio(fmt)).piece(event)]
    if isinstance(event, chat.TextDelta):
        return [pb.ChatResponse(request_id=rid, turn_index=turn, text_delta=event.text)]
    if isinstance(event, chat.SpeechStarted):
        started = pb.SpeechStarted(audio_offset_ms=event.offset_ms)
        return [pb.ChatResponse(request_id=rid, turn_index=turn, speech_started=started)]
    if isinstance(event, chat.SpeechStopped):
        stopped = pb.SpeechStopped(audio_offset_ms=event.offset_ms)
        return [pb.ChatResponse(request_id=rid, turn_index=turn, speech_stopped=stopped)]
    if isinstance(event, chat.Transcript):
        t = pb.Transcript(text=event.text, is_final=event.final)
        return [pb.ChatResponse(request_id=rid, turn_index=turn, transcript=t)]
    assert isinstance(event, chat.TurnEnded)
    TURNS.labels("interrupted" if event.interrupted else "finished").inc()
    out = []
    encoder = audio.pop(turn, None)
    if encoder is not None and (rest := encoder.last(turn, event.audio_seconds)) is not None:
        out.append(rest)
    end = convert.turn_end_pb(event)
    out.append(pb.ChatResponse(request_id=rid, turn_index=turn, turn_end=end))
    return out


def _build(ctx: ServiceContext) -> ChatServicer:
    s = ctx.settings
    synthesis = build_synthesis(ctx)
    models = chat.ChatModels(
        vad=ctx.models.sequence_model(model_names.VAD),
        asr=ctx.models.sequence_model(model_names.ASR),
        llm=ctx.models.generator(model_names.CHAT_LLM),
        synthesis=synthesis,
        tokenization=synthesis.tokenization,  # Step-Audio-Chat hears the user's audio tokens
    )
    limits = chat.ChatLimits(
        max_turn_audio_s=min(30.0, s.max_audio_seconds),
        max_conversation_s=s.max_chat_seconds,
        idle_timeout_s=s.chat_idle_s,
        history_tokens=s.chat_history_tokens,
        max_concurrent=s.max_concurrent_chats,
    )
    return ChatServicer(models, limits)


SERVICE = ServiceEntry(
    proto=chat_pb2.DESCRIPTOR.services_by_name["ChatService"],
    models=(
        model_names.VAD,
        model_names.ASR,
        model_names.CHAT_LLM,
        model_names.TTS_GENERATOR,
        model_names.DETOKENIZE,
        model_names.DETOKENIZE_VOICE,  # replies in a cloned voice
    ),
    build=_build,
    add_to_server=chat_pb2_grpc.add_ChatServiceServicer_to_server,
)
