"""`voxgate demo` in headless Chromium: live tokens in both lanes, the round trip played,
streamed synthesis, a cloned voice, a push-to-talk chat turn, and closing the page cancelling
the gRPC calls (the server's state freed).

The page's `window.voxgateDemo.stats` and its players' counters (samples scheduled on the
WebAudio clock, and samples whose playback ended) are what the tests read, besides the DOM.
Selenium blocks, so each browser step runs in a thread while the test's event loop keeps
serving gRPC. The first tests share one page, in file order, so that the last screenshot
shows all three panels at work (`VOXGATE_DEMO_SCREENSHOT=docs/img/demo.png` also writes it
there).
"""

from __future__ import annotations

import asyncio
import base64
import io
import os
import shutil
import time
from pathlib import Path

import grpc
import pytest
import soundfile as sf
from prometheus_client import REGISTRY
from voxgate.v1 import audio_pb2, tokenizer_pb2, tokenizer_pb2_grpc

from tests.browser.conftest import needs_browser
from tests.service.conftest import triton_metrics

pytestmark = [pytest.mark.triton, pytest.mark.slow, needs_browser]

GROUP_S = 0.12


class Page:
    """The demo page in the browser (blocking; use from a thread)."""

    def __init__(self, driver, url: str) -> None:
        self.driver = driver
        self.url = url

    def open(self, fresh: bool = False) -> None:
        if fresh or not self.driver.current_url.startswith(self.url):
            self.driver.get(self.url)
        self.wait(lambda: "TokenizerService" in self.text("server-status"), 30, "server info")
        self.wait(lambda: self.js("return document.getElementById('synth-voice').length"), 30)

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def stats(self, part: str) -> dict:
        return self.js(f"return window.voxgateDemo.stats.{part}")

    def player(self, name: str) -> dict:
        return self.js(f"return window.voxgateDemo.players.{name}.stats")

    def text(self, element_id: str) -> str:
        return self.js(f"return document.getElementById('{element_id}').textContent")

    def click(self, element_id: str) -> None:
        from selenium.webdriver.common.by import By

        self.driver.find_element(By.ID, element_id).click()

    def count(self, selector: str) -> int:
        return self.js(f"return document.querySelectorAll('{selector}').length")

    def wait(self, condition, timeout: float, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                state = self.js("return JSON.stringify(window.voxgateDemo.stats)")
                raise AssertionError(
                    f"timed out after {timeout} s waiting for {what}; the page's stats: "
                    f"{state[:4000]}\nconsole: {self.console()[-20:]}"
                )
            time.sleep(0.1)

    def screenshot(self, folder: Path, name: str) -> Path:
        """The whole page (not only the window), through the DevTools protocol."""
        size = self.js("return [document.body.scrollWidth, document.body.scrollHeight]")
        clip = {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1}
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True, "clip": clip},
        )
        path = folder / f"{name}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def console(self) -> list[str]:
        return [f"{e['level']}: {e['message']}" for e in self.driver.get_log("browser")]


@pytest.fixture
def page(driver, demo_url) -> Page:
    return Page(driver, demo_url)


@pytest.fixture
def page_quiet(quiet_driver, demo_url) -> Page:
    return Page(quiet_driver, demo_url)


async def in_browser(fn, *args):
    return await asyncio.to_thread(fn, *args)


def gauge(name: str) -> float:
    """A gauge of the voxgate server, which runs in this process."""
    return REGISTRY.get_sample_value(name) or 0.0


# --- record -> live tokens in both lanes -> round trip ----------------------------------------


