"""Spec-only extension, end to end with the ``rekap`` command in temporary workspaces and NO code change:

1. a seventh table (staff by age band x sex, totals both ways, a per-row percent that may be printed
   ``n/a``; id with ``_``) next to the book's six, asked of one OPD by its spec and of another by its
   registry line, so that the other OPDs' six-table submissions stay accepted;
2. a standalone collection of two tables unrelated to the book (its own dimensions, a per-column
   percent and a rule across the two), in a workspace whose ``rekap.toml`` names it.

Each goes template -> sample -> validate -> run -> report; the findings are asserted: a clean
submission passes, a planted slip is found, a per-row percent slip is found, ``n/a`` and ``54 orang``
give notes, not errors, and ``54 orang`` does not hide the broken total next to it.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl.utils import get_column_letter

from pipeline import workspace
from pipeline.cli import cli
from pipeline.read_csv import write_csv
from pipeline.sample import sample_values
from pipeline.specs import load_registry, load_tables, use_specs
from pipeline.template import build_workbook, locate

AGE_DIMENSION = """\
umur:
  label: {id: Kelompok umur, en: Age band}
  members:
    - {code: U18_30, label: {id: 18-30 tahun, en: 18-30 years}}
    - {code: U31_40, label: {id: 31-40 tahun, en: 31-40 years}}
    - {code: U41_50, label: {id: 41-50 tahun, en: 41-50 years}}
    - {code: U51_60, label: {id: 51-60 tahun, en: 51-60 years}}
    - {code: JML, total_of: [U18_30, U31_40, U41_50, U51_60], label: {id: Jumlah, en: Total}}
"""

AGE_TABLE = """\
id: staf_umur
number: 7
title: {id: "Jumlah ASN menurut Kelompok Umur dan Jenis Kelamin", en: "ASN by age band and sex"}
sheet: Umur
aliases: [KELOMPOK UMUR]
dimensions: {umur: all, sex: all, measure: all}
required: {opd: [DINSOS]}
not_available:
  - {measure: pct}
cells:
  - {measure: count}
  - {measure: pct, sex: [L, P]}
percent: {of: {sex: JML}, decimals: 1, group: row}
rows:
  - {key: {umur: U18_30}, label: [18-30 tahun]}
  - {key: {umur: U31_40}, label: [31-40 tahun]}
  - {key: {umur: U41_50}, label: [41-50 tahun]}
  - {key: {umur: U51_60}, label: [51-60 tahun]}
  - {key: {umur: JML}, label: [Jumlah]}
columns:
  - {key: {sex: L, measure: count}, label: [Orang, L]}
  - {key: {sex: P, measure: count}, label: [Orang, P]}
  - {key: {sex: JML, measure: count}, label: [Orang, L+P]}
  - {key: {sex: L, measure: pct}, label: ['%', L]}
  - {key: {sex: P, measure: pct}, label: ['%', P]}
"""

BOOK_OPDS = ("BAPPEDA", "BPKAD", "DINSOS", "DISPERKIM")  # BPKAD carries the sample's wrong_total defect

COLLECTION_DIMENSIONS = """\
profesi:
  label: {id: Profesi, en: Profession}
  members:
    - {code: DOKTER, label: {id: Dokter, en: Doctor}}
    - {code: PERAWAT, label: {id: Perawat, en: Nurse}}
    - {code: BIDAN, label: {id: Bidan, en: Midwife}}
    - {code: JML, total_of: [DOKTER, PERAWAT, BIDAN], label: {id: Jumlah, en: Total}}
ikatan:
  label: {id: Status kepegawaian, en: Employment}
  members:
    - {code: PNS, label: {id: PNS, en: Civil servant}}
    - {code: PPPK, label: {id: PPPK, en: Contract civil servant}}
    - {code: NON_ASN, label: {id: Non ASN, en: Non civil servant}, aliases: [HONORER]}
    - {code: JML, total_of: [PNS, PPPK, NON_ASN], label: {id: Jumlah, en: Total}}
