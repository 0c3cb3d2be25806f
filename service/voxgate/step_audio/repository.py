"""Writes the step-audio Triton repository: ONNX files, CPU and GPU configs, ensembles, manifest.

Configs live in `<model>/configs/{cpu,gpu}.pbtxt` and are chosen with `--model-config-name`, as in
the reference repository; the ensembles (`tokenize`, `detokenize`) keep the reference tensors.
Every model is batch 1 (`max_batch_size: 1`): speech_tokenizer_v1 and CosyVoice's flow take one
utterance at a time, and Triton wants an ensemble's batch no larger than its steps'.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import onnx

from voxgate import model_names as names

PROFILE = "step-audio"
WINDOW_GROUPS = 250  # 30 s: Step-Audio's vq06 chunk, and Whisper's longest input
DECODER_CONTEXT_GROUPS = 2  # the flow attends everywhere: 2 is the contract's largest bound
TRT_CACHE = "/var/cache/voxgate/trt"  # Dockerfile.triton makes it writable

_IO = {
    names.LINGUISTIC_TOKENIZER: (("waveform", "FP32", "-1"), ("linguistic_tokens", "INT64", "-1")),
    names.SEMANTIC_TOKENIZER: (("waveform", "FP32", "-1"), ("semantic_tokens", "INT64", "-1")),
    names.TOKEN_DECODER: (("audio_tokens", "INT64", "-1"), ("acoustic_features", "FP32", "-1, 80")),
    names.VOCODER: (("acoustic_features", "FP32", "-1, 80"), ("waveform", "FP32", "-1")),
}
_WHAT = {
    names.LINGUISTIC_TOKENIZER: "16 kHz waveform -> vq02 ids (Paraformer encoder, 1024 centroids)",
    names.SEMANTIC_TOKENIZER: "16 kHz waveform -> vq06 ids (Whisper log-mel, speech_tokenizer_v1)",
    names.TOKEN_DECODER: "interleaved ids -> 80-bin mel at 22050 Hz (CosyVoice flow + speaker)",
    names.VOCODER: "80-bin mel -> 22050 Hz waveform (HiFT)",
}


def _params(model: str) -> dict[str, str]:
    if model == names.LINGUISTIC_TOKENIZER:
        # The façade reads these from this model: no context windows, Step-Audio's 30 s chunks.
        return {"context_groups": "0", "profile": PROFILE, "window_groups": str(WINDOW_GROUPS)}
    if model == names.TOKEN_DECODER:
        return {"decoder_context_groups": str(DECODER_CONTEXT_GROUPS)}
    if model == names.VOCODER:
        return {"sample_rate": "22050"}
    return {}


def _tensor(name: str, dtype: str, dims: str) -> str:
    return f'  {{ name: "{name}", data_type: TYPE_{dtype}, dims: [ {dims} ] }}'


def config(model: str, kind: str) -> str:
    """The config text of a leaf model for `kind` "cpu" or "gpu"."""
    (i_name, i_type, i_dims), (o_name, o_type, o_dims) = _IO[model]
    params = _params(model)
    if kind == "cpu":
        params["intra_op_threads"] = "2" if model == names.TOKEN_DECODER else "1"
        head = 'backend: "voxgate_onnx"'
        how = "CPU: 1/model.onnx run by onnxruntime in the voxgate_onnx Python backend"
        group = "KIND_CPU"
    else:
        head = 'platform: "onnxruntime_onnx"'
        how = "GPU: the same 1/model.onnx in Triton's onnxruntime backend (CUDA)"
        group = "KIND_GPU"
    lines = [
        f"# step-audio: {_WHAT[model]}. {how}.",
        f'name: "{model}"',
        head,
        "max_batch_size: 1",
        f"input [\n{_tensor(i_name, i_type, i_dims)}\n]",
        f"output [\n{_tensor(o_name, o_type, o_dims)}\n]",
        f"instance_group [ {{ kind: {group}, count: 1 }} ]",
    ]
    if kind == "gpu" and model == names.VOCODER:
        # TensorRT builds the HiFT engine from the ONNX graph at load (cached across restarts);
        # FP32, as HiFT's source module and iSTFT are not known to hold up in FP16.
        lines.append(
            "optimization { execution_accelerators { gpu_execution_accelerator [ {\n"
            '  name: "tensorrt"\n'
            '  parameters { key: "precision_mode" value: "FP32" }\n'
            '  parameters { key: "max_workspace_size_bytes" value: "4294967296" }\n'
            '  parameters { key: "trt_engine_cache_enable" value: "true" }\n'
            f'  parameters {{ key: "trt_engine_cache_path" value: "{TRT_CACHE}" }}\n'
            "} ] } }"
        )
    for key, val in params.items():
        lines.append(f'parameters {{ key: "{key}" value: {{ string_value: "{val}" }} }}')
    return "\n".join(lines) + "\n"


ENSEMBLES = {
    names.TOKENIZE: """# step-audio: one 16 kHz waveform -> both token streams.
