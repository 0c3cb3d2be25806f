"""Runs one piece of work per input file, several at a time, answering in input order.

Used by the CLI's batch commands: a bad file is reported and the batch goes on; a progress bar
(tqdm, on stderr) shows only when stderr is a terminal, so piped output stays clean.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from tqdm import tqdm

from voxgate.cli_errors import Exit, UserError

T = TypeVar("T")
R = TypeVar("R")

AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3"})


@dataclass(frozen=True)
class Outcome(Generic[T, R]):
    """One item's result, or the UserError that stopped it."""

    item: T
    result: R | None = None
    error: UserError | None = None


def expand_inputs(paths: Iterable[Path]) -> list[Path]:
    """Files as given; a folder becomes the audio files under it (sorted, recursive). A folder
    without audio files stays in the list, to fail as an input on its own."""
    expanded: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file()
            )
            expanded.extend(found or [path])
        else:
            expanded.append(path)
    return expanded


def run_ordered(
    items: list[T],
    work: Callable[[T], R],
    jobs: int,
    fatal: frozenset[Exit] = frozenset({Exit.UNREACHABLE}),
    label: str = "files",
) -> Iterator[Outcome[T, R]]:
    """Runs `work` on every item with `jobs` threads; yields outcomes in input order.

    A UserError whose code is in `fatal` (the server is gone) is raised at once and the items
    not yet started are dropped; other UserErrors are yielded and the batch goes on. At most
    `4 * jobs` results wait for an earlier slow item, so memory stays bounded.
    """
    jobs = max(1, jobs)
    bar = tqdm(
        total=len(items),
        unit=label[:-1] if label.endswith("s") else label,
        desc=label,
        file=sys.stderr,
        disable=not sys.stderr.isatty(),
        leave=False,
    )

    def guarded(item: T) -> Outcome[T, R]:
        try:
            return Outcome(item, result=work(item))
        except UserError as err:
            if err.code in fatal:
                raise
            return Outcome(item, error=err)

    pending: deque[Future[Outcome[T, R]]] = deque()
    with bar, ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="batch") as pool:
        todo = iter(items)
        try:
            for item in todo:
                pending.append(pool.submit(guarded, item))
                while len(pending) >= 4 * jobs or (pending and pending[0].done()):
                    yield _finish(pending.popleft(), bar)
            while pending:
                yield _finish(pending.popleft(), bar)
        finally:  # a fatal error or the caller stopped: start nothing more
            for future in pending:
                future.cancel()


def _finish(future: Future[Outcome[T, R]], bar: tqdm) -> Outcome[T, R]:
    outcome = future.result()
    bar.update(1)
    return outcome


def emit(line: str) -> None:
    """Prints a result line to stdout without tearing the progress bar (when there is one)."""
    tqdm.write(line, file=sys.stdout)
