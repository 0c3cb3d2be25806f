"""The Triton model repository: configs parse, agree with each other, the ONNX files and the
reference manifest."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc
from voxgate.model_names import (
    ENSEMBLES,
    LINGUISTIC_TOKENIZER,
    ONNX_MODELS,
    SEMANTIC_TOKENIZER,
    TOKEN_DECODER,
    TTS_GENERATOR,
    VOCODER,
)

REPO = Path(__file__).resolve().parents[2] / "triton_models"
MANIFEST = REPO / "reference_manifest.json"
PROFILES = ("cpu", "gpu")

LEAF_DIRS = sorted(p.parent for p in REPO.glob("*/configs"))
ALL_FILES = sorted(REPO.glob("**/config.pbtxt")) + sorted(REPO.glob("*/configs/*.pbtxt"))
TOKENIZERS = (LINGUISTIC_TOKENIZER, SEMANTIC_TOKENIZER)


def load(path: Path) -> mc.ModelConfig:
    return text_format.Parse(path.read_text(), mc.ModelConfig())


# Folders with one config.pbtxt: ensembles, decoupled Python-backend generators (model.py) and
# stateful Python-backend models under the sequence batcher (vad, asr).
SINGLE_CONFIG_DIRS = sorted(p.parent for p in REPO.glob("*/config.pbtxt"))
ENSEMBLE_DIRS = [d for d in SINGLE_CONFIG_DIRS if load(d / "config.pbtxt").platform == "ensemble"]
GENERATOR_DIRS = [
    d for d in SINGLE_CONFIG_DIRS if load(d / "config.pbtxt").model_transaction_policy.decoupled
]
SEQUENCE_DIRS = [
    d for d in SINGLE_CONFIG_DIRS if load(d / "config.pbtxt").HasField("sequence_batching")
]


def model_dir(path: Path) -> Path:
    return path.parent.parent if path.parent.name == "configs" else path.parent


def leaf(name: str, profile: str) -> mc.ModelConfig:
    return load(REPO / name / "configs" / f"{profile}.pbtxt")


def tensors(items) -> dict[str, tuple[int, tuple[int, ...]]]:
    return {t.name: (t.data_type, tuple(t.dims)) for t in items}


def param(cfg: mc.ModelConfig, key: str) -> str:
    assert key in cfg.parameters, f"{cfg.name} lacks parameter {key}"
    return cfg.parameters[key].string_value


def test_repository_layout() -> None:
    names = {p.name for p in LEAF_DIRS}
    assert set(ONNX_MODELS) <= names
    assert {p.name for p in ENSEMBLE_DIRS} >= set(ENSEMBLES)
    assert len(ALL_FILES) >= 2 * len(LEAF_DIRS) + 2
    # every single-config folder is checked below, as an ensemble or as a generator
    assert sorted(ENSEMBLE_DIRS + GENERATOR_DIRS + SEQUENCE_DIRS) == SINGLE_CONFIG_DIRS


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_config_parses_and_name_matches_folder(path: Path) -> None:
    cfg = load(path)
    assert cfg.name == model_dir(path).name
    assert cfg.input and cfg.output
    if not cfg.model_transaction_policy.decoupled:  # generators take one request at a time
        assert cfg.max_batch_size >= 1


@pytest.mark.parametrize("folder", LEAF_DIRS, ids=lambda p: p.name)
def test_leaf_cpu_and_gpu_agree(folder: Path) -> None:
    files = {p.stem for p in (folder / "configs").glob("*.pbtxt")}
    assert set(PROFILES) <= files
    cpu, gpu = leaf(folder.name, "cpu"), leaf(folder.name, "gpu")
    assert tensors(cpu.input) == tensors(gpu.input)
    assert tensors(cpu.output) == tensors(gpu.output)
    assert cpu.max_batch_size == gpu.max_batch_size
    # model constants the façade reads must not depend on the profile
    for key in ("context_groups", "decoder_context_groups", "sample_rate", "profile"):
        assert (key in cpu.parameters) == (key in gpu.parameters), key
        if key in cpu.parameters:
            assert param(cpu, key) == param(gpu, key), key


@pytest.mark.parametrize("folder", LEAF_DIRS, ids=lambda p: p.name)
def test_cpu_config_uses_the_voxgate_onnx_backend(folder: Path) -> None:
    cpu = leaf(folder.name, "cpu")
    assert cpu.backend == "voxgate_onnx"  # Python-based backend: triton_backends/voxgate_onnx
    assert not cpu.platform
    backend = REPO.parent / "triton_backends" / cpu.backend / "model.py"
    assert backend.is_file(), backend
    assert not (folder / "1" / "model.py").exists()  # one implementation, in the backend
    assert all(g.kind == mc.ModelInstanceGroup.KIND_CPU for g in cpu.instance_group)
    gpu = leaf(folder.name, "gpu")
    assert gpu.backend not in ("python", "voxgate_onnx")
    assert all(g.kind == mc.ModelInstanceGroup.KIND_GPU for g in gpu.instance_group)


@pytest.mark.parametrize("folder", ENSEMBLE_DIRS, ids=lambda p: p.name)
@pytest.mark.parametrize("profile", PROFILES)
def test_ensemble_steps_reference_real_tensors(folder: Path, profile: str) -> None:
    ens = load(folder / "config.pbtxt")
    assert ens.platform == "ensemble"
    ens_in, ens_out = tensors(ens.input), tensors(ens.output)
    produced = dict(ens_in)  # ensemble tensor name -> (dtype, dims) available so far
    assert ens.ensemble_scheduling.step
    for step in ens.ensemble_scheduling.step:
        target = REPO / step.model_name
        assert target.is_dir(), f"{step.model_name} does not exist"
        cfg = leaf(step.model_name, profile)
        assert ens.max_batch_size <= cfg.max_batch_size
        m_in, m_out = tensors(cfg.input), tensors(cfg.output)
        assert set(step.input_map) == set(m_in), step.model_name
        assert set(step.output_map) <= set(m_out), step.model_name
        for model_tensor, ens_tensor in step.input_map.items():
            assert ens_tensor in produced, f"{ens_tensor} consumed before it is produced"
            assert produced[ens_tensor][0] == m_in[model_tensor][0]
        for model_tensor, ens_tensor in step.output_map.items():
            produced[ens_tensor] = m_out[model_tensor]
    for name, (dtype, dims) in ens_out.items():
        assert name in produced, f"ensemble output {name} is produced by no step"
        assert produced[name][0] == dtype
        assert len(produced[name][1]) == len(dims)


@pytest.mark.parametrize("folder", GENERATOR_DIRS, ids=lambda p: p.name)
def test_generator_is_a_decoupled_python_model(folder: Path) -> None:
    cfg = load(folder / "config.pbtxt")
    assert cfg.name == folder.name
    assert cfg.backend == "python" and not cfg.platform
    assert cfg.model_transaction_policy.decoupled
    assert cfg.max_batch_size == 0
    assert (folder / "1" / "model.py").is_file()
    assert not (folder / "configs").exists()  # one config for every deployment
    assert cfg.instance_group and all(
        g.kind == mc.ModelInstanceGroup.KIND_CPU for g in cfg.instance_group
    )


@pytest.mark.parametrize("folder", SEQUENCE_DIRS, ids=lambda p: p.name)
def test_stateful_model_is_a_python_model_under_the_sequence_batcher(folder: Path) -> None:
    cfg = load(folder / "config.pbtxt")
    assert cfg.name == folder.name
    assert cfg.backend == "python" and not cfg.platform
    assert cfg.max_batch_size >= 1  # the sequence slots
    assert cfg.sequence_batching.max_sequence_idle_microseconds > 0  # abandoned ones freed
    controls = {k.kind for i in cfg.sequence_batching.control_input for k in i.control}
    assert {mc.ModelSequenceBatching.Control.CONTROL_SEQUENCE_START,
            mc.ModelSequenceBatching.Control.CONTROL_SEQUENCE_END} <= controls  # fmt: skip
    assert (folder / "1" / "model.py").is_file()
    assert not (folder / "configs").exists()


def test_tts_generator_tensors_and_parameters() -> None:
    cfg = load(REPO / TTS_GENERATOR / "config.pbtxt")
    s, f, i64, i32 = mc.TYPE_STRING, mc.TYPE_FP32, mc.TYPE_INT64, mc.TYPE_INT32
    optional = {
        "voice": (s, (1,)),
        "speed": (f, (1,)),
        "pitch_semitones": (f, (1,)),
        "instruction": (s, (1,)),
        "prompt_text": (s, (1,)),
        "prompt_tokens": (i64, (-1,)),
        "seed": (i64, (1,)),
    }
    assert tensors(cfg.input) == {"text": (s, (-1,)), **optional}
    assert {t.name for t in cfg.input if t.optional} == set(optional)
    assert tensors(cfg.output) == {
        "audio_tokens": (i64, (-1,)),
        "clause_index": (i32, (1,)),
        "word_timings": (s, (1,)),
        "end_of_clause": (mc.TYPE_BOOL, (1,)),
    }
    assert param(cfg, "engine") == "reference"
    assert param(cfg, "voice_default") == "joe"
    assert int(param(cfg, "intra_op_threads")) >= 1


def test_facade_parameters_present() -> None:
    for profile in PROFILES:
        for name in TOKENIZERS:
            assert 0 <= int(param(leaf(name, profile), "context_groups")) <= 4
        assert 0 <= int(param(leaf(TOKEN_DECODER, profile), "decoder_context_groups")) <= 2
        assert int(param(leaf(VOCODER, profile), "sample_rate")) > 0
    # both tokenizers must share one context size (the façade reads only one)
    for profile in PROFILES:
        values = {param(leaf(n, profile), "context_groups") for n in TOKENIZERS}
        assert len(values) == 1, values


ONNX_TYPES = {mc.TYPE_FP32: 1, mc.TYPE_INT64: 7, mc.TYPE_INT32: 6}  # onnx.TensorProto values


@pytest.mark.parametrize("folder", LEAF_DIRS, ids=lambda p: p.name)
def test_onnx_file_matches_config(folder: Path) -> None:
    path = folder / "1" / "model.onnx"
    if not path.exists():
        pytest.skip(f"{path} not built")
    onnx = pytest.importorskip("onnx")
    model = onnx.load(str(path), load_external_data=False)
    assert model.ir_version <= 9
    assert all(o.version <= 17 for o in model.opset_import if o.domain in ("", "ai.onnx"))
    initializers = {i.name for i in model.graph.initializer}
    g_in = {i.name: i for i in model.graph.input if i.name not in initializers}
    g_out = {o.name: o for o in model.graph.output}
    cfg = leaf(folder.name, "cpu")
    for items, graph in ((cfg.input, g_in), (cfg.output, g_out)):
        assert {t.name for t in items} == set(graph)
        for t in items:
            tt = graph[t.name].type.tensor_type
            assert tt.elem_type == ONNX_TYPES[t.data_type], t.name
            # config dims exclude the batch dimension
            assert len(tt.shape.dim) == len(t.dims) + 1, t.name


# --- the reference manifest -----------------------------------------------------------------


def manifest() -> dict:
    if not MANIFEST.exists():
        pytest.skip("no reference_manifest.json (reference models not built)")
    return json.loads(MANIFEST.read_text())


@pytest.mark.parametrize("profile", PROFILES)
def test_manifest_context_groups_match_tokenizer_configs(profile: str) -> None:
    m = manifest()
    for name in TOKENIZERS:
        got, want = int(param(leaf(name, profile), "context_groups")), int(m["context_groups"])
        assert got == want, f"{name}/configs/{profile}.pbtxt context_groups={got}, manifest {want}"


@pytest.mark.parametrize("profile", PROFILES)
def test_manifest_decoder_context_groups_match_token_decoder(profile: str) -> None:
    m = manifest()
    got = int(param(leaf(TOKEN_DECODER, profile), "decoder_context_groups"))
    want = int(m["decoder_context_groups"])
    assert got == want, (
        f"{TOKEN_DECODER}/configs/{profile}.pbtxt decoder_context_groups={got}, "
        f"manifest says {want}"
    )


@pytest.mark.parametrize("profile", PROFILES)
def test_manifest_sample_rate_matches_vocoder(profile: str) -> None:
    m = manifest()
    if "sample_rate" not in m:
        pytest.skip("manifest records no sample_rate")
    assert int(param(leaf(VOCODER, profile), "sample_rate")) == int(m["sample_rate"])


def test_manifest_checksums_match_onnx_files() -> None:
    m = manifest()
    models = m.get("models", {})
    assert set(models) >= {p.name for p in LEAF_DIRS}
    for name, entry in models.items():
        path = REPO / entry["path"]
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest == entry["sha256"], name
        if "bytes" in entry:
            assert path.stat().st_size == entry["bytes"], name
    total = sum((REPO / e["path"]).stat().st_size for e in models.values())
    assert total < 20 * 1024 * 1024  # "all artifacts together stay well under 20 MB"
