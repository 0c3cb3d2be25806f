"""TLS (with certificate reload), mutual TLS and bearer tokens, against the real server and the
shared embedded Triton, over real gRPC from the Python client and the CLI."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import subprocess
import sys
import time

import pytest
from voxgate import auth, interceptors
from voxgate.client import TlsOptions, VoxgateClient, VoxgateClientError
from voxgate.config import SettingsError
from voxgate.server import create_server

from tests.certs import make_certs

pytestmark = pytest.mark.triton


class _AccessLog:
    """Stands in for the access logger to see what a call logged."""

    def __init__(self) -> None:
        self.lines: list[dict] = []

    def info(self, event: str, **fields) -> None:
        self.lines.append({"event": event, **fields})

    def error(self, event: str, **fields) -> None:
        self.lines.append({"event": event, **fields})


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
async def start(triton, settings):
    """start(**settings) -> address of a fresh server on the shared Triton."""
    servers = []

    async def starter(**changes) -> str:
        server, port = create_server(dataclasses.replace(settings, **changes), triton.url)
        await server.start()
        servers.append(server)
        await asyncio.wait_for(server.serving.wait(), 60)
        return f"localhost:{port}"

    yield starter
    for server in servers:
        await server.stop(grace=0.5)


def _call(address: str, what: str = "info", **client) -> str:
    """Runs one call with the blocking client; returns "OK" or the status code's name
    ("message": GetServerInfo, returning the error's message)."""
    with VoxgateClient(address, timeout_s=10, wait_for_ready=False, **client) as c:
        try:
            if what in ("info", "message"):
                c.server_info()
            elif what == "health":
                return c.health()
            elif what == "voices":
                c.list_voices()
            elif what == "tokenize":
                c.tokenize(b"RIFF")
            return "OK"
        except VoxgateClientError as err:
            return err.code.name if what != "message" else err.message


async def _calls(address: str, what: str = "info", **client) -> str:
    return await asyncio.to_thread(_call, address, what, **client)


async def test_tls_serves_tls_only_and_checks_the_server_certificate(start, certs):
    address = await start(tls_cert=certs / "server.pem", tls_key=certs / "server.key")
    assert await _calls(address, tls=TlsOptions(ca=certs / "ca.pem")) == "OK"
    assert await _calls(address, "health", tls=TlsOptions(ca=certs / "ca.pem")) == "SERVING"
    assert await _calls(address) == "UNAVAILABLE"  # plaintext to a TLS port
    assert await _calls(address, tls=TlsOptions(ca=certs / "other-ca.pem")) == "UNAVAILABLE"


def _served_copy(certs, tmp_path):
    """The server's certificate and key copied to a folder a test may overwrite."""
    served = tmp_path / "served"
    served.mkdir()
    for name in ("server.pem", "server.key"):
        shutil.copy(certs / name, served / name)
    return served


async def test_a_renewed_certificate_is_used_without_a_restart(start, certs, tmp_path):
    served = _served_copy(certs, tmp_path)
    address = await start(tls_cert=served / "server.pem", tls_key=served / "server.key")
    assert await _calls(address, tls=TlsOptions(ca=certs / "ca.pem")) == "OK"

    renewed = make_certs(tmp_path / "renewed")  # a new CA too: old clients must now fail
    time.sleep(0.01)  # a later mtime on coarse clocks
    shutil.copy(renewed / "server.key", served / "server.key")
    shutil.copy(renewed / "server.pem", served / "server.pem")
    assert await _calls(address, tls=TlsOptions(ca=renewed / "ca.pem")) == "OK"
    assert await _calls(address, tls=TlsOptions(ca=certs / "ca.pem")) == "UNAVAILABLE"


async def test_a_half_written_renewal_keeps_the_previous_certificate(start, certs, tmp_path):
    served = _served_copy(certs, tmp_path)
    address = await start(tls_cert=served / "server.pem", tls_key=served / "server.key")
    renewed = make_certs(tmp_path / "renewed")
    shutil.copy(renewed / "server.key", served / "server.key")  # the certificate not yet
    assert await _calls(address, tls=TlsOptions(ca=certs / "ca.pem")) == "OK"


async def test_mutual_tls_requires_a_client_certificate_from_the_ca(start, certs, monkeypatch):
    address = await start(
        tls_cert=certs / "server.pem",
        tls_key=certs / "server.key",
        tls_client_ca=certs / "ca.pem",
    )
    ca = certs / "ca.pem"
    assert await _calls(address, tls=TlsOptions(ca=ca)) == "UNAVAILABLE"
    stray = TlsOptions(ca, certs / "untrusted-client.pem", certs / "untrusted-client.key")
    assert await _calls(address, tls=stray) == "UNAVAILABLE"
    access = _AccessLog()
    monkeypatch.setattr(interceptors, "log", access)
    good = TlsOptions(ca, certs / "client.pem", certs / "client.key")
    assert await _calls(address, tls=good) == "OK"
    assert [line["identity"] for line in access.lines if line["event"] == "rpc"] == ["test-client"]


@pytest.fixture
def tokens(tmp_path, monkeypatch):
    """A tokens file with two tenants (kiosk may only synthesize) and one tenant from env."""
    full, kiosk, ops = auth.new_token(), auth.new_token(), auth.new_token()
    path = tmp_path / "tokens.txt"
    path.write_text(
        f"# tenants\nacme {auth.digest(full)}\nkiosk {auth.digest(kiosk)} SynthesisService\n"
    )
    monkeypatch.setenv("VOXGATE_AUTH_TOKENS", f"ops={ops}")
    return path, {"acme": full, "kiosk": kiosk, "ops": ops}


async def test_tokens_map_callers_to_tenants_and_services(start, tokens, monkeypatch):
    path, token = tokens
    address = await start(auth_tokens_file=path)
    assert await _calls(address) == "UNAUTHENTICATED"
    assert await _calls(address, "message") == (
        "missing credentials: send the metadata 'authorization: Bearer <token>'"
    )
    assert await _calls(address, "message", token="not-a-token") == "invalid token"
    access = _AccessLog()
    monkeypatch.setattr(interceptors, "log", access)
    assert await _calls(address, token=token["acme"]) == "OK"
    assert await _calls(address, token=token["ops"]) == "OK"  # from VOXGATE_AUTH_TOKENS
    # (a refused call's line may still be on its way: the server logs after answering)
    assert [line.get("tenant") for line in access.lines if line["code"] == "OK"] == [
        "acme",
        "ops",
    ]
    assert await _calls(address, "voices", token=token["kiosk"]) == "OK"
    assert await _calls(address, "tokenize", token=token["kiosk"]) == "PERMISSION_DENIED"
    message = await _calls(address, "message", token=token["kiosk"])
    assert message == "tenant 'kiosk' may not call voxgate.v1.DiscoveryService"
    # Health and reflection are open by default.
    assert await _calls(address, "health") == "SERVING"


async def test_health_can_require_a_token_and_the_tokens_file_reloads(start, tokens):
    path, token = tokens
    address = await start(auth_tokens_file=path, auth_open="")
    assert await _calls(address, "health") == "UNAUTHENTICATED"
    assert await _calls(address, "health", token=token["acme"]) == "SERVING"
    late = auth.new_token()
    with path.open("a") as f:
        f.write(f"late {auth.digest(late)}\n")
    deadline = time.monotonic() + 10
    while (got := await _calls(address, token=late)) != "OK" and time.monotonic() < deadline:
        await asyncio.sleep(0.3)
    assert got == "OK"


async def test_bad_security_settings_are_refused_at_start(start, certs, tmp_path):
    with pytest.raises(SettingsError, match="does not exist"):
        await start(tls_cert=tmp_path / "none.pem", tls_key=certs / "server.key")
    with pytest.raises(SettingsError, match="is not the key of certificate"):
        await start(tls_cert=certs / "server.pem", tls_key=certs / "client.key")
    bad = tmp_path / "tokens.txt"
    bad.write_text("acme plaintext-token\n")
    with pytest.raises(SettingsError, match="line 1: expected 'TENANT sha256:"):
        await start(auth_tokens_file=bad)


def _voxgate(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "voxgate.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


async def test_the_cli_makes_tokens_and_calls_over_mutual_tls_with_one(start, certs, tmp_path):
    made = await asyncio.to_thread(
        _voxgate, "auth", "token", "cli", "--services", "DiscoveryService"
    )
    assert made.returncode == 0
    line = made.stdout.strip()
    token = made.stderr.strip().rsplit(" ", 1)[1]
    assert line == f"cli {auth.digest(token)} DiscoveryService"
    tokens = tmp_path / "tokens.txt"
    tokens.write_text(line + "\n")
    (tmp_path / "token").write_text(token + "\n")
    address = await start(
        tls_cert=certs / "server.pem",
        tls_key=certs / "server.key",
        tls_client_ca=certs / "ca.pem",
        auth_tokens_file=tokens,
    )
    tls = ["--tls-ca", str(certs / "ca.pem"), "--tls-cert", str(certs / "client.pem")]
    tls += ["--tls-key", str(certs / "client.key"), "--address", address]
    ok = await asyncio.to_thread(_voxgate, "info", *tls, "--token-file", str(tmp_path / "token"))
    assert ok.returncode == 0 and '"models"' in ok.stdout, ok.stderr
    refused = await asyncio.to_thread(_voxgate, "info", *tls)
    assert refused.returncode == 7
    assert refused.stderr.startswith("voxgate: UNAUTHENTICATED: missing credentials")
    denied = await asyncio.to_thread(
        _voxgate, "voices", *tls, "--token-file", str(tmp_path / "token")
    )
    assert denied.returncode == 7 and "PERMISSION_DENIED" in denied.stderr
