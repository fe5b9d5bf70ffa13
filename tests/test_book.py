"""The published book: the frame of one table, its CSV, and the formatted workbook of all tables."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from conftest import consistent_values
from pipeline.book import (EPOCH, book_frame, book_value, build_book, flat_label, period_stamp, write_book_csv,
                           write_book_xlsx)
from pipeline.complete import inner_cells
from pipeline.specs import load_tables
from pipeline.layout import table_heading
from pipeline.template import grid_origin, locate

SPECS = load_tables()
VALUES = consistent_values()
NOTE = "34 dari 36 OPD terdaftar mengirim rekap yang diterima.\nBelum mengirim: DISHUB, KEC-CURUG."
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    path = write_book_xlsx(tmp_path_factory.mktemp("book") / "profil-2022.xlsx", VALUES, "2022", NOTE)
    return path, load_workbook(path)


# -- the frame ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("table", list(SPECS))
def test_frame_holds_every_value_at_its_place(table):
    spec, values = SPECS[table], VALUES[table]
    frame = book_frame(spec, values)
    assert frame.shape == (len(spec.rows), len(spec.columns))
    covered = set()
    for key, p in spec.placements().items():
        got = frame.iloc[p.row, p.col_first]
        covered.update((p.row, c) for c in range(p.col_first, p.col_last + 1))
        for c in range(p.col_first + 1, p.col_last + 1):  # a merged span holds its value once
            assert pd.isna(frame.iloc[p.row, c])
        if spec.is_impossible(key):
            assert pd.isna(got), (table, key)
            continue
        assert got == values[key], (table, key)
        if spec.is_percent(key):
            assert got == round(got, 2)
        else:
            assert float(got).is_integer()
    for r in range(len(spec.rows)):  # grid places that hold no cell are empty
        for c in range(len(spec.columns)):
            if (r, c) not in covered:
                assert pd.isna(frame.iloc[r, c])
    counts = [c for c in frame.columns if not any(spec.is_percent(k) for k in _keys_in_column(spec, frame, c))]
    assert all(str(frame[c].dtype) == "Int64" for c in counts)


def _keys_in_column(spec, frame, column):
    j = list(frame.columns).index(column)
    return [k for k, p in spec.placements().items() if p.col_first <= j <= p.col_last]


def test_frame_labels():
    gol = book_frame(SPECS["golongan"], VALUES["golongan"])
    assert list(gol.columns[:2]) == [("GOL I", "L"), ("GOL I", "P")] and gol.columns[-1] == ("TOTAL", "")
    assert list(gol.index) == ["A", "B", "C", "D", "E", "Jumlah"] and gol.index.name == "Ruang"
    assert gol.loc["Jumlah", ("TOTAL", "")] == 34 == sum(VALUES["golongan"][k] for k in inner_cells(SPECS["golongan"]))
    assert pd.isna(gol.loc["E", ("GOL I", "L")])  # impossible cell
    fun = book_frame(SPECS["fungsional"], VALUES["fungsional"])
    assert list(fun.index.names) == ["Jenjang jabatan", "Golongan / Ruang"]
    assert fun.index[0] == ("Pertama", "III/a") and fun.index[-1] == ("JUMLAH", "")
    assert fun.loc[("Pertama", "III/a"), ("GURU", "P")] == 1
    eselon = book_frame(SPECS["eselon"], VALUES["eselon"])
    assert pd.isna(eselon.loc["Jabatan Terisi", ("TOTAL", "")])  # a grid place without a cell
    assert eselon.loc["Jumlah", ("IV.A", "L")] == 3 and pd.isna(eselon.loc["Jumlah", ("IV.A", "P")])  # merged
    pct = book_frame(SPECS["pendidikan"], VALUES["pendidikan"])
    assert str(pct["%"].dtype) == "Float64" and pct.loc["S1", "%"] == 61.76
    as_floats = {k: float(v) for k, v in VALUES["golongan"].items()}  # consolidation sums in floats
    pd.testing.assert_frame_equal(book_frame(SPECS["golongan"], as_floats), gol)
    assert flat_label(("GOL I", "L")) == "GOL I L" and flat_label(("TOTAL", "")) == "TOTAL"


def test_frame_english_and_bad_input():
    gol = book_frame(SPECS["golongan"], VALUES["golongan"], lang="en")
    assert gol.columns[0] == ("GROUP I", "M") and gol.index.name == "Grade" and gol.index[-1] == "Total"
    pend = book_frame(SPECS["pendidikan"], VALUES["pendidikan"], lang="en")
    assert "Bachelor (S1)" in pend.index
    with pytest.raises(ValueError):
        book_frame(SPECS["golongan"], VALUES["golongan"], lang="fr")
    with pytest.raises(ValueError):
        book_frame(SPECS["golongan"], {("Z", "I", "L"): 1})


def test_book_value():
    spec = SPECS["pendidikan"]
    pct = next(k for k in spec.cells if spec.is_percent(k))
    count = next(k for k in spec.cells if not spec.is_percent(k))
    assert book_value(spec, pct, 68.0449) == 68.04
    assert book_value(spec, count, 1009.0) == 1009 and isinstance(book_value(spec, count, 1009.0), int)
    assert book_value(spec, count, 2.5) == 2.5  # never silently rounded
    assert book_value(spec, count, None) is None


# -- CSV -------------------------------------------------------------------------------------------------
def test_csv_golongan(tmp_path):
    path = write_book_csv(tmp_path / "golongan.csv", SPECS["golongan"], VALUES["golongan"])
    assert [p.name for p in tmp_path.iterdir()] == ["golongan.csv"]  # atomic: no temporary left
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False, dtype=str)
    assert frame.shape == (6, 10)
    assert list(frame.columns) == ["Ruang", "GOL I L", "GOL I P", "GOL II L", "GOL II P", "GOL III L",
                                   "GOL III P", "GOL IV L", "GOL IV P", "TOTAL"]
    assert list(frame["Ruang"]) == ["A", "B", "C", "D", "E", "Jumlah"]
    assert frame.loc[5, "TOTAL"] == "34" and frame.loc[4, "GOL I L"] == ""
    write_book_csv(path, SPECS["golongan"], VALUES["golongan"])
    assert path.read_bytes() == raw


def test_csv_two_level_rows_percent_and_english(tmp_path):
    fun = pd.read_csv(write_book_csv(tmp_path / "f.csv", SPECS["fungsional"], VALUES["fungsional"]),
                      encoding="utf-8-sig", keep_default_na=False, dtype=str)
    assert fun.shape == (14, 11)
    assert list(fun.columns[:3]) == ["Jenjang jabatan", "Golongan / Ruang", "PENGAWAS L"]
    assert list(fun.iloc[-1, :2]) == ["JUMLAH", ""] and fun.iloc[-1, -1] == "4"
    raw = write_book_csv(tmp_path / "p.csv", SPECS["pendidikan"], VALUES["pendidikan"]).read_bytes()
    lines = raw.decode("utf-8-sig").split("\r\n")
    assert lines[0] == "Tingkat pendidikan,L,P,%"
    assert "SD,0,0,0.00" in lines and "Jumlah,19,15,100.00" in lines and "S1,11,10,61.76" in lines
    en = pd.read_csv(write_book_csv(tmp_path / "e.csv", SPECS["eselon"], VALUES["eselon"], lang="en"),
                     encoding="utf-8-sig")
    assert list(en.columns[:3]) == ["Posts", "II.A M", "II.A F"] and en.columns[-1] == "TOTAL"
    assert list(en["Posts"]) == ["Posts filled", "Total", "Posts available"]


# -- the workbook ------------------------------------------------------------------------------------------
def test_workbook_sheets_and_notes(book):
    _, wb = book
    assert wb.sheetnames == ["Keterangan"] + [s.sheet for s in SPECS.values()]
    assert len(wb.sheetnames) == 7
    texts = [c.value for row in wb["Keterangan"].iter_rows() for c in row if c.value is not None]
    assert "2022" in texts and NOTE.splitlines()[0] in texts and NOTE.splitlines()[1] in texts
    assert all(s.title["id"] in texts for s in SPECS.values())
    assert wb.properties.created == wb.properties.modified == datetime(2022, 1, 1)


def test_workbook_tables(book):
    _, wb = book
    for spec in SPECS.values():
        ws = wb[spec.sheet]
        assert ws["A1"].value == table_heading(spec, "id") and ws["A2"].value == "Periode: 2022"
        assert not ws.data_validations.dataValidation and not ws.protection.sheet
        for key, p in spec.placements().items():
            cell = ws[locate(spec, key)[1]]
            if spec.is_impossible(key):
                assert cell.value is None and cell.fill.fill_type is None
                continue
            assert cell.value == VALUES[spec.id][key], (spec.id, key)
            assert cell.number_format == ("0.00" if spec.is_percent(key) else "#,##0")
            assert cell.fill.fill_type is None  # no input colours
            assert bool(cell.font.b) == (not spec.is_leaf(key))  # totals in bold
            assert cell.border.left.style == "thin"
    gol = wb["Golongan"]
    total = gol[locate(SPECS["golongan"], ("JML", "JML", "JML"))[1]]
    assert total.value == 34 == sum(VALUES["golongan"][k] for k in inner_cells(SPECS["golongan"]))
    row0, col0 = grid_origin(SPECS["golongan"])
    assert gol.cell(row0 - 2, col0).value == "GOL I" and gol.cell(row0 - 1, col0).value == "L"
    assert {"B4:C4", "J4:J5"} <= {str(r) for r in gol.merged_cells.ranges}


def test_workbook_english(tmp_path):
    wb = build_book(VALUES, "2022", "All 36 OPDs.", lang="en")
    assert wb.sheetnames[0] == "Notes"
    ws = wb["Golongan"]
    assert ws["A1"].value == "Table 2. PNS & CPNS by rank group and grade" and ws["A2"].value == "Period: 2022"
    assert ws["B4"].value == "GROUP I" and ws["B5"].value == "M"
    with pytest.raises(ValueError):
        build_book(VALUES, "2022", "", lang="fr")
    with pytest.raises(ValueError):
        build_book({"nope": {}}, "2022", "")


def test_workbook_is_byte_identical_on_rewrite(book, tmp_path):
    path, _ = book
    first = path.read_bytes()
    time.sleep(1.1)  # zip entries and core properties would carry the new time
    again = write_book_xlsx(tmp_path / "again.xlsx", VALUES, "2022", NOTE)
    assert again.read_bytes() == first
    write_book_xlsx(path, VALUES, "2022", NOTE)  # rewritten in place, atomically
    assert path.read_bytes() == first and [p.name for p in path.parent.iterdir()] == [path.name]
    assert write_book_xlsx(tmp_path / "other.xlsx", VALUES, "2023", NOTE).read_bytes() != first


def test_workbook_is_byte_identical_across_processes(book, tmp_path):
    """A no-change re-run is a new process: hash seeds differ, the bytes must not."""
    path, _ = book
    script = ("import sys; sys.path.insert(0, 'tests'); from conftest import consistent_values; "
              "from pipeline.book import write_book_xlsx; "
              f"write_book_xlsx(sys.argv[1], consistent_values(), '2022', {NOTE!r})")
    out = tmp_path / "child.xlsx"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", script, str(out)], cwd=ROOT, env=env, check=True)
    assert out.read_bytes() == path.read_bytes()


def test_period_stamp():
    assert period_stamp("2022") == datetime(2022, 1, 1)
    assert period_stamp("2022-06") == datetime(2022, 6, 1)
    assert period_stamp("TA 2022") == period_stamp("") == EPOCH