"""

COLLECTION_TABLES = {
    "1-nakes.yaml": """\
id: nakes
number: 1
title: {id: "Tenaga Kesehatan menurut Profesi", en: "Health workers by profession"}
sheet: Profesi
dimensions: {profesi: all, sex: all, measure: all}
required: all
cells:
  - {}
percent: {of: {profesi: JML}, decimals: 2, group: column}
rows:
  - {key: {profesi: DOKTER}, label: [Dokter]}
  - {key: {profesi: PERAWAT}, label: [Perawat]}
  - {key: {profesi: BIDAN}, label: [Bidan]}
  - {key: {profesi: JML}, label: [Jumlah]}
columns:
  - {key: {sex: L, measure: count}, label: [L, Orang]}
  - {key: {sex: L, measure: pct}, label: [L, '%']}
  - {key: {sex: P, measure: count}, label: [P, Orang]}
  - {key: {sex: P, measure: pct}, label: [P, '%']}
  - {key: {sex: JML, measure: count}, label: [Jumlah, Orang]}
  - {key: {sex: JML, measure: pct}, label: [Jumlah, '%']}
""",
    "2-nakes_status.yaml": """\
id: nakes_status
number: 2
title: {id: "Tenaga Kesehatan menurut Status Kepegawaian", en: "Health workers by employment"}
sheet: Status
dimensions: {ikatan: all, sex: all}
required: all
cells:
  - {}
rows:
  - {key: {ikatan: PNS}, label: [PNS]}
  - {key: {ikatan: PPPK}, label: [PPPK]}
  - {key: {ikatan: NON_ASN}, label: [Non ASN]}
  - {key: {ikatan: JML}, label: [Jumlah]}
columns:
  - {key: {sex: L}, label: [L]}
  - {key: {sex: P}, label: [P]}
  - {key: {sex: JML}, label: [Jumlah]}
""",
}

COLLECTION_RULES = """\
rules:
  - id: nakes_eq_status
    code: CROSS_TOTAL_MISMATCH
    kind: equal
    for_each: {sex: [L, P, JML]}
    left: {table: nakes_status, select: {}}
    right: {table: nakes, select: {measure: count}}
    detail: {id: Jumlah tenaga kesehatan, en: Total health workers}
"""

COLLECTION_REGISTRY = """\
code,name,type,leader
PKM-KOTA,Puskesmas Kota,puskesmas,IV.A
PKM-UTARA,Puskesmas Utara,puskesmas,IV.A
PKM-SELATAN,Puskesmas Selatan,puskesmas,IV.A
"""


@pytest.fixture(autouse=True)
def shipped_specs():
    yield
    use_specs()


def rekap(root: Path, *args):
    result = CliRunner().invoke(cli, [*(str(a) for a in args), "--workspace", str(root)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def submissions(root: Path, *args) -> dict[str, dict]:
    """``rekap validate --format json`` on files or folders: each file's status and finding codes."""
    result = rekap(root, "validate", *args, "--format", "json")
    assert result.exit_code in (0, 1), result.output
    out = {}
    for s in json.loads(result.output)["submissions"]:
        out[Path(s["file"]).name] = {"status": s["status"], "findings": s["findings"],
                                     "codes": sorted({f["code"] for f in s["findings"]})}
    return out


def errors(sub: dict) -> list[str]:
    return sorted({f["code"] for f in sub["findings"] if f["severity"] == "error"})


def edited(source: Path, target: Path, table: str, edits: dict) -> Path:
    """A copy of a workbook with cells of ``table`` (key mapping -> new value or a function of the old)."""
    spec = load_tables()[table]
    wb = openpyxl.load_workbook(source)
    for cell, value in edits.items():
        sheet, a1 = locate(spec, spec.key(dict(cell)))
        old = wb[sheet][a1].value
        wb[sheet][a1].value = value(old) if callable(value) else value
    target.parent.mkdir(parents=True, exist_ok=True)
    wb.save(target)
    return target


