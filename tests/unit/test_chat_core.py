"""Chat's transport-neutral parts: turn detection, the audio ring, history within a budget, what
was heard, and a conversation's limits and cleanup with stand-in models (no Triton; the service
tests run the real ones)."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest
from voxgate import audio as audiolib
from voxgate.core import chat
from voxgate.core.history import History, heard_text
from voxgate.core.turns import AudioRing, TurnDetector, TurnSettings
from voxgate.errors import DeadlineExceeded, OutOfRange

# -- turn detection ------------------------------------------------------------------------------


def kinds_at(events) -> list[tuple[str, int]]:
    return [(e.kind.value, e.offset_ms) for e in events]


def test_onset_needs_three_speech_frames_and_reports_the_first():
    d = TurnDetector(TurnSettings(silence_ms=320))
    assert d.push(0, [0.1, 0.9, 0.2]) == []  # a click: one frame
    assert kinds_at(d.push(3, [0.9, 0.8, 0.7])) == [("started", 96)]
    assert d.speaking


def test_pause_resume_and_stop_after_the_silence_window():
    d = TurnDetector(TurnSettings(silence_ms=320))  # 10 frames
    d.push(0, [0.9] * 5)
    assert kinds_at(d.push(5, [0.1, 0.1])) == [("paused", 160)]
    assert kinds_at(d.push(7, [0.9])) == [("resumed", 224)]
    events = d.push(8, [0.1] * 10)
    assert kinds_at(events) == [("paused", 256), ("stopped", 256)]
    assert not d.speaking


def test_hysteresis_frames_between_release_and_threshold_change_nothing():
    d = TurnDetector(TurnSettings(silence_ms=100, threshold=0.5))  # release 0.35
    d.push(0, [0.9] * 3)
    assert d.push(3, [0.4] * 20) == []  # not speech enough to start, not silence to stop
    assert d.speaking


def test_audio_ring_keeps_the_latest_samples_by_position():
    ring = AudioRing(keep_samples=10)
    ring.append(np.arange(8, dtype=np.float32))
    ring.append(np.arange(8, 16, dtype=np.float32))
    assert (ring.start, ring.end) == (6, 16)
    assert ring.slice(0, 9).tolist() == [6, 7, 8]  # clipped to what is held
    assert ring.slice(14, 30).tolist() == [14, 15]


# -- history -------------------------------------------------------------------------------------


def test_history_drops_the_oldest_exchanges_and_keeps_the_system_prompt():
    h = History("Be brief.", budget_tokens=60)
    for i in range(6):
        h.add(f"question {i} " + "x" * 30, f"answer {i} " + "y" * 30)
    chat_ = json.loads(h.prompt("last question"))
    assert chat_[0] == {"role": "system", "content": "Be brief."}
    assert chat_[-1] == {"role": "user", "content": "last question"}
    kept = [m["content"][:8] for m in chat_[1:-1]]
    assert kept == ["question", "answer 5"] and chat_[1]["role"] == "user"  # whole exchanges


def test_a_turn_larger_than_the_budget_is_out_of_range():
    with pytest.raises(OutOfRange, match="history budget"):
        History("", budget_tokens=64).prompt("word " * 200)


def test_heard_text_maps_timed_words_onto_the_reply():
    words = [("once", 0, 300), ("upon", 300, 600), ("a", 600, 700), ("time", 700, 1000)]
    assert heard_text("Once upon a time.", words, 650, 1000) == "Once upon"
    assert heard_text("Once upon a time.", words, 0, 1000) == ""
    assert heard_text("Once upon a time there", [], 500, 1000) == "Once upon a"


# -- a conversation with stand-in models ---------------------------------------------------------


class Sequences:
    """A stand-in `SequenceModel` that records its calls."""

    def __init__(self, reply) -> None:
        self.calls: list[tuple[int, bool, bool]] = []
        self._reply = reply

    async def infer(self, sequence_id, inputs, outputs, *, start=False, end=False):
        self.calls.append((sequence_id, start, end))
        return self._reply(inputs, end)


class Vad:
    """Frames of 512 samples per sequence (the remainder waits), as the vad model does;
    probability 1 for a frame with a sample above 0.1."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, bool, bool]] = []
        self._state: dict[int, tuple[int, np.ndarray]] = {}

    async def infer(self, sequence_id, inputs, outputs, *, start=False, end=False):
        self.calls.append((sequence_id, start, end))
        if start:
            self._state[sequence_id] = (0, np.zeros(0, np.float32))
        frames, rest = self._state[sequence_id]
        audio = np.concatenate([rest, inputs["audio"].reshape(-1)])
        k = len(audio) // 512
        probs = [float(np.abs(audio[i * 512 : (i + 1) * 512]).max() > 0.1) for i in range(k)]
        self._state[sequence_id] = (frames + k, audio[k * 512 :])
        if end:
            del self._state[sequence_id]
        return {"speech_prob": np.array([probs], np.float32), "first_frame": np.array([[frames]])}


