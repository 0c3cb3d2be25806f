"""Chat: one spoken or typed conversation over a stream of inputs and events.

Audio in -> the `vad` model (a Triton sequence per conversation) -> `TurnDetector` -> the `asr`
model (a Triton sequence per user turn) -> the final transcript -> the `chat_llm` generator
(text deltas) -> the synthesis stream (audio pieces). A conversation runs three kinds of task:
the reader (client input, VAD, turn detection; never waits on a model slower than the VAD),
one recognizer per spoken turn, and at most one reply. Barge-in cancels the reply task, which
closes its generator streams and so cancels its requests inside Triton; the reply's undelivered
output is dropped, and the history keeps what the user heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import numpy as np

from voxgate import audio as audiolib
from voxgate.core.history import History, heard_text
from voxgate.core.ports import SequenceModel, StreamingGenerator, new_sequence_id
from voxgate.core.synthesis import Piece, Synthesis, SynthesisRequest
from voxgate.core.tokenization import Tokenization
from voxgate.core.turns import (
    FRAME_SAMPLES,
    SAMPLE_RATE,
    AudioRing,
    Kind,
    TurnDetector,
    TurnEvent,
    TurnSettings,
)
from voxgate.errors import DeadlineExceeded, InvalidArgument, OutOfRange
from voxgate.interleave import GROUP_SAMPLES
from voxgate.logs import get_logger

log = get_logger(__name__)

LLM_OUTPUTS = ("text", "token_count")
ASR_OUTPUTS = ("text", "is_final", "audio_ms")
VAD_OUTPUTS = ("speech_prob", "first_frame")
# Triton ends a sequence idle for the vad model's max_sequence_idle (30 s) without telling
# anyone; a conversation whose client sent no audio for this long continues in a new one.
VAD_RESTART_S = 20.0


# -- inputs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextIn:
    text: str
    end_of_turn: bool = False


@dataclass(frozen=True)
class AudioIn:
    data: bytes
    end_of_turn: bool = False


@dataclass(frozen=True)
class EndOfTurn:
    pass


@dataclass(frozen=True)
class Interrupt:
    pass


@dataclass(frozen=True)
class PlaybackAck:
    turn: int
    played_ms: int


Input = TextIn | AudioIn | EndOfTurn | Interrupt | PlaybackAck


# -- events -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpeechStarted:
    turn: int
    offset_ms: int


@dataclass(frozen=True)
class SpeechStopped:
    turn: int
    offset_ms: int


@dataclass(frozen=True)
class Transcript:
    turn: int
    text: str
    final: bool


@dataclass(frozen=True)
class TextDelta:
    turn: int
    text: str


@dataclass(frozen=True)
class ReplyAudio:
    turn: int
    piece: Piece


@dataclass(frozen=True)
class Latency:
    transcript_ms: int = 0
    first_text_ms: int = 0
    first_audio_ms: int = 0


@dataclass(frozen=True)
class TurnEnded:
    turn: int
    text: str
    user_transcript: str
    interrupted: bool
    heard_text: str
    latency: Latency
    reply_tokens: int
    audio_seconds: float


Event = SpeechStarted | SpeechStopped | Transcript | TextDelta | ReplyAudio | TurnEnded


# -- settings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatLimits:
    max_turn_audio_s: float = 30.0  # the recognizer's window
    max_turn_chars: int = 4000
    max_conversation_s: float = 3600.0
    idle_timeout_s: float = 120.0
    history_tokens: int = 512
    max_reply_tokens: int = 1024
    default_reply_tokens: int = 256
    stall_timeout_s: float = 30.0  # longest wait for the LLM's next piece (queueing included)
    max_concurrent: int = 8


@dataclass(frozen=True)
class ChatOptions:
    """One conversation's config, validated."""

    system_prompt: str = ""
    voice: str = ""
    text_only: bool = False
    input_format: tuple[audiolib.Container, audiolib.PcmFormat | None] | None = None
    server_vad: bool = True
    turn: TurnSettings = field(default_factory=TurnSettings)
    max_reply_tokens: int = 0
    temperature: float | None = None
    seed: int | None = None


