"""The Excel template: layout, protection, validation, languages; and that a new spec needs no code."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.cell_range import MultiCellRange

from pipeline import read_xlsx as reader
from pipeline import template
from pipeline.specs import SCHEMAS, build_table, load_registry, load_tables
from pipeline.submission import IDENTITY_FIELDS
from pipeline.layout import IDENTITY_ALIASES, identity_label, table_heading
from pipeline.template import build_workbook, grid_origin, locate, write_template
from pipeline.text import LANGUAGES, words

SPECS = load_tables()
TEXT = {lang: {**words("template", lang), "instructions": list(words("template", lang)["instructions"].values())}
        for lang in LANGUAGES}
DINDIKBUD = load_registry()["DINDIKBUD"]
DINKES = load_registry()["DINKES"]


def numbered(spec):
    return {k: (float(i) + 0.25 if spec.is_percent(k) else i) for i, k in enumerate(spec.cells)}


@pytest.fixture(scope="module")
def built():
    return build_workbook(DINDIKBUD, "2022", {s.id: numbered(s) for s in SPECS.values()})


def test_sheets_in_book_order_identity_first(built):
    assert built.sheetnames == ["Identitas"] + [s.sheet for s in SPECS.values()]
    assert build_workbook(DINKES, "2022").sheetnames == ["Identitas"] + [s.sheet for s in SPECS.values()
                                                                        if s.id != "guru"]


def test_identity_sheet(built):
    ws = built["Identitas"]
    assert tuple(IDENTITY_ALIASES) == IDENTITY_FIELDS
    labels = {ws.cell(r, 1).value: ws.cell(r, 2) for r in range(1, 12)}
    assert labels["Kode OPD"].value == "DINDIKBUD"
    assert labels["Nama OPD"].value == DINDIKBUD.name
    assert labels["Periode"].value == "2022"
    assert labels["Nama OPD"].protection.locked
    for field in ("officer", "contact", "date"):
        assert not labels[identity_label(field, "id")].protection.locked
    texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert any(t.startswith("2. Tulis bilangan bulat") for t in texts)
    assert ws.protection.sheet


def test_locate_points_at_every_value(built):
    for spec in SPECS.values():
        for key, value in numbered(spec).items():
            sheet, address = locate(spec, key)
            assert built[sheet][address].value == value, (spec.id, key)


def test_titles_headers_and_row_labels(built):
    ws = built["Golongan"]
    spec = SPECS["golongan"]
    assert ws["A1"].value == table_heading(spec, "id") == "Tabel 2. Jumlah PNS & CPNS menurut Golongan/Ruang"
    assert ws["A2"].value == spec.note["id"]
    row0, col0 = grid_origin(spec)
    assert [ws.cell(row0 - 2, c).value for c in range(col0, col0 + 9)] == [
        "GOL I", None, "GOL II", None, "GOL III", None, "GOL IV", None, "TOTAL"]
    assert [ws.cell(row0 - 1, c).value for c in range(col0, col0 + 8)] == ["L", "P"] * 4
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {"B4:C4", "H4:I4", "J4:J5"} <= merged  # group over L/P; TOTAL down both header rows
    assert [ws.cell(r, 1).value for r in range(row0, row0 + 6)] == ["A", "B", "C", "D", "E", "Jumlah"]
    assert ws.freeze_panes == ws.cell(row0, col0).coordinate
    assert ws.page_setup.orientation == "landscape" and str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4


def test_two_level_rows_and_merged_cells(built):
    spec, ws = SPECS["fungsional"], built["Fungsional"]
    row0, col0 = grid_origin(spec)
    assert col0 == 3  # outer and inner label columns
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert f"A{row0}:A{row0 + 2}" in merged and ws[f"A{row0}"].value == "Pertama"
    assert ws[f"B{row0}"].value == "III/a"
    assert f"A{row0 + 13}:B{row0 + 13}" in merged and ws[f"A{row0 + 13}"].value == "JUMLAH"
    # eselon Jumlah row: one cell per eselon, merged over its L and P columns
    spec, ws = SPECS["eselon"], built["Eselon"]
    sheet, address = locate(spec, ("terisi", "II.A", "JML"))
    assert any(str(r).startswith(address + ":") for r in ws.merged_cells.ranges)


def test_the_validation_rules_cover_exactly_the_input_cells_in_blocks(built):
    """Each table's two rules (whole counts, percentages 0-100) hold exactly its input cells (none the
    spec lets be n/a, no label, total of another kind or empty grid place), written as blocks of adjacent
    cells rather than one range per cell."""
    for spec in SPECS.values():
        ws = built[spec.sheet]
        wanted = {"whole": set(), "decimal": set()}
        for key in spec.placements():
            if not spec.is_impossible(key) and not spec.may_be_unavailable(key):
                wanted["decimal" if spec.is_percent(key) else "whole"].add(locate(spec, key)[1])
        for dv in ws.data_validations.dataValidation:
            cells = [f"{get_column_letter(c)}{r}" for rng in dv.sqref.ranges for r, c in rng.cells]
            assert len(cells) == len(set(cells)) and set(cells) == wanted[dv.type], spec.id
            assert len(dv.sqref.ranges) <= max(1, len(cells) // 3), (spec.id, str(dv.sqref))


@given(st.sets(st.tuples(st.integers(1, 30), st.integers(1, 12)), max_size=80))
def test_blocks_name_exactly_the_cells(cells):
    text = template.blocks(list(cells))
    covered = [rc for rng in MultiCellRange(text).ranges for rc in rng.cells] if text else []
    assert sorted(covered) == sorted(cells)
    assert text == template.blocks(sorted(cells, reverse=True))  # whatever the order they come in


def test_cells_styles_protection_and_validation(built):
    for spec in SPECS.values():
        ws = built[spec.sheet]
        assert ws.protection.sheet
        rules = {dv.type: dv for dv in ws.data_validations.dataValidation}
        for key, p in spec.placements().items():
            cell = ws[locate(spec, key)[1]]
            if spec.is_impossible(key):
                assert cell.protection.locked and cell.fill.fgColor.rgb.endswith("D9D9D9")
                continue
            assert not cell.protection.locked
            kind = "decimal" if spec.is_percent(key) else "whole"
            assert cell.coordinate in rules[kind].sqref, (spec.id, key)
            if spec.is_percent(key):
                assert cell.number_format == "0.00"
                assert (rules[kind].formula1, rules[kind].formula2) == ("0", "100")
            else:
                assert rules[kind].operator == "greaterThanOrEqual" and rules[kind].formula1 == "0"
            if not spec.is_leaf(key) and not spec.is_percent(key):
                assert cell.fill.fgColor.rgb.endswith("FFF2CC")  # totals are typed, in a light fill
        row0, col0 = grid_origin(spec)
        assert ws.cell(row0, 1).protection.locked  # labels


def test_empty_grid_places_are_grey_and_locked(built):
    spec, ws = SPECS["eselon"], built["Eselon"]
    row0, col0 = grid_origin(spec)
    total = ws.cell(row0, col0 + len(spec.columns) - 1)  # Jabatan Terisi x TOTAL holds no cell
    assert total.value is None and total.protection.locked and total.fill.fgColor.rgb.endswith("D9D9D9")
    impossible = ws.parent["Golongan"][locate(SPECS["golongan"], ("E", "I", "L"))[1]]
    assert impossible.value is None and impossible.protection.locked


def test_styles_are_assigned_per_workbook_and_keep_what_a_cell_has(tmp_path):
    # Styles are assigned once per combination and workbook, then copied: a workbook built after
    # another, with other values, is styled from its own lists and saves the same as when built alone.
    build_workbook(DINDIKBUD, "2022", {s.id: numbered(s) for s in SPECS.values()}, lang="en")
    write_template(tmp_path / "second.xlsx", DINKES, "2022")
    header = load_workbook(tmp_path / "second.xlsx")["Golongan"]["B4"]
    assert header.fill.fgColor.rgb.endswith("BDD7EE") and header.font.bold and header.border.top.style == "thin"
    script = ("import sys; from pipeline.specs import load_registry; from pipeline.template import write_template; "
              "write_template(sys.argv[1], load_registry()['DINKES'], '2022')")
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "alone.xlsx")], check=True)
    assert (tmp_path / "second.xlsx").read_bytes() == (tmp_path / "alone.xlsx").read_bytes()

    ws = build_workbook(DINKES, "2022")["Identitas"]
    cell = ws.cell(40, 5)
    cell.number_format = "0.00"
    template.apply_styles(cell, border=template._BOX, fill=template._GREY)
    assert (cell.number_format, cell.border.left.style, cell.fill.fgColor.rgb[-6:]) == ("0.00", "thin", "D9D9D9")
    fresh = ws.cell(41, 5)
    template.apply_styles(fresh, border=template._BOX, fill=template._GREY)
    assert (fresh.number_format, fresh.border.left.style, fresh.fill.fgColor.rgb[-6:]) == ("General", "thin", "D9D9D9")


def test_saved_without_a_temporary_file_per_sheet_and_the_staff_workbook_too(tmp_path, monkeypatch):
    # openpyxl writes each sheet through a temporary file; rekap's save serialises them in memory (a
    # write-only workbook, whose sheets are written as they are filled, still goes openpyxl's way).
    from openpyxl import Workbook

    from pipeline.files import save_workbook

    def no_temporary_file(*args, **kwargs):
        raise AssertionError("a temporary file per sheet")

    write_template(tmp_path / "before.xlsx", DINKES, "2022")
    monkeypatch.setattr("openpyxl.worksheet._writer.create_temporary_file", no_temporary_file)
    write_template(tmp_path / "after.xlsx", DINKES, "2022")
    assert (tmp_path / "after.xlsx").read_bytes() == (tmp_path / "before.xlsx").read_bytes()
    monkeypatch.undo()
    streamed = Workbook(write_only=True)
    streamed.create_sheet("Pegawai").append(["NIP", "Nama"])
    save_workbook(streamed, tmp_path / "streamed.xlsx")
    assert [c.value for c in load_workbook(tmp_path / "streamed.xlsx")["Pegawai"][1]] == ["NIP", "Nama"]


def test_english(tmp_path):
    wb = build_workbook(DINDIKBUD, "2022", lang="en")
    assert wb["Golongan"]["A1"].value == "Table 2. PNS & CPNS by rank group and grade"
    assert wb["Golongan"]["A2"].value == SPECS["golongan"].note["en"]
    assert wb["Golongan"]["B4"].value == "GROUP I" and wb["Golongan"]["B5"].value == "M"
    assert wb["Identitas"]["A3"].value == "OPD code"
    texts = [c.value for row in wb["Identitas"].iter_rows() for c in row if isinstance(c.value, str)]
    assert TEXT["en"]["instructions"][0] in texts
    with pytest.raises(ValueError):
        build_workbook(DINDIKBUD, "2022", lang="fr")


def test_all_text_in_both_languages():
    assert TEXT["id"].keys() == TEXT["en"].keys()
    assert all(set(spec.note) == {"id", "en"} and all(spec.note.values()) for spec in SPECS.values())
    assert all(set(spec.title) == {"id", "en"} for spec in SPECS.values())
    assert SPECS["fungsional"].title["id"] == "Jumlah Pengawas, Penilik, Guru dan Pamong menurut Jenjang dan Golongan"
    assert len(TEXT["id"]["instructions"]) == len(TEXT["en"]["instructions"])


def test_bad_values_are_a_bug():
    with pytest.raises(ValueError):
        build_workbook(DINKES, "2022", {"nope": {}})
    with pytest.raises(ValueError):
        build_workbook(DINKES, "2022", {"golongan": {("Z", "I", "L"): 1}})


def test_write_template_is_atomic(tmp_path):
    path = write_template(tmp_path / "DINKES-2022.xlsx", DINKES, "2022")
    assert [p.name for p in tmp_path.iterdir()] == ["DINKES-2022.xlsx"]
    wb = load_workbook(path)
    assert wb.sheetnames[0] == "Identitas" and wb["Identitas"]["B3"].value == "DINKES"
    write_template(path, DINKES, "2023")  # overwrites in place
    assert load_workbook(path)["Identitas"]["B5"].value == "2023"
    assert [p.name for p in tmp_path.iterdir()] == ["DINKES-2022.xlsx"]


NEW_SPEC = """
id: pppk
number: 7
title: {id: Jumlah PPPK menurut Jenjang dan Jabatan, en: PPPK by level and post}
sheet: PPPK
aliases: [PPPK]
dimensions: {jenjang: all, gol: [III, IV, JML], jabatan: [GURU, PAMONG, JML], sex: all}
cells:
  - {jabatan: [GURU, PAMONG], sex: [L, P]}
  - {jabatan: JML, sex: JML}
