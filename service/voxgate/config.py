"""Settings, parsed once from command-line flags and VOXGATE_* environment variables."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

MIB = 1024 * 1024


def default_data_dir() -> Path:
    """Where voxgate keeps state that must survive restarts (the voice registry)."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "voxgate"


def default_model_repository() -> Path:
    """The repository's `triton_models/`, next to `service/` in a source checkout."""
    return Path(__file__).resolve().parents[2] / "triton_models"


@dataclass(frozen=True)
class Settings:
    """Everything the service is configured with; flags override environment variables."""

    host: str = "127.0.0.1"
    port: int = 50051
    triton_url: str | None = None  # host:port[,host:port...] of external Tritons; None = embedded
    model_repository: Path = field(default_factory=default_model_repository)
    model_config_name: str = "cpu"
    run_dir: Path = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "voxgate"
    triton_start_timeout_s: float = 180.0
    max_audio_seconds: float = 600.0
    max_request_bytes: int = 64 * MIB
    max_response_bytes: int = 64 * MIB
    max_detokenize_tokens: int = 5 * 5000  # 10 minutes of audio
    max_decoded_audio_bytes: int = 512 * MIB  # decoded audio held by requests in flight
    chunk_groups: int = 250  # 30 s of audio per Triton tokenizer request
    decode_chunk_groups: int = 250
    triton_timeout_s: float = 120.0
    triton_header: str = ""  # NAME=VALUE sent with every call to external Tritons
    triton_probe_timeout_s: float = 1.0  # a Triton not answering readiness in this is down
    health_poll_s: float = 1.0
    metrics_port: int = 9464  # 0 = no Prometheus endpoint
    metrics_host: str = "127.0.0.1"
    log_level: str = "info"
    log_json: bool = False
    otlp_endpoint: str = ""  # empty = no traces
    ready_file: Path | None = None
    data_dir: Path = field(default_factory=default_data_dir)
    voices_db: Path | None = None  # None = <data_dir>/voices.sqlite3
    max_synthesis_chars: int = 5000
    max_prompt_seconds: float = 30.0
    synthesis_stall_s: float = 10.0
    max_concurrent_syntheses: int = 16
    max_concurrent_chats: int = 8
    chat_idle_s: float = 120.0
    max_chat_seconds: float = 3600.0
    drain_delay_s: float = 0.0  # NOT_SERVING this long before the listener closes
    shutdown_grace_s: float = 15.0  # then in-flight calls get this long to finish
    keepalive_time_s: float = 60.0
    keepalive_timeout_s: float = 20.0
    max_connection_age_s: float = 0.0  # 0 = no limit
    max_connection_age_grace_s: float = 30.0
    chat_history_tokens: int = 512  # CPU prefill ~60 tokens/s per thread (docs/chat.md)
    max_calls: int = 64  # voxgate calls in progress (RESOURCE_EXHAUSTED + RetryInfo beyond)
    max_streams: int = 0  # streaming calls in progress; 0 = 4 per usable CPU core
    max_calls_per_tenant: int = 0  # 0 = only the server's caps
    max_streams_per_connection: int = 32
    max_stream_lag_s: float = 5.0  # a live stream this far behind real time ends (0 = no limit)
    stream_write_timeout_s: float = 30.0  # a streaming call whose client reads nothing ends
    tls_cert: Path | None = None  # PEM certificate chain; with tls_key: serve TLS only
    tls_key: Path | None = None
    tls_client_ca: Path | None = None  # set: mutual TLS, client certificates required
    auth_tokens_file: Path | None = None  # bearer tokens (also VOXGATE_AUTH_TOKENS); see auth.py
    auth_open: str = "health,reflection"  # services that need no token
    services: str = ""  # only these (tokenizer, synthesis, chat); "" = all of them

    @property
    def voices_path(self) -> Path:
        return self.voices_db or self.data_dir / "voices.sqlite3"


