"""The gRPC server: servicers, interceptor, health, reflection, limits; and `serve()`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from voxgate.config import Settings
from voxgate.core.tokenization import Limits, Tokenization
from voxgate.interceptors import ServiceInterceptor
from voxgate.logs import get_logger
from voxgate.runtime import EmbeddedTriton
from voxgate.servicers.discovery import DiscoveryServicer
from voxgate.servicers.tokenizer import TokenizerServicer
from voxgate.servicers.unimplemented import ChatServicer, SynthesisServicer
from voxgate.triton import TritonModels
from voxgate.v1 import (
    chat_pb2,
    chat_pb2_grpc,
    discovery_pb2,
    discovery_pb2_grpc,
    synthesis_pb2,
    synthesis_pb2_grpc,
    tokenizer_pb2,
    tokenizer_pb2_grpc,
)

log = get_logger(__name__)

SERVICE_NAMES = [
    tokenizer_pb2.DESCRIPTOR.services_by_name["TokenizerService"].full_name,
    discovery_pb2.DESCRIPTOR.services_by_name["DiscoveryService"].full_name,
    synthesis_pb2.DESCRIPTOR.services_by_name["SynthesisService"].full_name,
    chat_pb2.DESCRIPTOR.services_by_name["ChatService"].full_name,
]


class Server:
    """A grpc.aio server plus the task that keeps its health in step with Triton."""

    def __init__(self, grpc_server: grpc.aio.Server, models: TritonModels, settings: Settings):
        self.grpc = grpc_server
        self.models = models
        self.health = health.aio.HealthServicer()
        self._settings = settings
        self._watcher: asyncio.Task | None = None
        self.serving = asyncio.Event()

    async def start(self) -> None:
        await self._set(False)
        await self.grpc.start()
        self._watcher = asyncio.create_task(self._watch(), name="health-watcher")

    async def _set(self, ok: bool) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if ok
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ["", *SERVICE_NAMES]:
            await self.health.set(name, status)

    async def _watch(self) -> None:
        """NOT_SERVING until every model is ready, and again whenever Triton is not."""
        current = None
        while True:
            ok = await self.models.ready()
            if ok != current:
                await self._set(ok)
                log.info("health", serving=ok)
                current = ok
                if ok:
                    self.serving.set()
                else:
                    self.serving.clear()
            await asyncio.sleep(self._settings.health_poll_s)

    async def stop(self, grace: float | None = 5.0) -> None:
        if self._watcher:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        await self.health.enter_graceful_shutdown()
        await self.grpc.stop(grace)
        await self.models.close()


def create_server(settings: Settings, triton_url: str | None = None) -> tuple[Server, int]:
    """Builds the server on settings.host:port (0 = any free port); returns it and its port."""
    url = triton_url or settings.triton_url
    if not url:
        raise ValueError("a Triton URL is required (embedded or --triton-url)")
    models = TritonModels(url, settings.triton_timeout_s)
    tokenization = Tokenization(
        models,
        Limits(
            max_audio_seconds=settings.max_audio_seconds,
            max_detokenize_tokens=settings.max_detokenize_tokens,
            chunk_groups=settings.chunk_groups,
            decode_chunk_groups=settings.decode_chunk_groups,
        ),
    )
    grpc_server = grpc.aio.server(
        interceptors=[ServiceInterceptor()],
        options=[
            ("grpc.max_receive_message_length", settings.max_request_bytes),
            ("grpc.max_send_message_length", settings.max_response_bytes),
            ("grpc.so_reuseport", 0),
        ],
    )
    server = Server(grpc_server, models, settings)
    tokenizer_pb2_grpc.add_TokenizerServiceServicer_to_server(
        TokenizerServicer(tokenization), grpc_server
    )
    discovery_pb2_grpc.add_DiscoveryServiceServicer_to_server(
        DiscoveryServicer(settings, models), grpc_server
    )
    synthesis_pb2_grpc.add_SynthesisServiceServicer_to_server(SynthesisServicer(), grpc_server)
    chat_pb2_grpc.add_ChatServiceServicer_to_server(ChatServicer(), grpc_server)
    health_pb2_grpc.add_HealthServicer_to_server(server.health, grpc_server)
    reflection.enable_server_reflection(
        [*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME], grpc_server
    )
    port = grpc_server.add_insecure_port(f"{settings.host}:{settings.port}")
    if port == 0:
        raise OSError(f"cannot listen on {settings.host}:{settings.port}")
    return server, port


async def serve(settings: Settings) -> None:
    """Runs voxgate until SIGTERM/SIGINT: embedded Triton (unless --triton-url), then gRPC."""
    triton = None
    if not settings.triton_url:
        triton = EmbeddedTriton(
            settings.model_repository, settings.model_config_name, settings.run_dir
        )
        await triton.start()
    server, port = create_server(settings, triton.url if triton else None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if settings.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.metrics_port, addr=settings.host)
    await server.start()
    log.info("listening", address=f"{settings.host}:{port}", triton=server.models.url)
    ready = asyncio.create_task(_announce(server, settings, port, triton))
    await stop.wait()
    log.info("shutting_down")
    ready.cancel()
    await server.stop(grace=5.0)
    if triton:
        await triton.stop()
    if settings.ready_file:
        with contextlib.suppress(FileNotFoundError):
            settings.ready_file.unlink()


async def _announce(
    server: Server, settings: Settings, port: int, triton: EmbeddedTriton | None
) -> None:
    """Writes the ready file once SERVING; warns (with Triton's log) if that takes too long."""
    try:
        await asyncio.wait_for(server.serving.wait(), settings.triton_start_timeout_s)
    except TimeoutError:
        log.error(
            "models_not_ready",
            waited_s=settings.triton_start_timeout_s,
            triton_log=triton.log_tail() if triton else None,
        )
        await server.serving.wait()
    log.info("serving", address=f"{settings.host}:{port}")
    if settings.ready_file:
        tmp = settings.ready_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"address": f"{settings.host}:{port}", "port": port}))
        os.replace(tmp, settings.ready_file)
