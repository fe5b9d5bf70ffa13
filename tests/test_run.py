"""``rekap run`` end to end on real files in a temporary folder: publish, re-run, resubmit, lock, kill."""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
import multiprocessing
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from filelock import FileLock

from conftest import Submission
from pipeline.catalog import Catalog, Version
from pipeline.cli import cli

PERIOD = "2022"


@pytest.fixture
def site(tmp_path):
    """A working folder with raw/, processed/ and reports/, and a helper to drop submissions in."""
    class Site:
        root = tmp_path
        raw = tmp_path / "raw"
        processed = tmp_path / "processed"
        reports = tmp_path / "reports"

        def submit(self, sub: Submission, name: str | None = None, period: str = PERIOD) -> Path:
            folder = self.raw / period
            folder.mkdir(parents=True, exist_ok=True)
            return sub.write_csv(folder / (name or f"{sub.opd}.csv"))

        def run(self, *extra, period: str = PERIOD):
            return CliRunner().invoke(cli, ["run", "--period", period, "--raw", str(self.raw), "--processed",
                                            str(self.processed), "--reports", str(self.reports), *extra])

        def published(self, period: str = PERIOD) -> dict[str, str]:
            folder = self.processed / period
            return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                    for p in sorted(folder.rglob("*")) if p.is_file()}

        def manifest(self, period: str = PERIOD) -> dict:
            return json.loads((self.processed / period / "manifest.json").read_text())

        def coverage(self, period: str = PERIOD) -> pd.DataFrame:
            return pd.read_csv(self.processed / period / "coverage.csv", keep_default_na=False).set_index("opd")

        def last_run(self) -> dict:
            catalog = Catalog(self.processed / "catalog.sqlite")
            try:
                return catalog.runs(limit=1)[0]
            finally:
                catalog.close()

    return Site()


def test_first_run_publishes_every_output(site):
    site.submit(Submission("DINKES"))
    site.submit(Submission("DINSOS"))
    result = site.run()
    assert result.exit_code == 0, result.output
    files = site.published()
    assert {"cells.parquet", "cells.csv", "lineage.csv", "coverage.csv", "manifest.json",
            "profil-kepegawaian-2022.xlsx"} <= set(files)
    assert {f"tables/{n}-{t}.csv" for n, t in enumerate(
        ["eselon", "golongan", "cpns", "pendidikan", "fungsional", "guru"], start=1)} <= set(files)
    cells = pd.read_parquet(site.processed / PERIOD / "cells.parquet")
    grand = cells[(cells.table == "golongan") & (cells.key == "ruang=JML|gol=JML|sex=JML")].value.item()
    assert grand == 2 * Submission().get("golongan", ruang="JML", gol="JML", sex="JML")
    manifest = site.manifest()
    assert manifest["used"].keys() == {"DINKES", "DINSOS"} and manifest["gate"] == "passed"
    assert {i["sha256"] for i in manifest["inputs"]} == set(manifest["used"].values())
    assert manifest["code_version"] and manifest["rules_version"] and manifest["run_id"]
    coverage = site.coverage()
    assert coverage.loc["DINKES", "status"] == "accepted" and coverage.loc["SETDA", "status"] == "not_submitted"
    lineage = pd.read_csv(site.processed / PERIOD / "lineage.csv")
    assert set(lineage.opd) == {"DINKES", "DINSOS"}
    assert (site.reports / PERIOD / "gx").is_dir()  # Data Docs of the publish gate
    assert list((site.processed / "logs" / PERIOD).glob("run-*.jsonl"))


def test_the_reports_are_written_while_the_run_holds_no_versions_cells(site, monkeypatch):
    """Every version's cells are in the catalog: once the tables are published the run lets go of them, and
    the reports read them from there (a few OPDs at a time), so what a run holds does not grow with the OPDs."""
    import pipeline.report as report
    from pipeline.run import run_period

    site.submit(Submission("DINKES"))
    site.submit(Submission("DINSOS"))
    held, build = [], report.build_reports

    def watched(*args, **kwargs):
        held.extend(v for v in gc.get_objects() if isinstance(v, Version) and v.values)
        return build(*args, **kwargs)

    monkeypatch.setattr(report, "build_reports", watched)
    result = run_period(PERIOD, site.raw, site.processed, site.reports)
    assert result.outcome == "published" and held == []
    assert [i.version.values for i in result.inputs] == [{}, {}]
    page = (site.reports / PERIOD / "opd" / "DINKES.html").read_text(encoding="utf-8")
    total = Submission().get("golongan", ruang="JML", gol="JML", sex="JML")
    assert f">{total:g}<" in page.replace(".", "")  # the OPD's own numbers, read back from the catalog


