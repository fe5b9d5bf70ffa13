"""The catalog: an embedded SQLite database under ``processed/`` that remembers every submission
version seen, every run, and which versions each published release used and which files it wrote.

A version is a file's content, named by its sha256: a changed file is a new version, the same bytes
again are the same version. A version's validation is kept with the code and rule versions it was
made under, so an unchanged file is never validated twice by the same code. Its cell values are
:data:`pipeline.values.Values` in memory; in the database, each table's values in the order of a list of
key texts kept once in ``cell_orders`` (:func:`pipeline.values.encode` and :func:`~pipeline.values.loads`,
the one conversion). Versions stored as key texts by earlier rekaps load as they did.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipeline.findings import Finding
from pipeline.values import Values, encode, loads
from pipeline.text import note

SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    sha256 TEXT NOT NULL,
    period TEXT NOT NULL,
    opd TEXT,
    file TEXT NOT NULL,
    kind TEXT,
    archive TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    status TEXT NOT NULL,
    checked_with TEXT NOT NULL,
    errors INTEGER NOT NULL,
    warnings INTEGER NOT NULL,
    notes INTEGER NOT NULL,
    findings TEXT NOT NULL,
    cell_values TEXT NOT NULL,
    PRIMARY KEY (sha256, period)
);
CREATE TABLE IF NOT EXISTS cell_orders (
    id TEXT PRIMARY KEY,
    keys TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    period TEXT NOT NULL,
    started TEXT NOT NULL,
    ended TEXT,
    outcome TEXT NOT NULL,
    exit_code INTEGER,
    files INTEGER,
    validated INTEGER,
    accepted INTEGER,
    rejected INTEGER,
    published INTEGER,
    fingerprint TEXT,
    message TEXT
);
CREATE TABLE IF NOT EXISTS run_inputs (
    run_id TEXT NOT NULL,
    period TEXT NOT NULL,
    file TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    opd TEXT,
    status TEXT NOT NULL,
    used INTEGER NOT NULL,
    findings TEXT NOT NULL,
    PRIMARY KEY (run_id, file)
);
CREATE TABLE IF NOT EXISTS run_ignored (
    run_id TEXT NOT NULL,
    period TEXT NOT NULL,
    file TEXT NOT NULL,
    PRIMARY KEY (run_id, file)
);
CREATE TABLE IF NOT EXISTS run_gate (
    run_id TEXT NOT NULL PRIMARY KEY,
    period TEXT NOT NULL,
    ok INTEGER NOT NULL,
    outcomes TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS run_coverage (
    run_id TEXT NOT NULL,
    period TEXT NOT NULL,
    summary TEXT NOT NULL,
    frame TEXT NOT NULL,
    PRIMARY KEY (run_id)
);
CREATE TABLE IF NOT EXISTS run_notes (
    run_id TEXT NOT NULL,
    period TEXT NOT NULL,
    findings TEXT NOT NULL,
    PRIMARY KEY (run_id)
);
CREATE TABLE IF NOT EXISTS run_staff (
    run_id TEXT NOT NULL,
    period TEXT NOT NULL,
    file TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    status TEXT NOT NULL,
    opds TEXT NOT NULL,
    people TEXT,
    findings TEXT NOT NULL,
    PRIMARY KEY (run_id, file)
);
CREATE TABLE IF NOT EXISTS run_parts (
    run_id TEXT NOT NULL,
    part TEXT NOT NULL,
    digest TEXT NOT NULL,
    stored_in TEXT NOT NULL,
    PRIMARY KEY (run_id, part)
);
CREATE INDEX IF NOT EXISTS run_parts_by_digest ON run_parts (part, digest);
CREATE TABLE IF NOT EXISTS release_versions (
    run_id TEXT NOT NULL,
    period TEXT NOT NULL,
    opd TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (run_id, opd)
);
CREATE TABLE IF NOT EXISTS release_outputs (
    run_id TEXT NOT NULL,
    output TEXT NOT NULL,
    PRIMARY KEY (run_id, output)
);
"""
# Catalogs written before 0.2 kept one ``lineage`` row per output and version (outputs x versions rows a
# run: 3.5 million at 3,400 submissions): its content moves to the two tables above, once.
MIGRATE_LINEAGE = """
INSERT OR IGNORE INTO release_versions SELECT DISTINCT run_id, period, opd, sha256 FROM lineage;
INSERT OR IGNORE INTO release_outputs SELECT DISTINCT run_id, output FROM lineage;
DROP TABLE lineage;
"""