def record_and_play_back(page: Page, seconds: float) -> dict:
    page.open()
    started = time.monotonic()
    page.click("rec-start")
    page.wait(lambda: page.stats("tokenize")["groups"] >= 5, 20, "tokens while recording")
    live = page.stats("tokenize")
    assert page.js("return !document.getElementById('rec-stop').disabled"), "still recording"
    time.sleep(max(0.0, started + seconds - time.monotonic()))
    page.click("rec-stop")
    page.wait(lambda: page.stats("tokenize")["ended"], 20, "the stream's end")
    done = page.stats("tokenize")
    tokens = page.js("return window.voxgateDemo.tokens.interleaved")
    wav = page.js(  # the WAV the page made of its recording (for cloning), as base64
        "const b = new Uint8Array(window.voxgateDemo.lastRecordingWav()); let s = '';"
        "for (let i = 0; i < b.length; i += 8192)"
        "  s += String.fromCharCode(...b.subarray(i, i + 8192));"
        "return btoa(s);"
    )
    counts = {
        "ruler": page.count("#lane-ruler .grp"),
        "linguistic": page.count("#lane-linguistic .tok"),
        "semantic": page.count("#lane-semantic .tok"),
        "lanes": page.js(
            "const ids = (lane) => [...document.querySelectorAll(`#lane-${lane} .tok`)]"
            "  .map((e) => Number(e.textContent));"
            "return [ids('linguistic'), ids('semantic')]"
        ),
    }
    page.click("play-roundtrip")
    page.wait(lambda: page.player("roundtrip")["scheduledSamples"] > 0, 30, "round-trip audio")
    scheduled = page.player("roundtrip")["scheduledSamples"]
    page.wait(
        lambda: page.player("roundtrip")["playedSamples"] >= scheduled,
        done["groups"] * GROUP_S + 10,
        "the round trip to play to its end",
    )
    return {
        "live": live,
        "done": done,
        "tokens": tokens,
        "wav": base64.b64decode(wav),
        "counts": counts,
        "roundtrip": page.stats("roundtrip"),
        "player": page.player("roundtrip"),
    }


async def test_record_streams_tokens_into_both_lanes_and_plays_the_round_trip(
    page, server, screenshots
) -> None:
    got = await in_browser(record_and_play_back, page, 3.5)
    live, done, tokens = got["live"], got["done"], got["tokens"]
    # Live: groups arrived while the microphone was still recording, in several messages.
    assert live["messages"] >= 2 and live["firstTokensMs"] < 3000, live
    assert done["error"] is None and done["groups"] > live["groups"]

    # Both lanes: 2 linguistic and 3 semantic tokens per 120 ms group, group numbers above.
    groups = done["groups"]
    counts = got["counts"]
    assert counts["ruler"] == groups
    assert counts["linguistic"] == 2 * groups == done["linguistic"]
    assert counts["semantic"] == 3 * groups == done["semantic"]
    assert len(tokens) == 5 * groups
    for g in range(groups):
        ling, sem = tokens[5 * g : 5 * g + 2], tokens[5 * g + 2 : 5 * g + 5]
        assert all(0 <= t < 1024 for t in ling) and all(1024 <= t < 5120 for t in sem)
    ling_lane, sem_lane = counts["lanes"]  # each lane shows its stream's codes, in order
    assert ling_lane == [t for g in range(groups) for t in tokens[5 * g : 5 * g + 2]]
    assert sem_lane == [t - 1024 for g in range(groups) for t in tokens[5 * g + 2 : 5 * g + 5]]
    assert len(set(tokens[2::5])) > 5, "speech, not one repeated token"

    # The recording the page kept (44.1 or 48 kHz PCM16) is what it streamed: unary Tokenize
    # of it gives exactly the tokens the lanes show.
    samples, rate = sf.read(io.BytesIO(got["wav"]))
    assert abs(len(samples) / rate / GROUP_S - groups) <= 1, (len(samples) / rate, groups)
    async with grpc.aio.insecure_channel(server[1]) as channel:
        unary = await tokenizer_pb2_grpc.TokenizerServiceStub(channel).Tokenize(
            tokenizer_pb2.TokenizeRequest(audio=audio_pb2.AudioInput(container=got["wav"])),
            timeout=60,
        )
    assert unary.tokens.group_count == groups
    assert list(unary.tokens.interleaved) == tokens

    # The round trip: Detokenize of all the groups, played to its end through WebAudio.
    rt, player = got["roundtrip"], got["player"]
    assert rt["error"] is None and rt["groups"] == groups
    assert rt["seconds"] == pytest.approx(groups * GROUP_S, abs=0.05)
    assert player["chunks"] == 1 and player["playedSamples"] == player["scheduledSamples"] > 0
    await in_browser(page.screenshot, screenshots, "1-tokenize")


