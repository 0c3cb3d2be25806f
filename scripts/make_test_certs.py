"""Writes a throwaway CA, a server certificate (localhost, 127.0.0.1, ::1) and a client
certificate into a folder, for TLS and mTLS tests in every language.

    python scripts/make_test_certs.py OUT_DIR [--client-name NAME] [--days N]

Files: ca.pem, ca.key, server.pem, server.key, client.pem, client.key (PEM; keys unencrypted,
0600), and other-ca.pem + untrusted-client.{pem,key} from a second CA nobody trusts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "voxgate tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _cert(subject, key, issuer, issuer_key, days, *, ca=False, usage=None, san=None):
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if san is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(folder: Path, stem: str, cert, key=None) -> None:
    (folder / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        path = folder / f"{stem}.key"
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        os.chmod(path, 0o600)


def make(folder: Path, client_name: str = "test-client", days: int = 2) -> Path:
    """Writes the files described in the module docstring; returns `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, other_key = _key(), _key()
    ca = _cert(_name("voxgate test CA"), ca_key, _name("voxgate test CA"), ca_key, days, ca=True)
    other = _cert(_name("untrusted CA"), other_key, _name("untrusted CA"), other_key, days, ca=True)
    server_key, client_key, stray_key = _key(), _key(), _key()
    hosts = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    server = _cert(
        _name("localhost"),
        server_key,
        ca.subject,
        ca_key,
        days,
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
        san=hosts,
    )
    client = _cert(
        _name(client_name),
        client_key,
        ca.subject,
        ca_key,
        days,
        usage=ExtendedKeyUsageOID.CLIENT_AUTH,
        san=[x509.DNSName(client_name)],
    )
    stray = _cert(
        _name("stray-client"),
        stray_key,
        other.subject,
        other_key,
        days,
        usage=ExtendedKeyUsageOID.CLIENT_AUTH,
    )
    _write(folder, "ca", ca, ca_key)
    _write(folder, "other-ca", other)
    _write(folder, "server", server, server_key)
    _write(folder, "client", client, client_key)
    _write(folder, "untrusted-client", stray, stray_key)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--client-name", default="test-client")
    parser.add_argument("--days", type=int, default=2)
    args = parser.parse_args()
    make(args.out_dir, args.client_name, args.days)
    print(args.out_dir)


if __name__ == "__main__":
    main()
