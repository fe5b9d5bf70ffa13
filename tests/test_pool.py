"""The process pool keeps the items' order whatever the number of jobs, and names the work a dead
worker was doing."""

import os

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
