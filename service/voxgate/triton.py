"""The only module that talks to Triton: readiness, model parameters and inference calls."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np
import tritonclient.grpc.aio as triton_aio
from tritonclient.grpc import InferInput, InferRequestedOutput
from tritonclient.utils import InferenceServerException

from voxgate.errors import ModelFailed, ModelUnavailable
from voxgate.logs import get_logger

log = get_logger(__name__)

TOKENIZE = "tokenize"
DETOKENIZE = "detokenize"
# Models the façade needs ready before it reports SERVING, with the role each plays.
MODEL_ROLES = {
    "linguistic_tokenizer": "tokenizer",
    "semantic_tokenizer": "tokenizer",
    TOKENIZE: "ensemble",
    "token_decoder": "decoder",
    "vocoder": "vocoder",
    DETOKENIZE: "ensemble",
}
_UNAVAILABLE = {"StatusCode.UNAVAILABLE", "StatusCode.CANCELLED", "StatusCode.DEADLINE_EXCEEDED"}


@dataclass(frozen=True)
class ModelSpec:
    """Model constants the façade plans requests with, read from the Triton configs."""

    context_groups: int
    decoder_context_groups: int
    output_sample_rate: int
    profile: str


@dataclass(frozen=True)
class ModelStatus:
    """Readiness of one model as Triton reports it."""

    name: str
    role: str
    version: str
    ready: bool
    backend: str


def _param(config: dict, key: str, default: str | None = None) -> str:
    value = config.get("parameters", {}).get(key, {}).get("string_value", default)
    if value is None:
        raise ModelFailed(f"model {config.get('name')} lacks parameter {key}")
    return value


class TritonModels:
    """Async client for the voxgate models in one Triton server (gRPC)."""

    def __init__(self, url: str, timeout_s: float) -> None:
        self.url = url
        self._timeout_s = timeout_s
        self._client = triton_aio.InferenceServerClient(url)
        self._spec: ModelSpec | None = None

    async def close(self) -> None:
        await self._client.close()

    async def ready(self) -> bool:
        """True when the server and every voxgate model are ready."""
        try:
            if not await self._client.is_server_ready(client_timeout=2.0):
                return False
            checks = [self._client.is_model_ready(name, client_timeout=2.0) for name in MODEL_ROLES]
            return all(await asyncio.gather(*checks))
        except InferenceServerException:
            return False

    async def spec(self) -> ModelSpec:
        """Reads (once) the context sizes and output rate declared in the model configs."""
        if self._spec is None:
            try:
                tok = await self._client.get_model_config(
                    "linguistic_tokenizer", as_json=True, client_timeout=5.0
                )
                dec = await self._client.get_model_config(
                    "token_decoder", as_json=True, client_timeout=5.0
                )
                voc = await self._client.get_model_config(
                    "vocoder", as_json=True, client_timeout=5.0
                )
            except InferenceServerException as err:
                raise ModelUnavailable("model server not reachable") from err
            tok, dec, voc = tok["config"], dec["config"], voc["config"]
            self._spec = ModelSpec(
                context_groups=int(_param(tok, "context_groups")),
                decoder_context_groups=int(_param(dec, "decoder_context_groups")),
                output_sample_rate=int(_param(voc, "sample_rate")),
                profile=_param(tok, "profile", "reference"),
            )
        return self._spec

    async def statuses(self) -> list[ModelStatus]:
        """Per-model readiness and backend, for discovery."""
        out = []
        for name, role in MODEL_ROLES.items():
            try:
                ready = await self._client.is_model_ready(name, client_timeout=2.0)
                cfg = (await self._client.get_model_config(name, as_json=True, client_timeout=2.0))[
                    "config"
                ]
                backend = cfg.get("platform") or cfg.get("backend", "")
            except InferenceServerException:
                ready, backend = False, ""
            out.append(ModelStatus(name, role, "1", ready, backend))
        return out

    async def tokenize(self, waveform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Runs the tokenize ensemble on one 16 kHz window; returns (linguistic, semantic)."""
        wav = InferInput("waveform", [1, len(waveform)], "FP32")
        wav.set_data_from_numpy(np.ascontiguousarray(waveform, np.float32)[None, :])
        result = await self._infer(TOKENIZE, [wav], ["linguistic_tokens", "semantic_tokens"])
        return result.as_numpy("linguistic_tokens")[0], result.as_numpy("semantic_tokens")[0]

    async def decode(self, interleaved: np.ndarray) -> np.ndarray:
        """Runs the detokenize ensemble on interleaved ids; returns the waveform."""
        ids = InferInput("audio_tokens", [1, len(interleaved)], "INT64")
        ids.set_data_from_numpy(np.ascontiguousarray(interleaved, np.int64)[None, :])
        result = await self._infer(DETOKENIZE, [ids], ["waveform"])
        return result.as_numpy("waveform")[0]

    async def _infer(self, model: str, inputs: list[InferInput], outputs: list[str]):
        try:
            return await self._client.infer(
                model,
                inputs,
                outputs=[InferRequestedOutput(o) for o in outputs],
                client_timeout=self._timeout_s,
            )
        except InferenceServerException as err:
            if err.status() in _UNAVAILABLE:
                raise ModelUnavailable(f"model server unavailable for {model}") from err
            log.error("triton_infer_failed", model=model, status=err.status(), error=err.message())
            raise ModelFailed(f"model {model} failed") from err
