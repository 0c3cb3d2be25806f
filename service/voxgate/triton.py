"""The only module that talks to Triton: the model ports of `core.ports` over Triton's gRPC API.

Unary inference goes through tritonclient's aio client. Decoupled (streaming) models go through
Triton's bidirectional `ModelStreamInfer` RPC on a channel of our own, one gRPC stream per
request, so that cancelling the caller cancels exactly that request inside Triton.

Every call carries the endpoint's headers: those `triton_auth` holds for it (the embedded
server's per-run secret) and any given for external Tritons (`--triton-header`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping

import grpc
import numpy as np
import tritonclient.grpc.aio as triton_aio
from tritonclient.grpc import (
    MAX_GRPC_MESSAGE_SIZE,
    InferenceServerClientPlugin,
    InferInput,
    InferRequestedOutput,
    InferResult,
    KeepAliveOptions,
    service_pb2,
)
from tritonclient.grpc import service_pb2_grpc as triton_grpc
from tritonclient.utils import (
    InferenceServerException,
    np_to_triton_dtype,
    serialize_byte_tensor,
    triton_to_np_dtype,
)

from voxgate import model_names as names
from voxgate import tracing, triton_auth
from voxgate.core.ports import ModelSpec, ModelStatus
from voxgate.errors import DeadlineExceeded, ModelFailed, ModelUnavailable
from voxgate.logs import get_logger, request_id

log = get_logger(__name__)

_UNAVAILABLE = {"StatusCode.UNAVAILABLE", "StatusCode.CANCELLED"}
_MAX_MESSAGE = 256 * 1024 * 1024
# Reconnect to a Triton that went away at least every second: gRPC's default backoff grows to
# minutes (1 s, 1.6 s, 2.6 s, ...), and a restarted server stayed unseen for seconds after it
# was up again.
RECONNECT_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
]
# tritonclient's own channel arguments (it takes all or none), and the reconnect backoff.
_CLIENT_OPTIONS = [
    ("grpc.max_send_message_length", MAX_GRPC_MESSAGE_SIZE),
    ("grpc.max_receive_message_length", MAX_GRPC_MESSAGE_SIZE),
    ("grpc.keepalive_time_ms", KeepAliveOptions().keepalive_time_ms),
    ("grpc.keepalive_timeout_ms", KeepAliveOptions().keepalive_timeout_ms),
    ("grpc.keepalive_permit_without_calls", KeepAliveOptions().keepalive_permit_without_calls),
    ("grpc.http2.max_pings_without_data", KeepAliveOptions().http2_max_pings_without_data),
    *RECONNECT_OPTIONS,
]
_FINAL = "triton_final_response"


def _param(config: dict, key: str, default: str | None = None) -> str:
    value = config.get("parameters", {}).get(key, {}).get("string_value", default)
    if value is None:
        raise ModelFailed(f"model {config.get('name')} lacks parameter {key}")
    return value


def _speaker_shift_input(shift: np.ndarray) -> InferInput:
    """The detokenize_voice `speaker_shift` input: [1, 25] FP32 (Δc0..Δc23, Δlog F0)."""
    value = np.ascontiguousarray(shift, np.float32).reshape(1, -1)
    if value.shape[1] != 25:
        raise ValueError(f"speaker_shift: {value.shape[1]} values, expected 25")
    tensor = InferInput("speaker_shift", list(value.shape), "FP32")
    tensor.set_data_from_numpy(value)
    return tensor


def _domain_error(model: str, err: InferenceServerException) -> Exception:
    """A tritonclient error of one call -> the domain error the interceptor knows."""
    if err.status() == "StatusCode.DEADLINE_EXCEEDED":
        return DeadlineExceeded(f"model {model} did not answer in time")
    if err.status() in _UNAVAILABLE:
        return ModelUnavailable(f"model server unavailable for {model}")
    log.error("triton_infer_failed", model=model, status=err.status(), error=err.message())
    return ModelFailed(f"model {model} failed")


def endpoint_headers(url: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """What calls to `url` carry: `extra`, then the headers `triton_auth` holds for `url` now
    (read at each call: an embedded server registers its secret when it starts)."""
    return {**(extra or {}), **triton_auth.headers_for(url)}


class Headers(InferenceServerClientPlugin):
    """A tritonclient plugin: every call carries `endpoint_headers(url, extra)`."""

    def __init__(self, url: str, extra: Mapping[str, str] | None = None) -> None:
        self.url = url
        self.extra = dict(extra or {})

    def __call__(self, request) -> None:
        request.headers = {**(request.headers or {}), **endpoint_headers(self.url, self.extra)}


def authenticate(client, url: str):
    """Makes a tritonclient client (grpc or grpc.aio) for `url` send its headers; returns it."""
    client.register_plugin(Headers(url))
    return client


def inference_client(url: str) -> triton_aio.InferenceServerClient:
    """A tritonclient aio client for `url` that sends its headers (an embedded Triton's
    secret), for tools and tests that talk to Triton directly."""
    return authenticate(triton_aio.InferenceServerClient(url, channel_args=_CLIENT_OPTIONS), url)


class TritonModels:
    """The voxgate models in one Triton server: catalog, tokenizer, decoder, generators.

    `probe_timeout_s` bounds the readiness probe (`index`, which the health poll calls): a
    server that stopped answering (SIGSTOP, a hung host) is reported down that fast.
    """

    def __init__(
        self,
        url: str,
        timeout_s: float,
        headers: Mapping[str, str] | None = None,
        probe_timeout_s: float = 1.0,
    ) -> None:
        self.url = url
        self._timeout_s = timeout_s
        self._probe_timeout_s = probe_timeout_s
        self._headers = dict(headers or {})
        self._client = triton_aio.InferenceServerClient(url, channel_args=_CLIENT_OPTIONS)
        self._client.register_plugin(Headers(url, self._headers))
        self._stream_channel: grpc.aio.Channel | None = None
        self._stub: triton_grpc.GRPCInferenceServiceStub | None = None
        self._spec: ModelSpec | None = None
        self._spec_lock = asyncio.Lock()

    async def close(self) -> None:
        await self._client.close()
        if self._stream_channel is not None:
            await self._stream_channel.close()

    # -- catalog ---------------------------------------------------------------------------

    async def index(self) -> dict[str, bool]:
        """Every model in the repository Triton loaded -> whether a version of it is READY."""
        try:
            probe = self._probe_timeout_s
            if not await self._client.is_server_ready(client_timeout=probe):
                raise ModelUnavailable("model server not ready")
            reply = await self._client.get_model_repository_index(
                as_json=True, client_timeout=probe
            )
        except InferenceServerException as err:
            raise ModelUnavailable("model server not reachable") from err
        ready: dict[str, bool] = {}
        for model in reply.get("models", []):
            name = model["name"]
            ready[name] = ready.get(name, False) or model.get("state") == "READY"
        return ready

    async def ready(self, models: tuple[str, ...] = names.ENSEMBLES) -> bool:
        """True when the server is up and each of `models` is ready."""
        try:
            index = await self.index()
        except ModelUnavailable:
            return False
        return all(index.get(m, False) for m in models)

    async def statuses(self, models: list[str]) -> list[ModelStatus]:
        """Per-model readiness and backend, for discovery."""

        async def one(name: str) -> ModelStatus:
            try:
                ready = await self._client.is_model_ready(name, client_timeout=2.0)
                cfg = (await self._client.get_model_config(name, as_json=True, client_timeout=2.0))[
                    "config"
                ]
                backend = cfg.get("platform") or cfg.get("backend", "")
            except InferenceServerException:
                ready, backend = False, ""
            return ModelStatus(name, "1", ready, backend)

        return list(await asyncio.gather(*(one(n) for n in models)))

    async def spec(self) -> ModelSpec:
        """Reads (once) the context sizes and output rate declared in the model configs."""
        if self._spec is None:
            async with self._spec_lock:  # the first streams of a busy start ask all at once
                if self._spec is None:
                    self._spec = await self._read_spec()
        return self._spec

    async def _read_spec(self) -> ModelSpec:
        async def config(name: str) -> dict:
            got = await self._client.get_model_config(name, as_json=True, client_timeout=5.0)
            return got["config"]

        try:
            # The tokenizer's parameters sit on the tokenize ensemble's first step (the joint
            # tokenizer of the reference profile, step-audio's linguistic tokenizer).
            steps = (await config(names.TOKENIZE)).get("ensemble_scheduling", {}).get("step")
            first = steps[0]["model_name"] if steps else names.TOKENIZE
            tok, dec, voc = await asyncio.gather(
                *(config(n) for n in (first, names.TOKEN_DECODER, names.VOCODER))
            )
        except InferenceServerException as err:
            raise ModelUnavailable("model server not reachable") from err
        try:  # optional: a profile without it streams through tokenize
            stream = await config(names.STREAM_TOKENIZER)
            lookahead: int | None = int(_param(stream, "lookahead_samples"))
        except InferenceServerException:
            lookahead = None
        return ModelSpec(
            context_groups=int(_param(tok, "context_groups")),
            decoder_context_groups=int(_param(dec, "decoder_context_groups")),
            output_sample_rate=int(_param(voc, "sample_rate")),
            profile=_param(tok, "profile", "reference"),
            window_groups=int(_param(tok, "window_groups", "0")),
            stream_lookahead_samples=lookahead,
        )

    # -- unary models ----------------------------------------------------------------------

    async def tokenize(self, waveform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Runs the tokenize ensemble on one 16 kHz window; returns (linguistic, semantic)."""
        wav = InferInput("waveform", [1, len(waveform)], "FP32")
        wav.set_data_from_numpy(np.ascontiguousarray(waveform, np.float32)[None, :])
        result = await self._infer(names.TOKENIZE, [wav], ["linguistic_tokens", "semantic_tokens"])
        return result.as_numpy("linguistic_tokens")[0], result.as_numpy("semantic_tokens")[0]

    async def decode(
        self, interleaved: np.ndarray, speaker_shift: np.ndarray | None = None
    ) -> np.ndarray:
        """Runs the detokenize ensemble on interleaved ids; returns the waveform.

        With a speaker shift, the detokenize_voice ensemble (the speaker_adapter between the
        token decoder and the vocoder) instead.
        """
        ids = InferInput("audio_tokens", [1, len(interleaved)], "INT64")
        ids.set_data_from_numpy(np.ascontiguousarray(interleaved, np.int64)[None, :])
        if speaker_shift is None:
            result = await self._infer(names.DETOKENIZE, [ids], ["waveform"])
        else:
            shift = _speaker_shift_input(speaker_shift)
            result = await self._infer(names.DETOKENIZE_VOICE, [ids, shift], ["waveform"])
        return result.as_numpy("waveform")[0]

    async def _infer(
        self, model: str, inputs: list[InferInput], outputs: list[str], **sequence: object
    ):
        span = tracing.model_span(model, "infer")
        try:
            return await self._client.infer(
                model,
                inputs,
                outputs=[InferRequestedOutput(o) for o in outputs],
                request_id=request_id(),
                client_timeout=self._timeout_s,
                headers=tracing.headers(span),
                **sequence,
            )
        except InferenceServerException as err:
            tracing.fail(span, str(err.status()).removeprefix("StatusCode."), err.message())
            raise _domain_error(model, err) from err
        finally:
            span.end()

    # -- stateful models -------------------------------------------------------------------

    def sequence_model(self, model: str) -> TritonSequenceModel:
        """A `core.ports.SequenceModel` over one model with Triton's sequence batcher."""
        return TritonSequenceModel(self, model)

    # -- decoupled models ------------------------------------------------------------------

    def generator(self, model: str) -> TritonStreamingGenerator:
        """A `core.ports.StreamingGenerator` over one decoupled model."""
        return TritonStreamingGenerator(self._streams_stub(), model, self._timeout_s, self.metadata)

    def unary_stub(self) -> triton_grpc.GRPCInferenceServiceStub:
        """Triton's own gRPC stub on tritonclient's channel: for calls frequent enough that
        tritonclient's per-call objects cost more than the model (a live stream's requests).
        The same connection as the readiness probes, so a replica probed back in is one these
        calls reach (a channel of their own could still be backing off its reconnects).
        `_client_stub` is tritonclient 2.73's (pinned in pyproject.toml)."""
        return self._client._client_stub

    def _streams_stub(self) -> triton_grpc.GRPCInferenceServiceStub:
        """Triton's own gRPC stub on a channel of its own, for long-lived streams."""
        if self._stub is None:
            self._stream_channel = grpc.aio.insecure_channel(
                self.url,
                options=[
                    ("grpc.max_send_message_length", _MAX_MESSAGE),
                    ("grpc.max_receive_message_length", _MAX_MESSAGE),
                    *RECONNECT_OPTIONS,
                ],
            )
            self._stub = triton_grpc.GRPCInferenceServiceStub(self._stream_channel)
        return self._stub

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """The headers of a call to this endpoint, as gRPC metadata (read at each call)."""
        return tuple(endpoint_headers(self.url, self._headers).items())


