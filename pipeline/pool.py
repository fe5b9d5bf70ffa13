"""Work on every core: an ordered, bounded map over a process pool.

``ordered_map(fn, items, jobs)`` yields ``fn(item)`` for each item **in the order of the items**,
whatever the number of jobs, so that what is built from the results is the same bytes with 1 job or
16. At most ``window`` chunks are in flight at a time, so memory stays bounded however many items
there are (results are yielded as soon as every earlier one is). With one job (or one item) nothing
is forked: the work runs in this process, which keeps tracebacks plain and tests cheap.

``fn`` and the items must be picklable (a module-level function, plain data). ``fn`` owns its
faults: it should turn a bad input into a result (a finding), never raise; a worker that dies
(killed by the system, a crash in a C library) raises :class:`PoolBroken` naming the chunk.
"""

from __future__ import annotations

import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


class PoolBroken(Exception):
    """A worker process died while working on ``items``."""

    def __init__(self, items: list):
        super().__init__(f"a worker process died while working on {len(items)} item(s)")
        self.items = items


def cores() -> int:
    """The cores this process may use (its CPU affinity where the system says, else the CPU count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def resolve_jobs(jobs: int | None) -> int:
    """``jobs`` as asked (at least 1); ``None`` or 0: every core (``REKAP_JOBS`` overrides)."""
    if not jobs:
        env = os.environ.get("REKAP_JOBS", "")
        jobs = int(env) if env.isdigit() and int(env) > 0 else cores()
    return max(1, int(jobs))


def _context():
    import multiprocessing

    # fork starts a worker in milliseconds with the modules already imported; elsewhere (macOS,
    # Windows) spawn is the only safe choice
    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")


def _chunk_call(fn: Callable[[T], R], chunk: list[T]) -> list[R]:
    return [fn(item) for item in chunk]


def ordered_map(fn: Callable[[T], R], items: Iterable[T], jobs: int | None = 1, chunk: int = 8,
                window: int | None = None) -> Iterator[R]:
    """``fn(item)`` for each item, in the items' order, on ``jobs`` processes (see the module doc).

    ``chunk``: items sent to a worker at once (amortises the hand-over); ``window``: chunks in flight
    (default 2 per job)."""
    jobs = resolve_jobs(jobs)
    items = iter(items)
    if jobs == 1:
        for item in items:
            yield fn(item)
        return
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    window = window or 2 * jobs
    pending: deque = deque()
    with ProcessPoolExecutor(max_workers=jobs, mp_context=_context()) as pool:
        def submit() -> bool:
            batch = [item for _, item in zip(range(chunk), items)]
            if batch:
                pending.append((batch, pool.submit(_chunk_call, fn, batch)))
            return bool(batch)

        while len(pending) < window and submit():
            pass
        while pending:
            batch, future = pending.popleft()
            try:
                results = future.result()
            except BrokenProcessPool:
                raise PoolBroken(batch) from None
            submit()
            yield from results
