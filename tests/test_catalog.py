"""The catalog's run records: what a run found (inputs, coverage, notes, staff lists, ignored files) that an
earlier run recorded row for row is kept once (``run_parts`` names the run that holds it), and read exactly
as a run's own rows."""

from __future__ import annotations

import sqlite3

from pipeline.catalog import Catalog, Version
from pipeline.findings import Finding

PERIOD = "2022"


def inputs(status: str = "accepted") -> list[dict]:
    return [{"file": "DINKES.xlsx", "sha256": "a" * 64, "opd": "DINKES", "status": "accepted", "used": True,
             "findings": [Finding("VALUE_AS_TEXT", "value:number", params={"more": 2})]},
            {"file": "DINSOS.csv", "sha256": "b" * 64, "opd": "DINSOS", "status": status, "used": status == "accepted",
             "findings": []}]


def coverage(status: str = "accepted") -> list[dict]:
    return [{"opd": "DINKES", "status": "accepted"}, {"opd": "DINSOS", "status": status}]


def record(catalog: Catalog, run_id: str, started: str, status: str = "accepted", published: int = 0,
           period: str = PERIOD) -> None:
    for i in inputs(status):
        catalog.save_version(Version(i["sha256"], period, i["opd"], i["file"], "xlsx", None, "t", "t", i["status"], "x",
                                     [], {}))
    catalog.start_run(run_id, period, started)
    catalog.record_inputs(run_id, period, inputs(status))
    catalog.record_coverage(run_id, period, coverage(status), {"submitted": 2, "status": status})
    catalog.record_notes(run_id, period, [Finding("SUBMISSION_WITHDRAWN", "run:withdrawal", params={"opd": "DLH"})])
    catalog.record_staff(run_id, period, [{"file": "pegawai.xlsx", "sha256": "c" * 64, "status": status,
                                           "opds": ["DINKES"], "people": None, "findings": []}])
    catalog.record_ignored(run_id, period, ["surat.pdf", "foto.jpg"])
    catalog.end_run(run_id, ended=started, outcome="published" if published else "unchanged", published=published)


def rows(catalog: Catalog, table: str) -> int:
    return catalog.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def kept(catalog: Catalog) -> tuple[int, ...]:
    return tuple(rows(catalog, t) for t in ("run_inputs", "run_coverage", "run_notes", "run_staff", "run_ignored"))


def comparable(found: list[dict]) -> list[tuple]:
    return [(i["run_id"], i["file"], i["sha256"], i["opd"], i["status"], i["used"], [f.code for f in i["findings"]])
            for i in found]


def test_a_run_that_finds_what_the_last_one_recorded_keeps_no_new_rows_and_reads_the_same(tmp_path):
    catalog = Catalog(tmp_path / "catalog.sqlite")
    try:
        record(catalog, "r1", "2026-01-01T00:00:00Z", published=1)
        for n, night in enumerate(("r2", "r3"), start=2):  # nights with nothing changed
            record(catalog, night, f"2026-01-0{n}T00:00:00Z")
        assert kept(catalog) == (2, 1, 1, 1, 2)
        first = comparable(catalog.run_inputs("r1"))
        assert [row[1:] for row in comparable(catalog.run_inputs("r3"))] == [row[1:] for row in first]
        assert {i["run_id"] for i in catalog.run_inputs("r3")} == {"r3"}  # each run's, whoever holds the rows
        assert catalog.last_run_inputs(PERIOD)[0]["findings"][0].params == {"more": 2}
        frame, summary, run_id = catalog.last_coverage(PERIOD)
        assert (run_id, summary, [r["status"] for r in frame]) == ("r3", {"submitted": 2, "status": "accepted"},
                                                                    ["accepted", "accepted"])
        assert [n.params for n in catalog.run_notes("r3")] == [{"opd": "DLH"}]
        assert [(s["run_id"], s["file"], s["opds"]) for s in catalog.run_staff("r3")] == [("r3", "pegawai.xlsx", ["DINKES"])]
        assert catalog.ignored("r3") == ["foto.jpg", "surat.pdf"]

        record(catalog, "r4", "2026-01-04T00:00:00Z", status="rejected")  # something changed: its own rows
        assert kept(catalog) == (4, 2, 1, 2, 2)  # its notes and ignored files are r1's still
        assert [i["status"] for i in catalog.run_inputs("r4")] == ["accepted", "rejected"]
        assert [s["status"] for s in catalog.run_staff("r4")] == ["rejected"]
        assert catalog.last_coverage(PERIOD)[1]["status"] == "rejected"
        assert [i["status"] for i in catalog.run_inputs("r2")] == ["accepted", "accepted"]  # earlier runs unchanged

        record(catalog, "r5", "2026-01-05T00:00:00Z", published=1)  # back as r1 was: r1's rows, published now
        assert kept(catalog) == (4, 2, 1, 2, 2)
        assert catalog.used_versions(PERIOD) == {"DINKES": "a" * 64, "DINSOS": "b" * 64}
        assert [(opd, period) for opd, period, _, _ in catalog.previous_published("2023")] == [
            ("DINKES", PERIOD), ("DINSOS", PERIOD)]
        assert catalog.last_coverage(PERIOD)[2] == "r5"

        record(catalog, "s1", "2026-01-06T00:00:00Z", period="2023")  # another period's rows are its own
        assert [i["period"] for i in catalog.run_inputs("s1")] == ["2023", "2023"]
        assert kept(catalog) == (6, 3, 2, 3, 4)
    finally:
        catalog.close()


def test_the_runs_of_a_catalog_from_before_shared_parts_read_as_they_were(tmp_path):
    """Rows a run wrote before ``run_parts`` existed are its own: read, and the next run's equal rows kept once
    more as its own (nothing points at rows whose content no digest vouches for)."""
    catalog = Catalog(tmp_path / "catalog.sqlite")
    record(catalog, "r1", "2026-01-01T00:00:00Z", published=1)
    catalog.close()
    old = sqlite3.connect(tmp_path / "catalog.sqlite")
    old.execute("DROP TABLE run_parts")  # as an older rekap left it
    old.commit()
    old.close()

    catalog = Catalog(tmp_path / "catalog.sqlite")
    try:
        assert [i["file"] for i in catalog.run_inputs("r1")] == ["DINKES.xlsx", "DINSOS.csv"]
        assert catalog.last_coverage(PERIOD)[2] == "r1"
        assert catalog.used_versions(PERIOD) == {"DINKES": "a" * 64, "DINSOS": "b" * 64}
        assert len(list(catalog.previous_published("2023"))) == 2
        record(catalog, "r2", "2026-01-02T00:00:00Z")
        record(catalog, "r3", "2026-01-03T00:00:00Z")
        assert rows(catalog, "run_inputs") == 4  # r1's and r2's; r3 shares r2's
        assert catalog.last_coverage(PERIOD)[2] == "r3" and len(catalog.run_inputs("r3")) == 2
    finally:
        catalog.close()
