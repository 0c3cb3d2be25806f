"""Several Triton servers behind one façade: `TritonReplicas` implements the model ports of
`core.ports` over a set of `TritonModels`, one per replica.

- Endpoints: `--triton-url` is a comma-separated list of host:port (or `unix:<path>`, as the
  embedded server listens); a host name that resolves to several addresses (a Kubernetes
  headless Service) is one replica per address, resolved again every `resolve_every_s`.
- Balancing: each call goes to the next healthy replica (round robin); a sequence (a `vad`
  conversation, an `asr` turn) stays on the replica that started it.
- Failures: a replica whose call fails UNAVAILABLE is taken out at once; a unary call is
  then retried on another replica (inference is idempotent); a stream in flight fails with
  UNAVAILABLE (its state lived there) while new calls go to the others. Replicas out of
  service are probed back in by `index()`, which the server's health watcher calls every
  `health_poll_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import socket
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass

import numpy as np

from voxgate import model_names as names
from voxgate.core.ports import ModelSpec, ModelStatus
from voxgate.errors import ModelUnavailable
from voxgate.logs import get_logger
from voxgate.triton import TritonModels

log = get_logger(__name__)


def parse_endpoints(url: str) -> list[tuple[str, int]]:
    """'a:8001,b:8001' -> [(a, 8001), (b, 8001)]; IPv6 as [::1]:8001; a Unix socket
    'unix:/path' -> ('unix:/path', 0)."""
    out = []
    for item in (part.strip() for part in url.split(",")):
        if not item:
            continue
        if item.startswith("unix:"):
            out.append((item, 0))
            continue
        host, sep, port = item.rpartition(":")
        if not sep or not port.isdigit():
            raise ValueError(f"triton url {item!r}: expected host:port")
        out.append((host.strip("[]"), int(port)))
    if not out:
        raise ValueError("triton url: no endpoint")
    return out


def resolve(endpoints: list[tuple[str, int]]) -> list[str]:
    """host:port of every address the endpoints resolve to, in a stable order."""
    found: list[str] = []
    for host, port in endpoints:
        if host.startswith("unix:"):
            if host not in found:
                found.append(host)
            continue
        try:
            ipaddress.ip_address(host)
            addresses = [host]
        except ValueError:
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except OSError as err:
                log.warning("triton_resolve_failed", host=host, error=str(err))
                continue
            addresses = sorted({info[4][0] for info in infos})
        for address in addresses:
            target = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
            if target not in found:
                found.append(target)
    return found


@dataclass
class Replica:
    url: str
    models: TritonModels
    healthy: bool = True
    calls: int = 0  # calls sent to it (tests and logs)
    failures: int = 0


class TritonReplicas:
    """The model ports over several Triton replicas (see the module docstring)."""

    def __init__(
        self,
        url: str,
        timeout_s: float,
        resolve_every_s: float = 30.0,
        headers: Mapping[str, str] | None = None,
        probe_timeout_s: float = 1.0,
    ) -> None:
        """`headers` go with every call to every replica (an external Triton's restricted-
        protocol header); an embedded Triton's own secret is added for its endpoint."""
        self.url = url
        self._endpoints = parse_endpoints(url)
        self._timeout_s = timeout_s
        self._headers = dict(headers or {})
        self._probe_timeout_s = probe_timeout_s
        self._resolve_every_s = resolve_every_s
        self._resolved_at = 0.0
        self.replicas: dict[str, Replica] = {}
        self._turn = itertools.count()
        self._sticky: dict[tuple[str, int], Replica] = {}  # (model, sequence id) -> replica
        self._spec: ModelSpec | None = None
        self._refresh_replicas()

    # -- membership and health --------------------------------------------------------------

    def _refresh_replicas(self) -> None:
        self._resolved_at = time.monotonic()
        urls = resolve(self._endpoints)
        for url in urls:
            if url not in self.replicas:
                models = TritonModels(url, self._timeout_s, self._headers, self._probe_timeout_s)
                self.replicas[url] = Replica(url, models)
                log.info("triton_replica_added", url=url)
        for url in [u for u in self.replicas if u not in urls]:
            gone = self.replicas.pop(url)
            log.info("triton_replica_removed", url=url)
            asyncio.get_event_loop().create_task(gone.models.close())

    def healthy(self) -> list[Replica]:
        return [r for r in self.replicas.values() if r.healthy]

    def _mark_down(self, replica: Replica, why: str) -> None:
        replica.failures += 1
        if replica.healthy:
            replica.healthy = False
            log.warning("triton_replica_down", url=replica.url, reason=why)

    def _pick(self) -> Replica:
        pool = self.healthy()
        if not pool:
            raise ModelUnavailable("no Triton replica is available")
        replica = pool[next(self._turn) % len(pool)]
        replica.calls += 1
        return replica

    async def index(self) -> dict[str, bool]:
        """Probes every replica (taking failed ones back in when they answer ready); returns
        the index of the first ready one: all replicas serve the same repository."""
        if time.monotonic() - self._resolved_at > self._resolve_every_s:
            self._refresh_replicas()
        replicas = list(self.replicas.values())
        results = await asyncio.gather(
            *(r.models.index() for r in replicas), return_exceptions=True
        )
        first: dict[str, bool] | None = None
        for replica, result in zip(replicas, results, strict=True):
            ready = isinstance(result, dict)
            if ready and not replica.healthy:
                log.info("triton_replica_up", url=replica.url)
                replica.healthy = True
            elif not ready:
                self._mark_down(replica, "not ready")
            if ready and first is None:
                first = result
        if first is None:
            raise ModelUnavailable("no Triton replica is ready")
        return first

    async def ready(self, models: tuple[str, ...] = names.ENSEMBLES) -> bool:
        try:
            index = await self.index()
        except ModelUnavailable:
            return False
        return all(index.get(m, False) for m in models)

    async def statuses(self, names: list[str]) -> list[ModelStatus]:
        return await self._any(lambda m: m.statuses(names))

    async def spec(self) -> ModelSpec:
        if self._spec is None:
            self._spec = await self._any(lambda m: m.spec())
        return self._spec

    async def close(self) -> None:
        for replica in self.replicas.values():
            await replica.models.close()

    # -- unary calls: another replica when one is unavailable --------------------------------

    async def _any(self, call: Callable[[TritonModels], object]):
        """`call` on the next healthy replica; on UNAVAILABLE, the next one, and so on."""
        pool = self.healthy()
        start = next(self._turn)
        for i in range(len(pool)):
            replica = pool[(start + i) % len(pool)]
            if not replica.healthy:
                continue
            replica.calls += 1
            try:
                return await call(replica.models)
            except ModelUnavailable as err:
                self._mark_down(replica, str(err))
        raise ModelUnavailable("no Triton replica is available")

    async def tokenize(self, waveform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return await self._any(lambda m: m.tokenize(waveform))

    async def decode(
        self, interleaved: np.ndarray, speaker_shift: np.ndarray | None = None
    ) -> np.ndarray:
        return await self._any(lambda m: m.decode(interleaved, speaker_shift))

    # -- streams and sequences: they live on one replica ------------------------------------

    def generator(self, model: str) -> ReplicatedGenerator:
        return ReplicatedGenerator(self, model)

    def sequence_model(self, model: str) -> ReplicatedSequenceModel:
        return ReplicatedSequenceModel(self, model)


class ReplicatedGenerator:
    """A decoupled model on the replicas: each stream on one replica, chosen at its start."""

    def __init__(self, owner: TritonReplicas, model: str) -> None:
        self._owner = owner
        self.model = model

    async def parameters(self) -> Mapping[str, str]:
        return await self._owner._any(lambda m: m.generator(self.model).parameters())

    async def generate(
        self,
        inputs: Mapping[str, np.ndarray],
        *,
        outputs: tuple[str, ...],
        parameters: Mapping[str, str | int | float | bool] | None = None,
        timeout_s: float | None = None,
    ) -> AsyncIterator[dict[str, np.ndarray]]:
        replica = self._owner._pick()
        stream = replica.models.generator(self.model).generate(
            inputs, outputs=outputs, parameters=parameters, timeout_s=timeout_s
        )
        async with contextlib.aclosing(stream):
            try:
                async for response in stream:
                    yield response
            except ModelUnavailable as err:
                self._owner._mark_down(replica, str(err))
                raise


class ReplicatedSequenceModel:
    """A stateful model on the replicas: a sequence stays where its START went."""

    def __init__(self, owner: TritonReplicas, model: str) -> None:
        self._owner = owner
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
        key = (self.model, sequence_id)
        sticky = self._owner._sticky
        if start:
            sticky[key] = self._owner._pick()
        replica = sticky.get(key)
        if replica is None:
            raise ModelUnavailable(f"sequence {sequence_id} of {self.model} has no replica")
        try:
            return await replica.models.sequence_model(self.model).infer(
                sequence_id, inputs, outputs, start=start, end=end
            )
        except ModelUnavailable as err:
            self._owner._mark_down(replica, str(err))
            sticky.pop(key, None)  # its state died with the replica
            raise
        finally:
            if end:
                sticky.pop(key, None)
