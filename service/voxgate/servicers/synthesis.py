"""voxgate.v1.SynthesisService: text -> streamed speech, and the voice registry."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import grpc
import numpy as np
from prometheus_client import Gauge

from voxgate import audio as audiolib
from voxgate import model_names
from voxgate.core.synthesis import (
    BUILTIN_VOICES,
    Piece,
    SpeechStream,
    Synthesis,
    SynthesisLimits,
)
from voxgate.core.tokenization import Limits, Tokenization
from voxgate.core.voices import VoiceRegistry
from voxgate.errors import InvalidArgument
from voxgate.logs import request_id
from voxgate.registry import ServiceContext, ServiceEntry
from voxgate.servicers import convert
from voxgate.v1 import synthesis_pb2, synthesis_pb2_grpc

ACTIVE = Gauge("voxgate_active_syntheses", "Synthesize and StreamSynthesize calls in progress")
pb = synthesis_pb2


class _Responses:
    """Pieces -> SynthesizeResponse messages in the requested output format."""

    def __init__(self, fmt: audiolib.OutputFormat) -> None:
        # Refuse a bad format before any work (0 Hz = the model's rate, not known yet).
        audiolib.check_stream_output(fmt, fmt.sample_rate or 16000)
        self._fmt = fmt
        self._encoder: audiolib.StreamEncoder | None = None
        self._seconds = 0.0

    def piece(self, p: Piece) -> pb.SynthesizeResponse:
        if self._encoder is None:
            self._encoder = audiolib.StreamEncoder(p.sample_rate, self._fmt)
        duration = len(p.samples) / p.sample_rate
        self._seconds += duration
        return pb.SynthesizeResponse(
            request_id=request_id(),
            audio=convert.audio_output_pb(
                self._encoder.push(p.samples), self._encoder.fmt, duration
            ),
            audio_tokens=p.tokens.tolist(),
            words=[pb.WordTiming(word=w, start_ms=a, end_ms=b) for w, a, b in p.words],
            report=convert.report_pb(p.report) if p.report else None,
            start_seconds=p.start_seconds,
        )

    def final(self) -> pb.SynthesizeResponse:
        """The last message: the rest of a RAW or Ogg/Opus stream, or a WAV/FLAC file whole."""
        data, fmt = b"", self._fmt
        if self._encoder is not None:
            data, fmt = self._encoder.push(np.zeros(0, np.float32), last=True), self._encoder.fmt
        whole_file = self._fmt.container in (audiolib.Container.WAV, audiolib.Container.FLAC)
        seconds = self._seconds if whole_file else 0.0
        return pb.SynthesizeResponse(
            request_id=request_id(),
            audio=convert.audio_output_pb(data, fmt, seconds),
            final=True,
            start_seconds=self._seconds,
        )


class SynthesisServicer(synthesis_pb2_grpc.SynthesisServiceServicer):
    def __init__(self, synthesis: Synthesis) -> None:
        self._syn = synthesis

    async def Synthesize(
        self, request: pb.SynthesizeRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.SynthesizeResponse]:
        responses = _Responses(convert.output_format(request.output_format))
        pieces = self._syn.synthesize(
            convert.synthesis_request(request), timeout_s=context.time_remaining()
        )
        with ACTIVE.track_inprogress():
            async with contextlib.aclosing(pieces):
                async for piece in pieces:
                    yield responses.piece(piece)
            yield responses.final()

    async def StreamSynthesize(
        self,
        request_iterator: AsyncIterator[pb.StreamSynthesizeRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[pb.StreamSynthesizeResponse]:
        first = await anext(aiter(request_iterator), None)
        if first is None or first.WhichOneof("message") != "config":
            raise InvalidArgument("config: the first message must carry the config")
        config = first.config.request
        responses = _Responses(convert.output_format(config.output_format))
        stream = self._syn.open_stream(convert.synthesis_request(config))
        with self._syn.admitted():
            await stream.start(context.time_remaining())
            async for message in self._stream(stream, responses, config, request_iterator):
                yield message

    async def _stream(
        self,
        stream: SpeechStream,
        responses: _Responses,
        config: pb.SynthesizeRequest,
        request_iterator: AsyncIterator[pb.StreamSynthesizeRequest],
    ) -> AsyncIterator[pb.StreamSynthesizeResponse]:
        """The text pieces after the config -> response messages."""

        def wrap(piece: Piece) -> pb.StreamSynthesizeResponse:
            return pb.StreamSynthesizeResponse(piece=responses.piece(piece))

        with ACTIVE.track_inprogress():
            if config.text:
                async for piece in stream.push(config.text):
                    yield wrap(piece)
            async for message in request_iterator:
                kind = message.WhichOneof("message")
                if kind == "text":
                    async for piece in stream.push(message.text):
                        yield wrap(piece)
                elif kind == "flush":
                    async for piece in stream.flush():
                        yield wrap(piece)
                else:
                    raise InvalidArgument("config: only the first message may carry a config")
            async for piece in stream.flush():
                yield wrap(piece)
            yield pb.StreamSynthesizeResponse(piece=responses.final())

    async def CreateVoice(
        self, request: pb.CreateVoiceRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateVoiceResponse:
        if not request.HasField("prompt"):
            raise InvalidArgument("prompt: required (audio and transcript)")
        voice = await self._syn.create_voice(
            convert.prompt(request.prompt), request.name, request.consent_note, request.keep_audio
        )
        return pb.CreateVoiceResponse(request_id=request_id(), voice=convert.voice_pb(voice))

    async def ListVoices(
        self, request: pb.ListVoicesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListVoicesResponse:
        voices = await self._syn.list_voices()
        return pb.ListVoicesResponse(
            request_id=request_id(), voices=[convert.voice_pb(v) for v in voices]
        )

    async def DeleteVoice(
        self, request: pb.DeleteVoiceRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteVoiceResponse:
        if not request.voice_id:
            raise InvalidArgument("voice_id: required")
        await self._syn.delete_voice(request.voice_id)
        return pb.DeleteVoiceResponse(request_id=request_id())


def build_synthesis(ctx: ServiceContext) -> Synthesis:
    """The synthesis use cases of a deployment (also what Chat speaks its replies with)."""
    s = ctx.settings
    tokenization = Tokenization(
        ctx.models,
        ctx.models,
        Limits(
            max_audio_seconds=s.max_prompt_seconds,
            max_detokenize_tokens=s.max_detokenize_tokens,
            chunk_groups=s.chunk_groups,
            decode_chunk_groups=s.decode_chunk_groups,
        ),
        ctx.budget,
    )
    return Synthesis(
        ctx.models.generator(model_names.TTS_GENERATOR),
        ctx.models,
        tokenization,
        VoiceRegistry(s.voices_path, BUILTIN_VOICES),
        SynthesisLimits(
            max_text_chars=s.max_synthesis_chars,
            max_prompt_seconds=s.max_prompt_seconds,
            stall_timeout_s=s.synthesis_stall_s,
            decode_chunk_groups=s.decode_chunk_groups,
            max_concurrent=s.max_concurrent_syntheses,
        ),
    )


def _build(ctx: ServiceContext) -> SynthesisServicer:
    return SynthesisServicer(build_synthesis(ctx))


SERVICE = ServiceEntry(
    proto=synthesis_pb2.DESCRIPTOR.services_by_name["SynthesisService"],
    models=(
        model_names.TTS_GENERATOR,
        model_names.TOKENIZE,
        model_names.DETOKENIZE,
        model_names.DETOKENIZE_VOICE,  # cloned voices: the decoder with the speaker adapter
    ),
    build=_build,
    add_to_server=synthesis_pb2_grpc.add_SynthesisServiceServicer_to_server,
)