name: "tokenize"
platform: "ensemble"
max_batch_size: 1
input [ { name: "waveform", data_type: TYPE_FP32, dims: [ -1 ] } ]
output [
  { name: "linguistic_tokens", data_type: TYPE_INT64, dims: [ -1 ] },
  { name: "semantic_tokens", data_type: TYPE_INT64, dims: [ -1 ] }
]
ensemble_scheduling { step [
  { model_name: "linguistic_tokenizer", model_version: -1,
    input_map { key: "waveform", value: "waveform" },
    output_map { key: "linguistic_tokens", value: "linguistic_tokens" } },
  { model_name: "semantic_tokenizer", model_version: -1,
    input_map { key: "waveform", value: "waveform" },
    output_map { key: "semantic_tokens", value: "semantic_tokens" } }
] }
""",
    names.DETOKENIZE: """# step-audio: interleaved Step-Audio ids -> mel -> 22050 Hz waveform.
name: "detokenize"
platform: "ensemble"
max_batch_size: 1
input [ { name: "audio_tokens", data_type: TYPE_INT64, dims: [ -1 ] } ]
output [ { name: "waveform", data_type: TYPE_FP32, dims: [ -1 ] } ]
ensemble_scheduling { step [
  { model_name: "token_decoder", model_version: -1,
    input_map { key: "audio_tokens", value: "audio_tokens" },
    output_map { key: "acoustic_features", value: "acoustic_features" } },
  { model_name: "vocoder", model_version: -1,
    input_map { key: "acoustic_features", value: "acoustic_features" },
    output_map { key: "waveform", value: "waveform" } }
] }
""",
}

_TWO_GB = 2**31 - 2**24  # protobuf's limit, with room for the graph itself


def save_model(model: onnx.ModelProto, path: Path) -> None:
    """Writes an ONNX file; weights of large models go to `model.onnx.data` beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    size = sum(len(t.raw_data) for t in model.graph.initializer)
    if size < _TWO_GB:
        onnx.save_model(model, str(path))
    else:
        onnx.save_model(model, str(path), save_as_external_data=True, location=path.name + ".data")


def write_model(out: Path, model_name: str, model: onnx.ModelProto) -> None:
    folder = out / model_name
    save_model(model, folder / "1" / "model.onnx")
    (folder / "configs").mkdir(parents=True, exist_ok=True)
    for kind in ("cpu", "gpu"):
        (folder / "configs" / f"{kind}.pbtxt").write_text(config(model_name, kind))


def write_ensembles(out: Path, models: tuple[str, ...]) -> None:
    for name in models:
        (out / name / "1").mkdir(parents=True, exist_ok=True)
        (out / name / "config.pbtxt").write_text(ENSEMBLES[name])


def write_manifest(out: Path, sources: dict[str, str], speaker: dict) -> dict:
    """step_audio_manifest.json: the profile's constants, sources and SHA-256 of each file."""
    files = {}
    for path in sorted(out.glob("*/1/model.onnx*")):
        digest = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        files[str(path.relative_to(out))] = digest.hexdigest()
    manifest = {
        "profile": PROFILE,
        "window_groups": WINDOW_GROUPS,
        "context_groups": 0,
        "decoder_context_groups": DECODER_CONTEXT_GROUPS,
        "output_sample_rate": 22050,
        "sources": sources,
        "default_speaker": speaker,
        "files": files,
    }
    (out / "step_audio_manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