# a run's records kept once however many runs find them (Catalog._record): each part's table
PARTS = {"inputs": "run_inputs", "coverage": "run_coverage", "notes": "run_notes", "staff": "run_staff",
         "ignored": "run_ignored"}

COLUMNS = ("sha256", "period", "opd", "file", "kind", "archive", "first_seen", "last_seen", "status", "checked_with",
           "errors", "warnings", "notes", "findings", "cell_values")  # of the table versions


@dataclass
class Version:
    sha256: str
    period: str
    opd: str | None
    file: str
    kind: str
    archive: str | None
    first_seen: str
    last_seen: str
    status: str
    checked_with: str
    findings: list[Finding]
    values: Values  # the version's cells as staged (None: not readable); stored by pipeline.values.encode

    @property
    def counts(self) -> dict[str, int]:
        return {s: sum(f.severity == s for f in self.findings) for s in ("error", "warning", "info")}


class CatalogDamaged(Exception):
    """The catalog file is not a sound SQLite database: ``rekap repair`` rebuilds it."""

    def __init__(self, path, detail: str):
        super().__init__(f"{path}: {detail}")
        self.path, self.detail = Path(path), detail


@contextmanager
def opened(processed, catalog: Catalog | None = None) -> Iterator[Catalog]:
    """``catalog`` as it is, or ``processed/catalog.sqlite`` opened (and checked) for the block and closed
    after it. A run hands its open catalog to what it calls: the check reads the whole file."""
    if catalog is not None:
        yield catalog
        return
    own = Catalog(Path(processed) / "catalog.sqlite")
    try:
        yield own
    finally:
        own.close()