def test_second_run_with_no_change_validates_nothing_and_leaves_files_byte_identical(site):
    site.submit(Submission("DINKES"))
    site.submit(Submission("DINSOS"))
    assert site.run().exit_code == 0
    before = site.published()
    again = site.run()
    assert again.exit_code == 0, again.output
    assert site.published() == before
    run = site.last_run()
    assert (run["outcome"], run["validated"]) == ("unchanged", 0)


def test_nights_with_nothing_changed_add_no_rows_of_inputs_or_coverage_and_report_as_before(site):
    """A scheduled run that finds what the last one found records its run, not the N rows of inputs and of
    coverage again (the catalog is read whole on opening: it grows with what changes, not with every run);
    the status and the OPDs' pages read the same."""
    import sqlite3

    site.submit(Submission("DINKES"))
    site.submit(Submission("DINSOS").add("golongan", 1, ruang="A", gol="II", sex="L"))  # rejected: a finding

    def counts() -> tuple[int, int, int]:
        db = sqlite3.connect(site.processed / "catalog.sqlite")
        try:
            return tuple(db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("runs", "run_inputs", "run_coverage"))
        finally:
            db.close()

    assert site.run().exit_code == 1
    first = counts()
    page = (site.reports / PERIOD / "opd" / "DINSOS.html").read_text(encoding="utf-8")
    status = CliRunner().invoke(cli, ["status", "--period", PERIOD, "--processed", str(site.processed)])
    for night in (2, 3):
        result = site.run()
        assert result.exit_code == 1 and "TIDAK BERUBAH" in result.output, result.output
        assert counts() == (night, first[1], first[2])
    assert (site.reports / PERIOD / "opd" / "DINSOS.html").read_text(encoding="utf-8") == page
    again = CliRunner().invoke(cli, ["status", "--period", PERIOD, "--processed", str(site.processed)])

    def opd_lines(output: str) -> list[str]:
        return [line for line in output.splitlines() if line.split()[:1] in (["DINKES"], ["DINSOS"])]

    assert status.exit_code == again.exit_code == 0 and len(opd_lines(status.output)) == 2
    assert opd_lines(again.output) == opd_lines(status.output)  # the OPDs as the last run saw them: the same
    assert site.last_run()["id"] in again.output.splitlines()[0]  # and that run is the third night's

    site.submit(Submission("DINSOS"))  # corrected: a run with new inputs records them
    assert site.run().exit_code == 0
    assert counts()[1:] == (first[1] * 2, first[2] + 1)
    catalog = Catalog(site.processed / "catalog.sqlite")
    try:
        assert {i["opd"]: i["status"] for i in catalog.last_run_inputs(PERIOD)} == {"DINKES": "accepted",
                                                                                 "DINSOS": "accepted"}
    finally:
        catalog.close()


def test_a_run_opens_and_checks_its_catalog_once_whatever_it_writes(site, monkeypatch):
    """Opening the catalog checks the whole file (``PRAGMA quick_check``, a fifth of a second at 3,400
    submissions): a run opens it once and its reports read from that one, whether they write every OPD's
    report, one, or none."""
    import pipeline.catalog as catalog_module

    checks = []
    real = catalog_module.Catalog.__init__

    def counted(self, path):
        checks.append(Path(path).name)
        real(self, path)

    site.submit(Submission("DINKES"))
    site.submit(Submission("DINSOS"))
    monkeypatch.setattr(catalog_module.Catalog, "__init__", counted)
    for change in (None, "DINSOS", None):
        if change:
            site.submit(Submission(change).add("golongan", 1, ruang="A", gol="II", sex="L"))
        checks.clear()
        result = site.run()
        assert result.exit_code in (0, 1), result.output
        assert checks == ["catalog.sqlite"], (change, checks)
    assert (site.reports / PERIOD / "opd" / "DINSOS.html").is_file()


