"""Shared fixtures: one small, hand-made, fully consistent submission and ways to run it through."""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path

import pytest

from pipeline.cli import collect_less_often
from pipeline.complete import complete, inner_cells
from pipeline.read_csv import write_csv
from pipeline.specs import load_tables
from pipeline.submission import Extract, RawCell
from pipeline.validate import check_extract

# the test processes hold everything every test imported: collect garbage as a rekap process does (a fifth
# less CPU for the suite)
collect_less_often()

TABLES = load_tables()

# Inner cells (what a person counts), chosen by hand so that every rule of the brief holds:
# 19 men and 15 women; posts filled within posts available and within plausible ranks.
GOLONGAN = {  # (ruang, gol): (L, P)
    ("A", "II"): (1, 0), ("B", "II"): (1, 1), ("C", "II"): (2, 1), ("D", "II"): (1, 0),
    ("A", "III"): (3, 4), ("B", "III"): (2, 3), ("C", "III"): (2, 2), ("D", "III"): (3, 2),
    ("A", "IV"): (2, 1), ("B", "IV"): (1, 1), ("C", "IV"): (1, 0),
}
PENDIDIKAN = {"SLTA": (3, 2), "D3": (2, 1), "S1": (11, 10), "S2": (3, 2)}
CPNS = {("II", "A"): (1, 0), ("III", "A"): (0, 2), ("III", "B"): (1, 0)}
FUNGSIONAL = {  # (jenjang, gol, ruang, jabatan): (L, P)
    ("Pertama", "III", "A", "GURU"): (0, 1), ("Muda", "III", "C", "PENILIK"): (1, 0),
    ("Madya", "IV", "A", "GURU"): (1, 0), ("Madya", "IV", "B", "PENGAWAS"): (0, 1),
}
ESELON = {"III.A": (1, 0, 1), "III.B": (1, 1, 2), "IV.A": (2, 1, 4), "IV.B": (1, 1, 3)}  # L, P, available
GURU = {"SD": 5, "SMP": 2}


def _inner() -> dict[str, dict]:
    t = TABLES
    inner = {name: {} for name in t}
    for (ruang, gol), (l, p) in GOLONGAN.items():
        inner["golongan"][t["golongan"].key({"ruang": ruang, "gol": gol, "sex": "L"})] = l
        inner["golongan"][t["golongan"].key({"ruang": ruang, "gol": gol, "sex": "P"})] = p
    for level, (l, p) in PENDIDIKAN.items():
        for sex, v in (("L", l), ("P", p)):
            inner["pendidikan"][t["pendidikan"].key({"pendidikan": level, "sex": sex, "measure": "count"})] = v
    for (gol, ruang), (l, p) in CPNS.items():
        for sex, v in (("L", l), ("P", p)):
            inner["cpns"][t["cpns"].key({"gol": gol, "ruang": ruang, "sex": sex})] = v
    for (jenjang, gol, ruang, jabatan), (l, p) in FUNGSIONAL.items():
        for sex, v in (("L", l), ("P", p)):
            inner["fungsional"][t["fungsional"].key(
                {"jenjang": jenjang, "gol": gol, "ruang": ruang, "jabatan": jabatan, "sex": sex})] = v
    for eselon, (l, p, available) in ESELON.items():
        e = t["eselon"]
        inner["eselon"][e.key({"status": "terisi", "eselon": eselon, "sex": "L"})] = l
        inner["eselon"][e.key({"status": "terisi", "eselon": eselon, "sex": "P"})] = p
        inner["eselon"][e.key({"status": "disiapkan", "eselon": eselon, "sex": "JML"})] = available
    for level, v in GURU.items():
        inner["guru"][t["guru"].key({"sekolah": level})] = v
    return inner


def consistent_values() -> dict[str, dict]:
    """table id -> {key: value} for every cell, totals and percentages included."""
    return {name: complete(TABLES[name], cells) for name, cells in _inner().items()}


class Submission:
    """A consistent submission to break one cell at a time; ``check()`` validates it in memory."""

    def __init__(self, opd: str = "DINDIKBUD", period: str = "2022"):
        self.opd, self.period = opd, period
        self.values = consistent_values()

    def set(self, table: str, value, **key) -> Submission:
        self.values[table][TABLES[table].key(key)] = value
        return self

    def get(self, table: str, **key):
        return self.values[table][TABLES[table].key(key)]

    def add(self, table: str, delta, **key) -> Submission:
        return self.set(table, self.get(table, **key) + delta, **key)

    def recompute(self, table: str) -> Submission:
        """Totals and percentages of ``table`` recomputed from its inner cells, as a careful clerk would."""
        spec = TABLES[table]
        self.values[table] = complete(spec, {k: self.values[table][k] for k in inner_cells(spec)})
        return self

    def scaled(self, factor: float) -> Submission:
        """Every count multiplied by ``factor`` (rounded), totals and percentages recomputed."""
        for table, spec in TABLES.items():
            inner = {k: round(self.values[table][k] * factor) for k in inner_cells(spec)}
            self.values[table] = complete(spec, inner)
        return self

    def copy(self) -> Submission:
        return copy.deepcopy(self)

    def extract(self) -> Extract:
        ex = Extract(file=f"{self.opd}.csv", kind="csv", identity={"opd": self.opd, "period": self.period})
        for table, cells in self.values.items():
            ex.tables.add(table)
            ex.cells += [RawCell(table, key, value) for key, value in cells.items()]
        return ex

    def check(self):
        return check_extract(self.extract(), self.period)

    def write_csv(self, path: Path) -> Path:
        write_csv(path, self.opd, self.period, self.values)
        return path


@pytest.fixture
def sub() -> Submission:
    return Submission()


@pytest.fixture(scope="session")
def pg_url():
    """One throwaway PostgreSQL server for the session (see pgserver.py; skipped without binaries,
    failed under CI=true)."""
    from pgserver import postgres_server

    with postgres_server() as url:
        yield url


class Callers:
    """Which processes call ``module.name``: each call leaves a mark (``label`` of its first argument, and the
    caller's pid) in ``folder``, so a test sees whether a pool's workers did the work (a fork inherits the
    patched function)."""

    def __init__(self, monkeypatch, folder: Path, module, name: str, label):
        self.folder = Path(folder)
        self.folder.mkdir()
        real = getattr(module, name)

        def recorded(first, *args, **kwargs):
            (self.folder / f"{label(first)}-{os.getpid()}").touch()
            return real(first, *args, **kwargs)

        monkeypatch.setattr(module, name, recorded)

    def forked(self) -> set[str]:
        """The labels marked by processes other than this one since the last call (then forgotten)."""
        marks = [name.rsplit("-", 1) for name in os.listdir(self.folder)]
        shutil.rmtree(self.folder)
        self.folder.mkdir()
        return {label for label, pid in marks if int(pid) != os.getpid()}