class TritonSequenceModel:
    """One model behind Triton's sequence batcher: each call is one request of a sequence.

    Calls go through Triton's own stub, not tritonclient: a live stream makes one per piece of
    audio, and tritonclient's request and result objects cost more than the model's work."""

    def __init__(self, models: TritonModels, model: str) -> None:
        self._models = models
        self.model = model

    async def infer(
        self,
        sequence_id: int,
        inputs: Mapping[str, np.ndarray],
        outputs: tuple[str, ...],
        *,
        start: bool = False,
        end: bool = False,
    ) -> dict[str, np.ndarray]:
        control = {"sequence_id": sequence_id, "sequence_start": start, "sequence_end": end}
        request = _request(self.model, inputs, outputs, control)
        span = tracing.model_span(self.model, "infer")
        try:
            reply = await self._models.unary_stub().ModelInfer(
                request,
                timeout=self._models._timeout_s,
                metadata=(*tracing.headers(span).items(), *self._models.metadata()),
            )
        except grpc.aio.AioRpcError as err:
            tracing.fail(span, err.code().name, err.details() or "")
            status = str(err.code())  # "StatusCode.X", as tritonclient reports it
            raise _domain_error(
                self.model, InferenceServerException(err.details(), status)
            ) from err
        finally:
            span.end()
        return _arrays(reply)


