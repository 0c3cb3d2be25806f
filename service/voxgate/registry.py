"""The service registry: each feature declares its proto service, the models it needs and how
to build its servicer; that one declaration drives registration, reflection, per-service
health, admission (UNIMPLEMENTED when the deployment lacks a model) and GetServerInfo.

Adding a service: write its servicer module with a `SERVICE = ServiceEntry(...)` and list it in
`default_services()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf.descriptor import ServiceDescriptor

from voxgate.config import Settings
from voxgate.core.budget import AudioBudget, unlimited
from voxgate.core.deployment import Availability, Deployment
from voxgate.errors import Unimplemented


@dataclass(frozen=True)
class ServiceContext:
    """What a servicer may be built from."""

    settings: Settings
    models: Any  # voxgate.replicas.TritonReplicas: implements every port of core.ports
    services: ServiceSet
    # Decoded audio held by the calls in flight, every service's together.
    budget: AudioBudget = field(default_factory=unlimited)


@dataclass(frozen=True)
class ServiceEntry:
    """One proto service of the API and what it takes to serve it."""

    proto: ServiceDescriptor
    models: tuple[str, ...]  # Triton model names that must be in the repository and ready
    build: Callable[[ServiceContext], object]
    add_to_server: Callable[[object, grpc.aio.Server], None]
    # False while the servicer is a placeholder: the service is ABSENT whatever the deployment
    # holds (its models may land before it does), so health never says SERVING for it.
    implemented: bool = True

    @property
    def name(self) -> str:
        return self.proto.full_name


# `--services` names -> full service names; DiscoveryService is always served.
SHORT_NAMES = {
    "tokenizer": "voxgate.v1.TokenizerService",
    "synthesis": "voxgate.v1.SynthesisService",
    "chat": "voxgate.v1.ChatService",
}


def selected_services(names: str) -> tuple[ServiceEntry, ...]:
    """The services `--services` names (comma-separated short names; "" = every service)."""
    entries = default_services()
    wanted = {n.strip() for n in names.split(",") if n.strip()}
    if not wanted:
        return entries
    unknown = wanted - SHORT_NAMES.keys()
    if unknown:
        raise ValueError(
            f"services: unknown {', '.join(sorted(unknown))} (choose from {', '.join(SHORT_NAMES)})"
        )
    keep = {SHORT_NAMES[n] for n in wanted} | {"voxgate.v1.DiscoveryService"}
    return tuple(e for e in entries if e.name in keep)


def default_services() -> tuple[ServiceEntry, ...]:
    """Every service of the v1 API, in the order GetServerInfo lists them."""
    from voxgate.servicers import chat, discovery, synthesis, tokenizer

    return (tokenizer.SERVICE, synthesis.SERVICE, chat.SERVICE, discovery.SERVICE)


class ServiceSet:
    """The services of one server and what the current deployment lets each of them do."""

    def __init__(self, entries: Iterable[ServiceEntry]) -> None:
        self.entries = tuple(entries)
        self.deployment = Deployment.unknown()
        self._by_name = {e.name: e for e in self.entries}

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.entries]

    def availability(self, service: str) -> Availability:
        entry = self._by_name[service]
        if not entry.implemented:
            return Availability.ABSENT
        return self.deployment.availability(entry.models)

    def implemented(self) -> list[str]:
        """Services this deployment has (their models are in the repository)."""
        return [n for n in self.names if self.availability(n) is not Availability.ABSENT]

    def health(self) -> dict[str, bool]:
        """grpc.health.v1 service name -> SERVING; "" covers the services the deployment has."""
        status = {n: self.availability(n) is Availability.READY for n in self.names}
        status[""] = all(status[n] for n in self.implemented())
        return status

    def admit(self, service: str) -> None:
        """Raises Unimplemented for a service whose models this deployment does not have."""
        entry = self._by_name.get(service)
        if entry is None or self.availability(service) is not Availability.ABSENT:
            return
        if not entry.implemented:
            raise Unimplemented(f"{entry.proto.name} is not implemented on this server yet")
        missing = [m for m in entry.models if m not in self.deployment.models]
        raise Unimplemented(
            f"{entry.proto.name} is not served here: this deployment has no "
            f"{', '.join(missing)} model"
        )

    def model_names(self) -> list[str]:
        """Models of the repository (once known), else the ones the services need."""
        if self.deployment.known:
            return sorted(self.deployment.models)
        return sorted({m for e in self.entries for m in e.models})

    def register(self, context: ServiceContext, server: grpc.aio.Server) -> None:
        for entry in self.entries:
            entry.add_to_server(entry.build(context), server)