_HELP = {
    "host": "address to listen on",
    "port": "gRPC port (0 = pick a free one)",
    "triton_url": "use these external Tritons (host:port, gRPC; comma-separated, or a name "
    "resolving to several addresses: calls are balanced over the ready ones) instead of "
    "starting one",
    "model_repository": "Triton model repository of the embedded server",
    "model_config_name": "Triton --model-config-name (cpu or gpu)",
    "run_dir": "where each embedded Triton makes its private run folder (backends, log)",
    "triton_start_timeout_s": "seconds to wait for the embedded Triton's models to be ready",
    "max_audio_seconds": "longest accepted audio (OUT_OF_RANGE beyond)",
    "max_request_bytes": "largest accepted gRPC message (RESOURCE_EXHAUSTED beyond)",
    "max_response_bytes": "largest gRPC message sent",
    "max_detokenize_tokens": "most interleaved tokens per Detokenize",
    "max_decoded_audio_bytes": "most bytes of decoded audio that the requests in flight may "
    "hold together (RESOURCE_EXHAUSTED with a retry delay beyond)",
    "chunk_groups": "120 ms groups per Triton tokenizer request",
    "decode_chunk_groups": "120 ms groups per Triton decoder request",
    "triton_timeout_s": "timeout of one Triton request",
    "triton_header": "NAME=VALUE header sent with every call to the --triton-url Tritons (for "
    "one started with --grpc-restricted-protocol=...:KEY=VALUE, NAME is "
    "triton-grpc-protocol-KEY); better given as VOXGATE_TRITON_HEADER than on the command line",
    "triton_probe_timeout_s": "a Triton that does not answer the readiness probe in this many "
    "seconds is reported down",
    "health_poll_s": "seconds between Triton readiness checks",
    "metrics_port": "Prometheus metrics port, the façade's and (embedded) Triton's (0 = off)",
    "metrics_host": "address of the metrics endpoint (0.0.0.0 to scrape from elsewhere)",
    "log_level": "debug, info, warning or error",
    "log_json": "log JSON lines instead of console text",
    "otlp_endpoint": "send OpenTelemetry traces over OTLP/gRPC to this host:port (off if empty)",
    "ready_file": "write {address, port} as JSON here once serving",
    "data_dir": "where state that survives restarts lives (the voice registry)",
    "voices_db": "the voice registry's SQLite file (default: <data-dir>/voices.sqlite3)",
    "max_synthesis_chars": "longest text one Synthesize call may speak (OUT_OF_RANGE beyond)",
    "max_prompt_seconds": "longest voice prompt recording (OUT_OF_RANGE beyond)",
    "synthesis_stall_s": "fail a synthesis whose generator produces nothing for this long",
    "max_concurrent_syntheses": "most synthesis calls at once (RESOURCE_EXHAUSTED beyond)",
    "max_concurrent_chats": "most Chat conversations at once (RESOURCE_EXHAUSTED beyond)",
    "chat_idle_s": "end a conversation with no client message and no reply for this long",
    "max_chat_seconds": "longest conversation, in wall-clock seconds (OUT_OF_RANGE beyond)",
    "chat_history_tokens": "token budget of a conversation's history in the LLM prompt",
    "drain_delay_s": "at SIGTERM, report NOT_SERVING this long before closing the listener "
    "(so load balancers and meshes stop sending new calls)",
    "shutdown_grace_s": "then give calls in flight this long to finish before cancelling them",
    "keepalive_time_s": "send HTTP/2 keepalive pings on idle connections this often",
    "keepalive_timeout_s": "close a connection whose keepalive ping is not answered in this time",
    "max_connection_age_s": "close client connections (GOAWAY) after this long, so meshes "
    "rebalance long-lived HTTP/2 connections (0 = never)",
    "max_connection_age_grace_s": "calls on an aged connection get this long to finish",
    "max_calls": "most voxgate calls in progress; more are refused at once (RESOURCE_EXHAUSTED "
    "with a retry delay)",
    "max_streams": "most streaming calls in progress (StreamTokenize, Synthesize, Chat...); "
    "0 = 4 per usable CPU core, what the reference CPU models keep real-time",
    "max_calls_per_tenant": "most calls in progress per token tenant (0 = no cap of its own)",
    "max_streams_per_connection": "most streaming calls open on one client connection "
    "(0 = no cap of its own)",
    "services": "serve only these services, comma-separated: tokenizer, synthesis, chat "
    "(DiscoveryService always); the embedded Triton then loads only the models they need, "
    "so a tokenizer-only server is a fraction of the memory (default: all)",
    "max_stream_lag_s": "end a live StreamTokenize (RESOURCE_EXHAUSTED with a retry delay) "
    "whose tokens fall this many seconds behind its real-time audio (0 = never)",
    "stream_write_timeout_s": "end a streaming call (RESOURCE_EXHAUSTED) whose client takes "
    "none of its responses for this many seconds",
    "tls_cert": "serve TLS with this PEM certificate (chain); reloaded when the file changes",
    "tls_key": "the PEM private key of --tls-cert",
    "tls_client_ca": "require client certificates signed by this PEM CA (mutual TLS)",
    "auth_tokens_file": "require bearer tokens listed in this file (lines: TENANT sha256:HEX "
    "[Service,...]; `voxgate auth token TENANT` makes one); also VOXGATE_AUTH_TOKENS",
    "auth_open": "with tokens on, the services that need none: health, reflection, both "
    "(default) or empty",
}