# --- synthesize: streamed playback ---------------------------------------------------------------


def speak(page: Page, text: str) -> None:
    page.open()
    page.js("document.getElementById('synth-text').value = arguments[0]", text)
    page.click("synth-speak")


def speak_to_the_end(page: Page) -> dict:
    speak(
        page,
        "Hello there! This is voxgate, speaking through the demo. "
        "Each clause is played as soon as it arrives.",
    )
    page.wait(lambda: page.player("synth")["chunks"] >= 1, 60, "the first piece")
    first = {"stats": page.stats("synth"), "player": page.player("synth")}
    page.wait(lambda: page.stats("synth")["ended"], 60, "the end of Synthesize")
    page.wait(
        lambda: page.player("synth")["playedSamples"] >= page.stats("synth")["samples"],
        30,
        "playback to the end",
    )
    return {
        "first": first,
        "stats": page.stats("synth"),
        "player": page.player("synth"),
        "words": page.count("#synth-words span"),
        "status": page.text("synth-status"),
    }


async def test_synthesize_plays_pieces_as_they_arrive(page, screenshots) -> None:
    got = await in_browser(speak_to_the_end, page)
    first, stats, player = got["first"], got["stats"], got["player"]
    # Playback began with the first piece, before the last one had been generated.
    assert not first["stats"]["ended"] and first["player"]["chunks"] >= 1
    assert stats["firstAudioMs"] < stats["endMs"], stats
    assert stats["error"] is None and stats["pieces"] >= 2, stats
    assert stats["report"]["engine"] == "reference" and stats["report"]["voice"] == "joe"
    assert player["chunks"] == stats["pieces"]
    assert player["playedSamples"] == player["scheduledSamples"] == stats["samples"] > 0
    assert got["words"] >= 10, "the words, timed, as the engine reports them"
    await in_browser(page.screenshot, screenshots, "2-synthesize")


def clone_and_speak(page: Page, transcript: str) -> dict:
    page.open()
    if not page.js("return window.voxgateDemo.lastRecordingWav() !== null"):
        page.click("rec-start")
        page.wait(lambda: page.stats("tokenize")["groups"] >= 20, 30, "a recording")
        page.click("rec-stop")
    page.js("document.getElementById('clone-box').open = true")
    page.js("document.getElementById('clone-transcript').value = arguments[0]", transcript)
    page.js("document.getElementById('clone-name').value = 'browser test'")
    page.click("clone-button")
    page.wait(lambda: page.stats("clone")["voice"] or page.stats("clone")["error"], 60, "clone")
    voice = page.stats("clone")["voice"]
    assert voice, page.stats("clone")
    selected = page.js("return document.getElementById('synth-voice').value")
    speak(page, "A cloned voice, speaking.")
    page.wait(lambda: page.stats("synth")["ended"] or page.stats("synth")["error"], 60, "speech")
    return {"voice": voice, "selected": selected, "synth": page.stats("synth")}


async def test_a_voice_cloned_from_the_recording_speaks(page) -> None:
    got = await in_browser(clone_and_speak, page, "What is the capital of France?")
    voice = got["voice"]
    assert voice["id"].startswith("v-") and voice["name"] == "browser test"
    assert not voice["builtin"] and float(voice["prompt_seconds"]) > 1.0
    assert got["selected"] == voice["id"], "the new voice is selected for synthesis"
    assert got["synth"]["error"] is None and got["synth"]["report"]["voice"] == voice["id"]
    assert got["synth"]["samples"] > 0


