"""Two embedded tritonservers side by side under one run_dir: each has its own folder, both
answer, and stopping one leaves the other serving."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc.aio as triton_aio
from tritonclient.grpc import InferInput
from voxgate.config import default_model_repository
from voxgate.runtime import RUN_DIR_PREFIX, EmbeddedTriton
from voxgate.triton import inference_client

pytestmark = pytest.mark.triton
MODEL_REPOSITORY = Path(os.environ.get("VOXGATE_TEST_MODEL_REPOSITORY", default_model_repository()))


async def wait_ready(runtime: EmbeddedTriton, client: triton_aio.InferenceServerClient) -> None:
    for _ in range(240):
        try:
            if await client.is_server_ready():
                return
        except Exception:  # not listening yet
            pass
        await asyncio.sleep(0.5)
    pytest.fail("embedded Triton not ready:\n" + runtime.log_tail())


async def tokenize(client: triton_aio.InferenceServerClient) -> np.ndarray:
    t = np.arange(16000) / 16000
    x = (0.2 * np.sin(2 * np.pi * 180 * t)).astype(np.float32)[None]
    waveform = InferInput("waveform", list(x.shape), "FP32")
    waveform.set_data_from_numpy(x)
    result = await client.infer("linguistic_tokenizer", [waveform])
    return result.as_numpy("linguistic_tokens")


async def test_two_instances_run_side_by_side(tmp_path: Path) -> None:
    parent = tmp_path / "run"
    a = EmbeddedTriton(MODEL_REPOSITORY, "cpu", parent)
    b = EmbeddedTriton(MODEL_REPOSITORY, "cpu", parent)
    clients = []
    try:
        await a.start()
        await b.start()
        assert a.run_dir != b.run_dir
        assert sorted(parent.glob(RUN_DIR_PREFIX + "*")) == sorted([a.run_dir, b.run_dir])
        clients = [inference_client(t.url) for t in (a, b)]
        await asyncio.gather(*(wait_ready(t, c) for t, c in zip((a, b), clients, strict=True)))
        tokens_a, tokens_b = await asyncio.gather(*(tokenize(c) for c in clients))
        assert tokens_a.shape[0] == 1 and tokens_a.shape[1] > 0
        np.testing.assert_array_equal(tokens_a, tokens_b)

        a_dir = a.run_dir
        await a.stop()
        assert not a_dir.exists()
        assert b.run_dir and (b.run_dir / "backends" / "voxgate_onnx" / "model.py").is_file()
        np.testing.assert_array_equal(await tokenize(clients[1]), tokens_b)
        assert b.restarts == 0
    finally:
        for c in clients:
            await c.close()
        await a.stop()
        await b.stop()
    assert list(parent.glob(RUN_DIR_PREFIX + "*")) == []
