"""A changed file costs one file's work: ``rekap run`` after one file changed rewrites that OPD's reports
only, and gives the same bytes as a run from scratch on the same raw files (CLI, temporary folders)."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from conftest import Submission
from pipeline.cli import cli
from pipeline.files import atomic_write
from pipeline.sample import consistent_submission, opd_rng
from pipeline.specs import load_registry
from pipeline.template import build_workbook

PERIOD = "2022"
KEEP = ("SETDA", "BPKAD", "DINKES", "DINSOS", "RSUD", "SATPOLPP")  # clean, rejected, warnings, a moved table
CHANGED = "DINSOS"


def _run(root: Path):
    return CliRunner().invoke(cli, ["run", "--period", PERIOD, "--raw", str(root / "raw"), "--processed",
                                    str(root / "processed"), "--reports", str(root / "reports")])


def _files(folder: Path) -> dict[str, Path]:
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}


def _normal_manifest(text: str) -> str:
    """The manifest without what names the run or the workspace: the run id (its own and the gate's), the
    database URL (the workspace's own catalog file) and the fingerprint (a hash that includes that URL)."""
    return re.sub(r'"(run_id|gate_run|database|fingerprint)": "[^"]*"', r'"\1": "-"', text)


def _normal_dashboard(text: str) -> str:
    """The dashboard without its run id line and its list of runs (one run more in the incremental one)."""
    text = re.sub(r'<p class="small muted">[^<]*: <span class="mono">[^<]*</span></p>', "", text, count=1)
    return re.sub(r'<table class="list runs" id="runs">.*?</table>', "", text, flags=re.S)


def _tables(root: Path) -> dict[str, list]:
    with sqlite3.connect(root / "processed" / "catalog.sqlite") as db:
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3, 4").fetchall()
                for t in ("rekap_cells", "rekap_lineage", "rekap_coverage")}


def test_one_changed_file_rewrites_only_its_reports_and_matches_a_run_from_scratch(tmp_path, monkeypatch):
    first, fresh = tmp_path / "incremental", tmp_path / "scratch"
    sample = tmp_path / "sample"
    assert CliRunner().invoke(cli, ["sample", "--period", PERIOD, "--raw", str(sample)]).exit_code == 0
    (first / "raw" / PERIOD).mkdir(parents=True)
    for code in KEEP:
        shutil.copy2(sample / PERIOD / f"{code}.xlsx", first / "raw" / PERIOD / f"{code}.xlsx")
    Submission("DLH", PERIOD).write_csv(first / "raw" / PERIOD / "DLH.csv")
    assert _run(first).exit_code == 1  # BPKAD is rejected on purpose

    reports = first / "reports" / PERIOD
    before = {name: path.stat() for name, path in _files(reports).items()}
    assert f"opd/{CHANGED}-umpan-balik.xlsx" in before and "opd/BPKAD-umpan-balik.xlsx" in before
    opd = load_registry()[CHANGED]
    changed = build_workbook(opd, PERIOD, consistent_submission(opd, opd_rng(7, CHANGED)))
    atomic_write(first / "raw" / PERIOD / f"{CHANGED}.xlsx", changed.save)
    done = _run(first)
    assert done.exit_code == 1, done.output

    after = _files(reports)
    rewritten = {name for name, path in after.items()
                 if name not in before or path.stat().st_ino != before[name].st_ino}
    opd_files = {name for name in rewritten if name.startswith("opd/")}
    assert opd_files == {f"opd/{CHANGED}.html", f"opd/{CHANGED}-umpan-balik.xlsx"}
    assert {"index.html", "profil.html", "profil.pdf"} <= rewritten

    shutil.copytree(first / "raw", fresh / "raw")  # the same raw files, a fresh workspace
    assert _run(fresh).exit_code == 1

    published = {p: _files(root / "processed" / PERIOD) for p, root in (("a", first), ("b", fresh))}
    assert set(published["a"]) == set(published["b"]) and "lineage.csv" in published["a"]
    for name, path in published["a"].items():
        other = published["b"][name]
        if name == "manifest.json":
            assert _normal_manifest(path.read_text()) == _normal_manifest(other.read_text())
        else:
            assert path.read_bytes() == other.read_bytes(), name
    assert _tables(first) == _tables(fresh)

    mine, theirs = _files(first / "reports" / PERIOD), _files(fresh / "reports" / PERIOD)
    compared = {n for n in mine if n.startswith("opd/") or n.startswith("profil.")}
    assert compared == {n for n in theirs if n.startswith("opd/") or n.startswith("profil.")}
    assert len([n for n in compared if n.endswith(".xlsx")]) == len(KEEP) + 1
    for name in sorted(compared):
        assert mine[name].read_bytes() == theirs[name].read_bytes(), name
    assert _normal_dashboard(mine["index.html"].read_text()) == _normal_dashboard(theirs["index.html"].read_text())

    # a marked workbook is built once per version (and language, code): a lost reports/ folder is
    # rebuilt by copying them from processed/feedback/, none built again
    store = _files(first / "processed" / "feedback")
    assert len(store) == len(KEEP) + 1  # every submission's; the changed OPD's first version was pruned
    stamp = json.loads((reports / ".rekap-reports.json").read_text(encoding="utf-8"))
    assert {Path(name).stem for name in store} <= set(stamp["reports"].values())  # each one the reports show
    kept = {name: path.stat().st_ino for name, path in store.items()}
    shutil.rmtree(first / "reports")
    # (and the OPDs' cell values are read a few at a time, never all at once: the same bytes)
    from pipeline import catalog, report

    asked, values = [], catalog.Catalog.values
    monkeypatch.setattr(report, "VALUES_AT_ONCE", 2)
    monkeypatch.setattr(catalog.Catalog, "values", lambda self, shas, period: asked.append(len(shas)) or
                        values(self, shas, period))
    done = CliRunner().invoke(cli, ["report", "--period", PERIOD, "--processed", str(first / "processed"),
                                    "--reports", str(first / "reports")])
    assert done.exit_code == 0, done.output
    assert {name: path.stat().st_ino for name, path in _files(first / "processed" / "feedback").items()} == kept
    again = _files(first / "reports" / PERIOD)
    for name in sorted(compared):
        assert again[name].read_bytes() == theirs[name].read_bytes(), name
    assert sum(asked) == len(KEEP) + 1 and max(asked) == 2


def test_a_report_fingerprint_is_of_what_it_shows_whatever_the_order_things_were_gathered_in():
    from pipeline.findings import Finding
    from pipeline.report import fingerprint
    from pipeline.report_data import OpdReport

    def opd(params: dict, seen: set, staff=12) -> OpdReport:
        found = Finding("SUM_MISMATCH", "sum", "golongan", {"row": "III", "col": "L"}, params=params)
        return OpdReport("DINSOS", "Dinas Sosial", "rejected", "DINSOS.xlsx", "ab" * 32, "xlsx",
                         Path("archive/ab.xlsx"), [found], None, staff, {}, sorted(seen))

    one = fingerprint("2022", opd({"expected": 10, "actual": 12}, {"b", "a"}), {"x", "y"}, "id")
    assert one == fingerprint("2022", opd({"actual": 12, "expected": 10}, {"a", "b"}), {"y", "x"}, "id")
    assert one != fingerprint("2022", opd({"expected": 10, "actual": 13}, {"a", "b"}), {"x", "y"}, "id")
    assert one != fingerprint("2022", opd({"expected": 10, "actual": 12}, {"a", "b"}, staff=13), {"x", "y"}, "id")
    assert one != fingerprint("2022", opd({"expected": 10, "actual": 12}, {"a", "b"}), {"x", "y"}, "en")
    assert fingerprint([1, 2]) == fingerprint((1, 2)) != fingerprint([2, 1])


def test_a_workspace_moved_to_another_folder_rewrites_no_opds_report(tmp_path):
    """An officer moves or copies the workspace (a new disk, a new machine): nothing in it changed, so no
    OPD's page or workbook is written again (at national scale that is thousands of files)."""
    first, moved = tmp_path / "here", tmp_path / "there"
    (first / "raw" / PERIOD).mkdir(parents=True)
    for code in ("DINKES", "DINSOS"):
        Submission(code, PERIOD).write_csv(first / "raw" / PERIOD / f"{code}.csv")
    assert _run(first).exit_code == 0
    shutil.copytree(first, moved)
    before = {name: path.stat().st_ino for name, path in _files(moved / "reports" / PERIOD).items()}
    assert {"opd/DINKES.html", "opd/DINSOS.html", "profil.pdf"} <= set(before)
    assert _run(moved).exit_code == 0
    after = _files(moved / "reports" / PERIOD)
    assert {name for name, path in after.items() if before.get(name) != path.stat().st_ino} <= {
        "index.html", ".rekap-reports.json"}