@dataclass(frozen=True)
class ChatModels:
    vad: SequenceModel
    asr: SequenceModel
    llm: StreamingGenerator
    synthesis: Synthesis
    tokenization: Tokenization | None = None  # for LLMs that hear audio tokens (Step-Audio)


# -- the outbox: events waiting for the client --------------------------------------------------


class _Outbox:
    """Events in order; reply output waits for room (backpressure on the reply), control
    events never wait; an interrupted reply's undelivered output can be dropped."""

    def __init__(self, room: int = 32) -> None:
        self._items: deque[Event] = deque()
        self._room = room
        self._changed = asyncio.Condition()
        self._error: BaseException | None = None
        self._closed = False

    async def put(self, event: Event) -> None:
        async with self._changed:
            if isinstance(event, TextDelta | ReplyAudio):
                await self._changed.wait_for(lambda: len(self._items) < self._room)
            self._items.append(event)
            self._changed.notify_all()

    async def get(self) -> Event | None:
        """The next event; None once closed and drained; raises the error of `fail`."""
        async with self._changed:
            await self._changed.wait_for(
                lambda: self._items or self._closed or self._error is not None
            )
            if self._error is not None:
                raise self._error
            if not self._items:
                return None
            event = self._items.popleft()
            self._changed.notify_all()
            return event

    async def drop_reply(self, turn: int) -> None:
        async with self._changed:
            reply = (TextDelta, ReplyAudio)
            self._items = deque(
                e for e in self._items if not (isinstance(e, reply) and e.turn == turn)
            )
            self._changed.notify_all()

    async def close(self) -> None:
        async with self._changed:
            self._closed = True
            self._changed.notify_all()

    async def fail(self, error: BaseException) -> None:
        async with self._changed:
            if self._error is None:
                self._error = error
            self._changed.notify_all()


# -- one user turn's recognition ----------------------------------------------------------------


class _Recognizer:
    """One user turn in the `asr` model: audio appended in order, interims, then the final.

    Requests of a sequence must go one after another, and an interim decode takes most of a
    second, so a task of its own sends them, joining the audio that queued meanwhile.
    """

    def __init__(self, asr: SequenceModel, emit, turn: int, keep_audio: bool = False) -> None:
        self._asr = asr
        self.kept: list[np.ndarray] | None = [] if keep_audio else None
        self._emit = emit
        self.turn = turn
        self._id = new_sequence_id()
        self._audio: list[np.ndarray] = []
        self._finalize = False
        self._end = False
        self._wake = asyncio.Event()
        self.final: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._last_interim = ""
        self._task = asyncio.create_task(self._run())

    def push(self, samples: np.ndarray) -> None:
        if len(samples):
            self._audio.append(samples)
            if self.kept is not None:
                self.kept.append(samples)
            self._wake.set()

    def finalize(self) -> None:
        """Decode what was sent so far now (the turn may be ending), keeping the turn open."""
        self._finalize = True
        self._wake.set()

    def end(self) -> None:
        self._end = True
        self._wake.set()

    async def _run(self) -> None:
        started = False
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                audio = np.concatenate(self._audio) if self._audio else np.zeros(0, np.float32)
                self._audio = []
                end, finalize = self._end, self._finalize and not self._end
                self._finalize = False
                inputs = {"audio": audio.astype(np.float32).reshape(1, -1)}
                if finalize:
                    inputs["finalize"] = np.array([[True]])
                reply = await self._asr.infer(
                    self._id, inputs, ASR_OUTPUTS, start=not started, end=end
                )
                started = True
                text = _text(reply["text"]).strip()
                if end:
                    if not self.final.done():
                        self.final.set_result(text)
                    return
                if text and text != self._last_interim:
                    self._last_interim = text
                    await self._emit(Transcript(self.turn, text, False))
        except asyncio.CancelledError:
            if started:  # free the turn's state in Triton, even while being cancelled
                await asyncio.shield(self._close_quietly())
            raise
        except Exception as err:  # the reply awaiting `final` reports it
            if not self.final.done():
                self.final.set_exception(err)
            if started:
                await asyncio.shield(self._close_quietly())

    async def _close_quietly(self) -> None:
        with contextlib.suppress(Exception):
            await self._asr.infer(
                self._id, {"audio": np.zeros((1, 0), np.float32)}, ASR_OUTPUTS, end=True
            )

    async def cancel(self) -> None:
        self._task.cancel()
        with contextlib.suppress(BaseException):
            await self._task
        if not self.final.done():
            self.final.cancel()