def sampled(root: Path, period: str) -> Path:
    """``rekap sample`` in the workspace, and a ``checks/`` folder for variants validated apart."""
    result = rekap(root, "sample", "--period", period, "--manifest", root / "manifest.json")
    assert result.exit_code == 0, result.output
    (root / "checks").mkdir()
    return root


def active(root: Path) -> Path:
    """The workspace's specs in force for a test's own calls (the CLI activates them for its own)."""
    workspace.load(root).activate()
    return root


def failed_reports(root: Path, period: str) -> list[dict]:
    """The reports a run could not write (the run log's ``report_failed`` events)."""
    events = [json.loads(line) for log in (root / "processed" / "logs" / period).glob("*.jsonl")
              for line in log.read_text(encoding="utf-8").splitlines()]
    return [e for e in events if e["event"] == "report_failed"]


def key(**members):
    return tuple(sorted(members.items()))


# -- 1. a seventh table next to the book's six ----------------------------------------------------------
@pytest.fixture(scope="module")
def book_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("seventh")
    assert rekap(root, "init", root).exit_code == 0
    shipped = list(csv.DictReader(io.StringIO((root / "registry.csv").read_text(encoding="utf-8"))))
    rows = [r | {"tables": "staf_umur" if r["code"] == "DISPERKIM" else ""} for r in shipped if r["code"] in BOOK_OPDS]
    with open(root / "registry.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=[*shipped[0].keys(), "tables"])
        w.writeheader()
        w.writerows(rows)
    (root / "schemas" / "tables").mkdir(parents=True)
    (root / "schemas" / "dimensions.yaml").write_text(AGE_DIMENSION, encoding="utf-8")
    (root / "schemas" / "tables" / "7-staf_umur.yaml").write_text(AGE_TABLE, encoding="utf-8")
    return sampled(root, "2023")


@pytest.fixture
def book_workspace(book_root) -> Path:
    return active(book_root)


def test_seventh_table_template_asks_it_only_where_declared(book_workspace):
    root = book_workspace
    for opd, expected in (("DINSOS", True), ("DISPERKIM", True), ("BAPPEDA", False)):
        out = root / "templates" / f"{opd}.xlsx"
        assert rekap(root, "template", "--opd", opd, "--period", "2023", "-o", out).exit_code == 0
        assert ("Umur" in openpyxl.load_workbook(out).sheetnames) is expected, opd
    # the % cells may be typed n/a (no whole-number validation on them); the counts stay whole numbers
    ws = openpyxl.load_workbook(root / "templates" / "DINSOS.xlsx")["Umur"]
    spec = load_tables()["staf_umur"]
    addresses = {f"{get_column_letter(c)}{r}" for dv in ws.data_validations.dataValidation
                 for cells in dv.sqref.ranges for r, c in cells.cells}
    for k in spec.cells:
        assert (locate(spec, k)[1] in addresses) is not spec.is_percent(k), k


def test_seventh_table_clean_submissions_pass_and_earlier_ones_stay_accepted(book_workspace):
    root = book_workspace
    subs = submissions(root, root / "raw" / "2023")
    assert {name: s["status"] for name, s in subs.items()} == {
        "BAPPEDA.xlsx": "accepted", "BPKAD.xlsx": "rejected", "DINSOS.xlsx": "accepted", "DISPERKIM.xlsx": "accepted"}
    assert errors(subs["BPKAD.xlsx"]) == ["SUM_MISMATCH"]  # the sample's planted defect, in the book's table
    # the seventh table was read (its rules ran: no note that they could not) for the OPDs asked for it
    for name in ("DINSOS.xlsx", "DISPERKIM.xlsx"):
        assert not [f for f in subs[name]["findings"] if f["table"] == "staf_umur"], subs[name]["findings"]
    # an OPD it is not asked of, with a six-table workbook (as sent before the table existed), is accepted
    bappeda = openpyxl.load_workbook(root / "raw" / "2023" / "BAPPEDA.xlsx")
    assert "Umur" not in bappeda.sheetnames
    # the one asked of DINSOS is missing from a six-table workbook: TABLE_MISSING
    values = sample_values(load_registry()["DINSOS"])[0]
    old = root / "checks" / "six-tables.xlsx"
    wb = build_workbook(load_registry()["DINSOS"], "2023", values)
    del wb["Umur"]  # a workbook from the template as it was before the seventh table
    wb.save(old)
    assert errors(submissions(root, old, "--period", "2023")["six-tables.xlsx"]) == ["TABLE_MISSING"]


def test_seventh_table_slips_are_found(book_workspace):
    root = book_workspace
    source = root / "raw" / "2023" / "DINSOS.xlsx"
    checks = root / "checks"
    sum_slip = edited(source, checks / "sum-slip.xlsx", "staf_umur",
                      {key(umur="U31_40", sex="P", measure="count"): lambda v: v + 10})
    # a per-row percent slip: the men's share of one age band 5 points off (the row adds up to 105)
    pct_slip = edited(source, checks / "pct-slip.xlsx", "staf_umur",
                      {key(umur="U41_50", sex="L", measure="pct"): lambda v: round(v + 5, 1)})
    subs = submissions(root, sum_slip, pct_slip, "--period", "2023")
    sums = [f for f in subs["sum-slip.xlsx"]["findings"] if f["code"] == "SUM_MISMATCH"]
    assert sums and {f["table"] for f in sums} == {"staf_umur"}
    assert subs["sum-slip.xlsx"]["status"] == "rejected"
    pct = subs["pct-slip.xlsx"]
    assert errors(pct) == ["PCT_SHARE", "PCT_TOTAL"]
    share = next(f for f in pct["findings"] if f["code"] == "PCT_SHARE")
    assert share["cell"] == {"umur": "U41_50", "sex": "L", "measure": "pct"}
    total = [f for f in pct["findings"] if f["code"] == "PCT_TOTAL"]
    assert len(total) == 1 and "41-50" in total[0]["message"]  # that row only, named


def test_not_available_and_unit_words_are_notes(book_workspace):
    root = book_workspace
    source = root / "raw" / "2023" / "DINSOS.xlsx"
    checks = root / "checks"
    spec = load_tables()["staf_umur"]
    pcts = {tuple(sorted(spec.key_dict(k).items())): "n/a" for k in spec.cells if spec.is_percent(k)}
    na = edited(source, checks / "na.xlsx", "staf_umur", pcts)
    unit = edited(edited(source, checks / "orang.xlsx", "staf_umur",
                         {key(umur="U18_30", sex="L", measure="count"): lambda v: f"{v} orang",
                          key(umur="U31_40", sex="P", measure="count"): lambda v: f"{v} org."}),
                  checks / "orang.xlsx", "golongan", {key(ruang="A", gol="III", sex="L"): lambda v: f"{v} jiwa"})
    na_book = edited(source, checks / "na-golongan.xlsx", "golongan", {key(ruang="A", gol="III", sex="L"): "n/a"})
    subs = submissions(root, na, unit, na_book, "--period", "2023")
    assert subs["na.xlsx"]["status"] == "accepted" and errors(subs["na.xlsx"]) == []
    notes = [f for f in subs["na.xlsx"]["findings"] if f["code"] == "VALUE_NOT_AVAILABLE"]
    assert len(notes) == 1 and notes[0]["severity"] == "info"  # one note for the table's ten cells
    assert [f["table"] for f in subs["na.xlsx"]["findings"] if f["code"] == "RULE_NOT_EVALUABLE"] == ["staf_umur"]
    assert subs["orang.xlsx"]["status"] == "accepted" and errors(subs["orang.xlsx"]) == []
    units = [f for f in subs["orang.xlsx"]["findings"] if f["code"] == "VALUE_WITH_UNIT"]
    assert sorted(f["sheet"] for f in units) == ["Golongan", "Umur"]  # one per sheet
    assert not [f for f in subs["orang.xlsx"]["findings"] if f["code"] == "RULE_NOT_EVALUABLE"]
    # a cell of the book's template may not be left n/a: the spec does not say it can
    assert errors(subs["na-golongan.xlsx"]) == ["VALUE_NOT_NUMBER"]


def test_a_count_with_a_unit_no_longer_hides_the_broken_total_next_to_it(book_workspace):
    root = book_workspace
    source = root / "raw" / "2023" / "DINSOS.xlsx"
    trial = edited(source, root / "checks" / "trial.xlsx", "golongan",
                   {key(ruang="A", gol="III", sex="L"): lambda v: f"{v} orang",
                    key(ruang="A", gol="JML", sex="JML"): lambda v: v + 2})  # the row total next to it
    sub = submissions(root, trial, "--period", "2023")["trial.xlsx"]
    assert "VALUE_WITH_UNIT" in sub["codes"] and "VALUE_NOT_NUMBER" not in sub["codes"]
    assert errors(sub) == ["SUM_MISMATCH"]
    suspect = [f["cell"] for f in sub["findings"] if f["code"] == "CELL_SUSPECT"]
    assert suspect == [{"ruang": "A", "gol": "JML", "sex": "JML"}]  # the broken total, not the count with a unit


def test_seventh_table_in_csv_with_an_underscore_id(book_workspace):
    root = book_workspace
    values = sample_values(load_registry()["DINSOS"])[0]
    path = root / "checks" / "DINSOS.csv"
    write_csv(path, "DINSOS", "2023", values)
    assert "staf_umur" in path.read_text(encoding="utf-8")
    sub = submissions(root, path, "--period", "2023")["DINSOS.csv"]
    assert sub["status"] == "accepted" and errors(sub) == [] and "CELL_UNKNOWN" not in sub["codes"]
    spec = load_tables()["staf_umur"]
    values["staf_umur"] = {k: ("n/a" if spec.is_percent(k) else v) for k, v in values["staf_umur"].items()}
    na = root / "checks" / "na.csv"
    write_csv(na, "DINSOS", "2023", values)
    sub = submissions(root, na, "--period", "2023")["na.csv"]
    assert sub["status"] == "accepted" and errors(sub) == []
    assert [f["table"] for f in sub["findings"] if f["code"] == "VALUE_NOT_AVAILABLE"] == ["staf_umur"]  # one a table


def test_seventh_table_runs_and_reports(book_workspace):
    root = book_workspace
    result = rekap(root, "run", "--period", "2023")
    assert result.exit_code == 1, result.output  # published; BPKAD rejected on purpose
    cells = pd.read_csv(root / "processed" / "2023" / "cells.csv", keep_default_na=False)
    umur = cells[cells["table"] == "staf_umur"]
    assert len(umur) == len(load_tables()["staf_umur"].cells)
    city = sum(sample_values(load_registry()[o])[0]["staf_umur"][("JML", "JML", "count")] for o in ("DINSOS", "DISPERKIM"))
    assert umur[(umur["umur"] == "JML") & (umur["sex"] == "JML") & (umur["measure"] == "count")]["value"].astype(float).tolist() == [city]
    assert rekap(root, "report", "--period", "2023").exit_code == 0
    page = (root / "reports" / "2023" / "opd" / "DINSOS.html").read_text(encoding="utf-8")
    assert "DINSOS" in page
    assert 'data-table="staf_umur"' in (root / "reports" / "2023" / "profil.html").read_text(encoding="utf-8")
    assert not failed_reports(root, "2023")


# -- 2. a standalone collection of two tables ----------------------------------------------------------
@pytest.fixture(scope="module")
def collection_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("collection")
    assert rekap(root, "init", root, "--agency", "Dinas Kesehatan Kota Contoh").exit_code == 0
    (root / "registry.csv").write_text(COLLECTION_REGISTRY, encoding="utf-8")
    folder = root / "koleksi"
    (folder / "tables").mkdir(parents=True)
    (folder / "dimensions.yaml").write_text(COLLECTION_DIMENSIONS, encoding="utf-8")
    (folder / "rules.yaml").write_text(COLLECTION_RULES, encoding="utf-8")
    for name, text in COLLECTION_TABLES.items():
        (folder / "tables" / name).write_text(text, encoding="utf-8")
    config = root / "rekap.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('collection = ""', 'collection = "koleksi"'),
                      encoding="utf-8")
    return sampled(root, "2024")


