"""Staff lists in ``rekap run``, end to end on the sample's own files: recognised by content,
reconciled with the recaps by policy, the lineage per cell, and personal data kept in."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.files import atomic_write
from pipeline.sample import sample_workbook
from pipeline.sample_staff import write_staff_sample
from pipeline.specs import load_registry
from pipeline.staff import read_staff

PERIOD = "2022"
OPDS = ("BAPPEDA", "DISKOMINFO", "DINSOS", "DLH", "DINDIKBUD")  # the OPDs of the sample's lists


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The sample's recaps of the OPDs its staff lists hold, and the lists (with their planted defects)."""
    root = tmp_path_factory.mktemp("staff")
    folder = root / "raw" / PERIOD
    folder.mkdir(parents=True)
    registry = load_registry()
    for code in OPDS:
        wb = sample_workbook(registry[code], PERIOD)[0]
        atomic_write(folder / f"{code}.xlsx", wb.save)
    manifest = write_staff_sample(folder, PERIOD)
    nips = {n for f in manifest["lists"] for n in read_staff(folder / f).rows["nip"].drop_nulls().to_list()}
    names = {n for f in manifest["lists"] for n in read_staff(folder / f).rows["name"].drop_nulls().to_list()}
    return root, manifest, nips, names


def run(root: Path, name: str, *extra):
    args = ["run", "--period", PERIOD, "--raw", str(root / "raw"), "--processed", str(root / name / "processed"),
            "--reports", str(root / name / "reports"), *extra]
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_reconcile_rejects_the_recap_that_differs_from_its_list(site):
    root, manifest, nips, names = site
    result = run(root, "reconcile")
    assert result.exit_code == 1, result.output
    processed = root / "reconcile" / "processed"
    published = json.loads((processed / PERIOD / "manifest.json").read_text())
    assert published["staff_policy"] == "reconcile"
    assert {s["file"] for s in published["staff_lists"]} == set(manifest["lists"])
    status = {i["opd"]: i["status"] for i in published["inputs"]}
    assert status == {"BAPPEDA": "accepted", "DINDIKBUD": "accepted", "DINSOS": "accepted", "DLH": "accepted",
                      "DISKOMINFO": "rejected"}
    assert published["from_lists"] == {}  # under reconcile the recaps alone make the tables
    # the differing cells are exactly those planted, each with the list's value as the suggestion
    con = sqlite3.connect(processed / "catalog.sqlite")
    findings = json.loads(con.execute("SELECT findings FROM run_inputs WHERE opd='DISKOMINFO' ORDER BY run_id DESC"
                                      ).fetchone()[0])
    diff = [f for f in findings if f["code"] == "STAFF_RECAP_DIFF"]
    planted = next(d for d in manifest["defects"] if d["kind"] == "recap_differs")
    assert sorted(json.dumps(f["cell"], sort_keys=True) for f in diff) == \
        sorted(json.dumps(c["cell"], sort_keys=True) for c in planted["cells"])
    assert all(f["sheet"] == "Golongan" and f["address"] and f["expected"] != f["actual"]
               for f in diff)
    # the OPD's own page lists the employees behind each differing count, and says it holds personal data
    page = (root / "reconcile" / "reports" / PERIOD / "opd" / "DISKOMINFO.html").read_text()
    assert page.count('class="difference"') == len(diff)
    shown = {n for n in nips if n in page}
    assert shown and "data pribadi" in page.split("<footer>")[1]
    opd_reports = root / "reconcile" / "reports" / PERIOD / "opd"
    assert os.stat(opd_reports / "DISKOMINFO.html").st_mode & 0o077 == 0
    # the marked workbook: the differing cells marked, the employees on a sheet, the footer says so
    from openpyxl import load_workbook

    wb = load_workbook(opd_reports / "DISKOMINFO-umpan-balik.xlsx")
    assert all(wb[f["sheet"]][f["address"]].comment is not None for f in diff)
    sheet = [str(v) for r in wb["Daftar pegawai"].iter_rows(values_only=True) for v in r if v is not None]
    assert shown <= set(sheet) and "data pribadi" in wb["Golongan"].oddFooter.center.text
    assert os.stat(opd_reports / "DISKOMINFO-umpan-balik.xlsx").st_mode & 0o077 == 0
    # an OPD whose list agrees and has no row findings gets no personal data and no such footer
    clean = (opd_reports / "BAPPEDA.html").read_text()
    assert not [n for n in nips if n in clean] and "data pribadi" not in clean


def test_list_first_takes_the_counts_from_the_list_and_says_so_per_cell(site):
    root, manifest, _, _ = site
    result = run(root, "listfirst", "--staff-policy", "list-first")
    assert result.exit_code == 0, result.output
    processed = root / "listfirst" / "processed"
    published = json.loads((processed / PERIOD / "manifest.json").read_text())
    # BAPPEDA, DISKOMINFO and DINDIKBUD have usable lists; DINSOS and DLH have errors on their rows
    assert sorted(published["from_lists"]) == ["BAPPEDA", "DINDIKBUD", "DISKOMINFO"]
    assert all(o["recap_cells"] and all(c.startswith("eselon:status=disiapkan") for c in o["recap_cells"])
               for o in published["from_lists"].values())
    lineage = pd.read_csv(processed / PERIOD / "lineage.csv")
    kinds = lineage.groupby("opd")["source"].agg(set).to_dict()
    assert kinds["DINSOS"] == {"recap"} and kinds["BAPPEDA"] == {"list", "recap"}
    bappeda = lineage[lineage.opd == "BAPPEDA"]
    assert set(bappeda[bappeda.source == "recap"]["key"].str.split("|").str[0]) == {"status=disiapkan"}
    cells = pd.read_csv(processed / PERIOD / "cells.csv")
    total = cells[(cells.table == "golongan") & (cells.key == "ruang=JML|gol=JML|sex=JML")]["value"].item()
    coverage = pd.read_csv(processed / PERIOD / "coverage.csv")
    assert total == coverage["staff"].sum()