def test_new_versions_are_saved_a_batch_at_a_time_and_the_same_bytes_twice_name_the_later_file(site, monkeypatch):
    """A run saves its new versions to the catalog in transactions of SAVED_AT_ONCE (one commit, one sync of
    the disk, per batch) and at its end; the record of a file whose bytes a later file repeats is saved before
    that later file touches it, as when each version was saved alone."""
    import pipeline.catalog as catalog_module
    from pipeline import run

    for opd in ("DINKES", "DINSOS", "DLH", "DISHUB", "BAPENDA"):
        site.submit(Submission(opd))
    shutil.copyfile(site.raw / PERIOD / "DLH.csv", site.raw / PERIOD / "zz-DLH-lagi.csv")  # the same bytes
    batches = []
    real = catalog_module.Catalog.save_versions
    monkeypatch.setattr(catalog_module.Catalog, "save_versions",
                        lambda self, versions: batches.append([v.opd for v in versions]) or real(self, versions))
    monkeypatch.setattr(run, "SAVED_AT_ONCE", 2)
    result = site.run()
    assert result.exit_code == 0, result.output  # the same bytes twice are one version
    assert [b for b in batches if b] == [["BAPENDA", "DINKES"], ["DINSOS", "DISHUB"], ["DLH"]]  # DLH: before its twin
    assert sorted(opd for b in batches for opd in b) == ["BAPENDA", "DINKES", "DINSOS", "DISHUB", "DLH"]
    catalog = Catalog(site.processed / "catalog.sqlite")
    try:
        saved = {v.opd: v for v in catalog.versions(PERIOD)}
    finally:
        catalog.close()
    assert set(saved) == {"BAPENDA", "DINKES", "DINSOS", "DISHUB", "DLH"}
    assert saved["DLH"].file == "zz-DLH-lagi.csv"  # touched by the later file, after its own record was saved
    assert all(v.values for opd, v in saved.items())
    monkeypatch.undo()
    again = site.run()
    assert site.last_run()["validated"] == 0, again.output  # every version was saved


def test_changing_one_file_revalidates_that_opd_only(site):
    site.submit(Submission("DINKES"))
    site.submit(Submission("DINSOS"))
    site.submit(Submission("DLH"))
    assert site.run().exit_code == 0
    site.submit(Submission("DINSOS").add("guru", 1, sekolah="SD").add("guru", 1, sekolah="JML"))
    result = site.run()
    assert result.exit_code == 0
    run = site.last_run()
    assert (run["outcome"], run["validated"]) == ("published", 1)
    assert site.manifest()["used"]["DINSOS"] == hashlib.sha256((site.raw / PERIOD / "DINSOS.csv").read_bytes()).hexdigest()


def test_rejected_resubmission_keeps_the_earlier_accepted_version(site):
    first = site.submit(Submission("DINKES"))
    site.submit(Submission("DINSOS"))
    assert site.run().exit_code == 0
    accepted_sha = hashlib.sha256(first.read_bytes()).hexdigest()
    site.submit(Submission("DINKES").add("golongan", 7, ruang="A", gol="III", sex="L"))  # breaks two totals
    result = site.run()
    assert result.exit_code == 1
    assert "DINKES" in result.output
    assert site.manifest()["used"]["DINKES"] == accepted_sha
    assert site.manifest()["older_versions_used"] == ["DINKES"]
    assert site.coverage().loc["DINKES", "status"] == "older_version"
    catalog = Catalog(site.processed / "catalog.sqlite")
    versions = catalog.versions(PERIOD, "DINKES")
    inputs = catalog.last_run_inputs(PERIOD)
    catalog.close()
    assert [v.status for v in versions] == ["accepted", "rejected"]  # both versions are kept, in order seen
    assert all((site.processed / v.archive).exists() for v in versions)  # archived by content hash
    dinkes = next(i for i in inputs if i["opd"] == "DINKES")
    assert {f.code for f in dinkes["findings"]} == {"OLDER_VERSION_USED"}


def test_two_files_claiming_one_opd_received_together_are_both_set_aside(site):
    """A genuine tie: received in the same run with the same modification time (otherwise the later
    file is current, see test_cycle.py)."""
    one = site.submit(Submission("DINKES"))
    two = site.submit(Submission("DINKES").add("guru", 1, sekolah="SD").add("guru", 1, sekolah="JML"),
                      name="dinkes-2.csv")
    for path in (one, two):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    site.submit(Submission("DINSOS"))
    result = site.run()
    assert result.exit_code == 1
    manifest = site.manifest()
    assert "DINKES" not in manifest["used"]
    assert {i["status"] for i in manifest["inputs"] if i["opd"] == "DINKES"} == {"rejected"}
    assert site.coverage().loc["DINKES", "status"] == "rejected"


