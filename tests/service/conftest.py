"""A real embedded tritonserver and a real grpc.aio voxgate server on port 0, per session."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import urllib.request
from pathlib import Path

import grpc
import pytest
from voxgate.config import Settings, default_model_repository
from voxgate.model_names import ENSEMBLES, ONNX_MODELS
from voxgate.runtime import EmbeddedTriton
from voxgate.server import create_server
from voxgate.triton import TritonModels

MODEL_REPOSITORY = Path(os.environ.get("VOXGATE_TEST_MODEL_REPOSITORY", default_model_repository()))
TEST_MODELS = Path(__file__).resolve().parents[1] / "triton_models"  # e.g. stream_probe
MAX_AUDIO_SECONDS = 40.0
MAX_REQUEST_BYTES = 4 * 1024 * 1024
CHUNK_GROUPS = 20  # small, so that ~2.4 s of audio already spans several Triton requests


def _models_present() -> bool:
    return all((MODEL_REPOSITORY / m / "1" / "model.onnx").exists() for m in ONNX_MODELS)


def test_repository(root: Path) -> Path:
    """voxgate's repository (linked, read-only) plus fresh copies of the test-only models."""
    root.mkdir(parents=True, exist_ok=True)
    for entry in MODEL_REPOSITORY.iterdir():
        (root / entry.name).symlink_to(entry)
    for model in TEST_MODELS.iterdir():
        if (model / "config.pbtxt").exists():
            shutil.copytree(model, root / model.name, ignore=shutil.ignore_patterns("*.jsonl"))
    return root


test_repository.__test__ = False  # a helper, not a test


@pytest.fixture(scope="session")
def model_repository(tmp_path_factory) -> Path:
    if not _models_present():
        pytest.fail(f"reference models missing in {MODEL_REPOSITORY}: run `voxgate models build`")
    return test_repository(tmp_path_factory.mktemp("repository") / "models")


async def wait_until_ready(
    client: TritonModels, models: tuple[str, ...], runtime: EmbeddedTriton, what: str = ""
) -> None:
    """Polls Triton through `client` until it serves `models` (two minutes at most); else fails
    with `what` (the models' names by default) and the tail of `runtime`'s log."""
    for _ in range(240):
        if await client.ready(models):
            return
        await asyncio.sleep(0.5)
    pytest.fail(f"{what or ', '.join(models)} not ready:\n" + runtime.log_tail())


@contextlib.asynccontextmanager
async def running_triton(repository: Path, run_dir: Path, models: tuple[str, ...] = ENSEMBLES):
    """An embedded Triton on `repository`, ready to serve `models`; stopped on exit."""
    runtime = EmbeddedTriton(repository, "cpu", run_dir)
    await runtime.start()
    try:
        client = TritonModels(runtime.url, 30.0)
        try:
            await wait_until_ready(client, models, runtime, "embedded Triton")
        finally:
            await client.close()
        yield runtime
    finally:
        await runtime.stop()


async def triton_metrics(metrics_url: str, prefix: str) -> dict[str, float]:
    """Triton's Prometheus text at `metrics_url` -> {'name{labels}': value} for the series
    whose names start with `prefix` (e.g. "voxgate_tts_")."""
    text = await asyncio.to_thread(
        lambda: urllib.request.urlopen(metrics_url, timeout=5).read().decode()
    )
    found = re.findall(rf"^({re.escape(prefix)}\w+(?:\{{[^}}]*\}})?) (\S+)$", text, re.M)
    return {name: float(value) for name, value in found}


@pytest.fixture(scope="session")
async def triton(tmp_path_factory, model_repository):
    async with running_triton(model_repository, tmp_path_factory.mktemp("triton")) as runtime:
        yield runtime


@pytest.fixture(scope="session")
def settings(tmp_path_factory) -> Settings:
    return Settings(
        voices_db=tmp_path_factory.mktemp("data") / "voices.sqlite3",
        host="127.0.0.1",
        port=0,
        max_audio_seconds=MAX_AUDIO_SECONDS,
        max_request_bytes=MAX_REQUEST_BYTES,
        chunk_groups=CHUNK_GROUPS,
        decode_chunk_groups=7,
        health_poll_s=0.2,
        max_detokenize_tokens=5 * 400,
        # Tests run many streams at once for correctness, not in real time: the default cap
        # (4 per core) is what bench/admission.py measures; test_admission sets its own.
        max_streams=64,
    )


@pytest.fixture(scope="session")
async def server(triton, settings):
    srv, port = create_server(settings, triton.url)
    srv.follow(triton)  # NOT_SERVING as soon as its process exits
    await srv.start()
    await asyncio.wait_for(srv.serving.wait(), 60)
    yield srv, f"127.0.0.1:{port}"
    await srv.stop(grace=1.0)


@pytest.fixture(scope="session")
async def channel(server):
    _, address = server
    # The client may send more than the server accepts, to test the server's limit.
    ch = grpc.aio.insecure_channel(
        address,
        options=[
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
        ],
    )
    yield ch
    await ch.close()