def asr_reply(inputs, end):
    return {
        "text": np.array([[b"hello there"]], np.object_),
        "is_final": np.array([[end]]),
        "audio_ms": np.array([[0]]),
    }


class Llm:
    def __init__(self, pieces: int = 3, delay: float = 0.0) -> None:
        self.pieces, self.delay = pieces, delay
        self.closed = 0

    async def parameters(self):
        return {}

    async def generate(self, inputs, *, outputs, parameters=None, timeout_s=None):
        try:
            for i in range(self.pieces):
                await asyncio.sleep(self.delay)
                yield {
                    "text": np.array([f"word{i} ".encode()], np.object_),
                    "token_count": np.array([i + 1], np.int32),
                }
        finally:
            self.closed += 1


RAW = (
    audiolib.Container.RAW,
    audiolib.PcmFormat(audiolib.Encoding.F32LE, 16000, 1),
)


def conversation(llm: Llm, **limits) -> tuple[chat.Conversation, Vad, Sequences]:
    vad, asr = Vad(), Sequences(asr_reply)
    models = chat.ChatModels(vad=vad, asr=asr, llm=llm, synthesis=None)  # type: ignore[arg-type]
    options = chat.ChatOptions(text_only=True, input_format=RAW, turn=TurnSettings(silence_ms=200))
    return chat.Conversation(models, options, chat.ChatLimits(**limits)), vad, asr


async def run(conv: chat.Conversation, inputs: list, hold: float = 0.0) -> list:
    async def source():
        for message in inputs:
            yield message
        await asyncio.sleep(hold)

    return [e async for e in conv.run(source())]


def tone(seconds: float, level: float = 0.5) -> bytes:
    n = int(16000 * seconds)
    return (level * np.sin(np.arange(n) * 0.3)).astype("<f4").tobytes()


def silence(seconds: float) -> bytes:
    return np.zeros(int(16000 * seconds), "<f4").tobytes()


async def test_a_spoken_turn_then_the_reply_and_every_sequence_ended():
    conv, vad, asr = conversation(Llm())
    events = await run(conv, [chat.AudioIn(tone(0.6)), chat.AudioIn(silence(0.5))])
    names = [type(e).__name__ for e in events]
    assert names[0] == "SpeechStarted" and "SpeechStopped" in names
    finals = [e for e in events if isinstance(e, chat.Transcript) and e.final]
    assert len(finals) == 1 and events.index(finals[0]) > names.index("SpeechStopped")
    assert names[-1] == "TurnEnded" and events[-1].text == "word0 word1 word2"
    assert events[-1].user_transcript == "hello there"
    assert asr.calls[0][1] and asr.calls[-1][2]  # START, then END
    assert vad.calls[0][1] and vad.calls[-1][2]  # the VAD sequence ended at the close


async def test_an_idle_client_times_out_but_not_while_a_reply_runs():
    conv, _, _ = conversation(Llm(pieces=4, delay=0.1), idle_timeout_s=0.15)
    with pytest.raises(DeadlineExceeded, match="no client message"):
        await run(conv, [chat.TextIn("hi", True)], hold=5)
    ended = [e for e in conv.history.messages if e.role == "assistant"]
    assert ended and ended[0].content.startswith("word0")  # the 0.4 s reply finished first


