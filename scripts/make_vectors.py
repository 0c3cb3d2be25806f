"""Writes conformance/ test vectors: audio files and the tokens a live voxgate returns for them.

Starts `voxgate serve` (voxgate.launcher; embedded Triton, the committed reference models), asks
it, and writes conformance/manifest.json. Every client (Python, Go, Java, TypeScript) checks
these answers. Synthesis vectors: the reference engine is deterministic (same text, voice and
style -> same tokens), and StreamSynthesize of the text cut into pieces must give the tokens of
Synthesize of the whole text.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "conformance"
sys.path.insert(0, str(ROOT))

from voxgate.client import VoxgateClient, VoxgateClientError  # noqa: E402
from voxgate.launcher import local_server  # noqa: E402

from tests.conftest import speechlike  # noqa: E402


def espeak(text: str) -> np.ndarray:
    wav = subprocess.run(
        ["espeak-ng", "-v", "en-us", "-s", "160", "--stdout", text], check=True, capture_output=True
    ).stdout
    samples, rate = sf.read(io.BytesIO(wav), dtype="float32")
    assert rate == 22050
    return samples


def write_audio() -> list[tuple[str, str]]:
    (OUT / "audio").mkdir(parents=True, exist_ok=True)
    (OUT / "errors").mkdir(parents=True, exist_ok=True)
    speech = espeak("The quick brown fox jumps over the lazy dog.")
    stereo = speechlike(2.0, rate=44100, seed=41)
    cases = {
        "speech_22k_mono": ("audio/speech_22k_mono.wav", speech, 22050, "PCM_16"),
        "tone_44k_stereo": (
            "audio/tone_44k_stereo.wav",
            np.stack([stereo, 0.5 * stereo], axis=1),
            44100,
            "PCM_16",
        ),
        "float_16k_mono": ("audio/float_16k_mono.wav", speechlike(1.5, seed=43), 16000, "FLOAT"),
    }
    for path, samples, rate, subtype in cases.values():
        if not (OUT / path).exists():  # inputs stay fixed (float WAVs carry a PEAK timestamp)
            sf.write(OUT / path, samples, rate, subtype=subtype, format="WAV")
    (OUT / "errors" / "corrupt.bin").write_bytes(b"\x00garbage" * 64)
    (OUT / "errors" / "silence_s16.raw").write_bytes(bytes(3200))
    return [(name, path) for name, (path, *_rest) in cases.items()]


ERRORS = [
    {
        "name": "corrupt_container",
        "rpc": "Tokenize",
        "container_file": "errors/corrupt.bin",
        "code": "INVALID_ARGUMENT",
    },
    {
        "name": "raw_rate_too_low",
        "rpc": "Tokenize",
        "raw": {"encoding": "PCM_ENCODING_S16LE", "sample_rate_hz": 4000, "channels": 1},
        "raw_file": "errors/silence_s16.raw",
        "code": "INVALID_ARGUMENT",
    },
    {
        "name": "raw_encoding_unspecified",
        "rpc": "Tokenize",
        "raw": {"encoding": "PCM_ENCODING_UNSPECIFIED", "sample_rate_hz": 16000, "channels": 1},
        "raw_file": "errors/silence_s16.raw",
        "code": "INVALID_ARGUMENT",
    },
    {
        "name": "token_out_of_range",
        "rpc": "Detokenize",
        "interleaved": [5120, 0, 1024, 1024, 1024],
        "code": "INVALID_ARGUMENT",
    },
    {
        "name": "negative_token",
        "rpc": "Detokenize",
        "interleaved": [-1, 0, 1024, 1024, 1024],
        "code": "INVALID_ARGUMENT",
    },
    {
        "name": "partial_group",
        "rpc": "Detokenize",
        "interleaved": [1, 2, 1024],
        "code": "INVALID_ARGUMENT",
    },
    {"name": "synthesize_empty_text", "rpc": "Synthesize", "text": "", "code": "INVALID_ARGUMENT"},
    {
        "name": "synthesize_blank_text",
        "rpc": "Synthesize",
        "text": " \n\t ",
        "code": "INVALID_ARGUMENT",
    },
    {
        "name": "synthesize_unknown_voice",
        "rpc": "Synthesize",
        "text": "Hello there.",
        "voice": "no-such-voice",
        "code": "NOT_FOUND",
    },
    {
        "name": "stream_synthesize_unknown_voice",
        "rpc": "StreamSynthesize",
        "text": "Hello there.",
        "voice": "no-such-voice",
        "code": "NOT_FOUND",
    },
]

# Synthesize cases: the request fields (text, and voice / style_instruction when set); collect()
# adds what the server answers. `stream_pieces` (joined: the text) are also sent through
# StreamSynthesize, one message each after the config, and must give the same tokens.
SYNTHESIZE = [
    {
        "name": "hello",
        "text": "Hello there, this is voxgate.",
        "stream_pieces": ["Hel", "lo there, ", "this is vox", "gate."],
    },
    {
        "name": "two_sentences_with_numbers",
        "text": "The train leaves at 10:30 am from platform 4. Tickets cost $12.50 each!",
        "stream_pieces": [
            "The train leaves at 10:30 am ",
            "from platform 4. Tick",
            "ets cost $12.50 each!",
        ],
    },
    {"name": "default_voice_by_name", "text": "Good morning.", "voice": "joe"},
    {
        "name": "style_slow",
        "text": "Take your time, there is no hurry.",
        "style_instruction": "speak slowly",
    },
]


def main() -> int:
    cases = write_audio()
    with local_server("--log-level", "warning") as server:
        manifest = collect(server.address, cases)
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(
        f"wrote {OUT / 'manifest.json'}: {len(manifest['tokenize'])} tokenize, "
        f"{len(manifest['detokenize'])} detokenize, {len(manifest['synthesize'])} synthesize, "
        f"{len(manifest['errors'])} error cases"
    )
    return 0


def collect(address: str, cases: list[tuple[str, str]]) -> dict:
    tokenize, detokenize = [], []
    with VoxgateClient(address, timeout_s=120) as client:
        for name, path in cases:
            t = client.tokenize_file(OUT / path, include_text=True).tokens
            tokenize.append(
                {
                    "name": name,
                    "file": path,
                    "group_count": t.group_count,
                    "linguistic": list(t.linguistic),
                    "semantic": list(t.semantic),
                    "interleaved": list(t.interleaved),
                    "text": t.text,
                }
            )
        for case in tokenize[:2]:
            ids = case["interleaved"][: 5 * 6]  # one decoder window at any chunk size
            audio = client.detokenize(ids).audio
            n = sf.info(io.BytesIO(audio.data)).frames
            detokenize.append(
                {
                    "name": f"{case['name']}_first_6_groups",
                    "interleaved": ids,
                    "group_count": len(ids) // 5,
                    "num_samples": n,
                    "sample_rate_hz": audio.format.sample_rate_hz,
                    "wav_sha256": hashlib.sha256(audio.data).hexdigest(),
                }
            )
        synthesize = [synthesize_case(client, case) for case in SYNTHESIZE]
        for case in ERRORS:  # the vectors must describe what the server really does
            try:
                if case["rpc"] == "Detokenize":
                    client.detokenize(case["interleaved"])
                elif case["rpc"] in ("Synthesize", "StreamSynthesize"):
                    list(speak(client, case, stream=case["rpc"] == "StreamSynthesize"))
                else:
                    check_error_case(client, case)
                raise SystemExit(f"{case['name']}: the server accepted it")
            except VoxgateClientError as err:
                if err.code.name != case["code"]:
                    raise SystemExit(f"{case['name']}: got {err.code.name}") from None
    return {
        "version": 1,
        "stream_chunk_bytes": [1, 777, 4096],
        "tokenize": tokenize,
        "detokenize": detokenize,
        "synthesize": synthesize,
        "errors": ERRORS,
    }


def speak(client: VoxgateClient, case: dict, stream: bool = False) -> list:
    """Synthesize (or StreamSynthesize) a case into a WAV file; every message, in order."""
    from voxgate.v1 import audio_pb2, synthesis_pb2

    request = synthesis_pb2.SynthesizeRequest(
        voice=case.get("voice", ""),
        style_instruction=case.get("style_instruction", ""),
        output_format=audio_pb2.OutputAudioFormat(container=audio_pb2.AUDIO_CONTAINER_WAV),
    )
    if not stream:
        request.text = case["text"]
        return list(client.synthesize(request))
    return list(client.stream_synthesize(request, case.get("stream_pieces", [case["text"]])))


def synthesize_case(client: VoxgateClient, case: dict) -> dict:
    pieces = speak(client, case)
    if not pieces[-1].final or any(p.final for p in pieces[:-1]):
        raise SystemExit(f"{case['name']}: final is not on the last message only")
    ids = [i for p in pieces for i in p.audio_tokens]
    if not ids or len(ids) % 5:
        raise SystemExit(f"{case['name']}: {len(ids)} tokens, not whole groups")
    if [i for p in speak(client, case) for i in p.audio_tokens] != ids:
        raise SystemExit(f"{case['name']}: the reference engine is not deterministic")
    if "stream_pieces" in case:
        if "".join(case["stream_pieces"]) != case["text"]:
            raise SystemExit(f"{case['name']}: stream_pieces do not join to the text")
        streamed = [i for p in speak(client, case, stream=True) for i in p.audio_tokens]
        if streamed != ids:
            raise SystemExit(f"{case['name']}: StreamSynthesize gave other tokens than Synthesize")
    wav = pieces[-1].audio
    info = sf.info(io.BytesIO(wav.data))
    return {
        **case,
        "interleaved": ids,
        "group_count": len(ids) // 5,
        "sample_rate_hz": wav.format.sample_rate_hz,
        "num_samples": info.frames,
        "normalized_text": pieces[0].report.normalized_text,
    }


def check_error_case(client: VoxgateClient, case: dict) -> None:
    from voxgate.v1 import audio_pb2, tokenizer_pb2

    if "container_file" in case:
        client.tokenize((OUT / case["container_file"]).read_bytes())
        return
    r = case["raw"]
    fmt = audio_pb2.RawAudioFormat(
        encoding=audio_pb2.PcmEncoding.Value(r["encoding"]),
        sample_rate_hz=r["sample_rate_hz"],
        channels=r["channels"],
    )
    request = tokenizer_pb2.TokenizeRequest(
        audio=audio_pb2.AudioInput(
            raw=audio_pb2.RawAudio(format=fmt, data=(OUT / case["raw_file"]).read_bytes())
        )
    )
    client._call(client._tok.Tokenize, request)


if __name__ == "__main__":
    sys.exit(main())
