"""RealTimeLag: a live stream's lag behind real time, from arrival, work and audio per message."""

from __future__ import annotations

import pytest
from voxgate.core.pacing import RealTimeLag
from voxgate.errors import ResourceExhausted


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _message(lag: RealTimeLag, clock: Clock, wait_s: float, busy_s: float, audio_s: float):
    clock.now += wait_s
    lag.arrived()
    clock.now += busy_s
    lag.done(audio_s)


def test_a_server_faster_than_real_time_keeps_the_lag_at_one_message_of_work():
    clock = Clock()
    lag = RealTimeLag(1.0, clock=clock)
    for _ in range(1000):  # 120 ms of audio each, 20 ms of work, the rest waiting for audio
        _message(lag, clock, wait_s=0.1, busy_s=0.02, audio_s=0.12)
    assert lag.lag_s == pytest.approx(0.02)


def test_a_server_slower_than_real_time_falls_behind_and_the_stream_ends():
    clock = Clock()
    lag = RealTimeLag(2.0, retry_after_s=3.0, clock=clock)
    done = 0
    with pytest.raises(ResourceExhausted) as err:
        while True:  # 150 ms of work per 120 ms of audio: 30 ms behind per message
            _message(lag, clock, wait_s=0.0, busy_s=0.15, audio_s=0.12)
            done += 1
    # The limit is passed after 2 s / 30 ms messages, not before.
    assert done == pytest.approx((2.0 - 0.15) / 0.03, abs=1.5)
    assert "behind real time" in err.value.message and "2 s" in err.value.message
    assert err.value.retry_after_s == 3.0


def test_bursts_faster_than_real_time_accumulate_no_lag():
    clock = Clock()
    lag = RealTimeLag(0.5, clock=clock)
    for _ in range(200):  # 10 s of audio a message, sent back to back, 100 ms of work each
        _message(lag, clock, wait_s=0.0, busy_s=0.1, audio_s=10.0)
    assert lag.lag_s == pytest.approx(0.1)


def test_waiting_for_the_client_counts_as_catching_up():
    clock = Clock()
    lag = RealTimeLag(10.0, clock=clock)
    for _ in range(10):  # a slow stretch: 0.5 s of work per 0.12 s of audio
        _message(lag, clock, wait_s=0.0, busy_s=0.5, audio_s=0.12)
    behind = lag.lag_s
    assert behind == pytest.approx(10 * 0.38 + 0.12)
    _message(lag, clock, wait_s=behind, busy_s=0.01, audio_s=0.0)  # a pause in the talk
    assert lag.lag_s == pytest.approx(0.01)


def test_a_client_that_reads_slowly_counts_as_the_server_being_slow():
    # busy_s runs until the client took the responses: a reader 2x slower than real time
    clock = Clock()
    lag = RealTimeLag(1.0, clock=clock)
    with pytest.raises(ResourceExhausted):
        for _ in range(100):
            _message(lag, clock, wait_s=0.0, busy_s=0.24, audio_s=0.12)


def test_zero_turns_the_limit_off():
    clock = Clock()
    lag = RealTimeLag(0, clock=clock)
    for _ in range(100):
        _message(lag, clock, wait_s=0.0, busy_s=1.0, audio_s=0.12)
    assert lag.lag_s == pytest.approx(100 * 0.88 + 0.12)


def test_done_needs_arrived():
    with pytest.raises(RuntimeError):
        RealTimeLag(1.0).done(0.1)
