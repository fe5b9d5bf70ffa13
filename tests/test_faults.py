"""rekap run under faults: SIGKILL at every logged stage, a read-only and a full disk, a damaged catalog, a
report that fails for one OPD, a withdrawn file. Each leaves the last release intact and the next run
correct, reports included. Runs are real CLI processes on real files in a temporary folder (each forked
from one that imported the CLI already: tests/cliproc.py)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from cliproc import rekap
from conftest import Submission
from pipeline.catalog import Catalog
from pipeline.cli import cli
from pipeline.report import STAMP
from pipeline.specs import load_registry

ROOT = Path(__file__).resolve().parent.parent
PERIOD = "2022"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


class Site:
    def __init__(self, root: Path):
        self.root = root
        self.raw, self.processed, self.reports = root / "raw" / PERIOD, root / "processed", root / "reports"
        self.raw.mkdir(parents=True)

    def submit(self, opd: str) -> Path:
        return Submission(opd).write_csv(self.raw / f"{opd}.csv")

    def run(self, *extra, kill_after: str | None = None) -> subprocess.CompletedProcess:
        env = {**ENV, "REKAP_KILL_AFTER": kill_after} if kill_after else ENV
        return rekap(["run", "--period", PERIOD, *extra], self.root, env)

    def published(self) -> dict[str, str]:
        folder = self.processed / PERIOD
        return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(folder.rglob("*")) if p.is_file()}

    def manifest(self) -> dict:
        return json.loads((self.processed / PERIOD / "manifest.json").read_text())

    def reports_state(self) -> dict[str, str]:
        folder = self.reports / PERIOD
        return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(folder.rglob("*")) if p.is_file() and "gx" not in p.parts}

    def assert_release_complete(self) -> None:
        manifest = self.manifest()
        assert set(manifest["outputs"]) == set(self.published())

    def assert_correct(self, opds: set[str]) -> None:
        """The release uses exactly ``opds`` and every report was made from it."""
        self.assert_release_complete()
        manifest = self.manifest()
        assert set(manifest["used"]) == opds
        stamp = json.loads((self.reports / PERIOD / STAMP).read_text())
        assert stamp["fingerprint"] == manifest["fingerprint"]
        folder = self.reports / PERIOD
        for code in load_registry():
            assert (folder / "opd" / f"{code}.html").is_file()
        for code in opds:
            assert "diterima" in (folder / "opd" / f"{code}.html").read_text()
        assert (folder / "profil.pdf").stat().st_mtime >= (self.processed / PERIOD / "manifest.json").stat().st_mtime
        dashboard = (folder / "index.html").read_text()
        assert all(code in dashboard for code in opds)


@pytest.fixture
def site(tmp_path):
    return Site(tmp_path)


def _killed(done: subprocess.CompletedProcess) -> bool:
    return done.returncode == -9


def test_sigkill_at_every_logged_stage_leaves_the_release_and_the_next_run_completes_it(site):
    site.submit("DINKES")
    assert site.run().returncode == 0
    site.assert_correct({"DINKES"})
    before, reports_before = site.published(), site.reports_state()
    first = (site.processed / PERIOD).resolve()

    site.submit("DINSOS")
    for stage in ("start", "discovered", "input", "gate", "written", "database"):  # before the swap
        done = site.run(kill_after=stage)
        assert _killed(done), (stage, done.returncode, done.stderr)
        assert site.published() == before, stage
        assert site.reports_state() == reports_before, stage

    done = site.run(kill_after="published")  # swapped in; no report written yet
    assert _killed(done)
    site.assert_release_complete()
    # kept: the new release and the one it replaced, not the two the runs killed before the swap wrote
    assert {p.name for p in (site.processed / ".releases").iterdir()} == {
        (site.processed / PERIOD).resolve().name, first.name}
    assert set(site.manifest()["used"]) == {"DINKES", "DINSOS"}
    assert site.reports_state() == reports_before  # stale: the next run must finish them
    done = site.run()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "TIDAK BERUBAH" in done.stdout  # the data did not change; the reports were rebuilt all the same
    site.assert_correct({"DINKES", "DINSOS"})

    site.submit("DISHUB")
    done = site.run(kill_after="report")  # one OPD's reports written, the others not
    assert _killed(done)
    assert set(site.manifest()["used"]) == {"DINKES", "DINSOS", "DISHUB"}
    assert not (site.reports / PERIOD / STAMP).exists()
    done = site.run(kill_after="reports")  # every report written, the run not recorded
    assert _killed(done)
    done = site.run()
    assert done.returncode == 0, done.stdout + done.stderr
    site.assert_correct({"DINKES", "DINSOS", "DISHUB"})
    catalog = Catalog(site.processed / "catalog.sqlite")
    outcomes = [r["outcome"] for r in catalog.runs(PERIOD, limit=20)]
    catalog.close()
    assert outcomes.count("killed") == 9 and outcomes[0] == "unchanged"  # killed while writing reports too
    assert not any(p.name.endswith(".tmp") for p in (site.processed / ".releases").iterdir())


def test_a_swap_keeps_the_release_it_replaced_and_never_touches_another_periods(tmp_path):
    """``2022-12-<run>`` is a release of the month, not of the year ``2022``: publishing the year prunes its own
    folders only, and keeps the release it replaced even when a newer one (a killed run's) lies beside it."""
    from pipeline.publish import release_dir, swap_in

    processed = tmp_path / "processed"

    def release(period: str, stamp: str) -> Path:
        folder = release_dir(processed, period, f"2026010{stamp}T000000Z-abcdef")
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_text("{}")
        return folder

    month = []
    for stamp in "12":
        month.append(release("2022-12", stamp))
        swap_in(processed, "2022-12", month[-1])
    year = [release("2022", "3")]
    swap_in(processed, "2022", year[0])
    year.append(release("2022", "4"))
    swap_in(processed, "2022", year[1])
    year.append(release("2022", "5"))  # a killed run's: never swapped in
    year.append(release("2022", "6"))
    swap_in(processed, "2022", year[3])
    assert sorted(p.name for p in (processed / ".releases").iterdir()) == sorted(
        p.name for p in (*month, year[1], year[3]))
    assert (processed / "2022-12").resolve() == month[1] and (processed / "2022").resolve() == year[3]


def test_a_damaged_catalog_stops_the_run_and_rekap_repair_rebuilds_it_losing_no_version(site):
    site.submit("DINKES")
    site.submit("DINSOS")
    bad = Submission("DISHUB").set("golongan", 999, ruang="A", gol="II", sex="L")
    bad.write_csv(site.raw / "DISHUB.csv")
    assert site.run().returncode == 1
    catalog = Catalog(site.processed / "catalog.sqlite")
    versions = {(v.sha256, v.status) for v in catalog.versions(PERIOD)}
    coverage = catalog.last_coverage(PERIOD)[:2]  # each OPD's row, and the summary
    catalog.close()
    before, reports_before = site.published(), site.reports_state()

    with open(site.processed / "catalog.sqlite", "r+b") as f:  # a damaged header
        f.write(b"this is not an sqlite file at all")
    done = site.run()
    assert done.returncode == 5
    assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1 and "katalog" in done.stderr
    assert "Traceback" not in done.stderr and "rekap repair" in done.stderr
    assert site.published() == before and site.reports_state() == reports_before
    log = sorted((site.processed / "logs" / PERIOD).glob("run-*.jsonl"))[-1].read_text()
    assert "Traceback" in log  # the detail is in the run log

    repaired = rekap(["repair"], site.root, ENV)
    assert repaired.returncode == 0, repaired.stderr
    assert list(site.processed.glob("catalog.sqlite.damaged-*"))  # kept, not deleted
    catalog = Catalog(site.processed / "catalog.sqlite")
    assert {(v.sha256, v.status) for v in catalog.versions(PERIOD)} == versions
    assert catalog.last_coverage(PERIOD)[:2] == coverage  # read back from the release's coverage.csv
    catalog.close()
    done = site.run()
    assert done.returncode == 1, done.stdout + done.stderr
    assert "TIDAK BERUBAH" in done.stdout and "0 diperiksa ulang" in done.stdout
    assert site.published() == before
    site.assert_correct({"DINKES", "DINSOS"})


def _mount(target: Path, size: str) -> bool:
    target.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target)],
                          capture_output=True).returncode == 0


