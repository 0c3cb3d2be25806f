"""Settings from defaults, VOXGATE_* environment variables and flags."""

from __future__ import annotations

from pathlib import Path

import pytest
from voxgate import config

REPO = Path(__file__).resolve().parents[2]


def test_defaults() -> None:
    s = config.parse([], env={})
    assert s.host == "127.0.0.1"
    assert s.port == 50051
    assert s.triton_url is None
    assert s.model_repository == REPO / "triton_models"
    assert s.model_config_name == "cpu"
    assert s.chunk_groups == 250
    assert s.decode_chunk_groups == 250
    assert s.max_audio_seconds == 600.0
    assert s.max_detokenize_tokens == 25000
    assert s.max_request_bytes == 64 * 1024 * 1024
    assert s.metrics_port == 9464 and s.metrics_host == "127.0.0.1"
    assert s.log_level == "info"
    assert s.log_json is False
    assert s.ready_file is None
    assert s == config.Settings()


def test_default_model_repository_exists() -> None:
    assert (config.default_model_repository() / "tokenize" / "config.pbtxt").is_file()


def test_env_overrides_defaults() -> None:
    env = {
        "VOXGATE_PORT": "6000",
        "VOXGATE_HOST": "0.0.0.0",
        "VOXGATE_TRITON_URL": "localhost:8001",
        "VOXGATE_MAX_AUDIO_SECONDS": "12.5",
        "VOXGATE_CHUNK_GROUPS": "7",
        "VOXGATE_MODEL_CONFIG_NAME": "gpu",
        "VOXGATE_MODEL_REPOSITORY": "/tmp/models",
        "VOXGATE_READY_FILE": "/tmp/ready.json",
        "VOXGATE_LOG_JSON": "true",
    }
    s = config.parse([], env=env)
    assert s.port == 6000 and isinstance(s.port, int)
    assert s.host == "0.0.0.0"
    assert s.triton_url == "localhost:8001"
    assert s.max_audio_seconds == 12.5 and isinstance(s.max_audio_seconds, float)
    assert s.chunk_groups == 7
    assert s.model_config_name == "gpu"
    assert s.model_repository == Path("/tmp/models")
    assert s.ready_file == Path("/tmp/ready.json")
    assert s.log_json is True
    # untouched settings keep their defaults
    assert s.decode_chunk_groups == 250


def test_empty_env_value_is_ignored() -> None:
    assert config.parse([], env={"VOXGATE_PORT": ""}).port == 50051


def test_flags_override_env() -> None:
    env = {"VOXGATE_PORT": "6000", "VOXGATE_CHUNK_GROUPS": "7", "VOXGATE_LOG_JSON": "true"}
    s = config.parse(["--port", "7000", "--chunk-groups", "9", "--no-log-json"], env=env)
    assert s.port == 7000
    assert s.chunk_groups == 9
    assert s.log_json is False


def test_flags_without_env() -> None:
    s = config.parse(
        ["--log-json", "--max-audio-seconds", "3", "--triton-url", "h:1", "--port", "0"], env={}
    )
    assert s.log_json is True
    assert s.max_audio_seconds == 3.0
    assert s.triton_url == "h:1"
    assert s.port == 0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[("true", True), ("TRUE", True), ("1", True), ("yes", True), ("on", True)],
        *[("false", False), ("0", False), ("no", False), ("off", False)],
    ],
)
def test_env_bool(raw: str, expected: bool) -> None:
    assert config.parse([], env={"VOXGATE_LOG_JSON": raw}).log_json is expected


def test_reads_os_environ_when_env_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXGATE_PORT", "6123")
    assert config.parse([]).port == 6123


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["--port", "70000"], {}),
        ([], {"VOXGATE_PORT": "70000"}),
        (["--port", "-1"], {}),
        (["--model-config-name", "tpu"], {}),
        ([], {"VOXGATE_MODEL_CONFIG_NAME": "tpu"}),
        (["--chunk-groups", "0"], {}),
        (["--decode-chunk-groups", "0"], {}),
        (["--max-audio-seconds", "0"], {}),
        (["--max-request-bytes", "10"], {}),
        (["--port", "abc"], {}),
    ],
)
def test_invalid_values(argv: list[str], env: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        config.parse(argv, env=env)


def test_invalid_message_names_the_problem() -> None:
    with pytest.raises(ValueError, match="tpu"):
        config.parse(["--model-config-name", "tpu"], env={})
    with pytest.raises(ValueError, match="70000"):
        config.parse(["--port", "70000"], env={})