def _text(value: np.ndarray) -> str:
    """A STRING tensor's first element as text (bytes from Triton, str from stand-ins)."""
    raw = np.asarray(value).reshape(-1)[0]
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


# -- a reply ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _EndMark:
    """A reply's end in the outbox; delivered as TurnEnded (see Conversation._delivered)."""

    reply: _Reply
    interrupted: bool
    heard: str


@dataclass
class _Reply:
    turn: int
    user_text: str  # what the history records (transcript and typed text)
    turn_end_t: float  # monotonic time the user's turn ended
    audio_tokens: list[int] | None = None  # the turn's speech, for an LLM that hears tokens
    prompt_text: str | None = None  # the message's text when it differs from user_text
    transcript_ms: int = 0
    text: str = ""  # generated so far
    text_sent: str = ""  # delivered to the client
    spoken: str = ""  # given to the speech stream
    words: list[tuple[str, int, int]] = field(default_factory=list)
    audio_sent_ms: int = 0
    audio_generated_ms: int = 0
    heard_ms: int | None = None  # the last playback ack
    tokens: int = 0
    first_text_ms: int = 0
    first_audio_ms: int = 0
    task: asyncio.Task | None = None

    def since_end(self) -> int:
        return max(0, int((time.monotonic() - self.turn_end_t) * 1000))


