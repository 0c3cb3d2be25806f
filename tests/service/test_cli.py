"""The `voxgate` command against the live test server: health, tokenize batches, pipes,
synthesize, voices and chat."""

from __future__ import annotations

import asyncio
import json
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
    assert missing.returncode == 7 and "NOT_FOUND" in missing.stderr
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


def _speech(path, text: str) -> None:
    from voxgate.reference import corpus

    sf.write(path, corpus.synthesize_flite(text, "slt"), 16000)


async def test_health_answers_for_the_server_and_each_service(server):
    address = server[1]
    done = await asyncio.to_thread(_voxgate, "health", "--address", address)
    assert done.returncode == 0 and done.stdout.strip() == f"{address} server: SERVING"
    chat = await asyncio.to_thread(
        _voxgate, "health", "--service", "voxgate.v1.ChatService", "--address", address
    )
    assert chat.returncode == 0 and chat.stdout.strip().endswith("SERVING")
    unknown = await asyncio.to_thread(
        _voxgate, "health", "--service", "voxgate.v1.Nope", "--address", address
    )
    assert unknown.returncode == 7, unknown.stderr
    assert unknown.stderr.startswith("voxgate: NOT_FOUND") and unknown.stderr.count("\n") == 1


async def test_a_batch_goes_past_bad_files_in_input_order(server, tmp_path):
    """Good, missing, corrupt, empty-folder and good inputs: the good ones are tokenized in
    order, each failure is one summary line, the exit status says some failed."""
    first, last = tmp_path / "a.wav", tmp_path / "e.wav"
    _speech(first, "One two three.")
    _speech(last, "Four five six seven.")
    corrupt = tmp_path / "c.wav"
    corrupt.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" + bytes(100))
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = tmp_path / "b.wav"
    argv = ("tokenize", "-j", "3", str(first), str(missing), str(corrupt), str(empty), str(last))
    done = await asyncio.to_thread(_voxgate, *argv, "--address", server[1])
    assert done.returncode == 1, done.stderr
    headers = [line for line in done.stdout.splitlines() if line.startswith("#")]
    assert [h.split(":")[0] for h in headers] == [f"# {first}", f"# {last}"]
    ids = done.stdout.splitlines()[1].split()
    assert len(ids) % 5 == 0 and all(x.isdigit() for x in ids)
    err = done.stderr.splitlines()
    assert err[0] == "voxgate tokenize: 2 done, 3 failed:"
    assert f"{missing}: no such file" in err[1]
    assert str(corrupt) not in err[2] and err[2].strip().startswith("INVALID_ARGUMENT")
    assert f"{empty}: a folder with no audio files in it" in err[3]
    assert "Traceback" not in done.stderr and "[" not in done.stderr  # no progress bar piped

    # A folder stands for its audio files; --json gives one line per input, errors included.
    as_json = await asyncio.to_thread(
        _voxgate, "tokenize", "--json", str(tmp_path), str(missing), "--address", server[1]
    )
    lines = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(first), str(corrupt), str(last), str(missing)]
    assert [("error" in line) for line in lines] == [False, True, False, True]
    assert lines[3]["error"]["kind"] == "NO_INPUT" and as_json.returncode == 1
    assert lines[1]["error"]["message"].startswith("INVALID_ARGUMENT")


async def test_a_single_bad_input_exits_with_its_own_status(server, tmp_path):
    corrupt = tmp_path / "c.flac"
    corrupt.write_bytes(b"fLaC" + bytes(64))
    done = await asyncio.to_thread(_voxgate, "tokenize", str(corrupt), "--address", server[1])
    assert done.returncode == 7 and done.stderr.startswith("voxgate: INVALID_ARGUMENT")
    assert done.stderr.count("\n") == 1 and done.stdout == ""
    out_of_range = tmp_path / "ids.txt"
    out_of_range.write_text("1 2 99999 4 5")
    bad = await asyncio.to_thread(
        _voxgate,
        "detokenize",
        str(out_of_range),
        "-o",
        str(tmp_path / "x.wav"),
        "--address",
        server[1],
    )
    assert bad.returncode == 7 and "Traceback" not in bad.stderr, bad.stderr
    good = tmp_path / "good.txt"
    good.write_text("1 2 1030 1031 1032")
    unwritable = await asyncio.to_thread(
        _voxgate,
        "detokenize",
        str(good),
        "-o",
        str(tmp_path / "no" / "x.wav"),
        "--address",
        server[1],
    )
    assert unwritable.returncode == 5 and "cannot write" in unwritable.stderr


async def test_output_into_a_closed_pipe_ends_quietly(server):
    """`voxgate info | true`: the reader is gone before the answer comes (as with `| head`)."""
    done = await asyncio.to_thread(
        subprocess.run,
        f"{sys.executable} -m voxgate.cli info --address {server[1]} | true; "
        "echo status=${PIPESTATUS[0]}",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.strip() == "status=141", (done.stdout, done.stderr)
    assert done.stderr == "", done.stderr