def test_more_than_one_eselon_ii_a_city_wide(site):
    for opd in ("SETDA", "DINKES"):
        sub = Submission(opd).set("eselon", 1, status="terisi", eselon="II.A", sex="L")
        site.submit(sub.set("eselon", 1, status="disiapkan", eselon="II.A", sex="JML").recompute("eselon"))
    site.submit(Submission("DINSOS"))
    result = site.run()
    assert result.exit_code == 1
    assert set(site.manifest()["used"]) == {"DINSOS"}
    assert "ESELON_II_A_CITY" in result.output


def test_headcount_change_against_the_previous_period_is_a_warning(site):
    site.submit(Submission("DINKES", "2021"), period="2021")
    site.submit(Submission("DINSOS", "2021"), period="2021")
    assert site.run(period="2021").exit_code == 0
    site.submit(Submission("DINKES").scaled(2))  # every count doubled: consistent, but +100 %
    site.submit(Submission("DINSOS"))  # the same headcount as before: no warning
    result = site.run()
    assert result.exit_code == 0, result.output
    coverage = site.coverage()
    assert (coverage.loc["DINKES", "status"], coverage.loc["DINKES", "warnings"]) == ("accepted_with_warnings", 1)
    assert coverage.loc["DINSOS", "status"] == "accepted"


def test_unknown_and_unreadable_files_are_listed_not_fatal(site):
    site.submit(Submission("DINKES"))
    (site.raw / PERIOD / "rusak.xlsx").write_bytes(b"%PDF-1.4")  # a workbook by name: a rejected submission
    (site.raw / PERIOD / "scan.pdf").write_bytes(b"%PDF-1.4")  # not a submission: ignored (test_cycle.py)
    (site.raw / PERIOD / "~$DINKES.xlsx").write_bytes(b"excel lock file")  # skipped: not a submission
    result = site.run()
    assert result.exit_code == 1
    names = {i["file"] for i in site.manifest()["inputs"]}
    assert names == {"DINKES.csv", "rusak.xlsx"}
    assert "rusak.xlsx" in set(site.coverage()["file"])


def test_a_second_run_is_refused_while_one_holds_the_lock(site):
    site.submit(Submission("DINKES"))
    site.processed.mkdir(parents=True)
    with FileLock(site.processed / ".rekap.lock"):
        result = site.run()  # refused, not queued: the run does not wait for the lock
    assert result.exit_code == 3
    assert "lock" in result.output
    assert site.run().exit_code == 0  # the lock is free again


def test_nothing_accepted_is_a_failed_run_that_publishes_nothing(site):
    site.submit(Submission("DINKES").add("guru", 3, sekolah="SD"))
    result = site.run()
    assert result.exit_code == 5
    assert not (site.processed / PERIOD).exists()


@pytest.mark.parametrize("url, words", [("bukan-url", "not a database URL"),
                                         ("oracle+nodriver://u:rahasia@host/db", "cannot use database URL")])
def test_a_database_that_cannot_be_used_fails_the_run_saying_why(site, url, words):
    site.submit(Submission("DINKES"))
    result = site.run("--db", url)
    assert result.exit_code == 5 and "Traceback" not in result.output
    assert f"basis data: {words}" in result.output and "tak terduga" not in result.output
    assert "rahasia" not in result.output  # a password in the URL is never shown
    assert not (site.processed / PERIOD).exists()  # nothing published


def test_failing_publish_gate_publishes_nothing(site, monkeypatch):
    import pipeline.gate as gate

    site.submit(Submission("DINKES"))
    assert site.run().exit_code == 0
    before = site.published()
    site.submit(Submission("DINSOS"))
    real = gate.run_gate

    def failing(city, period, docs_dir, **options):
        return dataclasses.replace(real(city, period, docs_dir, **options), ok=False,
                                   failures=["a failure made by the test"])

    monkeypatch.setattr(gate, "run_gate", failing)
    profile = {name: (site.reports / PERIOD / name).read_bytes() for name in ("profil.html", "profil.pdf")}
    result = site.run("--jobs", "2")
    assert result.exit_code == 4
    assert "a failure made by the test" in result.output
    assert site.published() == before
    assert multiprocessing.active_children() == []  # the profile printed while the gate ran is stopped
    # the profile still shows the published tables with their own coverage (DINKES only), not the failed run's
    assert {name: (site.reports / PERIOD / name).read_bytes() for name in profile} == profile
    assert "DINSOS" in (site.reports / PERIOD / "index.html").read_text()  # the dashboard shows the latest run

    monkeypatch.setattr(gate, "run_gate", real)  # what a stopped print left is cleared, with one job too
    (site.processed / "profile" / "0123.tmp").mkdir(parents=True, exist_ok=True)
    assert site.run("--jobs", "1").exit_code == 0 and not (site.processed / "profile").exists()