def test_names_and_nips_never_leave_the_opds_own_feedback(site):
    root, _, nips, names = site
    assert nips and names
    for name in ("reconcile", "listfirst"):
        base = root / name
        if not (base / "processed").exists():
            run(root, name, *(["--staff-policy", "list-first"] if name == "listfirst" else []))
        published = [p for p in (base / "processed" / PERIOD).rglob("*") if p.is_file()]
        reports = [base / "reports" / PERIOD / "index.html", base / "reports" / PERIOD / "profil.html"]
        reports += [p for p in (base / "reports" / PERIOD / "gx").rglob("*") if p.is_file()]
        for path in published + reports + [base / "processed" / "catalog.sqlite"]:
            data = path.read_bytes()
            leaked = [n for n in nips if n.encode() in data]
            assert not leaked, (path, leaked[:3])
        for path in published + reports:
            text = path.read_bytes().decode("utf-8", errors="replace")
            assert not [n for n in names if n in text], path
        con = sqlite3.connect(base / "processed" / "catalog.sqlite")
        for table in ("rekap_cells", "rekap_lineage", "rekap_coverage"):
            rows = " ".join(map(str, con.execute(f"SELECT * FROM {table}").fetchall()))
            assert not [n for n in nips if n in rows]
        # archived lists and the people files are owner-only
        private = [p for p in (base / "processed" / "staff").iterdir()]
        private += [p for p in (base / "processed" / "archive").rglob("*") if p.suffix in (".csv",)
                    or p.stat().st_size == (root / "raw" / PERIOD / "daftar-pegawai-siasn.xlsx").stat().st_size]
        assert len(private) >= 4
        assert all(p.stat().st_mode & 0o077 == 0 for p in private)


def test_staff_check_masks_nips_and_exits_1_on_errors(site):
    root, manifest, nips, _ = site
    files = [str(root / "raw" / PERIOD / f) for f in sorted(manifest["lists"])]
    result = CliRunner().invoke(cli, ["staff", "check", "--period", PERIOD, *files, "--lang", "en"])
    assert result.exit_code == 1
    assert "STAFF_NIP_DUPLICATE" in result.output and "DINDIKBUD: " in result.output
    assert not [n for n in nips if n in result.output]
    clean = CliRunner().invoke(cli, ["staff", "check", "--period", PERIOD, files[1]])
    assert clean.exit_code == 0, clean.output


def test_in_a_run_the_list_points_the_localiser_at_the_wrong_cell(tmp_path):
    from pipeline.read_csv import write_csv
    from pipeline.sample import consistent_submission, opd_rng
    from pipeline.specs import load_tables

    folder = tmp_path / "raw" / PERIOD
    write_staff_sample(folder, PERIOD)
    (folder / "daftar-pegawai-siasn.xlsx").unlink()  # DINDIKBUD's list only
    values = consistent_submission(load_registry()["DINDIKBUD"], opd_rng(2022, "DINDIKBUD"))
    sd = load_tables()["guru"].key({"sekolah": "SD"})
    true = values["guru"][sd]
    values["guru"][sd] = true + 1
    write_csv(folder / "DINDIKBUD.csv", "DINDIKBUD", PERIOD, values)
    assert run(tmp_path, "one").exit_code == 5  # nothing accepted: nothing to publish
    con = sqlite3.connect(tmp_path / "one" / "processed" / "catalog.sqlite")
    findings = json.loads(con.execute("SELECT findings FROM versions WHERE opd='DINDIKBUD'").fetchone()[0])
    located = [(f["code"], f["cell"], f["expected"]) for f in findings if f["code"] in ("CELL_SUSPECT", "CELL_CANDIDATE")]
    assert located == [("CELL_SUSPECT", {"sekolah": "SD"}, true)]
    checked = con.execute("SELECT checked_with FROM versions WHERE opd='DINDIKBUD'").fetchone()[0]
    assert "+staff:" in checked  # a new list re-validates the recap


def test_a_second_run_opens_no_known_recap_to_look_for_a_list_and_still_finds_the_lists(site, monkeypatch):
    """Discovery looks inside only the files the catalog does not know as recaps: a run with nothing
    changed sniffs the lists (never versions) and none of the recaps, and reads the same lists as before."""
    from pipeline import staff
    from pipeline.run import run_period

    root, manifest, _, _ = site
    sniffed, real = [], staff.is_staff_list
    monkeypatch.setattr(staff, "is_staff_list", lambda p: sniffed.append(Path(p).name) or real(p))
    paths = dict(raw=root / "raw", processed=root / "sniff" / "processed", reports=root / "sniff" / "reports")
    first = run_period(PERIOD, **paths)
    recaps = {f"{code}.xlsx" for code in OPDS}
    assert set(sniffed) == recaps | set(manifest["lists"])  # a first run looks inside every file
    sniffed.clear()
    second = run_period(PERIOD, **paths)
    assert (first.outcome, second.outcome) == ("published", "unchanged"), (first.message, second.message)
    assert not set(sniffed) & recaps  # no known recap opened again
    assert set(sniffed) == set(manifest["lists"])  # lists are not versions: still looked at, still lists
    assert [(s.file.name, s.sha256, s.status) for s in second.staff] == [
        (s.file.name, s.sha256, s.status) for s in first.staff]
    assert {i.file.name for i in second.inputs} == {i.file.name for i in first.inputs} == recaps
