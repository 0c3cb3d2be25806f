"""voxgate.launcher and `voxgate with-server`: exit codes, VOXGATE_ADDR, start failures, cleanup.

Tests marked `triton` start a real `voxgate serve` (embedded Triton); the others either use
VOXGATE_ADDR (no server at all) or a `voxgate serve` that exits on bad settings before it would
start Triton.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from voxgate import cli, launcher
from voxgate.client import VoxgateClient

from tests.conftest import speechlike, wav_bytes

VOXGATE = [sys.executable, "-m", "voxgate.cli"]


def pid_gone(pid: int) -> bool:
    """True when no such process runs (a zombie waiting to be reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in {"Z", "X"}


def wait_gone(pid: int, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not pid_gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def group_members(pgid: int) -> list[int]:
    """Live processes in process group `pgid` (the launcher gives each server its own)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in {"Z", "X"}:
            pids.append(int(stat.parent.name))
    return pids


def env_without_addr(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "VOXGATE_ADDR"}
    return {**env, **extra}


# --- with-server against an existing server (VOXGATE_ADDR set): nothing is started ------------


def test_with_server_uses_a_given_address_and_passes_the_exit_code_through(monkeypatch, capfd):
    monkeypatch.setenv("VOXGATE_ADDR", "192.0.2.1:4242")
    script = "import os, sys; print('addr', os.environ['VOXGATE_ADDR']); sys.exit(7)"
    assert cli.main(["with-server", "--", sys.executable, "-c", script]) == 7
    assert "addr 192.0.2.1:4242" in capfd.readouterr().out


def test_with_server_exit_zero_and_signal_statuses(monkeypatch):
    monkeypatch.setenv("VOXGATE_ADDR", "192.0.2.1:4242")
    assert cli.main(["with-server", "--", sys.executable, "-c", "pass"]) == 0
    kill_self = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    assert cli.main(["with-server", "--", sys.executable, "-c", kill_self]) == 128 + 9


def test_with_server_needs_a_command(monkeypatch, capfd):
    monkeypatch.setenv("VOXGATE_ADDR", "192.0.2.1:4242")
    assert cli.main(["with-server", "--"]) == 2
    assert "no COMMAND" in capfd.readouterr().err


def test_with_server_missing_command(monkeypatch, capfd):
    monkeypatch.setenv("VOXGATE_ADDR", "192.0.2.1:4242")
    assert cli.main(["with-server", "--", "/nonexistent/voxgate-test-command"]) == 127
    assert "cannot run" in capfd.readouterr().err


def test_serve_options_are_handed_on_to_serve(monkeypatch):
    parser_args = [
        "with-server",
        "--start-timeout",
        "5",
        "--log-level",
        "warning",
        "--no-log-json",
        "--chunk-groups",
        "20",
        "--",
        "true",
    ]
    seen = {}

    def fake_run(args):
        seen["serve"] = cli._serve_argv(args)
        seen["timeout"] = args.start_timeout
        return 0

    monkeypatch.setattr(cli, "_with_server", fake_run)
    assert cli.main(parser_args) == 0
    assert seen["timeout"] == 5.0
    assert seen["serve"] == ["--chunk-groups=20", "--log-level=warning", "--no-log-json"]


# --- a `voxgate serve` that fails before it is ready ---------------------------------------------


def test_launcher_reports_a_server_that_exits_with_its_log_tail(tmp_path):
    log = tmp_path / "serve.log"
    with pytest.raises(launcher.ServerStartError) as info:
        launcher.start("--model-config-name", "bogus", start_timeout_s=60, log_path=log)
    assert "exited with status" in str(info.value)
    assert "model_config_name 'bogus'" in info.value.log_tail
    assert log.exists()  # a log_path of the caller's is kept


def test_with_server_fails_with_125_and_the_log_when_the_server_does_not_start():
    proc = subprocess.run(
        [*VOXGATE, "with-server", "--model-config-name", "bogus", "--", "true"],
        env=env_without_addr(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == cli.WITH_SERVER_START_FAILED
    assert "before it was ready" in proc.stderr
    assert "model_config_name 'bogus'" in proc.stderr


# --- real servers (embedded Triton) ----------------------------------------------------------


@pytest.mark.triton
def test_local_server_is_ready_on_entry_and_gone_on_exit():
    with launcher.local_server("--log-level", "warning") as server:
        assert re.fullmatch(r"127\.0\.0\.1:\d+", server.address)
        assert server.port == int(server.address.rsplit(":", 1)[1]) > 0
        assert server.running
        with VoxgateClient(server.address, timeout_s=60) as client:
            reply = client.tokenize(wav_bytes(speechlike(1.2), 16000))
        assert reply.tokens.group_count == 10
    assert server.stopped_cleanly, server.log_tail()
    assert server.returncode == 0
    assert wait_gone(server.pid)


@pytest.mark.triton
def test_launcher_start_timeout_stops_the_server():
    with pytest.raises(launcher.ServerStartError, match=r"not ready after 0\.5 s") as info:
        launcher.start("--log-level", "info", start_timeout_s=0.5)
    assert info.value.pid and wait_gone(info.value.pid)
    assert not group_members(info.value.pid)  # its Triton too


@pytest.mark.triton
@pytest.mark.slow
def test_with_server_runs_the_command_against_a_fresh_server():
    script = (
        "import os, sys\n"
        "from voxgate.client import VoxgateClient\n"
        "with VoxgateClient(os.environ['VOXGATE_ADDR'], timeout_s=60) as c:\n"
        "    assert c.server_info().token_spec.vocabulary_size == 5120\n"
        "sys.exit(3)\n"
    )
    proc = subprocess.run(
        [*VOXGATE, "with-server", "--log-level", "warning", "--", sys.executable, "-c", script],
        env=env_without_addr(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 3, proc.stderr
    pid = int(re.search(r"\(pid (\d+)\)", proc.stderr).group(1))
    assert wait_gone(pid)


@pytest.mark.triton
@pytest.mark.slow
def test_with_server_on_sigterm_stops_the_command_and_the_server(tmp_path):
    marker = tmp_path / "command-started"
    script = (
        "import pathlib, sys, time\n"
        f"pathlib.Path({str(marker)!r}).write_text('x')\n"
        "time.sleep(120)\n"
    )
    proc = subprocess.Popen(
        [*VOXGATE, "with-server", "--log-level", "warning", "--", sys.executable, "-c", script],
        env=env_without_addr(),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240
        while not marker.exists():
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the command never started"
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = proc.stderr.read()
    pid = int(re.search(r"\(pid (\d+)\)", stderr).group(1))
    assert wait_gone(pid), stderr


def test_a_fresh_server_gets_private_state_unless_told_otherwise():
    from voxgate.launcher import _names_state

    assert not _names_state((), {})
    assert _names_state(("--data-dir", "/x"), {})
    assert _names_state(("--voices-db=/x/v.db",), {})
    assert _names_state((), {"VOXGATE_DATA_DIR": "/x"})