def test_a_read_only_or_full_disk_is_said_as_such_and_the_next_run_is_correct(site):
    processed = site.processed
    if not _mount(processed, "48m"):
        if os.environ.get("CI"):
            pytest.fail("CI runs as root: a tmpfs must be mountable for this test")
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        site.submit("DINKES")
        assert site.run().returncode == 0
        before = site.published()

        site.submit("DINSOS")
        assert subprocess.run(["mount", "-o", "remount,ro", str(processed)]).returncode == 0
        done = site.run()
        assert done.returncode == 5 and "hanya-baca" in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        assert site.published() == before
        assert subprocess.run(["mount", "-o", "remount,rw", str(processed)]).returncode == 0

        filler = processed / "filler"
        with open(filler, "wb") as f:  # leave almost nothing free
            try:
                while True:
                    f.write(b"\0" * (1 << 20))
            except OSError:
                pass
        done = site.run()
        assert done.returncode == 5, done.stdout + done.stderr
        assert "penuh" in done.stdout + done.stderr and "Traceback" not in done.stdout + done.stderr
        assert site.published() == before
        filler.unlink()
        done = site.run()
        assert done.returncode == 0, done.stdout + done.stderr
        site.assert_correct({"DINKES", "DINSOS"})
    finally:
        subprocess.run(["umount", "-l", str(processed)])