# --- chat: one push-to-talk turn ---------------------------------------------------------------


def push_to_talk_turn(page: Page, hold_s: float) -> dict:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    page.open()
    page.js("document.getElementById('chat-mode').value = 'ptt'")
    page.click("chat-start")
    page.wait(lambda: page.stats("chat")["open"] and page.stats("mic")["pieces"] > 0, 20, "mic")
    talk = page.driver.find_element(By.ID, "chat-talk")
    ActionChains(page.driver).click_and_hold(talk).pause(hold_s).release().perform()
    page.wait(
        lambda: page.stats("chat")["turns"] >= 1 or page.stats("chat")["error"], 120, "a reply"
    )
    page.wait(lambda: page.player("chat")["playedSamples"] > 0, 30, "reply audio played")
    return {
        "stats": page.stats("chat"),
        "player": page.player("chat"),
        "user": page.js("return document.querySelector('.bubble.user .text').textContent"),
        "assistant": page.js(
            "return document.querySelector('.bubble.assistant .text').textContent"
        ),
        "meta": page.js("return document.querySelector('.bubble.assistant .meta').textContent"),
    }


async def test_push_to_talk_turn_gets_a_transcript_a_reply_and_its_audio(
    page, question_wav, screenshots
) -> None:
    # Hold for two loops of the fake microphone's file, so that the turn has the whole
    # question whatever point of the loop it starts at.
    loop_s = sf.info(str(question_wav)).duration
    got = await in_browser(push_to_talk_turn, page, 2 * loop_s + 0.3)
    stats = got["stats"]
    assert stats["error"] is None and stats["turns"] == 1, stats
    events = stats["events"]
    assert "speech_started" not in events, "push-to-talk: no server VAD"
    assert events.index("transcript") < events.index("text_delta") < events.index("turn_end")
    heard = stats["transcripts"][-1].lower()
    assert "capital" in heard and "france" in heard, heard
    assert got["user"] == stats["transcripts"][-1]
    reply = stats["replies"][0]
    assert reply and got["assistant"] == reply
    assert "first audio" in got["meta"] and "tokens" in got["meta"]
    assert stats["audioPieces"] >= 1 and got["player"]["playedSamples"] > 0
    # Cosmetic, for the picture: scroll the lanes to the recording's busiest stretch.
    await in_browser(
        page.js,
        "const t = window.voxgateDemo.tokens.interleaved, n = t.length / 5, w = 9;"
        "let best = 0, most = -1;"
        "for (let g = 0; g + w <= n; g++) {"
        "  const k = new Set(t.slice(5 * g, 5 * (g + w))).size;"
        "  if (k > most) { most = k; best = g; } }"
        "document.getElementById('lane-scroll').scrollLeft = best * 90;",
    )
    path = await in_browser(page.screenshot, screenshots, "3-chat")
    if target := os.environ.get("VOXGATE_DEMO_SCREENSHOT"):
        shutil.copyfile(path, target)
    await in_browser(page.click, "chat-stop")


# --- upload a file ------------------------------------------------------------------------------


def upload(page: Page, path: Path) -> dict:
    from selenium.webdriver.common.by import By

    page.open()
    page.driver.find_element(By.ID, "file-input").send_keys(str(path))
    page.wait(
        lambda: page.stats("tokenize")["ended"] or page.stats("tokenize")["error"], 30, "tokens"
    )
    return {
        "stats": page.stats("tokenize"),
        "tokens": page.js("return window.voxgateDemo.tokens.interleaved"),
        "semantic": page.count("#lane-semantic .tok"),
        "status": page.text("tok-status"),
    }