def _arrays(reply: service_pb2.ModelInferResponse) -> dict[str, np.ndarray]:
    """A response's outputs as arrays (numeric types: read in place from the raw contents)."""
    out = {}
    for tensor, raw in zip(reply.outputs, reply.raw_output_contents, strict=True):
        dtype = triton_to_np_dtype(tensor.datatype)
        if dtype is None or dtype is np.object_:
            out[tensor.name] = InferResult(reply).as_numpy(tensor.name)
        else:
            out[tensor.name] = np.frombuffer(raw, dtype).reshape(tuple(tensor.shape))
    return out


def _request(
    model: str,
    inputs: Mapping[str, np.ndarray],
    outputs: tuple[str, ...],
    parameters: Mapping[str, str | int | float | bool] | None,
) -> service_pb2.ModelInferRequest:
    req = service_pb2.ModelInferRequest(model_name=model, id=request_id())
    for name, value in inputs.items():
        arr = np.ascontiguousarray(value)
        dtype = np_to_triton_dtype(arr.dtype)
        req.inputs.add(name=name, datatype=dtype, shape=arr.shape)
        if dtype == "BYTES":  # length-prefixed elements, as tritonclient sends them
            serialized = serialize_byte_tensor(arr)
            req.raw_input_contents.append(serialized.item() if serialized.size else b"")
        else:
            req.raw_input_contents.append(arr.tobytes())
    for name in outputs:
        req.outputs.add(name=name)
    # Without this Triton sends nothing when a model ends with a bare final flag.
    req.parameters["triton_enable_empty_final_response"].bool_param = True
    for key, value in (parameters or {}).items():
        p = req.parameters[key]
        if isinstance(value, bool):
            p.bool_param = value
        elif isinstance(value, int):
            p.int64_param = value
        elif isinstance(value, float):
            p.double_param = value
        else:
            p.string_param = str(value)
    return req