@pytest.fixture
def collection_workspace(collection_root) -> Path:
    return active(collection_root)


def test_collection_template_and_clean_sample(collection_workspace):
    root = collection_workspace
    assert set(load_tables()) == {"nakes", "nakes_status"}
    out = root / "templates" / "PKM-KOTA.xlsx"
    assert rekap(root, "template", "--opd", "PKM-KOTA", "--period", "2024", "-o", out).exit_code == 0
    assert openpyxl.load_workbook(out).sheetnames[1:] == ["Profesi", "Status"]
    result = rekap(root, "validate", root / "raw" / "2024")
    assert result.exit_code == 0, result.output  # every sample submission clean: per-column % add up
    subs = submissions(root, root / "raw" / "2024")
    assert all(s["status"] == "accepted" and not s["codes"] for s in subs.values()), subs


def test_collection_slips_are_found(collection_workspace):
    root = collection_workspace
    source = root / "raw" / "2024" / "PKM-UTARA.xlsx"
    slip = edited(source, root / "checks" / "slip.xlsx", "nakes_status",
                  {key(ikatan="PPPK", sex="L"): lambda v: v + 1})
    cross = edited(source, root / "checks" / "cross.xlsx", "nakes_status",
                   {key(ikatan="PPPK", sex="L"): lambda v: v + 1, key(ikatan="PPPK", sex="JML"): lambda v: v + 1,
                    key(ikatan="JML", sex="L"): lambda v: v + 1, key(ikatan="JML", sex="JML"): lambda v: v + 1})
    pct = edited(source, root / "checks" / "pct.xlsx", "nakes",
                 {key(profesi="BIDAN", sex="P", measure="pct"): lambda v: round(v + 3, 2)})
    subs = submissions(root, slip, cross, pct, "--period", "2024")
    assert errors(subs["slip.xlsx"]) == ["SUM_MISMATCH"]
    assert errors(subs["cross.xlsx"]) == ["CROSS_TOTAL_MISMATCH"]
    assert errors(subs["pct.xlsx"]) == ["PCT_SHARE", "PCT_TOTAL"]
    assert [f["cell"] for f in subs["pct.xlsx"]["findings"] if f["code"] == "PCT_SHARE"] == [
        {"profesi": "BIDAN", "sex": "P", "measure": "pct"}]


def test_collection_runs_and_reports(collection_workspace):
    root = collection_workspace
    result = rekap(root, "run", "--period", "2024")
    assert result.exit_code == 0, result.output
    cells = pd.read_csv(root / "processed" / "2024" / "cells.csv", keep_default_na=False)
    assert set(cells["table"]) == {"nakes", "nakes_status"}
    assert rekap(root, "report", "--period", "2024").exit_code == 0
    assert rekap(root, "status", "--period", "2024").exit_code == 0
    assert (root / "reports" / "2024" / "opd" / "PKM-KOTA.html").is_file()
    profile = (root / "reports" / "2024" / "profil.html").read_text(encoding="utf-8")  # no chart, no failure
    assert 'data-table="nakes"' in profile and 'data-table="nakes_status"' in profile
    assert (root / "reports" / "2024" / "profil.pdf").is_file()
    assert not failed_reports(root, "2024")
