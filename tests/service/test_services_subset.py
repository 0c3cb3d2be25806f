"""`voxgate serve --services tokenizer`: only the TokenizerService (and discovery) is served,
and the embedded Triton loads only the models it needs (a real process, a real Triton)."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from voxgate.launcher import async_local_server
from voxgate.model_repository import with_needs
from voxgate.registry import selected_services
from voxgate.v1 import (
    audio_pb2,
    discovery_pb2,
    discovery_pb2_grpc,
    synthesis_pb2,
    synthesis_pb2_grpc,
    tokenizer_pb2,
    tokenizer_pb2_grpc,
)

from tests.conftest import speechlike, wav_bytes
from tests.service.conftest import MODEL_REPOSITORY

pytestmark = pytest.mark.triton

TOKENIZER_MODELS = {
    "tokenize",
    "detokenize",
    "joint_tokenizer",
    "stream_tokenizer",
    "token_decoder",
    "vocoder",
}


def test_the_models_a_selection_needs_include_ensemble_steps():
    chosen = selected_services("tokenizer")
    assert [e.proto.name for e in chosen] == ["TokenizerService", "DiscoveryService"]
    wanted = [m for e in chosen for m in e.models]
    assert set(with_needs(wanted, MODEL_REPOSITORY, "cpu")) == TOKENIZER_MODELS
    with pytest.raises(ValueError, match="unknown tokeniser"):
        selected_services("tokeniser")


async def test_a_tokenizer_only_server_serves_tokens_and_loads_nothing_else():
    args = ("--port", "0", "--services", "tokenizer", "--metrics-port", "0")
    async with (
        async_local_server(*args, start_timeout_s=180) as srv,
        grpc.aio.insecure_channel(srv.address) as channel,
    ):
        info = await discovery_pb2_grpc.DiscoveryServiceStub(channel).GetServerInfo(
            discovery_pb2.GetServerInfoRequest(), timeout=10
        )
        assert list(info.implemented_services) == [
            "voxgate.v1.TokenizerService",
            "voxgate.v1.DiscoveryService",
        ]
        ready = {m.name for m in info.models if m.ready}
        assert ready == TOKENIZER_MODELS  # no TTS, chat LLM, VAD or ASR in memory

        wav = wav_bytes(speechlike(1.2, seed=3), 16000)
        reply = await tokenizer_pb2_grpc.TokenizerServiceStub(channel).Tokenize(
            tokenizer_pb2.TokenizeRequest(audio=audio_pb2.AudioInput(container=wav)),
            timeout=60,
        )
        assert len(reply.tokens.interleaved) == 5 * 10

        health = health_pb2_grpc.HealthStub(channel)
        serving = health_pb2.HealthCheckResponse.SERVING
        assert (await health.Check(health_pb2.HealthCheckRequest(), timeout=5)).status == (serving)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await synthesis_pb2_grpc.SynthesisServiceStub(channel).ListVoices(
                synthesis_pb2.ListVoicesRequest(), timeout=10
            )
        assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