async def test_an_uploaded_file_streams_its_tokens_into_the_lanes(
    page, question_wav, server, screenshots
) -> None:
    got = await in_browser(upload, page, question_wav)
    stats = got["stats"]
    assert stats["error"] is None and stats["messages"] >= 2, stats
    async with grpc.aio.insecure_channel(server[1]) as channel:
        unary = await tokenizer_pb2_grpc.TokenizerServiceStub(channel).Tokenize(
            tokenizer_pb2.TokenizeRequest(
                audio=audio_pb2.AudioInput(container=question_wav.read_bytes())
            ),
            timeout=60,
        )
    assert got["tokens"] == list(unary.tokens.interleaved)  # the file as it is: exact
    assert got["semantic"] == 3 * unary.tokens.group_count
    assert question_wav.name in got["status"]
    await in_browser(page.screenshot, screenshots, "4-upload")


# --- chat: hands-free, barge-in by voice -------------------------------------------------------


def speak_file(page: Page, path: Path) -> None:
    from selenium.webdriver.common.by import By

    page.driver.find_element(By.ID, "chat-file").send_keys(str(path))


def hands_free_barge_in(page: Page, first: Path, second: Path, screenshots: Path) -> dict:
    page.open(fresh=True)
    page.js("document.getElementById('chat-mode').value = 'vad'")
    page.click("chat-start")
    page.wait(lambda: page.stats("chat")["open"] and page.stats("mic")["pieces"] > 0, 20, "mic")
    speak_file(page, first)
    page.wait(lambda: "text_delta" in page.stats("chat")["events"], 90, "the reply to begin")
    speak_file(page, second)  # while the assistant replies
    page.wait(
        lambda: any(e[:2] == ["turn_end", 1] for e in page.stats("chat")["timeline"]),
        120,
        "the reply to the second question",
    )
    page.wait(lambda: page.player("chat")["chunks"] > 0, 30, "reply audio")
    got = {
        "stats": page.stats("chat"),
        "meta": page.js(
            "return [...document.querySelectorAll('.bubble.assistant .meta')]"
            ".map(e => e.textContent)"
        ),
        "talk_disabled": page.js("return document.getElementById('chat-talk').disabled"),
    }
    page.screenshot(screenshots, "5-hands-free")
    page.click("chat-stop")
    return got


async def test_hands_free_turns_end_by_vad_and_speaking_interrupts_the_reply(
    page_quiet, long_question_wav, question_wav, screenshots
) -> None:
    # A silent microphone, and two questions spoken from files ("speak a file"): the second
    # while the assistant is still replying to the first, which asks for a long answer (a
    # short one can end before the second question's onset: CI saw that race).
    got = await in_browser(
        hands_free_barge_in, page_quiet, long_question_wav, question_wav, screenshots
    )
    stats = got["stats"]
    assert stats["error"] is None and got["talk_disabled"], "no push-to-talk in this mode"
    timeline = [tuple(e) for e in stats["timeline"]]
    first = timeline[: timeline.index(("speech_started", 1, False))]
    kinds = [kind for kind, _, _ in first]
    # The server's VAD found the turn's start and end; then the final transcript, the reply.
    assert kinds[0] == "speech_started" and "speech_stopped" in kinds, timeline
    assert kinds.index("speech_stopped") < kinds.index("text_delta"), timeline
    # Barge-in by voice (the page sent no `interrupt`): reply 0 ended `interrupted`, right
    # before the onset of the turn that cut it off.
    assert first[-1] == ("turn_end", 0, True), timeline
    assert len(stats["transcripts"]) == 2, stats["transcripts"]
    assert all("capital" in t.lower() for t in stats["transcripts"]), stats["transcripts"]
    assert stats["interrupted"] == 1 and "interrupted" in got["meta"][0], got["meta"]
    assert ("turn_end", 1, False) in timeline and stats["replies"][1], stats["replies"]
    assert stats["filesSpoken"] == 2 and stats["audioPieces"] > 0


