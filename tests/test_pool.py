"""The process pool keeps the items' order whatever the number of jobs, and names the work a dead
worker was doing."""

import os
from pathlib import Path

import pytest

from pipeline.pool import PoolBroken, ordered_map, resolve_jobs


def _square_and_pid(n):
    return n * n, os.getpid()


def _die_on_seven(n):
    if n == 7:
        os._exit(9)  # a worker killed mid-work (the system's OOM killer, a crash in a C library)
    return n


def test_same_order_with_one_and_two_jobs_and_two_processes_used():
    one = list(ordered_map(_square_and_pid, range(50), jobs=1))
    two = list(ordered_map(_square_and_pid, range(50), jobs=2, chunk=3))
    assert [r for r, _ in one] == [r for r, _ in two] == [n * n for n in range(50)]
    assert {pid for _, pid in one} == {os.getpid()}
    assert os.getpid() not in {pid for _, pid in two}


def test_a_dead_worker_names_its_items():
    with pytest.raises(PoolBroken) as caught:
        list(ordered_map(_die_on_seven, range(20), jobs=2, chunk=4))
    # the chunk being waited for when the pool broke (every chunk in flight fails with it)
    assert caught.value.items and set(caught.value.items) <= set(range(20))


def test_jobs_default_to_the_cores(monkeypatch):
    monkeypatch.delenv("REKAP_JOBS", raising=False)
    assert resolve_jobs(None) >= 1 and resolve_jobs(3) == 3
    monkeypatch.setenv("REKAP_JOBS", "5")
    assert resolve_jobs(None) == 5 and resolve_jobs(2) == 2


def _scaled(shared, n):
    return n * shared["factor"], os.getpid()


def test_shared_data_reaches_every_call_in_order():
    for jobs in (1, 2):
        out = list(ordered_map(_scaled, range(30), jobs=jobs, chunk=4, shared={"factor": 3}))
        assert [r for r, _ in out] == [3 * n for n in range(30)]


def test_a_worker_killed_by_one_item_costs_only_that_item():
    """Every chunk in flight dies with the worker; its items are tried again one at a time, only the
    culprit gets the crash result, and the map goes on in order after it."""
    out = list(ordered_map(_die_on_seven, range(40), jobs=2, chunk=4, on_crash=lambda n: ("crashed", n)))
    assert out == [n if n != 7 else ("crashed", 7) for n in range(40)]


def _die_on_multiples_of_ten(n):
    if n and n % 10 == 0:
        os._exit(9)
    return n


def test_several_culprits_each_get_the_crash_result():
    out = list(ordered_map(_die_on_multiples_of_ten, range(35), jobs=2, chunk=3, on_crash=lambda n: -n))
    assert out == [-n if n and n % 10 == 0 else n for n in range(35)]


def test_the_commands_jobs_apply_where_a_call_says_none(monkeypatch):
    from pipeline import pool

    monkeypatch.setenv("REKAP_JOBS", "5")
    monkeypatch.setattr(pool, "_DEFAULT", None)
    pool.use_jobs(3)
    assert resolve_jobs(None) == 3 and resolve_jobs(2) == 2
    pool.use_jobs(None)
    assert resolve_jobs(None) == 5


def _batch_with_shared(shared, items):
    return [(shared, len(items), n) for n in items]


def test_batched_items_get_the_shared_data_in_process_and_in_workers():
    for jobs in (1, 2):
        out = list(ordered_map(_batch_with_shared, range(10), jobs=jobs, chunk=4, shared="S", batched=True))
        assert [n for _, _, n in out] == list(range(10))
        assert {s for s, _, _ in out} == {"S"} and {k for _, k, _ in out} == {4, 2}


def _frozen(_):
    import gc

    return gc.get_freeze_count()


@pytest.mark.parametrize("jobs", [1, 2])
def test_what_lives_before_a_map_is_frozen_while_it_runs_and_unfrozen_after(jobs):
    import gc

    before = gc.get_freeze_count()
    assert all(n > before for n in ordered_map(_frozen, range(6), jobs=jobs, chunk=2))
    assert gc.get_freeze_count() == before
    # a map left half-read and closed (an error in its consumer) unfreezes too
    unfinished = ordered_map(_frozen, range(6), jobs=jobs, chunk=2)
    next(unfinished)
    unfinished.close()
    assert gc.get_freeze_count() == before


def test_garbage_from_before_a_map_is_collected_after_it():
    import gc
    import weakref

    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle: only the collector frees it
    gone = weakref.ref(a)
    maps = ordered_map(_frozen, range(4), jobs=1)
    next(maps)
    del a, b
    gc.collect()
    assert gone() is not None  # frozen while the map runs
    list(maps)
    gc.collect()
    assert gone() is None


def _write_spec_in_force(out: str) -> None:
    from pipeline.specs import spec_file

    Path(out).write_text(str(spec_file("registry.csv")))


def test_spawned_workers_use_the_workspaces_specs(tmp_path, monkeypatch):
    """Where workers start afresh (macOS, Windows) they get the specs the command uses, as forked ones have."""
    import multiprocessing

    import pipeline.pool as pool
    from pipeline.specs import spec_file, use_specs

    registry = tmp_path / "registry.csv"
    registry.write_text("kode,nama\n")
    monkeypatch.setattr(pool, "_context", lambda: multiprocessing.get_context("spawn"))
    use_specs(registry=registry)
    try:
        assert list(ordered_map(spec_file, ["registry.csv"] * 2, jobs=2, chunk=1)) == [registry.resolve()] * 2
        pool.ahead(_write_spec_in_force, str(tmp_path / "out")).finish(wait=True)
        assert (tmp_path / "out").read_text() == str(registry.resolve())
    finally:
        use_specs()