def test_a_resubmission_that_leaves_the_city_tables_as_they_are_reuses_the_gates_judgement(site, monkeypatch):
    """A rejected resubmission changes the release (its inputs), not the city tables: GX's judgement of
    those very tables stands, so the run neither runs GX nor rebuilds its Data Docs. Tables that change,
    Data Docs that are gone, or a gate that failed since: GX judges again."""
    import pipeline.gate as gate

    def last_gate_run() -> str:
        catalog = Catalog(site.processed / "catalog.sqlite")
        try:
            return catalog.last_gate(PERIOD)["run_id"]
        finally:
            catalog.close()

    def broken_dinkes(extra: int) -> Submission:  # a total no longer equals its parts: rejected
        return Submission("DINKES").add("golongan", extra, ruang="A", gol="III", sex="L")

    judged = []
    real = gate._confront
    monkeypatch.setattr(gate, "_confront", lambda *args: judged.append(1) or real(*args))
    site.submit(Submission("DINKES"))
    site.submit(Submission("DINSOS"))
    assert site.run().exit_code == 0 and judged == [1]
    first = site.manifest()
    assert first["gate_run"] == first["run_id"] == last_gate_run()
    docs = site.reports / PERIOD / "gx" / "index.html"
    before = docs.read_bytes()

    site.submit(broken_dinkes(7))
    assert site.run().exit_code == 1 and judged == [1]  # GX was not asked
    second = site.manifest()
    assert second["run_id"] != first["run_id"] and second["inputs"] != first["inputs"]
    assert (second["gate_input"], second["gate_run"]) == (first["gate_input"], first["run_id"])
    assert last_gate_run() == first["run_id"] and docs.read_bytes() == before
    log = [json.loads(line) for line in next(site.processed.glob(f"logs/{PERIOD}/run-{second['run_id']}.jsonl"))
           .read_text().splitlines()]
    assert [e.get("reused_from") for e in log if e["event"] == "gate"] == [first["run_id"]]

    shutil.rmtree(docs.parent)  # the Data Docs are gone: GX judges the same tables again and rebuilds them
    site.submit(broken_dinkes(8))
    assert site.run().exit_code == 1 and judged == [1, 1] and docs.is_file()
    third = site.manifest()
    assert third["gate_input"] == first["gate_input"] and third["gate_run"] == third["run_id"] == last_gate_run()

    catalog = Catalog(site.processed / "catalog.sqlite")  # a later run's gate failed (nothing it published)
    failed = "20991231T000000Z-000000"
    catalog.start_run(failed, PERIOD, datetime.now(timezone.utc).isoformat(timespec="milliseconds"))
    catalog.record_gate(failed, PERIOD, False, [])
    catalog.close()
    site.submit(broken_dinkes(9))
    assert site.run().exit_code == 1 and judged == [1, 1, 1]
    assert site.manifest()["gate_run"] == site.manifest()["run_id"]

    site.submit(Submission("DLH"))  # the city tables change
    assert site.run().exit_code == 1 and judged == [1, 1, 1, 1]
    last = site.manifest()
    assert last["gate_input"] != first["gate_input"] and last["gate_run"] == last["run_id"] == last_gate_run()


def _events(site, event: str) -> list[dict]:
    """The ``event`` entries of the site's last run log."""
    run_id = site.last_run()["id"]
    path = site.processed / "logs" / PERIOD / f"run-{run_id}.jsonl"
    return [e for e in map(json.loads, path.read_text().splitlines()) if e["event"] == event]


