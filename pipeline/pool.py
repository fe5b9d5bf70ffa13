"""Work on every core: an ordered, bounded map over a process pool.

``ordered_map(fn, items, jobs)`` yields ``fn(item)`` for each item **in the order of the items**,
whatever the number of jobs, so that what is built from the results is the same bytes with 1 job or
16. At most ``window`` chunks are in flight at a time, so memory stays bounded however many items
there are (results are yielded as soon as every earlier one is). With one job nothing
is forked: the work runs in this process, which keeps tracebacks plain and tests cheap.

``fn`` and the items must be picklable (a module-level function, plain data). ``shared``: data every
call needs (evidence, a registry), handed to each worker once when it starts (inherited, not copied,
where workers are forked) and passed as ``fn(shared, item)``. ``fn`` owns its faults: it should turn
a bad input into a result (a finding), never raise. A worker that dies (killed by the system, a
crash in a C library) takes every chunk in flight with it: with ``on_crash``, those items are tried
again one at a time, each alone in a worker, and an item that kills its worker again gets
``on_crash(item)`` as its result (the others theirs), and the map goes on; without it,
:class:`PoolBroken` names the chunk.

While a map runs, the objects alive when it started (the imported modules, the specs, the run so far)
are frozen (``gc.freeze``, Python's advice before a fork): the cycle collector skips them, in this
process and in the workers forked from it, so a worker's collections do not write to the pages it
shares with this process (copying them) and a collection walks only the map's own objects. They are
unfrozen when the map ends, so their garbage is collected as before.

Workers are forked where the system allows it (Linux) and inherit everything; spawned workers (macOS,
Windows) start afresh and are given the workspace's specs (:func:`pipeline.specs.use_specs`) first.
"""

from __future__ import annotations

import gc
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_DEFAULT: int | None = None  # the jobs a command asked for (--jobs), used where a call says None
_SHARED: Any = None  # in a worker: the ``shared`` data of its map


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


def use_jobs(jobs: int | None) -> None:
    """The jobs of this command (``--jobs``) for every map that does not say its own."""
    global _DEFAULT
    _DEFAULT = jobs or None


def resolve_jobs(jobs: int | None) -> int:
    """``jobs`` as asked (at least 1); ``None`` or 0: the command's ``--jobs`` (:func:`use_jobs`), else
    ``REKAP_JOBS``, else every core."""
    if not jobs:
        env = os.environ.get("REKAP_JOBS", "")
        jobs = _DEFAULT or (int(env) if env.isdigit() and int(env) > 0 else cores())
    return max(1, int(jobs))


def _context():
    import multiprocessing

    # fork starts a worker in milliseconds with the modules already imported; elsewhere (macOS,
    # Windows) spawn is the only safe choice
    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")


def forks() -> bool:
    """Whether workers are forked (inheriting what this process has loaded) rather than spawned."""
    return _context().get_start_method() == "fork"


def _specs() -> dict | None:
    """The workspace's specs (:func:`pipeline.specs.use_specs`) for workers that start afresh (spawned);
    None where they are forked, with this process's specs already."""
    if forks():
        return None
    from pipeline.specs import specs_in_force

    return specs_in_force()


def _start(shared, specs: dict | None = None) -> None:
    global _SHARED
    _SHARED = shared
    if specs is not None:
        from pipeline.specs import use_specs

        use_specs(**specs)


def _chunk_call(fn: Callable, chunk: list, with_shared: bool, batched: bool = False) -> list:
    if batched:  # fn takes the whole chunk and gives a result per item
        return fn(_SHARED, chunk) if with_shared else fn(chunk)
    return [fn(_SHARED, item) if with_shared else fn(item) for item in chunk]


