"""Several real tritonservers behind one façade (`--triton-url a,b`): calls are balanced over
the ready replicas; when one is killed under load, no call fails (unary calls that were on it
are retried on the other), and once its supervisor has restarted it, it is probed back in and
takes calls again. Prints the failover figures."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import time
from pathlib import Path

import grpc
import numpy as np
import pytest
from voxgate import model_names as names
from voxgate.errors import ModelUnavailable
from voxgate.replicas import parse_endpoints, resolve
from voxgate.server import create_server
from voxgate.triton import TritonModels
from voxgate.v1 import audio_pb2, tokenizer_pb2, tokenizer_pb2_grpc

from tests.conftest import speechlike, wav_bytes
from tests.service.conftest import MODEL_REPOSITORY, running_triton

pytestmark = pytest.mark.triton
MODELS = (*names.ENSEMBLES, *names.ONNX_MODELS, names.VAD)
READY = (*names.ENSEMBLES, names.VAD)
SILENCE = {"audio": np.zeros((1, 1024), np.float32)}
VAD_OUT = ("speech_prob", "first_frame")


def test_endpoints_and_names_resolving_to_several_addresses():
    assert parse_endpoints("a:1, [::1]:2") == [("a", 1), ("::1", 2)]
    with pytest.raises(ValueError, match="host:port"):
        parse_endpoints("nohost")
    assert resolve([("127.0.0.1", 5), ("localhost", 6)])[0] == "127.0.0.1:5"
    assert "127.0.0.1:6" in resolve([("localhost", 6)])


@pytest.fixture
def small_repository(tmp_path: Path) -> Path:
    repo = tmp_path / "models"
    repo.mkdir()
    for model in MODELS:
        (repo / model).symlink_to(MODEL_REPOSITORY / model)
    return repo


async def test_a_replica_killed_under_load(small_repository, tmp_path, settings):
    audio = audio_pb2.AudioInput(container=wav_bytes(speechlike(1.2), 16000))
    request = tokenizer_pb2.TokenizeRequest(audio=audio)
    async with (
        running_triton(small_repository, tmp_path / "a", READY) as a,
        running_triton(small_repository, tmp_path / "b", READY) as b,
    ):
        fast = dataclasses.replace(settings, port=0, health_poll_s=0.2)
        srv, port = create_server(fast, f"{a.url},{b.url}")
        await srv.start()
        await asyncio.wait_for(srv.serving.wait(), 30)
        calls: list[tuple[float, float, grpc.StatusCode]] = []
        stop = asyncio.Event()

        async def worker(stub) -> None:
            while not stop.is_set():
                t0 = time.monotonic()
                try:
                    await stub.Tokenize(request, timeout=20)
                    code = grpc.StatusCode.OK
                except grpc.aio.AioRpcError as err:
                    code = err.code()
                calls.append((t0, time.monotonic(), code))

        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = tokenizer_pb2_grpc.TokenizerServiceStub(channel)
                workers = [asyncio.create_task(worker(stub)) for _ in range(4)]
                await asyncio.sleep(2.0)
                replica_a = srv.models.replicas[a.url]
                assert replica_a.calls > 0 and srv.models.replicas[b.url].calls > 0
                # A VAD sequence (state in Triton) that lives on replica a.
                vad = srv.models.sequence_model(names.VAD)
                for sequence in range(1, 5):
                    await vad.infer(sequence, SILENCE, VAD_OUT, start=True)
                    if srv.models._sticky[(names.VAD, sequence)] is replica_a:
                        break
                    await vad.infer(sequence, SILENCE, VAD_OUT, end=True)  # on b: end it
                killed = time.monotonic()
                os.kill(a.pid, signal.SIGKILL)  # its supervisor restarts it after ~1 s
                with pytest.raises(ModelUnavailable):  # its state died with the replica
                    await vad.infer(sequence, SILENCE, VAD_OUT)
                fresh = await vad.infer(99, SILENCE, VAD_OUT, start=True, end=True)
                assert fresh["speech_prob"].shape == (1, 2)  # a new one goes to replica b
                probe = TritonModels(a.url, 5.0)
                try:
                    while not await probe.ready(names.ENSEMBLES):
                        assert time.monotonic() - killed < 120, "replica a never came back"
                        await asyncio.sleep(0.1)
                finally:
                    await probe.close()
                back = time.monotonic()
                calls_when_back = replica_a.calls
                await asyncio.sleep(3.0)
                stop.set()
                await asyncio.gather(*workers)
        finally:
            await srv.stop(grace=1.0)

    failed = [c for c in calls if c[2] != grpc.StatusCode.OK]
    before = [c for c in calls if c[1] < killed]
    during = [c for c in calls if killed <= c[0] and c[1] < back]
    after = [c for c in calls if c[0] >= back + 0.5]
    rate = lambda cs, span: len(cs) / span if span > 0 else 0.0  # noqa: E731
    print(
        f"\nfailover: {len(calls)} calls, {len(failed)} failed; replica back after "
        f"{back - killed:.1f} s; calls/s before {rate(before, 2.0):.1f}, while one replica "
        f"was down {rate(during, back - killed):.1f}, after {rate(after, 2.5):.1f}; "
        f"replica a took {replica_a.calls - calls_when_back} calls after its return"
    )
    assert not failed, failed
    assert replica_a.calls > calls_when_back, "the restarted replica was not probed back in"
