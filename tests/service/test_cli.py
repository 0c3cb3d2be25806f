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
