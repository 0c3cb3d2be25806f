"""The `voxgate` command against the live test server: synthesize and voices."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
import soundfile as sf

pytestmark = pytest.mark.triton


def _voxgate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "voxgate.cli", *args], capture_output=True, text=True, timeout=120
    )


async def test_synthesize_writes_a_wav_and_voices_round_trip(server, tmp_path):
    address = server[1]
    out = tmp_path / "out.wav"
    done = await asyncio.to_thread(
        _voxgate,
        "synthesize",
        "Hello there, this is voxgate.",
        "-o",
        str(out),
        "--address",
        address,
    )
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and "voice joe" in done.stdout
    audio, rate = sf.read(out)
    assert rate == 16000 and 1.0 < len(audio) / rate < 5.0

    styled = await asyncio.to_thread(
        _voxgate,
        "synthesize",
        "Hi.",
        "-o",
        str(tmp_path / "s.wav"),
        "--style",
        "happily",
        "--address",
        address,
    )
    assert styled.returncode == 0 and "not applied: emotion=happy" in styled.stderr

    created = await asyncio.to_thread(
        _voxgate,
        "voices",
        "create",
        str(out),
        "--transcript",
        "Hello there, this is voxgate.",
        "--name",
        "Echo",
        "--address",
        address,
    )
    assert created.returncode == 0, created.stderr
    voice_id = created.stdout.strip()
    listed = await asyncio.to_thread(_voxgate, "voices", "--address", address)
    assert "joe" in listed.stdout and voice_id in listed.stdout
    deleted = await asyncio.to_thread(_voxgate, "voices", "delete", voice_id, "--address", address)
    assert deleted.returncode == 0
    missing = await asyncio.to_thread(_voxgate, "voices", "delete", voice_id, "--address", address)
    assert missing.returncode == 2 and "NOT_FOUND" in missing.stderr
    assert "Traceback" not in missing.stderr


async def test_chat_answers_a_spoken_question_and_a_text_repl(server, tmp_path):
    from voxgate.reference import corpus

    question = tmp_path / "question.wav"
    sf.write(question, corpus.synthesize_flite("What is the capital of France?", "slt"), 16000)
    reply = tmp_path / "reply.wav"
    common = ("--max-tokens", "24", "--temperature", "0", "--address", server[1])
    done = await asyncio.to_thread(
        _voxgate, "chat", "--audio", str(question), "-o", str(reply), *common
    )
    assert done.returncode == 0, done.stderr
    said = done.stdout.splitlines()[0].lower()
    assert said.startswith("you said:") and "capital" in said and "france" in said
    assert done.stdout.splitlines()[1].startswith("assistant: ") and len(done.stdout) > 40
    audio, rate = sf.read(reply)
    assert len(audio) / rate > 0.3 and "latency: transcript" in done.stderr

    repl = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "voxgate.cli", "chat", "-o", str(tmp_path / "r.wav"), *common],
        input="Hello!\nRemember the word banana.\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert repl.returncode == 0, repl.stderr
    assert repl.stdout.count("assistant: ") == 2
    assert (tmp_path / "r-0.wav").exists() and (tmp_path / "r-1.wav").exists()
