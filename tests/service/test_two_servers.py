"""Two `voxgate serve` instances side by side, each with its own embedded Triton.

Both start at once with the default run directory (under one temporary XDG_CACHE_HOME, so the
test leaves the user's ~/.cache alone but the two instances still share what they share by
default), give the same tokens, and stopping the first leaves the second fully working.
"""

from __future__ import annotations

import contextlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from voxgate import launcher
from voxgate.client import VoxgateClient

from tests.conftest import speechlike, wav_bytes

pytestmark = [pytest.mark.triton, pytest.mark.slow]

SERVING = health_pb2.HealthCheckResponse.SERVING
SERVE_ARGS = ("--log-level", "info", "--health-poll-s", "0.2")


def _processes() -> dict[int, int]:
    """Live processes -> their parent."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] not in {"Z", "X"}:
            parents[int(stat.parent.name)] = int(fields[1])
    return parents


def family(pid: int) -> list[int]:
    """`pid` and its live descendants: the server, its embedded Triton and Triton's stubs."""
    parents = _processes()
    found, frontier = [pid] if pid in parents else [], [pid]
    while frontier:
        children = [c for c, p in parents.items() if p in frontier]
        found += children
        frontier = children
    return found


def wait_gone(pids: list[int], timeout_s: float = 15.0) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while (left := [p for p in pids if p in _processes()]) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def health(address: str) -> int:
    with grpc.insecure_channel(address) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=10
        )
    return reply.status


def tokens(address: str, audio: bytes) -> list[int]:
    with VoxgateClient(address, timeout_s=60) as client:
        return list(client.tokenize(audio, include_text=True).tokens.interleaved)


def test_two_instances_side_by_side(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "VOXGATE_ADDR"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    audio = wav_bytes(speechlike(2.4, seed=7), 16000)

    with contextlib.ExitStack() as stack, ThreadPoolExecutor(2) as pool:
        # Start both at once: concurrent start-up must not trip over shared files either.
        futures = [
            pool.submit(
                launcher.start,
                *SERVE_ARGS,
                env=env,
                log_path=tmp_path / f"server-{i}.log",
                start_timeout_s=240,
            )
            for i in (1, 2)
        ]
        servers = []
        for future in futures:
            try:
                server = future.result()
            except launcher.ServerStartError:
                for other in futures:  # stop the one that did start, then fail
                    if other is not future and other.exception() is None:
                        other.result().stop()
                raise
            stack.callback(server.stop)
            servers.append(server)
        first, second = servers
        assert first.port != second.port
        members = {s.pid: family(s.pid) for s in servers}
        assert all(len(m) >= 3 for m in members.values()), f"no Triton or stubs seen: {members}"

        expected = tokens(first.address, audio)
        assert len(expected) == 5 * 20
        assert tokens(second.address, audio) == expected
        assert health(first.address) == health(second.address) == SERVING

        # Stop the first: it exits cleanly and takes its Triton and the stubs with it.
        members[first.pid] = family(first.pid)
        assert first.stop() == 0, first.log_tail()
        assert first.stopped_cleanly
        left = wait_gone(members[first.pid])
        assert not left, f"left over from the first: {left}"

        # The second is unaffected: give its health poll a few rounds to notice any damage.
        time.sleep(2.0)
        assert second.running, second.log_tail()
        assert health(second.address) == SERVING
        assert tokens(second.address, audio) == expected, second.log_tail()

        members[second.pid] = family(second.pid)
        assert second.stop() == 0, second.log_tail()
        assert second.stopped_cleanly
        assert not wait_gone(members[second.pid]), "left over from the second"
