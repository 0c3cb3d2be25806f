"""The gRPC server: servicers, interceptor, health, reflection, limits; and `serve()`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import Callable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import Gauge

from voxgate import auth, tls, tracing
from voxgate.call_limits import CallLimits, CallLimitSettings
from voxgate.config import Settings, SettingsError
from voxgate.core.budget import AudioBudget
from voxgate.core.deployment import Deployment
from voxgate.errors import ModelUnavailable
from voxgate.interceptors import ServiceInterceptor
from voxgate.logs import get_logger
from voxgate.metrics import start_metrics
from voxgate.model_repository import with_needs
from voxgate.registry import ServiceContext, ServiceEntry, ServiceSet, selected_services
from voxgate.replicas import TritonReplicas
from voxgate.runtime import EmbeddedTriton
from voxgate.triton_auth import parse_header

log = get_logger(__name__)

DECODED_AUDIO = Gauge(
    "voxgate_decoded_audio_bytes",
    "Decoded audio held by the calls in flight (max_decoded_audio_bytes at most)",
)
_STATUS = {
    True: health_pb2.HealthCheckResponse.SERVING,
    False: health_pb2.HealthCheckResponse.NOT_SERVING,
}


class Server:
    """A grpc.aio server plus the task that keeps per-service health in step with Triton."""

    def __init__(
        self,
        grpc_server: grpc.aio.Server,
        models: TritonReplicas,
        services: ServiceSet,
        settings: Settings,
    ) -> None:
        self.grpc = grpc_server
        self.models = models
        self.services = services
        self.health = health.aio.HealthServicer()
        self._settings = settings
        self._watcher: asyncio.Task | None = None
        self._published: dict[str, bool] = {}
        self._exits = 0  # embedded Triton exits heard: a probe older than the last is stale
        self._unfollow: list[Callable[[], None]] = []
        self.serving = asyncio.Event()  # set while "" (the whole deployment) is SERVING

    async def start(self) -> None:
        await self._publish({name: False for name in ["", *self.services.names]})
        await self.grpc.start()
        self._watcher = asyncio.create_task(self._watch(), name="health-watcher")

    async def refresh(self) -> None:
        """Reads Triton's repository index once and publishes each service's health."""
        exits = self._exits
        try:
            index = await self.models.index()
            deployment = Deployment(index, known=True, reachable=True)
        except ModelUnavailable:
            deployment = self.services.deployment.unreachable()
        if exits != self._exits:  # Triton exited meanwhile: that news is newer than the probe
            return
        self.services.deployment = deployment
        await self._publish(self.services.health())

    def follow(self, triton: EmbeddedTriton) -> None:
        """Hears at once when the embedded Triton's process exits (not at the next poll)."""
        self._unfollow.append(triton.on_exit(self.triton_exited))

    async def triton_exited(self, code: int) -> None:
        """The embedded Triton's process ended: every model-backed service NOT_SERVING now."""
        self._exits += 1
        self.services.deployment = self.services.deployment.unreachable()
        await self._publish(self.services.health())

    async def _publish(self, status: dict[str, bool]) -> None:
        changed = {n: ok for n, ok in status.items() if self._published.get(n) != ok}
        for name, ok in changed.items():
            await self.health.set(name, _STATUS[ok])
        self._published.update(changed)
        if changed:
            log.info("health", **{name or "overall": ok for name, ok in changed.items()})
        if status.get(""):
            self.serving.set()
        else:
            self.serving.clear()

    async def _watch(self) -> None:
        """NOT_SERVING until a service's models are ready, and again whenever they are not."""
        while True:
            try:
                await self.refresh()
            except Exception:  # never let the watcher die: health would freeze
                log.exception("health_refresh_failed")
            await asyncio.sleep(self._settings.health_poll_s)

    async def stop(self, grace: float | None = 5.0, drain_delay: float = 0.0) -> None:
        """Drains: every service NOT_SERVING at once, `drain_delay` more seconds of new calls
        (while load balancers notice), then no new calls and `grace` for those in flight."""
        for unfollow in self._unfollow:
            unfollow()
        if self._watcher:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        await self.health.enter_graceful_shutdown()
        self.serving.clear()
        if drain_delay > 0:
            log.info("draining", delay_s=drain_delay, grace_s=grace)
            await asyncio.sleep(drain_delay)
        await self.grpc.stop(grace)
        await self.models.close()


def connection_options(settings: Settings) -> list[tuple[str, int]]:
    """Keepalive and connection age (gRPC core channel arguments, in ms)."""
    ms = lambda seconds: int(seconds * 1000)  # noqa: E731
    options = [
        ("grpc.keepalive_time_ms", ms(settings.keepalive_time_s)),
        ("grpc.keepalive_timeout_ms", ms(settings.keepalive_timeout_s)),
        # Clients may ping as often as the server does, without a call in flight (streams
        # of a conversation can be quiet for minutes); more often is answered with GOAWAY.
        ("grpc.http2.min_ping_interval_without_data_ms", ms(min(settings.keepalive_time_s, 10))),
        ("grpc.keepalive_permit_without_calls", 1),
    ]
    if settings.max_connection_age_s > 0:
        options += [
            ("grpc.max_connection_age_ms", ms(settings.max_connection_age_s)),
            ("grpc.max_connection_age_grace_ms", ms(settings.max_connection_age_grace_s)),
        ]
    return options


