"""The committed conformance vectors still describe what the server answers (Python client)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import grpc
import pytest
from voxgate.client import VoxgateClient, VoxgateClientError
from voxgate.v1 import audio_pb2, tokenizer_pb2

pytestmark = pytest.mark.triton
ROOT = Path(__file__).resolve().parents[2] / "conformance"
MANIFEST = json.loads((ROOT / "manifest.json").read_text())


def _check_all(address: str) -> None:
    with VoxgateClient(address, timeout_s=60) as client:
        for case in MANIFEST["tokenize"]:
            data = (ROOT / case["file"]).read_bytes()
            t = client.tokenize(data, include_text=True).tokens
            assert list(t.interleaved) == case["interleaved"], case["name"]
            assert list(t.linguistic) == case["linguistic"]
            assert list(t.semantic) == case["semantic"]
            assert t.text == case["text"] and t.group_count == case["group_count"]
            for size in MANIFEST["stream_chunk_bytes"][1:]:  # 1-byte pieces: other clients
                pieces = [data[i : i + size] for i in range(0, len(data), size)]
                assert client.stream_tokenize(pieces).interleaved == case["interleaved"]
        for case in MANIFEST["detokenize"]:
            reply = client.detokenize(case["interleaved"])
            assert reply.group_count == case["group_count"], case["name"]
            audio = reply.audio
            assert hashlib.sha256(audio.data).hexdigest() == case["wav_sha256"], case["name"]
        for case in MANIFEST["errors"]:
            with pytest.raises(VoxgateClientError) as info:
                if case["rpc"] == "Detokenize":
                    client.detokenize(case["interleaved"])
                elif "container_file" in case:
                    client.tokenize((ROOT / case["container_file"]).read_bytes())
                else:
                    r = case["raw"]
                    fmt = audio_pb2.RawAudioFormat(
                        encoding=audio_pb2.PcmEncoding.Value(r["encoding"]),
                        sample_rate_hz=r["sample_rate_hz"],
                        channels=r["channels"],
                    )
                    raw = audio_pb2.RawAudio(
                        format=fmt, data=(ROOT / case["raw_file"]).read_bytes()
                    )
                    client._call(
                        client._tok.Tokenize,
                        tokenizer_pb2.TokenizeRequest(audio=audio_pb2.AudioInput(raw=raw)),
                    )
            assert info.value.code == getattr(grpc.StatusCode, case["code"]), case["name"]


async def test_conformance_vectors_match_the_live_server(server):
    await asyncio.to_thread(_check_all, server[1])