def _cli(site: Site, *extra):
    return CliRunner().invoke(cli, ["run", "--period", PERIOD, "--raw", str(site.root / "raw"), "--processed",
                                    str(site.processed), "--reports", str(site.reports), *extra])


def test_a_report_failing_for_one_opd_is_recorded_on_it_and_the_others_are_written(site, monkeypatch):
    site.submit("DINKES")
    site.submit("DINSOS")
    import pipeline.pages as pages

    real = pages.write_feedback_page

    def failing(path, report, opd, *args, **kw):
        if opd.code == "DINSOS":
            raise OSError(36, "File name too long")
        return real(path, report, opd, *args, **kw)

    monkeypatch.setattr(pages, "write_feedback_page", failing)
    result = _cli(site)
    assert result.exit_code == 0, result.output
    folder = site.reports / PERIOD
    assert (folder / "opd" / "DINKES.html").is_file() and not (folder / "opd" / "DINSOS.html").exists()
    assert (folder / "profil.pdf").is_file()
    dashboard = (folder / "index.html").read_text()
    assert "Laporan umpan balik" in dashboard and "DINSOS" in dashboard
    assert not (folder / STAMP).exists()  # incomplete: the next run writes them all
    monkeypatch.setattr(pages, "write_feedback_page", real)
    result = _cli(site)
    assert result.exit_code == 0, result.output
    site.assert_correct({"DINKES", "DINSOS"})


def test_a_withdrawn_file_leaves_the_city_tables_unless_kept(site):
    site.submit("DINKES")
    site.submit("DINSOS")
    assert _cli(site).exit_code == 0
    (site.raw / "DINSOS.csv").unlink()

    result = _cli(site, "--keep-withdrawn")
    assert result.exit_code == 0, result.output
    coverage = pd.read_csv(site.processed / PERIOD / "coverage.csv", keep_default_na=False).set_index("opd")
    assert set(site.manifest()["used"]) == {"DINKES", "DINSOS"} and coverage.loc["DINSOS", "status"] == "older_version"

    result = _cli(site)
    assert result.exit_code == 0, result.output
    coverage = pd.read_csv(site.processed / PERIOD / "coverage.csv", keep_default_na=False).set_index("opd")
    assert set(site.manifest()["used"]) == {"DINKES"} and coverage.loc["DINSOS", "status"] == "withdrawn"
    page = (site.reports / PERIOD / "opd" / "DINSOS.html").read_text()
    assert "SUBMISSION_WITHDRAWN" in page or "tidak ada lagi di folder kiriman" in page
    assert "DINSOS.csv" in page