def test_the_profile_is_printed_on_another_core_while_the_gate_runs_the_same_bytes(site, monkeypatch):
    import pipeline.gate as gate
    import pipeline.pool as pool
    import pipeline.report as report

    workers, started = [], []
    real_gate, real_ahead = gate.run_gate, pool.ahead
    monkeypatch.setattr(gate, "run_gate", lambda *a, **k: workers.append(multiprocessing.active_children())
                        or real_gate(*a, **k))
    monkeypatch.setattr(pool, "ahead", lambda *a: started.append(a[0].__name__) or real_ahead(*a))
    site.submit(Submission("DINKES"))
    site.submit(Submission("DINSOS"))
    assert site.run("--jobs", "2").exit_code == 0
    assert started == ["_print_profile"] and len(workers) == 1 and len(workers[0]) == 1  # alive while GX judged
    assert [e["printed_ahead"] for e in _events(site, "profile")] == [True]
    assert not (site.processed / report.AHEAD).exists()  # taken by the reports
    folder = site.reports / PERIOD
    printed = {name: (folder / name).read_bytes() for name in report.PROFILE}

    for name in report.PROFILE:  # printed here by `rekap report`: the same bytes
        (folder / name).unlink()
    assert CliRunner().invoke(cli, ["report", "--period", PERIOD, "--processed", str(site.processed),
                                    "--reports", str(site.reports)]).exit_code == 0
    assert {name: (folder / name).read_bytes() for name in report.PROFILE} == printed

    site.submit(Submission("DINSOS").add("golongan", 7, ruang="A", gol="III", sex="L"))  # rejected: the city
    assert site.run("--jobs", "2").exit_code == 1  # tables, coverage and release stay: nothing printed
    assert started == ["_print_profile"] and _events(site, "profile") == []

    site.submit(Submission("DLH"))  # the tables change, and the worker prints nothing this time: the reports do
    monkeypatch.setattr(report, "_print_profile", lambda *args: None)
    assert site.run("--jobs", "2").exit_code == 1
    assert started == ["_print_profile", "<lambda>"] and [e["printed_ahead"] for e in _events(site, "profile")] == [False]
    assert (folder / "profil.pdf").read_bytes() != printed["profil.pdf"]


def test_run_publishes_the_tables_to_postgresql(site, pg_url):
    import sqlalchemy as sa

    from pipeline.database import read_frame

    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    site.submit(Submission("DINKES"))
    site.submit(Submission("DINSOS"))
    result = site.run("--db", pg_url)
    assert result.exit_code == 0, result.output
    cells = read_frame(pg_url, "rekap_cells", PERIOD)
    published = pd.read_csv(site.processed / PERIOD / "cells.csv")
    assert len(cells) == len(published)
    grand = cells[(cells["table"] == "golongan") & (cells["key"] == "ruang=JML|gol=JML|sex=JML")]["value"].item()
    assert grand == 2 * Submission().get("golongan", ruang="JML", gol="JML", sex="JML")
    coverage = read_frame(pg_url, "rekap_coverage", PERIOD).set_index("opd")
    assert coverage.loc["DINKES", "status"] == "accepted" and coverage.loc["SETDA", "status"] == "not_submitted"
    assert set(read_frame(pg_url, "rekap_lineage", PERIOD)["opd"]) == {"DINKES", "DINSOS"}


def test_report_rebuilds_the_reports_from_the_catalog_without_revalidating(site):
    site.submit(Submission("DINKES"))
    site.submit(Submission("DINSOS").add("guru", 3, sekolah="SD"))
    site.run()
    folder = site.reports / PERIOD
    made = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and "gx" not in p.parts}
    assert {"index.html", "profil.html", "profil.pdf", "opd/DINKES.html", "opd/DINKES-umpan-balik.xlsx",
            "opd/DINSOS.html", "opd/DINSOS-umpan-balik.xlsx", "opd/SETDA.html"} <= made
    runs_before = site.last_run()["id"]
    for name in made:
        (folder / name).unlink()
    result = CliRunner().invoke(cli, ["report", "--period", PERIOD, "--processed", str(site.processed),
                                      "--reports", str(site.reports), "--lang", "en"])
    assert result.exit_code == 0, result.output
    remade = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and "gx" not in p.parts}
    assert remade == made
    page = (folder / "opd" / "DINSOS.html").read_text()
    assert 'lang="en"' in page and "rejected" in page.lower()  # rebuilt in the language asked for
    assert site.last_run()["id"] == runs_before  # no run, nothing validated again


def test_status_shows_every_opd_and_the_last_runs(site):
    site.submit(Submission("DINKES"))
    site.submit(Submission("DINSOS").add("guru", 3, sekolah="SD"))
    site.run()
    output = CliRunner().invoke(cli, ["status", "--period", PERIOD, "--processed", str(site.processed)]).output
    lines = output.splitlines()  # the run's statuses, in Indonesian (test_cycle.py: English, stopped runs)
    assert any(l.split()[:2] == ["DINKES", "diterima"] for l in lines)
    assert any(l.split()[:2] == ["DINSOS", "ditolak"] for l in lines)
    assert any(l.split()[:3] == ["SETDA", "belum", "mengirim"] for l in lines)
    assert any("diterbitkan" in l for l in lines)