class Catalog:
    """Opening checks the file (``PRAGMA quick_check``): a damaged catalog raises :class:`CatalogDamaged`
    before anything is read or written."""

    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=30)
        self.db.row_factory = sqlite3.Row
        try:
            check = self.db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise CatalogDamaged(self.path, check)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.executescript(SCHEMA)
            if self.db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='lineage'").fetchone():
                self.db.executescript(f"BEGIN; {MIGRATE_LINEAGE} COMMIT;")
            self.orders = _Orders(self.db)
        except sqlite3.DatabaseError as err:
            self.db.close()
            if isinstance(err, sqlite3.OperationalError) and not _damage(err):
                raise  # a locked, read-only or full disk is said as such, not as a damaged catalog
            raise CatalogDamaged(self.path, str(err)) from err
        except CatalogDamaged:
            self.db.close()
            raise

    def close(self):
        self.db.close()

    # -- versions --------------------------------------------------------------------------------
    def version(self, sha256: str, period: str) -> Version | None:
        row = self.db.execute("SELECT * FROM versions WHERE sha256=? AND period=?", (sha256, period)).fetchone()
        return _version(row, self.orders) if row else None

    def save_version(self, v: Version) -> None:
        self.save_versions([v])

    def save_versions(self, versions: list[Version]) -> None:
        """Save ``versions`` (replacing the catalog's record of any of them) in one transaction: a run saves
        its new versions a batch at a time, one commit (one sync of the disk) per batch."""
        if not versions:
            return
        rows, orders = [], {}
        for v in versions:
            c = v.counts
            stored, order = encode(v.values)
            orders.update(order)
            rows.append((v.sha256, v.period, v.opd, v.file, v.kind, v.archive, v.first_seen, v.last_seen, v.status,
                         v.checked_with, c["error"], c["warning"], c["info"],
                         json.dumps([f.to_record() for f in v.findings], ensure_ascii=False), json.dumps(stored)))
        new = [(name, json.dumps(keys, ensure_ascii=False)) for name, keys in orders.items() if name not in self.orders]
        with self.db:
            self.db.executemany("INSERT OR IGNORE INTO cell_orders VALUES (?,?)", new)
            self.db.executemany(
                "INSERT INTO versions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (sha256, period) DO UPDATE SET "
                "opd=excluded.opd, file=excluded.file, kind=excluded.kind, archive=excluded.archive, "
                "last_seen=excluded.last_seen, status=excluded.status, checked_with=excluded.checked_with, "
                "errors=excluded.errors, warnings=excluded.warnings, notes=excluded.notes, "
                "findings=excluded.findings, cell_values=excluded.cell_values", rows)
        self.orders.update(orders)

    def touch(self, sha256: str, period: str, file: str, when: str) -> None:
        with self.db:
            self.db.execute("UPDATE versions SET last_seen=?, file=? WHERE sha256=? AND period=?",
                            (when, file, sha256, period))

    def known(self, shas: list[str], period: str, values: bool = True) -> dict[str, Version]:
        """The versions of ``shas`` in ``period`` the catalog has, by sha256: one query per run (in slices
        of 500 hashes, under SQLite's limit on parameters). ``values=False``: without their cell values
        (``values`` empty; :meth:`values` reads them where they are needed)."""
        columns = "*" if values else ", ".join(c for c in COLUMNS if c != "cell_values")
        out: dict[str, Version] = {}
        for part in _slices(shas):
            rows = self.db.execute(f"SELECT {columns} FROM versions WHERE period=? AND sha256 IN "
                                   f"({','.join('?' * len(part))})", (period, *part))
            out.update((r["sha256"], _version(r, self.orders)) for r in rows)
        return out

    def values(self, shas: list[str], period: str) -> Iterator[tuple[str, Values]]:
        """``(sha256, cell values)`` of the versions of ``shas`` in ``period``, one at a time."""
        for part in _slices(shas):
            rows = self.db.execute(f"SELECT sha256, cell_values FROM versions WHERE period=? AND sha256 IN "
                                   f"({','.join('?' * len(part))})", (period, *part))
            for sha, stored in rows:
                yield sha, loads(stored, self.orders)

    def touch_all(self, seen: list[tuple[str, str, str]], period: str, when: str) -> None:
        """:meth:`touch` for every ``(sha256, file)`` in one transaction."""
        with self.db:
            self.db.executemany("UPDATE versions SET last_seen=?, file=? WHERE sha256=? AND period=?",
                                [(when, file, sha, period) for sha, file in seen])

    def accepted(self, period: str) -> dict[str, list[tuple[str, str]]]:
        """OPD -> ``(sha256, file)`` of each accepted version of the period, oldest first (as
        :meth:`versions` orders them): one query, without findings or values."""
        out: dict[str, list[tuple[str, str]]] = {}
        for r in self.db.execute("SELECT opd, sha256, file FROM versions WHERE period=? AND status='accepted' "
                                 "AND opd IS NOT NULL ORDER BY last_seen, first_seen", (period,)):
            out.setdefault(r["opd"], []).append((r["sha256"], r["file"]))
        return out

    def previous_published(self, period: str) -> Iterator[tuple[str, str, str, str]]:
        """``(opd, period, sha256, stored cell values JSON)`` of every version used by the last published run
        of each period before ``period``, earlier periods first: one query for every OPD."""
        rows = self.db.execute(
            "SELECT i.opd, r.period, i.sha256, v.cell_values FROM runs r "
            "LEFT JOIN run_parts p ON p.run_id = r.id AND p.part = 'inputs' "
            "JOIN run_inputs i ON i.run_id = COALESCE(p.stored_in, r.id) AND i.used = 1 "
            "JOIN versions v ON v.sha256 = i.sha256 AND v.period = r.period "
            "WHERE r.period < ? AND r.published = 1 AND r.started = "
            "(SELECT MAX(x.started) FROM runs x WHERE x.period = r.period AND x.published = 1) "
            "ORDER BY r.period", (period,))
        for r in rows:
            yield r["opd"], r["period"], r["sha256"], r["cell_values"]

    def versions(self, period: str | None = None, opd: str | None = None) -> list[Version]:
        sql, args = "SELECT * FROM versions WHERE 1=1", []
        if period:
            sql, args = sql + " AND period=?", [*args, period]
        if opd:
            sql, args = sql + " AND opd=?", [*args, opd]
        return [_version(r, self.orders) for r in self.db.execute(sql + " ORDER BY last_seen, first_seen", args)]

    def used_versions(self, period: str) -> dict[str, str]:
        """OPD -> sha256 of the versions used by the last published run of a period."""
        run = self.db.execute("SELECT id FROM runs WHERE period=? AND published=1 ORDER BY started DESC LIMIT 1",
                              (period,)).fetchone()
        if run is None:
            return {}
        return {r["opd"]: r["sha256"] for r in self._part(run["id"], "inputs", "opd, sha256", "AND used=1")}

    def periods(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT period FROM versions ORDER BY period")]

    # -- runs ------------------------------------------------------------------------------------
    def start_run(self, run_id: str, period: str, started: str) -> None:
        with self.db:
            # a run that never ended was killed: say so, so the record stays consistent
            self.db.execute("UPDATE runs SET outcome='killed', message=? WHERE ended IS NULL", (note("run.killed"),))
            self.db.execute("INSERT INTO runs (id, period, started, outcome) VALUES (?,?,?,'running')",
                            (run_id, period, started))

    def end_run(self, run_id: str, **fields) -> None:
        names = ", ".join(f"{k}=?" for k in fields)
        with self.db:
            self.db.execute(f"UPDATE runs SET {names} WHERE id=?", (*fields.values(), run_id))

    # What a run found (its inputs, coverage, notes, staff lists, ignored files) is the previous run's, row for
    # row, on every night nothing changed: such a part is kept once, and a run whose part is one kept already
    # names the run that holds it (run_parts), so the catalog (which opening reads whole) grows with what
    # changes, not with every run's N rows.
    def _record(self, run_id: str, part: str, rows: list[tuple]) -> None:
        """``rows`` (each without the run id) as ``part`` of ``run_id``: stored as its own, unless a run holds
        the same rows as its own already (then named as their holder). A run records each part once."""
        digest = hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest()
        with self.db:
            held = self.db.execute("SELECT stored_in FROM run_parts WHERE part=? AND digest=? AND stored_in = run_id "
                                   "LIMIT 1", (part, digest)).fetchone()
            self.db.execute("INSERT OR REPLACE INTO run_parts VALUES (?,?,?,?)",
                            (run_id, part, digest, held["stored_in"] if held else run_id))
            if held is None and rows:
                marks = ",".join("?" * (len(rows[0]) + 1))
                self.db.executemany(f"INSERT OR REPLACE INTO {PARTS[part]} VALUES ({marks})",
                                    [(run_id, *row) for row in rows])

    def _part(self, run_id: str, part: str, columns: str = "*", more: str = "") -> list[sqlite3.Row]:
        """The rows of ``part`` of ``run_id`` (``more``: further SQL after its ``WHERE run_id=?``), from the run
        that holds them: itself, another run, or itself in a catalog written before run_parts."""
        row = self.db.execute("SELECT stored_in FROM run_parts WHERE run_id=? AND part=?", (run_id, part)).fetchone()
        return self.db.execute(f"SELECT {columns} FROM {PARTS[part]} WHERE run_id=? {more}",
                               (row["stored_in"] if row else run_id,)).fetchall()

    def record_inputs(self, run_id: str, period: str, inputs: list[dict]) -> None:
        self._record(run_id, "inputs", [
            (period, i["file"], i["sha256"], i["opd"], i["status"], int(i["used"]),
             json.dumps([f.to_record() for f in i["findings"]], ensure_ascii=False)) for i in inputs])

    def record_notes(self, run_id: str, period: str, notes: list[Finding]) -> None:
        self._record(run_id, "notes", [(period, json.dumps([f.to_record() for f in notes], ensure_ascii=False))])

    def run_notes(self, run_id: str) -> list[Finding]:
        rows = self._part(run_id, "notes", "findings")
        return [Finding.from_record(f) for f in json.loads(rows[0][0])] if rows else []

    def record_staff(self, run_id: str, period: str, lists: list[dict]) -> None:
        """The staff lists a run read: status, OPDs, the owner-only people file, findings (NIPs masked)."""
        self._record(run_id, "staff", [
            (period, s["file"], s["sha256"], s["status"], json.dumps(s["opds"]), s["people"],
             json.dumps([f.to_record() for f in s["findings"]], ensure_ascii=False)) for s in lists])

    def run_staff(self, run_id: str) -> list[dict]:
        return [{**dict(r), "run_id": run_id, "opds": json.loads(r["opds"]),
                 "findings": [Finding.from_record(f) for f in json.loads(r["findings"])]}
                for r in self._part(run_id, "staff", more="ORDER BY file")]

    def record_release(self, run_id: str, period: str, outputs: list[str], used: dict[str, str]) -> None:
        """What a published run wrote (its release's files) and the version of each OPD it used: every
        output is made of these versions (an agency's folder ``instansi/<INSTANSI>/`` of its own OPDs')."""
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO release_versions VALUES (?,?,?,?)",
                                [(run_id, period, opd, sha) for opd, sha in sorted(used.items())])
            self.db.executemany("INSERT OR REPLACE INTO release_outputs VALUES (?,?)", [(run_id, o) for o in outputs])

    def release_versions(self, run_id: str) -> dict[str, str]:
        """OPD -> sha256 of the versions a published run used."""
        rows = self.db.execute("SELECT opd, sha256 FROM release_versions WHERE run_id=? ORDER BY opd", (run_id,))
        return {r["opd"]: r["sha256"] for r in rows}

    def release_outputs(self, run_id: str) -> list[str]:
        """The files a published run's release holds."""
        return [r[0] for r in self.db.execute("SELECT output FROM release_outputs WHERE run_id=? ORDER BY output",
                                              (run_id,))]

    def record_coverage(self, run_id: str, period: str, rows: list[dict], summary: dict) -> None:
        """A run's coverage rows (:func:`pipeline.coverage.coverage_rows`) and summary."""
        self._record(run_id, "coverage", [(period, json.dumps(summary), json.dumps(rows, ensure_ascii=False))])

    def record_ignored(self, run_id: str, period: str, files: list[str]) -> None:
        """Files in raw/PERIOD/ that are not submissions (listed on the dashboard, nothing else)."""
        self._record(run_id, "ignored", [(period, f) for f in files])

    def ignored(self, run_id: str) -> list[str]:
        return [r[0] for r in self._part(run_id, "ignored", "file", "ORDER BY file")]

    def record_gate(self, run_id: str, period: str, ok: bool, outcomes: list[dict]) -> None:
        """The publish gate's result: each expectation with its outcome (for the gate page)."""
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO run_gate VALUES (?,?,?,?)",
                            (run_id, period, int(ok), json.dumps(outcomes, ensure_ascii=False, default=str)))

    def last_gate(self, period: str) -> dict | None:
        """The latest gate result of a period: run id, time, ok and the expectations' outcomes."""
        row = self.db.execute("SELECT g.*, r.started FROM run_gate g JOIN runs r ON r.id = g.run_id "
                              "WHERE g.period=? ORDER BY r.started DESC LIMIT 1", (period,)).fetchone()
        if row is None:
            return None
        return {"run_id": row["run_id"], "started": row["started"], "ok": bool(row["ok"]),
                "outcomes": json.loads(row["outcomes"])}

    def last_coverage(self, period: str) -> tuple[list[dict], dict, str] | None:
        """The coverage rows and summary of the latest run of a period that got that far, and its id."""
        run = self.db.execute(  # the run first, then its coverage: only that one frame is read
            "SELECT r.id, COALESCE(p.stored_in, r.id) AS holder FROM runs r "
            "LEFT JOIN run_parts p ON p.run_id = r.id AND p.part = 'coverage' "
            "WHERE r.period=? AND r.outcome NOT IN ('running', 'killed') "
            "AND EXISTS (SELECT 1 FROM run_coverage c WHERE c.run_id = COALESCE(p.stored_in, r.id)) "
            "ORDER BY r.started DESC LIMIT 1", (period,)).fetchone()
        if run is None:
            return None
        row = self.db.execute("SELECT summary, frame FROM run_coverage WHERE run_id=?", (run["holder"],)).fetchone()
        return json.loads(row["frame"]), json.loads(row["summary"]), run["id"]

    def run_inputs(self, run_id: str) -> list[dict]:
        return [{**dict(r), "run_id": run_id, "findings": [Finding.from_record(f) for f in json.loads(r["findings"])]}
                for r in self._part(run_id, "inputs", more="ORDER BY file")]

    def runs(self, period: str | None = None, limit: int = 10) -> list[dict]:
        sql, args = "SELECT * FROM runs", []
        if period:
            sql, args = sql + " WHERE period=?", [period]
        return [dict(r) for r in self.db.execute(sql + " ORDER BY started DESC LIMIT ?", (*args, limit))]

    def last_run_inputs(self, period: str) -> list[dict]:
        run = self.db.execute("SELECT id FROM runs WHERE period=? AND ended IS NOT NULL ORDER BY started DESC "
                              "LIMIT 1", (period,)).fetchone()
        return self.run_inputs(run["id"]) if run else []