# --- closing the page cancels the gRPC calls -----------------------------------------------------


async def inference_count(triton, model: str) -> float:
    found = await triton_metrics(triton.metrics_url, "nv_inference_count")
    return sum(v for k, v in found.items() if f'model="{model}"' in k)


def start_recording(page: Page) -> dict:
    page.open(fresh=True)
    page.click("rec-start")
    page.wait(lambda: page.stats("tokenize")["groups"] >= 3, 20, "live tokens")
    return page.stats("tokenize")


async def test_closing_the_page_cancels_stream_tokenize(page, triton) -> None:
    await in_browser(start_recording, page)
    assert gauge("voxgate_active_token_streams") == 1
    await in_browser(page.driver.get, "about:blank")  # the browser closes the socket
    for _ in range(100):
        if gauge("voxgate_active_token_streams") == 0:
            break
        await asyncio.sleep(0.1)
    assert gauge("voxgate_active_token_streams") == 0, "StreamTokenize still running"
    before = await inference_count(triton, "tokenize")
    await asyncio.sleep(1.0)
    assert await inference_count(triton, "tokenize") == before, "Triton still gets its audio"


async def chat_state(triton) -> dict[str, float]:
    """Conversation state: the façade's gauge and what Triton's models hold."""
    out = {"voxgate_active_chats": gauge("voxgate_active_chats")}
    for prefix, name in (
        ("voxgate_vad_", "voxgate_vad_active_sequences"),
        ("voxgate_asr_", "voxgate_asr_active_sequences"),
        ("voxgate_llm_", "voxgate_llm_active_requests"),
        ("voxgate_tts_", "voxgate_tts_active_requests"),
    ):
        found = await triton_metrics(triton.metrics_url, prefix)
        out[name] = sum(v for k, v in found.items() if k.split("{")[0] == name)
    return out


def start_hands_free(page: Page) -> dict:
    page.open(fresh=True)
    page.js("document.getElementById('chat-mode').value = 'vad'")
    page.click("chat-start")
    page.wait(
        lambda: "speech_started" in page.stats("chat")["events"], 30, "the server's VAD onset"
    )
    return page.stats("chat")


async def wait_freed(triton, within_s: float = 15.0) -> dict[str, float]:
    deadline = time.monotonic() + within_s
    while any((state := await chat_state(triton)).values()) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    return state


async def test_closing_the_page_frees_the_conversation(page, triton) -> None:
    assert not any((await wait_freed(triton)).values()), "earlier conversations still held"
    await in_browser(start_hands_free, page)
    held = await chat_state(triton)
    assert held["voxgate_active_chats"] == 1 and held["voxgate_vad_active_sequences"] >= 1, held
    await in_browser(page.driver.get, "about:blank")
    state = await wait_freed(triton)
    assert not any(state.values()), f"state left after the page closed: {state}"


def speak_then_stop(page: Page) -> dict:
    text = " ".join(f"This is sentence number {n} of a long text to speak." for n in range(1, 30))
    speak(page, text)
    page.wait(lambda: page.stats("synth")["pieces"] >= 1, 60, "the first piece")
    page.click("synth-stop")
    return page.stats("synth")


async def test_stop_cancels_synthesize(page, triton) -> None:
    await in_browser(page.open, True)
    stats = await in_browser(speak_then_stop, page)
    assert not stats["ended"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        tts = await triton_metrics(triton.metrics_url, "voxgate_tts_active_requests")
        if gauge("voxgate_active_syntheses") == 0 and not any(tts.values()):
            break
        await asyncio.sleep(0.1)
    assert gauge("voxgate_active_syntheses") == 0, "Synthesize still running"
    assert not any(tts.values()), f"tts_generator still generating: {tts}"
    await asyncio.sleep(1.0)
    assert not (await in_browser(page.stats, "synth"))["ended"], "the call was not cancelled"