def test_previous_published_period_is_evidence_for_the_next(site):
    """A row of seven cells off by one is a tie on its own; the OPD's value of last period tells which."""
    site.submit(Submission("DINKES", period="2021"), period="2021")
    assert site.run(period="2021").exit_code == 0
    before = Submission("DINKES").get("eselon", status="disiapkan", eselon="IV.A", sex="JML")
    site.submit(Submission("DINKES").add("eselon", 1, status="disiapkan", eselon="IV.A", sex="JML"))
    site.run()
    catalog = Catalog(site.processed / "catalog.sqlite")
    try:
        (version,) = catalog.versions(PERIOD, "DINKES")
    finally:
        catalog.close()
    (suspect,) = [f for f in version.findings if f.code == "CELL_SUSPECT"]
    assert (suspect.cell["eselon"], suspect.actual, suspect.expected) == ("IV.A", before + 1, before)
    assert suspect.params["certainty"] == "probable"
    # the same file alone, with no earlier period, is an honest tie
    alone = CliRunner().invoke(cli, ["validate", "--format", "json", str(site.raw / PERIOD / "DINKES.csv")])
    (sub,) = json.loads(alone.output)["submissions"]
    assert sub["corrections"][0]["type"] == "one_of"


def test_a_catalog_that_stored_cells_as_key_texts_serves_the_next_period_as_a_new_one_would(site):
    """A catalog written before cells were stored in orders of keys kept once (no ``cell_orders``; each version
    a {table: {key text: value}}): the next period reads the earlier one from it as evidence and publishes the
    same tables, byte for byte, as from a catalog in today's form; its old rows stay as they were."""
    import sqlite3

    site.submit(Submission("DINKES", period="2021"), period="2021")
    site.submit(Submission("DINSOS", period="2021"), period="2021")
    assert site.run(period="2021").exit_code == 0
    after_2021 = site.root / "after-2021"
    shutil.copytree(site.processed, after_2021)
    site.submit(Submission("DINKES").add("eselon", 1, status="disiapkan", eselon="IV.A", sex="JML"))
    site.submit(Submission("DINSOS"))

    def run_2022() -> tuple[dict, list]:
        assert site.run().exit_code == 1
        catalog = Catalog(site.processed / "catalog.sqlite")
        try:
            (version,) = catalog.versions(PERIOD, "DINKES")
        finally:
            catalog.close()
        outputs = {name: digest for name, digest in site.published().items() if name != "manifest.json"}
        return outputs, [(f.code, f.cell, f.actual, f.expected, f.params.get("certainty")) for f in version.findings]

    today = run_2022()
    assert ("CELL_SUSPECT", {"status": "disiapkan", "eselon": "IV.A", "sex": "JML"}) in [f[:2] for f in today[1]]
    shutil.rmtree(site.processed)
    shutil.rmtree(site.reports)
    shutil.copytree(after_2021, site.processed)
    db = sqlite3.connect(site.processed / "catalog.sqlite")  # as an earlier rekap wrote it
    orders = {name: json.loads(keys) for name, keys in db.execute("SELECT id, keys FROM cell_orders")}
    old = {sha: json.dumps({t: dict(zip(orders[name], numbers)) for t, (name, numbers) in json.loads(stored).items()})
           for sha, stored in db.execute("SELECT sha256, cell_values FROM versions")}
    db.executemany("UPDATE versions SET cell_values=? WHERE sha256=?", [(text, sha) for sha, text in old.items()])
    db.execute("DROP TABLE cell_orders")
    db.commit()
    db.close()
    assert run_2022() == today
    db = sqlite3.connect(site.processed / "catalog.sqlite")
    try:
        stored = dict(db.execute("SELECT sha256, cell_values FROM versions WHERE period='2021'"))
        assert stored == old  # the earlier period's rows are read, not rewritten
        forms = {type(next(iter(json.loads(v).values()))) for (v,) in db.execute(
            "SELECT cell_values FROM versions WHERE period=?", (PERIOD,))}
        assert forms == {list}  # the new period's in today's form
    finally:
        db.close()


NOT_ON_A_QUIET_RUN = ("pandera", "scipy", "weasyprint", "great_expectations", "openpyxl", "pandas", "numpy", "pyarrow")