def _damage(err: sqlite3.OperationalError) -> bool:
    text = str(err)
    return not any(w in text for w in ("locked", "readonly", "read-only", "disk I/O", "full", "unable to open"))


class _Orders(dict):
    """The catalog's orders of key texts (``cell_orders``), by id: read when the catalog opens, and again if a
    version names one stored since (another process's run). Pickled as the plain dict it holds."""

    def __init__(self, db: sqlite3.Connection):
        super().__init__()
        self.db = db
        self._read()

    def _read(self) -> None:
        self.update((r[0], json.loads(r[1])) for r in self.db.execute("SELECT id, keys FROM cell_orders"))

    def __missing__(self, name: str) -> list[str]:
        self._read()
        if not dict.__contains__(self, name):
            raise KeyError(f"cell order {name} is not in the catalog")
        return dict.__getitem__(self, name)

    def __reduce__(self):
        return dict, (dict(self),)


def _version(row, orders: _Orders) -> Version:
    """A row of ``versions`` (its cell values decoded when the row has them)."""
    values = loads(row["cell_values"], orders) if "cell_values" in row.keys() else {}
    return Version(row["sha256"], row["period"], row["opd"], row["file"], row["kind"], row["archive"],
                   row["first_seen"], row["last_seen"], row["status"], row["checked_with"],
                   [Finding.from_record(f) for f in json.loads(row["findings"])], values)


def _slices(items: list, size: int = 500) -> Iterator[list]:
    """``items`` in slices of ``size``: SQLite limits the parameters of one statement."""
    for start in range(0, len(items), size):
        yield items[start:start + size]
