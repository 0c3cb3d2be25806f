"""Server TLS: certificate and key files, an optional client CA (mTLS), reloaded on change.

gRPC asks `_Reloader.fetch` before each new handshake; it re-reads the files when their
modification times changed, so a renewed certificate (cert-manager, a rotated secret) is used
for new connections without a restart. A half-written pair (unreadable, or key and
certificate that do not match) keeps the previous one and is logged.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import grpc

from voxgate.logs import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class TlsFiles:
    """PEM files of the server's identity, and of the CA its clients' certificates need."""

    cert: Path
    key: Path
    client_ca: Path | None = None  # set = mutual TLS: clients must present a cert it signed

    def paths(self) -> tuple[Path, ...]:
        return tuple(p for p in (self.cert, self.key, self.client_ca) if p is not None)


def _config(files: TlsFiles) -> grpc.ServerCertificateConfiguration:
    return grpc.ssl_server_certificate_configuration(
        [(files.key.read_bytes(), files.cert.read_bytes())],
        root_certificates=files.client_ca.read_bytes() if files.client_ca else None,
    )


def _pair_matches(files: TlsFiles) -> bool:
    """Whether the key file holds the private key of the certificate (a rotation may be caught
    between writing the two files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    key = serialization.load_pem_private_key(files.key.read_bytes(), password=None)
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    encoding = serialization.Encoding.DER
    return cert.public_key().public_bytes(encoding, public) == key.public_key().public_bytes(
        encoding, public
    )


class _Reloader:
    def __init__(self, files: TlsFiles) -> None:
        self.files = files
        self._lock = threading.Lock()
        self._stamp = self._mtimes()
        self.reloads = 0

    def _mtimes(self) -> tuple[int, ...]:
        return tuple(p.stat().st_mtime_ns for p in self.files.paths())

    def fetch(self) -> grpc.ServerCertificateConfiguration | None:
        """Called by gRPC (from its own threads) before a handshake: None = keep the current."""
        try:
            with self._lock:
                stamp = self._mtimes()
                if stamp == self._stamp:
                    return None
                if not _pair_matches(self.files):
                    log.warning("tls_reload_skipped", why="key does not match certificate")
                    return None
                config = _config(self.files)
                self._stamp = stamp
                self.reloads += 1
            log.info("tls_reloaded", cert=str(self.files.cert))
            return config
        except Exception as err:  # a bad file must not break new handshakes
            log.warning("tls_reload_failed", error=type(err).__name__, detail=str(err))
            return None


def server_credentials(files: TlsFiles) -> grpc.ServerCredentials:
    """Credentials for `add_secure_port`; client certificates required iff `client_ca`."""
    for path in files.paths():
        if not path.is_file():
            raise FileNotFoundError(f"TLS file {path} does not exist")
    if not _pair_matches(files):
        raise ValueError(f"TLS key {files.key} is not the key of certificate {files.cert}")
    reloader = _Reloader(files)
    creds = grpc.dynamic_ssl_server_credentials(
        _config(files), reloader.fetch, require_client_authentication=files.client_ca is not None
    )
    creds.reloader = reloader  # for tests and logs: how many reloads happened
    return creds
