"""Bearer-token authentication: `authorization: Bearer <token>` metadata → a tenant.

Tokens are kept only as SHA-256 digests. They come from a file (one tenant per line, reloaded
when it changes) and/or the `VOXGATE_AUTH_TOKENS` environment variable:

    # tenant  token digest (`voxgate auth token TENANT` prints a line)  services (optional)
    acme   sha256:5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8
    kiosk  sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 SynthesisService

    VOXGATE_AUTH_TOKENS="acme=<token>,kiosk=<token>"   (plain tokens, hashed when read)

A tenant without a service list may call every voxgate service; with one, another service
answers PERMISSION_DENIED. Health and reflection are open unless `--auth-open` says otherwise.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from voxgate import errors
from voxgate.logs import get_logger

log = get_logger(__name__)

# --auth-open names → the gRPC services they stand for.
OPEN_SERVICE_NAMES = {
    "health": ("grpc.health.v1.Health",),
    "reflection": (
        "grpc.reflection.v1alpha.ServerReflection",
        "grpc.reflection.v1.ServerReflection",
    ),
}
_DIGEST = re.compile(r"^sha256:([0-9a-f]{64})$")
TENANT_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
_RELOAD_CHECK_S = 1.0


class Unauthenticated(errors.VoxgateError):
    """No credentials, or credentials that match no tenant."""


class PermissionDenied(errors.VoxgateError):
    """The tenant is known but may not call this service."""


@dataclass(frozen=True)
class Tenant:
    name: str
    services: frozenset[str] | None = None  # short names (TokenizerService); None = all

    def may_call(self, service: str) -> bool:
        return self.services is None or service.rsplit(".", 1)[-1] in self.services


def digest(token: str) -> str:
    """The form a token is stored in: `sha256:<hex>`."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def parse_token_file(text: str, source: str = "tokens file") -> dict[str, Tenant]:
    """`tenant sha256:<hex> [Service,Service]` lines (# comments) → {digest: Tenant}."""
    entries: dict[str, Tenant] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        where = f"{source} line {number}"
        if (
            len(parts) not in (2, 3)
            or not TENANT_NAME.match(parts[0])
            or not _DIGEST.match(parts[1])
        ):
            raise ValueError(f"{where}: expected 'TENANT sha256:<64 hex digits> [Service,...]'")
        services = frozenset(s for s in parts[2].split(",") if s) if len(parts) == 3 else None
        if parts[1] in entries:
            raise ValueError(f"{where}: the same token is listed twice")
        entries[parts[1]] = Tenant(parts[0], services)
    return entries


def parse_env_tokens(value: str) -> dict[str, Tenant]:
    """`tenant=token,tenant=token` (plain tokens) → {digest: Tenant}."""
    entries: dict[str, Tenant] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, sep, token = item.partition("=")
        if not sep or not TENANT_NAME.match(name) or len(token) < 16:
            raise ValueError(
                "VOXGATE_AUTH_TOKENS: expected tenant=token pairs (tokens of 16+ characters)"
            )
        entries[digest(token)] = Tenant(name)
    return entries


class TokenAuth:
    """Checks each call's bearer token; `authenticate` returns the tenant or raises."""

    def __init__(
        self,
        file: Path | None = None,
        env_tokens: str = "",
        open_services: Iterable[str] = ("health", "reflection"),
    ) -> None:
        unknown = set(open_services) - OPEN_SERVICE_NAMES.keys()
        if unknown:
            raise ValueError(f"--auth-open: unknown {sorted(unknown)}; use health, reflection")
        self.open = frozenset(s for name in open_services for s in OPEN_SERVICE_NAMES[name])
        self.file = file
        self._env = parse_env_tokens(env_tokens)
        self._lock = threading.Lock()
        self._file_stamp: int | None = None
        self._next_check = 0.0
        self._entries = dict(self._env)
        self._reload(force=True)
        if not self._entries:
            raise ValueError("token auth is on but no tokens are configured")

    def _reload(self, force: bool = False) -> None:
        if self.file is None:
            return
        stamp = self.file.stat().st_mtime_ns
        if stamp == self._file_stamp and not force:
            return
        entries = {**parse_token_file(self.file.read_text(), str(self.file)), **self._env}
        self._entries, self._file_stamp = entries, stamp
        log.info("auth_tokens_loaded", tenants=len({t.name for t in entries.values()}))

    def _maybe_reload(self) -> None:
        now = time.monotonic()
        if now < self._next_check:
            return
        with self._lock:
            if now < self._next_check:
                return
            self._next_check = now + _RELOAD_CHECK_S
            try:
                self._reload()
            except (OSError, ValueError) as err:  # keep serving with the tokens we have
                log.warning("auth_tokens_reload_failed", error=str(err))

    def authenticate(self, service: str, metadata: Iterable[tuple[str, object]] | None) -> str:
        """The caller's tenant name ("" for an open service); raises Unauthenticated or
        PermissionDenied with a message for the client."""
        if service in self.open:
            return ""
        self._maybe_reload()
        token = _bearer(metadata or ())
        tenant = self._entries.get(digest(token)) if token else None
        if tenant is None:
            raise Unauthenticated(
                "invalid token"
                if token
                else "missing credentials: send the metadata 'authorization: Bearer <token>'"
            )
        if not tenant.may_call(service):
            raise PermissionDenied(f"tenant {tenant.name!r} may not call {service}")
        return tenant.name


def _bearer(metadata: Iterable[tuple[str, object]]) -> str | None:
    for key, value in metadata:
        if key == "authorization" and isinstance(value, str):
            scheme, _, token = value.strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    return None


def from_settings(
    file: Path | None, open_names: str, environ: Mapping[str, str]
) -> TokenAuth | None:
    """The configured TokenAuth, or None when neither a file nor VOXGATE_AUTH_TOKENS is set."""
    env_tokens = environ.get("VOXGATE_AUTH_TOKENS", "")
    if file is None and not env_tokens:
        return None
    names = [n.strip() for n in open_names.split(",") if n.strip()]
    return TokenAuth(file, env_tokens, names)
