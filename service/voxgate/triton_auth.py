"""Headers that Triton endpoints require: the embedded server's per-run secret, registered by
`runtime.EmbeddedTriton` while it runs, and the optional header for external Tritons.

The embedded Triton restricts every gRPC protocol to callers sending its secret header
(`--grpc-restricted-protocol`); `triton.TritonModels` looks the endpoint up here, so a client of
an embedded server that this process started sends the header and no other endpoint receives
it.
"""

from __future__ import annotations

from collections.abc import Mapping

_BY_URL: dict[str, dict[str, str]] = {}


def register(url: str, headers: Mapping[str, str]) -> None:
    """`url` (as the clients will name it) requires `headers` from now on."""
    _BY_URL[url] = dict(headers)


def forget(url: str) -> None:
    _BY_URL.pop(url, None)


def headers_for(url: str) -> dict[str, str]:
    """The headers registered for `url`; empty for any endpoint this process did not start."""
    return dict(_BY_URL.get(url, {}))


def parse_header(text: str) -> dict[str, str]:
    """'name=value' (a `--triton-header` setting) -> {name: value}; '' -> {}.

    gRPC metadata keys are lower case; Triton expects `triton-grpc-protocol-<key>` for a
    server started with `--grpc-restricted-protocol=<protocols>:<key>=<value>`.
    """
    if not text.strip():
        return {}
    name, sep, value = text.partition("=")
    name = name.strip().lower()
    if not sep or not name or not value:
        raise ValueError("triton header: expected NAME=VALUE")
    return {name: value}