impossible:
  - {jenjang: Pertama, gol: IV}
  - {jenjang: Madya, gol: III}
rows:
  - {key: {jenjang: Pertama, gol: III}, label: [Pertama, Gol III]}
  - {key: {jenjang: Pertama, gol: IV}, label: [Pertama, Gol IV]}
  - {key: {jenjang: Madya, gol: III}, label: [Madya, Gol III]}
  - {key: {jenjang: Madya, gol: IV}, label: [Madya, Gol IV]}
  - {key: {jenjang: JML, gol: JML}, label: [Jumlah]}
columns:
  - {key: {jabatan: GURU, sex: L}, label: [GURU, L]}
  - {key: {jabatan: GURU, sex: P}, label: [GURU, P]}
  - {key: {jabatan: PAMONG, sex: L}, label: [PAMONG, L]}
  - {key: {jabatan: PAMONG, sex: P}, label: [PAMONG, P]}
  - {key: {jabatan: JML, sex: JML}, label: [TOTAL]}
"""


def test_a_new_spec_needs_no_code(tmp_path, monkeypatch):
    dimensions = yaml.safe_load((SCHEMAS / "dimensions.yaml").read_text(encoding="utf-8"))
    spec = build_table(yaml.safe_load(NEW_SPEC), dimensions)
    specs = {**SPECS, spec.id: spec}
    monkeypatch.setattr(template, "load_tables", lambda: specs)
    monkeypatch.setattr(reader, "load_tables", lambda: specs)
    values = {spec.id: {k: i for i, k in enumerate(spec.cells)}}
    path = write_template(tmp_path / "x.xlsx", DINKES, "2022", values)
    wb = load_workbook(path)
    assert wb.sheetnames[-1] == "PPPK"
    assert wb["PPPK"]["A1"].value == "Tabel 7. Jumlah PPPK menurut Jenjang dan Jabatan"
    ex = reader.read_xlsx(path)
    assert {(c.key, c.value) for c in ex.cells if c.table == "pppk"} == set(values["pppk"].items())
    assert "pppk" in ex.tables and not [f for f in ex.findings if f.table == "pppk"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_merging_without_openpyxls_border_pass_saves_the_same_workbook(monkeypatch, lang):
    """The template merges its ranges itself (no re-derived edge borders: every cell of a range is styled
    anyway); filled or empty, in each language, the saved workbook is the bytes openpyxl's own
    ``merge_cells`` gives, and each inner cell of a range is a MergedCell with the range's border."""
    import io

    from openpyxl.cell.cell import MergedCell

    from pipeline.files import save_workbook
    from pipeline.sample import sample_values

    def saved(opd, values):
        out = io.BytesIO()
        save_workbook(build_workbook(opd, "2022", values, lang), out)
        return out.getvalue()

    registry = load_registry()
    opds = [registry["DINDIKBUD"], registry["SETDA"]]
    cases = [(opd, values) for opd in opds for values in (None, sample_values(opd)[0])]
    ours = [saved(opd, values) for opd, values in cases]
    wb = build_workbook(opds[0], "2022", None, lang)
    ranges = [[ws[c] for c in _coordinates(rng)] for ws in wb.worksheets for rng in ws.merged_cells.ranges]
    assert any(_sides(first) == ("thin",) * 4 for first, *_ in ranges)  # the tables' boxed headings
    assert all(isinstance(c, MergedCell) and _sides(c) == _sides(first) for first, *inner in ranges for c in inner)
    monkeypatch.setattr(template, "merge_range", lambda ws, row, col, last_row, last_col: ws.merge_cells(
        start_row=row, start_column=col, end_row=last_row, end_column=last_col))
    assert [saved(opd, values) for opd, values in cases] == ours


def _sides(cell) -> tuple:
    return tuple(getattr(cell.border, side).style for side in ("left", "right", "top", "bottom"))


def _coordinates(rng) -> list[str]:
    from openpyxl.utils import get_column_letter

    return [f"{get_column_letter(c)}{r}" for r, c in rng.cells]