def ordered_map(fn: Callable[..., R], items: Iterable[T], jobs: int | None = 1, chunk: int = 8,
                window: int | None = None, shared: Any = None,
                on_crash: Callable[[T], R] | None = None, batched: bool = False) -> Iterator[R]:
    """``fn(item)`` (``fn(shared, item)`` when ``shared`` is given) for each item, in the items' order,
    on ``jobs`` processes (see the module doc).

    ``chunk``: items sent to a worker at once (amortises the hand-over); ``window``: chunks in flight
    (default 2 per job); ``on_crash``: the result of an item that kills its worker (else PoolBroken);
    ``batched``: ``fn`` takes a list of items (a chunk) and returns a list of results, one per item."""
    jobs = resolve_jobs(jobs)
    items = iter(items)
    gc.freeze()  # see the module doc
    try:
        if jobs == 1:
            yield from _here(fn, items, chunk, shared, batched)
        else:
            yield from _pooled(fn, items, jobs, chunk, window, shared, on_crash, batched)
    finally:
        gc.unfreeze()


def _here(fn: Callable, items: Iterator, chunk: int, shared: Any, batched: bool) -> Iterator:
    """:func:`ordered_map` with one job: in this process, nothing forked."""
    with_shared = shared is not None
    while batch := [item for _, item in zip(range(chunk), items)]:
        if batched:
            yield from fn(shared, batch) if with_shared else fn(batch)
        else:
            yield from (fn(shared, item) if with_shared else fn(item) for item in batch)


def _pooled(fn: Callable, items: Iterator, jobs: int, chunk: int, window: int | None, shared: Any,
            on_crash: Callable | None, batched: bool) -> Iterator:
    """:func:`ordered_map` on a pool of ``jobs`` worker processes."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    def executor(workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=workers, mp_context=_context(), initializer=_start,
                                   initargs=(shared, _specs()))

    with_shared = shared is not None
    window = window or 2 * jobs
    pending: deque = deque()
    pool = executor(jobs)
    try:
        def submit() -> bool:
            batch = [item for _, item in zip(range(chunk), items)]
            if batch:
                pending.append((batch, pool.submit(_chunk_call, fn, batch, with_shared, batched)))
            return bool(batch)

        while len(pending) < window and submit():
            pass
        while pending:
            batch, future = pending.popleft()
            try:
                results = future.result()
            except BrokenProcessPool:
                if on_crash is None:
                    raise PoolBroken(batch) from None
                # every chunk in flight died with the worker: try those items one at a time
                suspects = batch + [item for b, _ in pending for item in b]
                pending.clear()
                pool.shutdown(wait=True, cancel_futures=True)
                yield from _one_by_one(fn, suspects, with_shared, batched, on_crash, executor, BrokenProcessPool)
                pool = executor(jobs)
                while len(pending) < window and submit():
                    pass
                continue
            submit()
            yield from results
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _one_by_one(fn, suspects: list, with_shared: bool, batched: bool, on_crash, executor, broken) -> Iterator:
    """Each suspect alone in a worker: one that kills it again is the culprit (``on_crash``)."""
    pool = executor(1)
    try:
        for item in suspects:
            try:
                yield pool.submit(_chunk_call, fn, [item], with_shared, batched).result()[0]
            except broken:
                pool.shutdown(wait=True)
                yield on_crash(item)
                pool = executor(1)
    finally:
        pool.shutdown(wait=True)


class Ahead:
    """A call running in a worker process of its own, started by :func:`ahead`."""

    def __init__(self, process):
        self.process = process

    def finish(self, wait: bool) -> None:
        """Wait for the call to end (``wait``), or stop it where it is; either way the worker is gone after."""
        if not wait and self.process.is_alive():
            self.process.terminate()
        self.process.join()


def ahead(fn: Callable, *args) -> Ahead:
    """``fn(*args)`` started in a worker process of its own while this process goes on, for work whose
    result is what it leaves behind (files), not a value: call :meth:`Ahead.finish` before using it.
    ``fn`` owns its faults (it must not raise). The worker is a daemon: it does not outlive this process.

    What is alive now is frozen while the worker is forked (see the module doc), and this process's
    output is flushed first, so that the worker has nothing of it to print again."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    process = _context().Process(target=_begin, args=(_specs(), fn, args), daemon=True)
    gc.freeze()
    try:
        process.start()
    finally:
        gc.unfreeze()
    return Ahead(process)


def _begin(specs: dict | None, fn: Callable, args: tuple) -> None:
    """(In the worker of :func:`ahead`.) ``fn(*args)`` with this run's specs."""
    _start(None, specs)
    fn(*args)
