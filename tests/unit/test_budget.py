"""The decoded-audio budget (core.budget) and how its refusal reaches the client."""

from __future__ import annotations

import threading

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from voxgate import interceptors
from voxgate.core.budget import RETRY_AFTER_S, AudioBudget
from voxgate.errors import Cancelled, OutOfRange, ResourceExhausted

MIB = 1 << 20


def test_shares_add_up_and_go_back() -> None:
    budget = AudioBudget(10 * MIB)
    with budget.hold("a") as a, budget.hold("b") as b:
        a.ensure(4 * MIB)
        a.ensure(3 * MIB)  # never shrinks
        b.add(2 * MIB)
        assert (a.nbytes, b.nbytes, budget.held) == (4 * MIB, 2 * MIB, 6 * MIB)
    assert budget.held == 0 and budget.peak == 6 * MIB


def test_refused_while_others_hold_it_with_a_retry_delay() -> None:
    budget = AudioBudget(10 * MIB)
    with budget.hold("stream") as other:
        other.ensure(9 * MIB)
        with budget.hold("audio") as mine, pytest.raises(ResourceExhausted) as info:
            mine.ensure(2 * MIB)
        assert info.value.retry_after_s == RETRY_AFTER_S
        assert "holding 9.0 MiB" in info.value.message and "retry later" in info.value.message
        assert mine.nbytes == 0 and budget.held == 9 * MIB  # a refusal takes nothing
    with budget.hold("audio") as mine:
        mine.ensure(2 * MIB)  # fits once the other share is back


def test_one_call_over_the_whole_budget_is_out_of_range() -> None:
    budget = AudioBudget(10 * MIB)
    with budget.hold("audio") as h, pytest.raises(OutOfRange, match="more than the server's"):
        h.ensure(11 * MIB)
    assert budget.held == 0


def test_a_released_hold_takes_nothing_more() -> None:
    """A decode thread outliving its cancelled call cannot take budget nobody gives back."""
    budget = AudioBudget(10 * MIB)
    hold = budget.hold("audio")
    hold.ensure(MIB)
    hold.release()
    with pytest.raises(Cancelled):
        hold.ensure(2 * MIB)
    assert budget.held == 0


def test_threads_never_overdraw() -> None:
    budget = AudioBudget(64 * MIB)
    granted = []

    def worker() -> None:
        with budget.hold("audio") as h:
            for _ in range(200):
                try:
                    h.add(MIB)
                except (ResourceExhausted, OutOfRange):  # others hold the rest, or it has all
                    break
                assert budget.held <= budget.limit
            granted.append(h.nbytes)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert budget.held == 0 and budget.peak <= 64 * MIB and sum(granted) >= 64 * MIB


def test_retry_info_in_the_status_details() -> None:
    err = ResourceExhausted("busy; retry later", retry_after_s=1.5)
    code = interceptors.status_code(err)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    status = status_pb2.Status.FromString(interceptors._status_details(err, code))
    retry = error_details_pb2.RetryInfo()
    assert status.message == "busy; retry later" and status.details[0].Unpack(retry)
    assert retry.retry_delay.ToMilliseconds() == 1500
    plain = status_pb2.Status.FromString(
        interceptors._status_details(ResourceExhausted("full"), code)
    )
    assert not plain.details  # no delay given, no RetryInfo