class TritonStreamingGenerator:
    """One decoupled Triton model as an async iterator of responses (`StreamingGenerator`)."""

    def __init__(
        self,
        stub: triton_grpc.GRPCInferenceServiceStub,
        model: str,
        timeout_s: float,
        metadata: Callable[[], tuple[tuple[str, str], ...]] = tuple,
    ) -> None:
        self._stub = stub
        self.model = model
        self._timeout_s = timeout_s
        self._metadata = metadata  # the endpoint's headers, read at each call
        self._parameters: dict[str, str] | None = None

    async def parameters(self) -> dict[str, str]:
        """The model's config parameters (string values), read once."""
        if self._parameters is None:
            try:
                reply = await self._stub.ModelConfig(
                    service_pb2.ModelConfigRequest(name=self.model),
                    timeout=5.0,
                    metadata=self._metadata(),
                )
            except grpc.aio.AioRpcError as err:
                raise ModelUnavailable(f"model server unavailable for {self.model}") from err
            self._parameters = {k: v.string_value for k, v in reply.config.parameters.items()}
        return self._parameters

    async def generate(
        self,
        inputs: Mapping[str, np.ndarray],
        *,
        outputs: tuple[str, ...],
        parameters: Mapping[str, str | int | float | bool] | None = None,
        timeout_s: float | None = None,
    ) -> AsyncIterator[dict[str, np.ndarray]]:
        request = _request(self.model, inputs, outputs, parameters)
        finished = asyncio.Event()

        async def requests():
            yield request
            await finished.wait()  # keep our half open until the model's final response

        span = tracing.model_span(self.model, "stream")
        call = self._stub.ModelStreamInfer(
            requests(),
            timeout=timeout_s if timeout_s is not None else self._timeout_s,
            metadata=(*tracing.headers(span).items(), *self._metadata()),
        )
        try:
            async for response in call:
                if response.error_message:
                    log.error(
                        "triton_stream_failed", model=self.model, error=response.error_message
                    )
                    raise ModelFailed(f"model {self.model} failed")
                reply = response.infer_response
                if reply.outputs:
                    result = InferResult(reply)
                    yield {o.name: result.as_numpy(o.name) for o in reply.outputs}
                if reply.parameters[_FINAL].bool_param:
                    return
            raise ModelFailed(f"model {self.model} ended its stream without a final response")
        except grpc.aio.AioRpcError as err:
            tracing.fail(span, err.code().name)
            if err.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise DeadlineExceeded(f"model {self.model} did not finish in time") from err
            if err.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
                raise ModelUnavailable(f"model server unavailable for {self.model}") from err
            log.error("triton_stream_failed", model=self.model, status=err.code().name)
            raise ModelFailed(f"model {self.model} failed") from err
        finally:
            finished.set()
            # Leaving early (break, error, caller cancelled): cancel the request in Triton.
            call.cancel()
            span.end()