def call_limits(settings: Settings) -> CallLimits:
    return CallLimits(
        CallLimitSettings(
            max_calls=settings.max_calls,
            max_streams=settings.max_streams,
            max_calls_per_tenant=settings.max_calls_per_tenant,
            max_streams_per_connection=settings.max_streams_per_connection,
        )
    )


def _tls(settings: Settings) -> tls.TlsFiles | None:
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    return tls.TlsFiles(settings.tls_cert, settings.tls_key, settings.tls_client_ca)


def _services(settings: Settings) -> tuple[ServiceEntry, ...]:
    try:
        return selected_services(settings.services)
    except ValueError as err:
        raise SettingsError(str(err)) from None


class PortInUse(OSError):
    """The gRPC port cannot be bound (another process holds it)."""


def create_server(
    settings: Settings,
    triton_url: str | None = None,
    services: tuple[ServiceEntry, ...] | None = None,
) -> tuple[Server, int]:
    """Builds the server on settings.host:port (0 = any free port); returns it and its port.

    `services` defaults to those `settings.services` names (every service of the v1 API when
    it is empty).
    """
    url = triton_url or settings.triton_url
    if not url:
        raise ValueError("a Triton URL is required (embedded or --triton-url)")
    models = TritonReplicas(
        url,
        settings.triton_timeout_s,
        headers=parse_header(settings.triton_header),
        probe_timeout_s=settings.triton_probe_timeout_s,
    )
    service_set = ServiceSet(services if services is not None else _services(settings))
    try:
        token_auth = auth.from_settings(settings.auth_tokens_file, settings.auth_open, os.environ)
        credentials = tls.server_credentials(tls_files) if (tls_files := _tls(settings)) else None
    except (OSError, ValueError) as err:
        raise SettingsError(str(err)) from None
    grpc_server = grpc.aio.server(
        interceptors=[
            ServiceInterceptor(
                admit=service_set.admit,
                authenticate=token_auth,
                limits=call_limits(settings),
                write_timeout_s=settings.stream_write_timeout_s,
            )
        ],
        options=[
            ("grpc.max_receive_message_length", settings.max_request_bytes),
            ("grpc.max_send_message_length", settings.max_response_bytes),
            ("grpc.so_reuseport", 0),
            *connection_options(settings),
        ],
    )
    server = Server(grpc_server, models, service_set, settings)
    budget = AudioBudget(settings.max_decoded_audio_bytes)
    DECODED_AUDIO.set_function(lambda: budget.held)
    service_set.register(ServiceContext(settings, models, service_set, budget), grpc_server)
    health_pb2_grpc.add_HealthServicer_to_server(server.health, grpc_server)
    reflection.enable_server_reflection(
        [*service_set.names, health.SERVICE_NAME, reflection.SERVICE_NAME], grpc_server
    )
    address = f"{settings.host}:{settings.port}"
    try:
        if credentials is not None:
            port = grpc_server.add_secure_port(address, credentials)
        else:
            port = grpc_server.add_insecure_port(address)
    except RuntimeError:  # grpc's "Failed to bind": the port is taken (or not ours to take)
        port = 0
    if port == 0:
        raise PortInUse(f"cannot listen on {settings.host}:{settings.port}: the port is in use")
    return server, port


async def serve(settings: Settings) -> None:
    """Runs voxgate until SIGTERM/SIGINT: embedded Triton (unless --triton-url), then gRPC."""
    if settings.otlp_endpoint:
        tracing.setup(settings.otlp_endpoint)
    services = _services(settings)
    triton = None
    if not settings.triton_url:
        # Triton loads only the served services' models and what those need: not, say, the
        # per-stream tokenizers that the reference tokenize ensemble does not run.
        wanted = [m for e in services for m in e.models]
        models = with_needs(wanted, settings.model_repository, settings.model_config_name)
        triton = EmbeddedTriton(
            settings.model_repository, settings.model_config_name, settings.run_dir, models=models
        )
    # Bind first: a port in use fails at once, before Triton spends seconds loading models.
    server, port = create_server(settings, triton.url if triton else None, services)
    if triton:
        server.follow(triton)
        await triton.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if settings.metrics_port:
        start_metrics(settings.metrics_port, settings.metrics_host, triton and triton.metrics_url)
    await server.start()
    log.info("listening", address=f"{settings.host}:{port}", triton=server.models.url)
    ready = asyncio.create_task(_announce(server, settings, port, triton))
    await stop.wait()
    log.info("shutting_down")
    ready.cancel()
    await server.stop(grace=settings.shutdown_grace_s, drain_delay=settings.drain_delay_s)
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