class Conversation:
    """One Chat stream: inputs in, events out (`run`)."""

    def __init__(self, models: ChatModels, options: ChatOptions, limits: ChatLimits) -> None:
        self._m = models
        self.options = options
        self.limits = limits
        self.history = History(options.system_prompt, limits.history_tokens)
        self._out = _Outbox()
        self.turn = 0
        self._reply: _Reply | None = None
        self._replies: dict[int, _Reply] = {}  # the latest ones, for acks and bookkeeping
        self._pending_text: list[str] = []
        self._pending_chars = 0
        self._decoder: audiolib.PcmStreamDecoder | None = None
        self._samples = 0  # 16 kHz input samples received
        self._arrivals: deque[tuple[int, float]] = deque(maxlen=256)  # (end sample, time)
        self._vad_id = new_sequence_id()
        self._vad_started = False
        self._vad_buffer: list[np.ndarray] = []
        self._vad_sent = 0  # samples sent to the VAD, from the stream's start
        self._vad_base = 0  # frame index (from the stream's start) of this sequence's frame 0
        self._vad_last = 0.0  # when the last VAD request was sent
        self._detector = TurnDetector(options.turn)
        keep = SAMPLE_RATE * (options.turn.prefix_padding_ms + options.turn.silence_ms) // 1000
        self._ring = AudioRing(keep + 4 * SAMPLE_RATE)
        self._recognizer: _Recognizer | None = None
        self._asr_cursor = 0  # next sample to send to the recognizer
        self._held = False  # paused: audio waits in the ring until speech resumes or stops
        self._turn_start_sample = 0
        self._started = time.monotonic()
        self._hears_audio = False  # the LLM takes the user's speech as audio tokens

    # -- the stream ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Checks what the config names (the voice) before any input is read, and whether the
        language model hears speech itself (Step-Audio-Chat's format takes audio tokens)."""
        params = await self._m.llm.parameters()
        self._hears_audio = (
            params.get("chat_format") == "step_audio" and self._m.tokenization is not None
        )
        if not self.options.text_only:
            request = SynthesisRequest(text="", voice=self.options.voice)
            await self._m.synthesis.open_stream(request).start(None)

    async def run(self, inputs: AsyncIterator[Input]) -> AsyncIterator[Event]:
        """Events for the client until the input ends and the last reply is done."""
        reader = asyncio.create_task(self._read(inputs))
        try:
            while (event := await self._out.get()) is not None:
                yield self._delivered(event)
        finally:
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader
            await asyncio.shield(self._close())

    async def _read(self, inputs: AsyncIterator[Input]) -> None:
        try:
            iterator = aiter(inputs)
            while True:
                message = await self._next_input(iterator)
                if message is None:
                    break
                self._check_length()
                await self._handle(message)
            await self._end_of_input()
            await self._out.close()
        except asyncio.CancelledError:
            raise
        except BaseException as err:
            await self._out.fail(err)

    async def _next_input(self, iterator: AsyncIterator[Input]) -> Input | None:
        """The next client message; an idle client (no input, no reply running) times out."""
        step = asyncio.ensure_future(anext(iterator, None))
        try:
            while True:
                done, _ = await asyncio.wait({step}, timeout=self.limits.idle_timeout_s)
                if done:
                    return step.result()
                if self._reply is None:
                    raise DeadlineExceeded(
                        f"chat: no client message for {self.limits.idle_timeout_s:g} s"
                    )
        finally:
            if not step.done():
                step.cancel()

    def _check_length(self) -> None:
        if time.monotonic() - self._started > self.limits.max_conversation_s:
            raise OutOfRange(
                f"chat: the conversation is longer than the {self.limits.max_conversation_s:g} s "
                "limit; start a new one"
            )

    async def _handle(self, message: Input) -> None:
        if isinstance(message, TextIn):
            self._add_text(message.text)
            if message.end_of_turn:
                await self._end_turn()
        elif isinstance(message, AudioIn):
            await self._audio(message.data)
            if message.end_of_turn:
                await self._end_turn()
        elif isinstance(message, EndOfTurn):
            await self._end_turn()
        elif isinstance(message, Interrupt):
            await self._interrupt()
        elif isinstance(message, PlaybackAck):
            self._ack(message)

    def _add_text(self, text: str) -> None:
        self._pending_chars += len(text)
        if self._pending_chars > self.limits.max_turn_chars:
            raise OutOfRange(
                f"input.text: the turn has more than the {self.limits.max_turn_chars} "
                "character limit"
            )
        self._pending_text.append(text)

    def _ack(self, ack: PlaybackAck) -> None:
        reply = self._replies.get(ack.turn)
        if reply is None:
            if ack.turn < 0 or ack.turn > self.turn:
                raise InvalidArgument(f"playback.turn_index: no reply {ack.turn} in this chat")
            return  # an ack for a turn with no reply (nothing was said): nothing to record
        if ack.played_ms < 0:
            raise InvalidArgument("playback.played_ms: negative")
        reply.heard_ms = max(reply.heard_ms or 0, ack.played_ms)

    # -- audio ----------------------------------------------------------------------------------

    async def _audio(self, data: bytes) -> None:
        if self._decoder is None:
            if self.options.input_format is None:
                raise InvalidArgument(
                    "config.input_format: required to send audio (RAW or WAV pieces)"
                )
            container, raw = self.options.input_format
            self._decoder = audiolib.PcmStreamDecoder(
                container, raw, self.limits.max_conversation_s, wav_files_in_a_row=True
            )
        samples = self._decoder.push(data)
        if not len(samples):
            return
        first = self._samples
        self._samples += len(samples)
        self._arrivals.append((self._samples, time.monotonic()))
        self._ring.append(samples)
        if not self.options.server_vad:
            await self._manual_audio(first)
            return
        self._vad_buffer.append(samples)
        if sum(len(b) for b in self._vad_buffer) >= FRAME_SAMPLES:
            await self._run_vad()
        self._feed_recognizer()

    async def _manual_audio(self, first: int) -> None:
        """MANUAL turn detection: every sample belongs to the turn until `end_of_turn`."""
        if self._recognizer is None:
            await self._interrupt()  # the user talks over the reply
            self._turn_start_sample = self._asr_cursor = first
            self._recognizer = self._new_recognizer()
        self._feed_recognizer()

    def _new_recognizer(self) -> _Recognizer:
        return _Recognizer(self._m.asr, self._out.put, self.turn, keep_audio=self._hears_audio)

    async def _run_vad(self) -> None:
        audio = np.concatenate(self._vad_buffer)
        self._vad_buffer = []
        new = len(audio)
        if self._vad_started and time.monotonic() - self._vad_last > VAD_RESTART_S:
            # A new sequence, fed again the partial frame the old one held, so that frame
            # indices (and so speech offsets) go on from where they were.
            held = self._vad_sent % FRAME_SAMPLES
            audio = np.concatenate([self._ring.slice(self._vad_sent - held, self._vad_sent), audio])
            self._vad_id, self._vad_base = new_sequence_id(), self._vad_sent // FRAME_SAMPLES
            self._vad_started = False
        self._vad_last = time.monotonic()
        reply = await self._m.vad.infer(
            self._vad_id,
            {"audio": audio.reshape(1, -1)},
            VAD_OUTPUTS,
            start=not self._vad_started,
        )
        self._vad_started = True
        self._vad_sent += new
        first = self._vad_base + int(np.asarray(reply["first_frame"]).reshape(-1)[0])
        for event in self._detector.push(first, reply["speech_prob"]):
            await self._turn_event(event)

    async def _turn_event(self, event: TurnEvent) -> None:
        if event.kind is Kind.STARTED:
            await self._interrupt()  # barge-in: the user talks over the reply
            await self._out.put(SpeechStarted(self.turn, event.offset_ms))
            pad = SAMPLE_RATE * self.options.turn.prefix_padding_ms // 1000
            self._turn_start_sample = self._asr_cursor = max(self._ring.start, event.sample - pad)
            self._recognizer = self._new_recognizer()
            self._held = False
        elif self._recognizer is None:
            return
        elif event.kind is Kind.PAUSED:
            self._feed_recognizer(until=event.sample)
            self._held = True
            self._recognizer.finalize()
        elif event.kind is Kind.RESUMED:
            self._held = False
        elif event.kind is Kind.STOPPED:
            await self._out.put(SpeechStopped(self.turn, event.offset_ms))
            self._feed_recognizer(until=event.sample)
            await self._finish_spoken_turn(self._arrival(event.sample))

    def _arrival(self, sample: int) -> float:
        """When the sample reached the server (the user's real end of speech, as the server
        could first know it)."""
        for end, t in self._arrivals:
            if end >= sample:
                return t
        return time.monotonic()

    def _feed_recognizer(self, until: int | None = None) -> None:
        rec = self._recognizer
        if rec is None or (self._held and until is None):
            return
        end = self._samples if until is None else min(until, self._samples)
        if end - self._turn_start_sample > self.limits.max_turn_audio_s * SAMPLE_RATE:
            raise OutOfRange(
                f"input.audio: the user's turn is longer than the "
                f"{self.limits.max_turn_audio_s:g} s limit"
            )
        if end > self._asr_cursor:
            rec.push(self._ring.slice(self._asr_cursor, end))
            self._asr_cursor = end

    # -- turns ----------------------------------------------------------------------------------

    async def _end_turn(self) -> None:
        """`end_of_turn` from the client."""
        if self._recognizer is not None:
            if self.options.server_vad and self._detector.speaking:
                self._detector = TurnDetector(self.options.turn)  # speech ends here
                await self._out.put(SpeechStopped(self.turn, self._samples * 1000 // SAMPLE_RATE))
            self._held = False
            self._feed_recognizer()
            await self._finish_spoken_turn(time.monotonic())
            return
        text = "".join(self._pending_text).strip()
        self._pending_text, self._pending_chars = [], 0
        if not text:
            raise InvalidArgument("input: end_of_turn of an empty turn (no text, no speech)")
        await self._interrupt()
        self._start_reply(_Reply(self.turn, text, time.monotonic()), None)

    async def _finish_spoken_turn(self, ended: float) -> None:
        rec, self._recognizer = self._recognizer, None
        assert rec is not None
        self._held = False
        rec.end()
        self._start_reply(_Reply(self.turn, "", ended), rec)

    def _start_reply(self, reply: _Reply, rec: _Recognizer | None) -> None:
        self._reply = reply
        self._replies[reply.turn] = reply
        for old in [t for t in self._replies if t < reply.turn - 8]:
            del self._replies[old]  # acks come for recent replies only
        reply.task = asyncio.create_task(self._run_reply(reply, rec))

    async def _run_reply(self, reply: _Reply, rec: _Recognizer | None) -> None:
        try:
            typed = "".join(self._pending_text).strip() if rec else reply.user_text
            if rec is not None:
                self._pending_text, self._pending_chars = [], 0
                transcript = await rec.final
                reply.transcript_ms = reply.since_end()
                await self._out.put(Transcript(reply.turn, transcript, True))
                reply.user_text = " ".join(t for t in (transcript, typed) if t)
                if rec.kept:  # the model hears the speech itself; the history keeps its text
                    reply.audio_tokens = await self._audio_tokens(np.concatenate(rec.kept))
                    reply.prompt_text = typed
            if not reply.user_text and not reply.audio_tokens:
                await self._end_reply(reply, interrupted=False)  # nothing was said
                return
            await self._generate(reply)
            await self._end_reply(reply, interrupted=False)
        except asyncio.CancelledError:
            raise
        except BaseException as err:
            while isinstance(err, BaseExceptionGroup):  # from the TaskGroup of _generate
                err = err.exceptions[0]
            await self._out.fail(err)

    async def _generate(self, reply: _Reply) -> None:
        text = reply.user_text if reply.prompt_text is None else reply.prompt_text
        messages = self.history.prompt(text, audio_tokens=reply.audio_tokens)
        inputs = {
            "messages": np.array([messages.encode()], np.object_),
            "max_tokens": np.array(
                [self.options.max_reply_tokens or self.limits.default_reply_tokens], np.int32
            ),
        }
        if self.options.temperature is not None:
            inputs["temperature"] = np.array([self.options.temperature], np.float32)
        if self.options.seed is not None:
            inputs["seed"] = np.array([self.options.seed], np.int64)
        texts: asyncio.Queue[str | None] = asyncio.Queue()
        async with asyncio.TaskGroup() as group:
            if not self.options.text_only:
                group.create_task(self._speak(reply, texts))
            responses = self._m.llm.generate(inputs, outputs=LLM_OUTPUTS)
            async with contextlib.aclosing(responses):
                while (response := await self._next_piece(responses)) is not None:
                    delta = _text(response["text"])
                    reply.tokens = int(np.asarray(response["token_count"]).reshape(-1)[0])
                    if not delta:
                        continue
                    if not reply.text:
                        reply.first_text_ms = reply.since_end()
                    reply.text += delta
                    await self._out.put(TextDelta(reply.turn, delta))
                    texts.put_nowait(delta)
            texts.put_nowait(None)

    async def _audio_tokens(self, wav: np.ndarray) -> list[int]:
        """A turn's 16 kHz speech as Step-Audio interleaved ids (whole 120 ms groups)."""
        assert self._m.tokenization is not None
        groups = len(wav) // GROUP_SAMPLES
        tokens = await self._m.tokenization.tokenize_samples(wav, 0, groups, len(wav))
        return tokens.interleaved().tolist()

    async def _next_piece(self, responses: AsyncIterator[dict]) -> dict | None:
        try:
            return await asyncio.wait_for(anext(responses, None), self.limits.stall_timeout_s)
        except TimeoutError:
            raise DeadlineExceeded(
                f"chat: the language model produced nothing for {self.limits.stall_timeout_s:g} s"
            ) from None

    async def _speak(self, reply: _Reply, texts: asyncio.Queue[str | None]) -> None:
        stream = self._m.synthesis.open_stream(SynthesisRequest(text="", voice=self.options.voice))
        await stream.start(None)
        while (text := await texts.get()) is not None:
            reply.spoken += text
            async for piece in stream.push(text):
                await self._audio_out(reply, piece)
        async for piece in stream.flush():
            await self._audio_out(reply, piece)

    async def _audio_out(self, reply: _Reply, piece: Piece) -> None:
        reply.words.extend(piece.words)
        reply.audio_generated_ms += len(piece.samples) * 1000 // piece.sample_rate
        await self._out.put(ReplyAudio(reply.turn, piece))

    def _delivered(self, event: Event | _EndMark) -> Event:
        """Bookkeeping of what the client has been sent (an interrupted reply's heard part,
        latencies); a reply's end becomes its TurnEnded once everything before it went out."""
        if isinstance(event, _EndMark):
            r = event.reply
            return TurnEnded(
                r.turn,
                r.text.strip(),
                r.user_text,
                event.interrupted,
                event.heard,
                Latency(r.transcript_ms, r.first_text_ms, r.first_audio_ms),
                r.tokens,
                r.audio_sent_ms / 1000,
            )
        reply = self._replies.get(getattr(event, "turn", -1))
        if reply is None:
            return event
        if isinstance(event, ReplyAudio):
            if not reply.audio_sent_ms:
                reply.first_audio_ms = reply.since_end()
            reply.audio_sent_ms += len(event.piece.samples) * 1000 // event.piece.sample_rate
        elif isinstance(event, TextDelta):
            reply.text_sent += event.text
        return event

    async def _interrupt(self) -> None:
        """Barge-in: stop the reply in progress, drop its undelivered output, end its turn."""
        reply = self._reply
        if reply is None or reply.task is None:
            return
        if reply.task.done():
            return  # its TurnEnd is on its way
        reply.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reply.task
        await self._out.drop_reply(reply.turn)
        log.info("chat_barge_in", turn=reply.turn, stopped_ms=reply.since_end())
        await self._end_reply(reply, interrupted=True)

    async def _end_reply(self, reply: _Reply, *, interrupted: bool) -> None:
        if interrupted:
            if self.options.text_only:
                heard = reply.text_sent.strip()
            else:
                heard_ms = reply.audio_sent_ms if reply.heard_ms is None else reply.heard_ms
                heard_ms = min(heard_ms, reply.audio_sent_ms)
                heard = heard_text(reply.spoken, reply.words, heard_ms, reply.audio_generated_ms)
        else:
            heard = reply.text.strip()
        if reply.user_text:
            self.history.add(reply.user_text, heard)
        await self._out.put(_EndMark(reply, interrupted, heard))
        if self._reply is reply:
            self._reply = None
        self.turn = max(self.turn, reply.turn + 1)

    async def _end_of_input(self) -> None:
        """The client closed its side: finish the turn in progress and its reply."""
        if self._decoder is not None and self.options.server_vad and self._vad_buffer:
            await self._run_vad()
        if self._recognizer is not None or "".join(self._pending_text).strip():
            await self._end_turn()
        if self._reply is not None and self._reply.task is not None:
            await asyncio.wait({self._reply.task})  # a failure is in the outbox already

    async def _close(self) -> None:
        """Frees every per-conversation state in Triton: the reply's requests, the turn's
        recognizer sequence and the VAD sequence."""
        reply = self._reply
        if reply is not None and reply.task is not None and not reply.task.done():
            reply.task.cancel()
            with contextlib.suppress(BaseException):
                await reply.task
        if self._recognizer is not None:
            await self._recognizer.cancel()
            self._recognizer = None
        if self._vad_started:
            self._vad_started = False
            with contextlib.suppress(Exception):
                await self._m.vad.infer(
                    self._vad_id, {"audio": np.zeros((1, 0), np.float32)}, VAD_OUTPUTS, end=True
                )
