"""The committed conformance vectors still describe what the server answers (Python client)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
from pathlib import Path

import grpc
import pytest
import soundfile as sf
from voxgate.client import VoxgateClient, VoxgateClientError
from voxgate.v1 import audio_pb2, synthesis_pb2, tokenizer_pb2

pytestmark = pytest.mark.triton
ROOT = Path(__file__).resolve().parents[2] / "conformance"
MANIFEST = json.loads((ROOT / "manifest.json").read_text())


def _speak(client: VoxgateClient, case: dict, stream: bool = False) -> list:
    """Synthesize (or StreamSynthesize of `stream_pieces`, else the text) into WAV: every piece."""
    request = synthesis_pb2.SynthesizeRequest(
        voice=case.get("voice", ""),
        style_instruction=case.get("style_instruction", ""),
        output_format=audio_pb2.OutputAudioFormat(container=audio_pb2.AUDIO_CONTAINER_WAV),
    )
    if not stream:
        request.text = case["text"]
        return list(client.synthesize(request))
    return list(client.stream_synthesize(request, case.get("stream_pieces", [case["text"]])))


def _check_speech(case: dict, pieces: list, stream: bool = False) -> None:
    name = case["name"]
    assert [i for p in pieces for i in p.audio_tokens] == case["interleaved"], name
    assert sum(len(p.audio_tokens) for p in pieces) // 5 == case["group_count"], name
    assert all(len(p.audio_tokens) % 5 == 0 for p in pieces), name
    assert pieces[-1].final and not any(p.final for p in pieces[:-1]), name
    assert pieces[0].HasField("report") and not any(p.HasField("report") for p in pieces[1:])
    if "voice" in case:
        assert pieces[0].report.voice == case["voice"], name
    if "normalized_text" in case and not stream:  # StreamSynthesize: the text spoken so far
        assert pieces[0].report.normalized_text == case["normalized_text"], name
    audio = pieces[-1].audio
    info = sf.info(io.BytesIO(audio.data))
    assert info.samplerate == audio.format.sample_rate_hz == case["sample_rate_hz"], name
    assert info.subtype == "PCM_16" and audio.format.container == audio_pb2.AUDIO_CONTAINER_WAV
    if "num_samples" in case:
        assert info.frames == case["num_samples"], name


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
        assert MANIFEST["synthesize"], "no synthesize cases"
        assert any("stream_pieces" in c for c in MANIFEST["synthesize"]), "no StreamSynthesize case"
        for case in MANIFEST["synthesize"]:
            _check_speech(case, _speak(client, case))
            if "stream_pieces" in case:
                assert "".join(case["stream_pieces"]) == case["text"], case["name"]
                _check_speech(case, _speak(client, case, stream=True), stream=True)
        for case in MANIFEST["errors"]:
            with pytest.raises(VoxgateClientError) as info:
                if case["rpc"] == "Detokenize":
                    client.detokenize(case["interleaved"])
                elif case["rpc"] in ("Synthesize", "StreamSynthesize"):
                    _speak(client, case, stream=case["rpc"] == "StreamSynthesize")
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