def test_a_run_with_nothing_new_imports_no_reader_checker_pdf_or_gate(tmp_path):
    """Nothing changed since the last run: no file is read or checked, nothing is summed or published, no PDF
    printed, no workbook written, so pandera, scipy, WeasyPrint, Great Expectations and openpyxl are not even
    imported (they are most of its cost), nor pandas, numpy and pyarrow (over half a second of its start: a
    sixth of such a run at 3,400 submissions)."""
    import subprocess
    import sys

    from test_cli import PROBE  # runs the CLI and prints which of the named libraries it imported

    raw = tmp_path / "raw" / PERIOD
    raw.mkdir(parents=True)
    Submission("DLH", PERIOD).write_csv(raw / "DLH.csv")
    args = ["run", "--period", PERIOD, "--raw", str(tmp_path / "raw"), "--processed", str(tmp_path / "processed"),
            "--reports", str(tmp_path / "reports"), "--jobs", "1"]
    assert CliRunner().invoke(cli, args).exit_code in (0, 1)
    proc = subprocess.run([sys.executable, "-c", PROBE.format(heavy=set(NOT_ON_A_QUIET_RUN)), *args],
                          capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    assert proc.returncode == 0, proc.stderr
    imported = proc.stdout.rsplit("imported:", 1)[1].split()
    assert imported == []
    catalog = Catalog(tmp_path / "processed" / "catalog.sqlite")
    try:
        assert [r["outcome"] for r in catalog.runs(PERIOD)] == ["unchanged", "published"]
    finally:
        catalog.close()


def _summary_of(n_opds: int, n_rejected: int, lang: str = "id") -> str:
    """The console summary of a run over ``n_opds`` OPDs of which the first ``n_rejected`` files were rejected
    (and so are missing from the tables, with no earlier figures)."""
    from pipeline.findings import Finding
    from pipeline.render import run_summary
    from pipeline.run import Input, RunResult

    def version(k: int) -> Version:
        findings = [Finding("SUM_MISMATCH", "sum:total")] if k < n_rejected else []
        return Version(f"{k:064x}", PERIOD, f"OPD{k:04d}", f"OPD{k:04d}.csv", "csv", None, "", "",
                       "rejected" if findings else "accepted", "", findings, {})

    inputs = [Input(Path(f"OPD{k:04d}.csv"), version(k)) for k in range(n_opds)]
    missing = [f"OPD{k:04d}" for k in range(n_rejected)]
    coverage = [{"opd": i.opd, "status": "rejected" if k < n_rejected else "accepted"} for k, i in enumerate(inputs)]
    summary = {"opds_in_registry": n_opds, "opds_used": n_opds - n_rejected, "staff_share": None,
               "missing": missing, "missing_without_estimate": missing}
    result = RunResult("r1", PERIOD, "published", 2, inputs, coverage=coverage, coverage_summary=summary,
                       dashboard=Path("reports") / PERIOD / "index.html")
    return run_summary(result, lang)


def test_a_citys_run_summary_names_every_missing_opd_and_every_rejected_file():
    text = _summary_of(34, 12)
    missing = ", ".join(f"OPD{k:04d}" for k in range(12))
    assert f"Belum termasuk: {missing}." in text and f"Tanpa angka periode sebelumnya: {missing}." in text
    assert all(f"OPD{k:04d}.csv" in text for k in range(12)) and "..." not in text


@pytest.mark.parametrize("lang, more", [("id", "... dan 450 berkas lain yang ditolak"),
                                        ("en", "... and 450 more rejected files")])
def test_a_national_run_summary_stays_readable_and_sends_the_rest_to_the_dashboard(lang, more):
    from pipeline.coverage import coverage_note

    text = _summary_of(3400, 500, lang)
    assert len(text.splitlines()) < 70  # not one line per rejected file, nor 500 names in a line
    shown = ", ".join(f"OPD{k:04d}" for k in range(50))
    rest = {"id": " dan 450 lainnya.", "en": " and 450 more."}[lang]  # how many the line leaves out
    assert text.count(shown + rest) == 2 and "OPD0050" not in text.split("\n", 3)[2]
    assert sum(line.startswith("  OPD") for line in text.splitlines()) == 50 and more in text
    assert "OPD0049.csv" in text and "OPD0050.csv" not in text
    # the note published with the tables (the book's notes, the profile) still names every one
    summary = {"opds_in_registry": 3400, "opds_used": 2900, "staff_share": None,
               "missing": [f"OPD{k:04d}" for k in range(500)], "missing_without_estimate": []}
    assert "OPD0499" in coverage_note(summary, lang) and "..." not in coverage_note(summary, lang)
