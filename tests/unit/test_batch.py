"""The CLI's batch runner: input order, failures collected, fatal errors stop the rest."""

from __future__ import annotations

import threading
import time

import pytest
from voxgate.batch import expand_inputs, run_ordered
from voxgate.cli_errors import Exit, UserError


def test_results_come_in_input_order_with_failures_in_place():
    def work(n: int) -> int:
        time.sleep(0.02 * (5 - n % 5))  # later items finish first
        if n % 4 == 3:
            raise UserError(f"item {n} is bad", Exit.NO_INPUT)
        return n * n

    outcomes = list(run_ordered(list(range(12)), work, jobs=4))
    assert [o.item for o in outcomes] == list(range(12))
    assert [o.result for o in outcomes if o.error is None] == [
        n * n for n in range(12) if n % 4 != 3
    ]
    assert [str(o.error) for o in outcomes if o.error] == [
        "item 3 is bad",
        "item 7 is bad",
        "item 11 is bad",
    ]


def test_at_most_jobs_run_at_once_and_a_fatal_error_stops_the_batch():
    running, peak, started = 0, 0, []
    lock = threading.Lock()

    def work(n: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
            started.append(n)
        time.sleep(0.01)
        with lock:
            running -= 1
        if n == 5:
            raise UserError("server gone", Exit.UNREACHABLE)
        return n

    with pytest.raises(UserError, match="server gone"):
        list(run_ordered(list(range(200)), work, jobs=2))
    assert peak <= 2
    assert len(started) < 40  # the rest was never started


def test_folders_expand_to_their_audio_files(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("b.wav", "a.FLAC", "sub/c.mp3", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    empty = tmp_path / "empty"
    empty.mkdir()
    got = expand_inputs([tmp_path / "sub", tmp_path, empty, tmp_path / "missing.wav"])
    names = [p.relative_to(tmp_path).as_posix() for p in got]
    assert names == ["sub/c.mp3", "a.FLAC", "b.wav", "sub/c.mp3", "empty", "missing.wav"]