class SettingsError(ValueError):
    """Settings that cannot work together (or files they name that cannot be used)."""


def _convert(name: str, raw: str) -> object:
    kind = Settings.__dataclass_fields__[name].type
    if "bool" in kind:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if "Path" in kind:
        return Path(raw)
    if kind.startswith("int"):
        return int(raw)
    if kind.startswith("float"):
        return float(raw)
    return raw


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds one --flag per setting; defaults come from the environment, then Settings."""
    for f in fields(Settings):
        flag = "--" + f.name.replace("_", "-")
        if f.type == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None)
        else:
            parser.add_argument(flag, default=None, help=_HELP[f.name], metavar=f.name.upper())


def from_sources(args: argparse.Namespace | None, env: Mapping[str, str]) -> Settings:
    """Builds Settings from parsed flags (highest priority) and VOXGATE_<NAME> variables."""
    values: dict[str, object] = {}
    for f in fields(Settings):
        env_value = env.get("VOXGATE_" + f.name.upper())
        if env_value not in (None, ""):
            values[f.name] = _convert(f.name, env_value)
        flag_value = getattr(args, f.name, None) if args is not None else None
        if flag_value is not None:
            values[f.name] = (
                flag_value if isinstance(flag_value, bool) else _convert(f.name, str(flag_value))
            )
    settings = Settings(**values)  # type: ignore[arg-type]
    _check(settings)
    return settings


def parse(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Parses settings for `voxgate serve` from flags and the environment."""
    parser = argparse.ArgumentParser(prog="voxgate serve")
    add_arguments(parser)
    return from_sources(parser.parse_args(argv), os.environ if env is None else env)


def _check(s: Settings) -> None:
    problems = []
    if not 0 <= s.port <= 65535:
        problems.append(f"port {s.port} outside 0-65535")
    if (
        s.max_synthesis_chars < 1
        or s.max_prompt_seconds <= 0
        or s.synthesis_stall_s <= 0
        or s.max_concurrent_syntheses < 1
    ):
        problems.append("synthesis limits must be positive")
    if (
        s.max_concurrent_chats < 1
        or s.chat_idle_s <= 0
        or s.max_chat_seconds <= 0
        or s.chat_history_tokens < 64
    ):
        problems.append("chat limits must be positive (history at least 64 tokens)")
    if (
        min(s.drain_delay_s, s.shutdown_grace_s, s.max_connection_age_s) < 0
        or min(s.keepalive_time_s, s.keepalive_timeout_s, s.max_connection_age_grace_s) <= 0
    ):
        problems.append("drain, grace, keepalive and connection-age times must not be negative")
    if s.max_audio_seconds <= 0:
        problems.append("max_audio_seconds must be positive")
    if s.triton_probe_timeout_s <= 0:
        problems.append("triton_probe_timeout_s must be positive")
    if s.triton_header.strip() and "=" not in s.triton_header.strip("= "):
        problems.append("triton_header must be NAME=VALUE")
    if s.max_decoded_audio_bytes < MIB:
        problems.append("max_decoded_audio_bytes must be at least 1 MiB")
    if s.chunk_groups < 1 or s.decode_chunk_groups < 1:
        problems.append("chunk sizes must be at least one group")
    if s.max_request_bytes < 1024 or s.max_response_bytes < 1024:
        problems.append("message limits must be at least 1 KiB")
    if (
        s.max_calls < 1
        or min(s.max_streams, s.max_calls_per_tenant, s.max_streams_per_connection) < 0
    ):
        problems.append("call limits: max_calls at least 1, the others 0 (auto/off) or more")
    if s.max_stream_lag_s < 0 or s.stream_write_timeout_s <= 0:
        problems.append("max_stream_lag_s must not be negative, stream_write_timeout_s positive")
    if (s.tls_cert is None) != (s.tls_key is None):
        problems.append("--tls-cert and --tls-key go together")
    if s.tls_client_ca is not None and s.tls_cert is None:
        problems.append("--tls-client-ca needs --tls-cert and --tls-key")
    if s.model_config_name not in {"cpu", "gpu"}:
        problems.append(f"model_config_name {s.model_config_name!r} is not cpu or gpu")
    if problems:
        raise SettingsError("invalid settings: " + "; ".join(problems))