async def test_a_turn_longer_than_the_limit_is_out_of_range_and_frees_its_turn():
    conv, vad, asr = conversation(Llm(), max_turn_audio_s=1.0)
    with pytest.raises(OutOfRange, match="longer than the 1 s limit"):
        await run(conv, [chat.AudioIn(tone(0.5)) for _ in range(4)])
    assert asr.calls[-1][2] and vad.calls[-1][2]


async def test_interrupt_cancels_the_llm_and_keeps_what_was_sent():
    llm = Llm(pieces=50, delay=0.05)
    conv, _, _ = conversation(llm)
    out = []

    async def source():
        yield chat.TextIn("tell me a story", True)
        while len([e for e in out if isinstance(e, chat.TextDelta)]) < 2:
            await asyncio.sleep(0.01)
        yield chat.Interrupt()

    async for event in conv.run(source()):
        out.append(event)
    end = out[-1]
    assert isinstance(end, chat.TurnEnded) and end.interrupted
    sent = "".join(e.text for e in out if isinstance(e, chat.TextDelta))
    assert end.heard_text == sent.strip() and llm.closed == 1
    assert conv.history.messages[-1].content == sent.strip()


async def test_a_vad_sequence_idle_too_long_goes_on_in_a_new_one(monkeypatch):
    """Triton ends an idle sequence silently; after a pause in the audio the conversation
    continues in a new VAD sequence, and speech offsets still count from the stream's start."""
    monkeypatch.setattr(chat, "VAD_RESTART_S", 0.1)
    conv, vad, _ = conversation(Llm())

    async def source():
        yield chat.AudioIn(silence(1.0) + tone(0.01))  # 16160 samples: a partial frame held
        await asyncio.sleep(0.2)
        yield chat.AudioIn(silence(0.5) + tone(0.6))
        yield chat.AudioIn(silence(0.5))

    events = [e async for e in conv.run(source())]
    ids = [c[0] for c in vad.calls]
    assert len(set(ids)) == 2 and vad.calls[0][1]
    restart = ids.index(ids[-1])
    assert vad.calls[restart][1]  # the new sequence starts with START
    started = next(e for e in events if isinstance(e, chat.SpeechStarted))
    assert abs(started.offset_ms - 1510) <= 32, started  # 1.0 + 0.01 + 0.5 s


class StepAudioLlm(Llm):
    """Says it takes Step-Audio-Chat's format; records the messages it was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[list[dict]] = []

    async def parameters(self):
        return {"chat_format": "step_audio"}

    async def generate(self, inputs, *, outputs, parameters=None, timeout_s=None):
        self.messages.append(json.loads(inputs["messages"][0]))
        async for response in super().generate(inputs, outputs=outputs):
            yield response


class Tokenizing:
    """Stand-in tokenization: one 120 ms group -> 5 ids."""

    def __init__(self) -> None:
        self.samples = 0

    async def tokenize_samples(self, wav, first, stop, n_samples, buffer_start=0):
        from voxgate.interleave import Tokens

        self.samples = n_samples
        n = stop - first
        return Tokens(np.arange(2 * n, dtype=np.int64) % 1024, np.arange(3 * n) % 4096)


async def test_an_llm_that_hears_speech_gets_the_turn_as_audio_tokens():
    llm, tokenizing = StepAudioLlm(), Tokenizing()
    vad, asr = Vad(), Sequences(asr_reply)
    models = chat.ChatModels(vad, asr, llm, None, tokenizing)  # type: ignore[arg-type]
    options = chat.ChatOptions(text_only=True, input_format=RAW, turn=TurnSettings(silence_ms=200))
    conv = chat.Conversation(models, options, chat.ChatLimits())
    await conv.start()
    await run(conv, [chat.AudioIn(tone(0.6)), chat.AudioIn(silence(0.5))])
    [sent] = llm.messages
    turn = sent[-1]
    assert turn["role"] == "user" and turn["content"] == ""  # the speech is in its tokens
    groups = tokenizing.samples // 1920
    assert len(turn["audio_tokens"]) == 5 * groups and groups >= 5  # 0.6 s + 0.3 s padding
    assert conv.history.messages[0].content == "hello there"  # the history keeps its text
