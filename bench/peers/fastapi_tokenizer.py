"""The peer users would build from the deployment guides: FastAPI + onnxruntime in one process.

POST /tokenize with WAV bytes as the body → {"linguistic": [...], "semantic": [...]}: decode
(soundfile), mix down to mono, run both tokenizer graphs (the same
triton_models/*/1/model.onnx files voxgate serves) one after the other, return the tokens.
Sessions use onnxruntime's defaults (thread pool = all cores), as the guides' snippets do; the
work runs in FastAPI's worker thread pool, as a plain `def` endpoint's would.

    python -m uvicorn bench.peers.fastapi_tokenizer:app --host 127.0.0.1 --port 8080
    (or: python bench/peers/fastapi_tokenizer.py --port 8080)

Input below or above 16 kHz is refused (400): the benchmark sends 16 kHz clips only.
With VOXGATE_PEER_TOKENIZER=joint it runs voxgate's joint_tokenizer graph instead (one analysis
for both streams): the peer a user would build who also had that model.
"""

from __future__ import annotations

import argparse
import io
import os
from pathlib import Path

import numpy as np
import onnxruntime as ort
import soundfile as sf
from fastapi import FastAPI, HTTPException, Request
from starlette.concurrency import run_in_threadpool

MODELS = Path(
    os.environ.get("VOXGATE_MODELS", Path(__file__).resolve().parents[2] / "triton_models")
)

app = FastAPI(title="tokenizer peer")
JOINT = os.environ.get("VOXGATE_PEER_TOKENIZER", "") == "joint"


def _session(name: str) -> ort.InferenceSession:
    return ort.InferenceSession(str(MODELS / name / "1" / "model.onnx"))


_joint = _session("joint_tokenizer") if JOINT else None
_ling = None if JOINT else _session("linguistic_tokenizer")
_sem = None if JOINT else _session("semantic_tokenizer")


@app.get("/health")
def health() -> dict:
    return {"status": "ok"}


@app.post("/tokenize")
async def tokenize(request: Request) -> dict:
    body = await request.body()
    # What a plain `def` endpoint gets: the work runs in the worker thread pool.
    return await run_in_threadpool(_tokenize, body)


def _tokenize(body: bytes) -> dict:
    try:
        wav, rate = sf.read(io.BytesIO(body), dtype="float32", always_2d=True)
    except Exception as err:  # soundfile raises its own error types
        raise HTTPException(400, "not a readable audio file") from err
    if rate != 16000:
        raise HTTPException(400, "16 kHz audio only")
    x = np.ascontiguousarray(wav.mean(axis=1))[None, :]
    if _joint is not None:
        ling, sem = _joint.run(None, {"waveform": x})
    else:
        (ling,) = _ling.run(None, {"waveform": x})
        (sem,) = _sem.run(None, {"waveform": x})
    return {"linguistic": ling[0].tolist(), "semantic": sem[0].tolist()}


if __name__ == "__main__":
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
