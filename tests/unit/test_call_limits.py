"""The server-wide caps: each counter refuses at its limit and frees its slot on release."""

from __future__ import annotations

import pytest
from voxgate.call_limits import CallLimits, CallLimitSettings, default_max_streams
from voxgate.errors import ResourceExhausted


def _limits(**changes) -> CallLimits:
    base = dict(max_calls=10, max_streams=3, max_calls_per_tenant=0, max_streams_per_connection=0)
    return CallLimits(CallLimitSettings(**{**base, **changes}))


def test_streams_are_capped_and_unary_calls_still_pass():
    limits = _limits()
    held = [limits.enter(True, "", f"peer{i}") for i in range(3)]
    with pytest.raises(
        ResourceExhausted, match="3 streams in progress \\(the limit is 3\\)"
    ) as err:
        limits.enter(True, "", "peer9")
    assert err.value.retry_after_s == 1.0
    unary = limits.enter(False, "", "peer9")
    held[0]()
    held[0]()  # a second release of the same slot changes nothing
    again = limits.enter(True, "", "peer9")
    for release in (*held[1:], unary, again):
        release()
    assert (limits.calls, limits.streams, dict(limits.by_connection)) == (0, 0, {})


def test_all_calls_tenants_and_connections_have_their_own_caps():
    limits = _limits(max_calls=4, max_calls_per_tenant=2, max_streams_per_connection=1)
    a1, a2 = limits.enter(False, "acme", "p1"), limits.enter(False, "acme", "p1")
    with pytest.raises(ResourceExhausted, match="tenant 'acme' has 2 calls in progress"):
        limits.enter(False, "acme", "p1")
    s1 = limits.enter(True, "ops", "p1")
    with pytest.raises(ResourceExhausted, match="1 streams open on this connection"):
        limits.enter(True, "ops", "p1")
    s2 = limits.enter(True, "ops", "p2")
    with pytest.raises(ResourceExhausted, match="4 calls in progress \\(the limit is 4\\)"):
        limits.enter(False, "other", "p3")
    for release in (a1, a2, s1, s2):
        release()
    assert not limits.by_tenant and not limits.by_connection


def test_the_stream_cap_defaults_to_the_usable_cores():
    assert CallLimits(CallLimitSettings(max_streams=0)).max_streams == default_max_streams()
    assert default_max_streams() % 4 == 0 and default_max_streams() >= 4
