"""The workbook reader: round trips with the template, and one test per real-world deviation."""

from __future__ import annotations

import datetime as dt
import random
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from pipeline.findings import flatten
from pipeline import read_xlsx as reader
from pipeline.read_xlsx import read_xlsx
from pipeline.specs import load_registry, load_tables
from pipeline.template import build_workbook, grid_origin, locate

SPECS = load_tables()
DINDIKBUD = load_registry()["DINDIKBUD"]
DINKES = load_registry()["DINKES"]


# -- fixtures --------------------------------------------------------------------------------------------
def sample_values(seed: int = 1) -> dict[str, dict]:
    rnd = random.Random(seed)
    return {s.id: {k: round(rnd.random() * 100, 2) if s.is_percent(k) else rnd.randint(0, 900) for k in s.cells}
            for s in SPECS.values()}


VALUES = sample_values()
NO_GURU = {t: v for t, v in VALUES.items() if t != "guru"}  # what a non-education OPD submits


def extract_of(ex) -> tuple:
    """Everything an extract says: kind, identity, tables, every cell (address, fraction) and finding."""
    return ex.kind, sorted(ex.identity.items()), sorted(ex.tables), [repr(c) for c in ex.cells], [
        repr(f) for f in ex.findings]


@pytest.fixture(autouse=True)
def _remembered_layouts_read_what_a_fresh_search_reads(tmp_path_factory):
    """Every workbook these tests read (the template, reordered, relabelled, damaged...) is kept as read; after
    the test (its own patches undone) it is read again with no layout remembered (a fresh search), then with
    its sheets' layouts remembered: the three extracts must be the same."""
    seen = []

    def read_and_keep(path):
        ex = reader.read_xlsx(path)
        seen.append((Path(path).name, Path(path).read_bytes() if Path(path).is_file() else None, extract_of(ex)))
        return ex

    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(globals(), "read_xlsx", read_and_keep)
        yield
    for name, data, got in seen:
        path = tmp_path_factory.mktemp("again") / name
        if data is not None:
            path.write_bytes(data)
        reader._found.clear()
        assert extract_of(reader.read_xlsx(path)) == got, name
        assert extract_of(reader.read_xlsx(path)) == got, name


def save(wb, tmp_path, name="book.xlsx"):
    path = tmp_path / name
    wb.save(path)
    return path


def read_values(ex, table=None) -> dict:
    return {(c.table, c.key): c.value for c in ex.cells if table is None or c.table == table}


def expected(values=VALUES, tables=None) -> dict:
    return {(t, k): v for t, cells in values.items() if tables is None or t in tables for k, v in cells.items()}


def codes(ex) -> list[str]:
    return sorted(f.code for f in ex.findings)


def copy_block(src, dst, row_map=lambda r: r, col_map=lambda c: c) -> None:
    """Copy values, number formats and merged ranges of ``src`` into ``dst``, moving each cell.

    ``row_map``/``col_map`` give the new row/column, or None to drop it. (openpyxl's insert_rows does
    not move merged ranges, so tests move tables this way.)
    """
    for row in src.iter_rows():
        for cell in row:
            if type(cell).__name__ == "MergedCell":
                continue
            r, c = row_map(cell.row), col_map(cell.column)
            if r is None or c is None:
                continue
            new = dst.cell(r, c, cell.value)
            new.number_format = cell.number_format
    for rng in src.merged_cells.ranges:
        r1, r2, c1, c2 = row_map(rng.min_row), row_map(rng.max_row), col_map(rng.min_col), col_map(rng.max_col)
        if None not in (r1, r2, c1, c2) and (r1, c1) != (r2, c2):
            dst.merge_cells(start_row=r1, start_column=c1, end_row=r2, end_column=c2)


def rebuilt(wb, layout) -> openpyxl.Workbook:
    """A new workbook: ``layout`` is [(new sheet title, [(source sheet, row_map, col_map), ...]), ...]."""
    out = openpyxl.Workbook()
    out.remove(out.active)
    for title, blocks in layout:
        ws = out.create_sheet(title)
        for src, rmap, cmap in blocks:
            copy_block(wb[src], ws, rmap, cmap)
    return out


def label_cell(ws, text):
    """The (first) cell holding exactly ``text``."""
    for row in ws.iter_rows():
        for cell in row:
            if cell.value == text:
                return cell
    raise LookupError(text)


def set_cached_values(path, cached: dict[str, dict[str, object]]) -> None:
    """Give formula cells a cached value, as Excel would have saved it (openpyxl cannot write one).

    ``cached`` maps sheet title -> {A1 address: value}.
    """
    wb = openpyxl.load_workbook(path, read_only=True)
    parts = {title: f"xl/worksheets/sheet{i + 1}.xml" for i, title in enumerate(wb.sheetnames)}
    wb.close()
    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    for title, cells in cached.items():
        xml = files[parts[title]].decode()
        for address, value in cells.items():
            xml, n = re.subn(rf'(<c r="{address}"[^>]*><f>[^<]*</f>)<v\s*/>', rf"\g<1><v>{value}</v>", xml)
            assert n == 1, address
        files[parts[title]] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)


# -- round trips ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["id", "en"])
def test_round_trip(tmp_path, lang):
    path = save(build_workbook(DINDIKBUD, "2022-12", VALUES, lang=lang), tmp_path)
    ex = read_xlsx(path)
    assert ex.kind == "xlsx" and ex.findings == []
    assert ex.tables == set(SPECS)
    assert read_values(ex) == expected()
    assert ex.identity == {"opd": "DINDIKBUD", "opd_name": DINDIKBUD.name, "period": "2022-12"}
    for cell in ex.cells:
        assert (cell.sheet, cell.address) == locate(SPECS[cell.table], cell.key)
        assert cell.fraction is False


def test_empty_template_reads_as_all_none(tmp_path):
    ex = read_xlsx(save(build_workbook(DINKES, "2022"), tmp_path))
    assert ex.findings == []  # guru is not required from DINKES
    assert ex.tables == set(SPECS) - {"guru"}
    assert read_values(ex) == {(t, k): None for t, s in SPECS.items() if t != "guru" for k in s.cells}


def test_identity_fields_filled_in(tmp_path):
    wb = build_workbook(DINKES, "2022")
    ws = wb["Identitas"]
    ws["B6"], ws["B7"], ws["B8"] = "Siti", 81234567890, dt.datetime(2023, 1, 15)
    ex = read_xlsx(save(wb, tmp_path))
    assert ex.identity == {"opd": "DINKES", "opd_name": DINKES.name, "period": "2022", "officer": "Siti",
                           "contact": "81234567890", "date": "2023-01-15"}


def test_identity_by_label_anywhere(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "IDENTITAS"
    ws["C2"], ws["E2"] = "Kode OPD :", "DINKES"
    ws["C3"], ws["D3"] = "Tahun", 2022
    ws["C4"], ws["D4"] = "Nama petugas", None  # empty: left out
    ws["C5"], ws["D5"] = "Periode", dt.datetime(2022, 12, 31)  # Tahun came first: ignored
    ws.merge_cells("C6:D6")
    ws["C6"], ws["E6"] = "Nama OPD", "Dinas Kesehatan"
    ex = read_xlsx(save(wb, tmp_path))
    assert ex.identity == {"opd": "DINKES", "period": "2022", "opd_name": "Dinas Kesehatan"}


def test_period_as_date(tmp_path):
    wb = build_workbook(DINKES, "2022")
    wb["Identitas"]["B5"] = dt.datetime(2022, 12, 1)
    assert read_xlsx(save(wb, tmp_path)).identity["period"] == "2022-12"


# -- tolerance ------------------------------------------------------------------------------------------------
def test_table_moved_to_other_sheet_names_and_offsets(tmp_path):
    wb = build_workbook(DINDIKBUD, "2022", VALUES)
    layout = [("Identitas", [("Identitas", lambda r: r, lambda c: c)])]
    for i, spec in enumerate(SPECS.values()):
        layout.append((f"Tabel {spec.number}", [(spec.sheet, lambda r, i=i: r + 3 + i, lambda c, i=i: c + 1 + i % 3)]))
    ex = read_xlsx(save(rebuilt(wb, layout), tmp_path))
    assert ex.findings == []
    assert read_values(ex) == expected()
    assert {c.sheet for c in ex.cells} == {f"Tabel {s.number}" for s in SPECS.values()}


def test_extra_blank_rows_and_columns_inside_tables(tmp_path):
    wb = build_workbook(DINDIKBUD, "2022", VALUES)
    layout = [("Identitas", [("Identitas", lambda r: r, lambda c: c)])]
    for spec in SPECS.values():
        row0, col0 = grid_origin(spec)
        # two blank rows after the header, one after every third data row, a blank column before the data
        rmap = (lambda r, row0=row0: r if r < row0 else r + 2 + (r - row0) // 3)
        cmap = (lambda c, col0=col0: c if c < col0 else c + 1)
        layout.append((spec.sheet, [(spec.sheet, rmap, cmap)]))
    ex = read_xlsx(save(rebuilt(wb, layout), tmp_path))
    assert ex.findings == []
    assert read_values(ex) == expected()


@pytest.mark.parametrize("style", ["written_once", "repeated"])
def test_unmerged_headers_and_row_groups(tmp_path, style):
    wb = build_workbook(DINDIKBUD, "2022", VALUES)
    for spec in SPECS.values():
        ws = wb[spec.sheet]
        ws.protection.sheet = False
        row0, col0 = grid_origin(spec)
        for rng in list(ws.merged_cells.ranges):
            if rng.min_row < row0 and rng.min_row > 2 or rng.min_col < col0:
                value = ws.cell(rng.min_row, rng.min_col).value
                ws.unmerge_cells(str(rng))
                if style == "repeated":
                    for row in ws.iter_rows(rng.min_row, rng.max_row, rng.min_col, rng.max_col):
                        for cell in row:
                            cell.value = value
    ex = read_xlsx(save(wb, tmp_path))
    assert ex.findings == []
    assert read_values(ex) == expected()


def test_merged_header_over_wider_columns(tmp_path):
    """A header merged over two sheet columns, with its data merged the same way."""
    spec = SPECS["cpns"]
    wb = build_workbook(DINKES, "2022", {"cpns": VALUES["cpns"]})
    row0, col0 = grid_origin(spec)
    total = col0 + 2  # TOTAL column: move it one to the right and merge it over two columns
    layout = [("Identitas", [("Identitas", lambda r: r, lambda c: c)]),
              ("CPNS", [("CPNS", lambda r: r, lambda c: c + 1 if c >= total else c)])]
    out = rebuilt(wb, layout)
    ws = out["CPNS"]
    for r in range(4, row0 + len(spec.rows)):
        ws.cell(r, total).value, ws.cell(r, total + 1).value = ws.cell(r, total + 1).value, None
        ws.merge_cells(start_row=r, start_column=total, end_row=r, end_column=total + 1)
    ex = read_xlsx(save(out, tmp_path))
    assert read_values(ex, "cpns") == expected(tables={"cpns"})


def test_label_variants(tmp_path):
    wb = build_workbook(DINKES, "2022", NO_GURU)
    renames = {"Golongan": {"GOL III": "Gol. III", "GOL IV": "GOLONGAN IV", "Jumlah": "JUMLAH"},
               "Pendidikan": {"S1": "Strata 1", "S2": "S-2", "DIPLOMA 3": "D III", "SLTA": "SLTA/SMA",
                              "SLTA KEJURUAN": "SMK", "%": "Persentase"},
               "CPNS": {"II/a": "II.a", "III/b": "III - b", "TOTAL": "JML"},
               "Eselon": {"II.A": "Eselon II.a", "Jabatan Disiapkan": "Formasi"}}
    for sheet, pairs in renames.items():
        for old, new in pairs.items():
            label_cell(wb[sheet], old).value = new
    wb["Golongan"]["B5"].value = "Laki-laki"
    ex = read_xlsx(save(wb, tmp_path))
    assert ex.findings == []
    assert read_values(ex) == expected(tables=set(SPECS) - {"guru"})


def test_stale_hidden_copy_loses_to_visible_table(tmp_path):
    wb = build_workbook(DINKES, "2022", NO_GURU)
    stale = wb.copy_worksheet(wb["Golongan"])
    stale.title = "Golongan lama"
    stale.sheet_state = "hidden"
    wb.move_sheet(stale, offset=-(len(wb.sheetnames) - 1))  # first in the workbook
    for row in stale.iter_rows(min_row=6):
        for cell in row:
            if isinstance(cell.value, int):
                cell.value += 1
    ex = read_xlsx(save(wb, tmp_path))
    assert ex.findings == []
    assert read_values(ex, "golongan") == expected(tables={"golongan"})
    assert {c.sheet for c in ex.cells if c.table == "golongan"} == {"Golongan"}


def test_table_only_on_hidden_sheet(tmp_path):
    wb = build_workbook(DINKES, "2022", NO_GURU)
    wb["Golongan"].sheet_state = "hidden"
    ex = read_xlsx(save(wb, tmp_path))
    assert flatten(ex.findings) == [("SHEET_HIDDEN", "golongan", None)]
    assert ex.findings[0].sheet == "Golongan" and "Golongan" in ex.findings[0].message("en")
    assert read_values(ex, "golongan") == expected(tables={"golongan"})


def _with_formulas(tmp_path, cached: bool):
    """Golongan with every TOTAL cell a SUM formula; cached values set or not."""
    spec = SPECS["golongan"]
    wb = build_workbook(DINKES, "2022", {"golongan": VALUES["golongan"]})
    ws = wb["Golongan"]
    row0, col0 = grid_origin(spec)
    totals = {}
    for key in spec.cells:
        if key[1] == "JML" and key[0] != "JML":  # the TOTAL column of each ruang row
            sheet, address = locate(spec, key)
            row = ws[address].row
            ws[address] = f"=SUM({ws.cell(row, col0).coordinate}:{ws.cell(row, col0 + 7).coordinate})"
            totals[address] = VALUES["golongan"][key]
    path = save(wb, tmp_path)
    if cached:
        set_cached_values(path, {"Golongan": totals})
    return path, totals


def test_formulas_with_cached_values(tmp_path):
    path, totals = _with_formulas(tmp_path, cached=True)
    ex = read_xlsx(path)
    assert ex.findings == []
    assert read_values(ex, "golongan") == expected(tables={"golongan"})


def test_formula_without_cached_value(tmp_path):
    path, totals = _with_formulas(tmp_path, cached=False)
    ex = read_xlsx(path)
    spec = SPECS["golongan"]
    no_value = {(r, "JML", "JML") for r in ("A", "B", "C", "D", "E")}
    assert flatten(ex.findings) == sorted(
        (("FORMULA_NO_VALUE", "golongan", tuple(sorted(spec.key_dict(k).items()))) for k in no_value), key=repr)
    f = next(f for f in ex.findings if f.cell == {"ruang": "A", "gol": "JML", "sex": "JML"})
    assert f.address == locate(spec, ("A", "JML", "JML"))[1] and f.params["detail"].startswith("=SUM(")
    got = read_values(ex, "golongan")
    assert not any(("golongan", k) in got for k in no_value)  # left out: the rules say "not evaluable"
    assert got == {k: v for k, v in expected(tables={"golongan"}).items() if k[1] not in no_value}


def _rewrite_sheet(path, title, edit) -> None:
    """Replace the XML of sheet ``title`` by ``edit(xml)`` (as other spreadsheet programs write it)."""
    wb = openpyxl.load_workbook(path, read_only=True)
    part = f"xl/worksheets/sheet{wb.sheetnames.index(title) + 1}.xml"
    wb.close()
    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    files[part] = edit(files[part].decode()).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)


def test_shared_formula_without_cached_value_names_the_cells_own_formula(tmp_path):
    """Excel stores a filled-down formula once (``<f t="shared" ...>``): each cell's finding shows its own."""
    path, totals = _with_formulas(tmp_path, cached=False)
    spec = SPECS["golongan"]
    first, second = (locate(spec, (r, "JML", "JML"))[1] for r in ("A", "B"))
    formulas = {}

    def share(xml):
        for address in (first, second):
            formulas[address] = re.search(rf'<c r="{address}"[^>]*><f>([^<]*)</f>', xml).group(1)
        xml = xml.replace(f"<f>{formulas[first]}</f>", f'<f t="shared" ref="{first}:{second}" si="0">'
                                                           f"{formulas[first]}</f>")
        return xml.replace(f"<f>{formulas[second]}</f>", '<f t="shared" si="0"/>')

    _rewrite_sheet(path, "Golongan", share)
    ex = read_xlsx(path)
    got = {f.address: f.params["detail"] for f in ex.findings if f.code == "FORMULA_NO_VALUE"}
    assert got[first] == "=" + formulas[first] and got[second] == "=" + formulas[second] != got[first]


def test_formula_text_with_markup_characters(tmp_path):
    path, totals = _with_formulas(tmp_path, cached=False)
    address = locate(SPECS["golongan"], ("A", "JML", "JML"))[1]
    _rewrite_sheet(path, "Golongan", lambda xml: re.sub(
        rf'(<c r="{address}"[^>]*><f>)[^<]*(</f>)', r'\g<1>IF(B1&lt;&gt;"",1,"&amp;")\g<2>', xml))
    ex = read_xlsx(path)
    f = next(f for f in ex.findings if f.address == address)
    assert f.code == "FORMULA_NO_VALUE" and f.params["detail"] == '=IF(B1<>"",1,"&")'


def test_numbers_typed_as_text_pass_through(tmp_path):
    spec = SPECS["golongan"]
    wb = build_workbook(DINKES, "2022", {"golongan": VALUES["golongan"]})
    planted = {("A", "I", "L"): "1.009", ("B", "I", "L"): " 12 ", ("C", "I", "L"): "-"}
    for key, text in planted.items():
        wb["Golongan"][locate(spec, key)[1]] = text
    ex = read_xlsx(save(wb, tmp_path))
    got = read_values(ex, "golongan")
    assert all(got[("golongan", k)] == v for k, v in planted.items())


def test_percent_format_sets_fraction(tmp_path):
    spec = SPECS["pendidikan"]
    wb = build_workbook(DINKES, "2022")
    key = ("S1", "JML", "pct")
    cell = wb["Pendidikan"][locate(spec, key)[1]]
    cell.value, cell.number_format = 0.6804, "0.00%"
    ex = read_xlsx(save(wb, tmp_path))
    raw = next(c for c in ex.cells if c.table == "pendidikan" and c.key == key)
    assert raw.value == 0.6804 and raw.fraction is True


@pytest.mark.parametrize("fmt, fraction", [("0%", True), ('0.0" %"', True), ("#,##0.00\\%", True),
                                            ("0.00", False), ("General", False)])
def test_only_a_percent_number_format_sets_fraction(tmp_path, fmt, fraction):
    spec = SPECS["pendidikan"]
    wb = build_workbook(DINKES, "2022")
    key = ("S2", "JML", "pct")
    cell = wb["Pendidikan"][locate(spec, key)[1]]
    cell.value, cell.number_format = 0.16, fmt
    ex = read_xlsx(save(wb, tmp_path))
    raw = next(c for c in ex.cells if c.table == "pendidikan" and c.key == key)
    assert raw.value == 0.16 and raw.fraction is fraction


def test_the_sheet_xml_is_read_only_for_the_cells_that_need_it(tmp_path, monkeypatch):
    """Values come from the fast reader; a sheet's XML is looked at only for a percent cell holding a number
    in a workbook with a percent format, or an empty cell (a formula without a cached value?)."""
    from pipeline import read_xlsx as reader

    read = []
    real = reader.XlsxParts.sheet
    monkeypatch.setattr(reader.XlsxParts, "sheet", lambda self, title: read.append(title) or real(self, title))
    plain = read_xlsx(save(build_workbook(DINDIKBUD, "2022", VALUES), tmp_path, "plain.xlsx"))
    assert plain.findings == [] and read == ["Golongan"]  # only its cells that cannot exist are empty
    wb = build_workbook(DINKES, "2022", NO_GURU)
    wb["Pendidikan"][locate(SPECS["pendidikan"], ("S1", "JML", "pct"))[1]].number_format = "0.00%"
    read.clear()
    read_xlsx(save(wb, tmp_path, "percent.xlsx"))
    assert sorted(read) == ["Golongan", "Pendidikan"]


def test_dates_read_as_openpyxl_reads_them(tmp_path):
    spec = SPECS["golongan"]
    wb = build_workbook(DINKES, "2022", {"golongan": VALUES["golongan"]})
    wb["Golongan"][locate(spec, ("A", "I", "L"))[1]] = dt.date(2022, 1, 5)
    ex = read_xlsx(save(wb, tmp_path))
    raw = next(c for c in ex.cells if c.table == "golongan" and c.key == ("A", "I", "L"))
    assert raw.value == "2022-01-05 00:00:00"


def test_label_normalisation_and_the_wanted_labels_are_kept_between_workbooks(tmp_path):
    from pipeline import labels
    from pipeline.read_xlsx import wanted

    path = save(build_workbook(DINDIKBUD, "2022", VALUES), tmp_path)
    read_xlsx(path)
    before = labels._normalized.cache_info()
    again = read_xlsx(path)
    after = labels._normalized.cache_info()
    assert after.misses == before.misses and after.hits > before.hits  # every label seen before
    assert read_values(again) == expected()
    assert all(wanted(s) is wanted(s) for s in SPECS.values())


def test_value_in_impossible_cell_is_read(tmp_path):
    spec = SPECS["golongan"]
    wb = build_workbook(DINKES, "2022")
    wb["Golongan"][locate(spec, ("E", "I", "L"))[1]] = 3
    got = read_values(read_xlsx(save(wb, tmp_path)), "golongan")
    assert got[("golongan", ("E", "I", "L"))] == 3
    assert ("golongan", ("E", "II", "L")) not in got  # empty impossible cells are not handed on


def test_older_cpns_template_without_iii_c_d(tmp_path):
    spec = SPECS["cpns"]
    wb = build_workbook(DINKES, "2022", {"cpns": VALUES["cpns"]})
    row0, _ = grid_origin(spec)
    drop = {row0 + i for i, line in enumerate(spec.rows) if line.optional}
    layout = [("Identitas", [("Identitas", lambda r: r, lambda c: c)]),
              ("CPNS", [("CPNS", lambda r: None if r in drop else r - sum(d < r for d in drop), lambda c: c)])]
    ex = read_xlsx(save(rebuilt(wb, layout), tmp_path))
    assert [f for f in ex.findings if f.table == "cpns"] == []
    absent = {k for k in spec.cells if k[0] == "III" and k[1] in ("C", "D")}
    assert read_values(ex, "cpns") == {k: v for k, v in expected(tables={"cpns"}).items() if k[1] not in absent}


def test_two_tables_on_one_sheet(tmp_path):
    wb = build_workbook(DINDIKBUD, "2022", VALUES)
    layout = [("Identitas", [("Identitas", lambda r: r, lambda c: c)]),
              ("Rekap", [("Golongan", lambda r: r, lambda c: c), ("CPNS", lambda r: r + 15, lambda c: c + 1),
                         ("Eselon", lambda r: r, lambda c: c + 12)]),
              ("Lain", [("Guru", lambda r: r, lambda c: c), ("Pendidikan", lambda r: r + 10, lambda c: c)]),
              ("Fungsional", [("Fungsional", lambda r: r, lambda c: c)])]
    ex = read_xlsx(save(rebuilt(wb, layout), tmp_path))
    assert ex.findings == []
    assert read_values(ex) == expected()


def test_label_missing_does_not_borrow_from_the_next_table(tmp_path):
    """Guru above Pendidikan on one sheet, its Jumlah row unlabelled: Pendidikan's Jumlah is not taken."""
    wb = build_workbook(DINDIKBUD, "2022", VALUES)
    layout = [("Identitas", [("Identitas", lambda r: r, lambda c: c)]),
              ("Lain", [("Guru", lambda r: r, lambda c: c), ("Pendidikan", lambda r: r + 10, lambda c: c)])]
    out = rebuilt(wb, layout)
    label_cell(out["Lain"], "Jumlah").value = None
    ex = read_xlsx(save(out, tmp_path))
    labels = [(f.code, f.table, f.params.get("label")) for f in ex.findings if f.table in ("guru", "pendidikan")]
    assert labels == [("LABEL_MISSING", "guru", "Jumlah")]
    assert ("guru", ("JML",)) not in read_values(ex)
    assert read_values(ex, "pendidikan") == expected(tables={"pendidikan"})


def test_missing_row_and_column_labels(tmp_path):
    wb = build_workbook(DINKES, "2022", NO_GURU)
    label_cell(wb["Pendidikan"], "S3").value = "Lainnya"
    label_cell(wb["Golongan"], "GOL II").value = "???"
    ex = read_xlsx(save(wb, tmp_path))
    found = sorted((f.code, f.table, f.params["label"]) for f in ex.findings)
    assert found == [("LABEL_MISSING", "golongan", "GOL II"), ("LABEL_MISSING", "pendidikan", "S3")]
    got = read_values(ex)
    assert not any(t == "pendidikan" and k[0] == "S3" for t, k in got)
    assert not any(t == "golongan" and k[1] == "II" for t, k in got)
    assert len(got) == len(expected(tables=set(SPECS) - {"guru"})) - 3 - 10


def test_missing_sub_label(tmp_path):
    wb = build_workbook(DINKES, "2022", NO_GURU)
    wb["Golongan"]["C5"].value = "X"  # GOL I / P
    ex = read_xlsx(save(wb, tmp_path))
    assert [(f.code, f.params["label"]) for f in ex.findings] == [("LABEL_MISSING", "GOL I / P")]


def test_missing_tables(tmp_path):
    wb = build_workbook(DINDIKBUD, "2022", VALUES)
    del wb["Eselon"], wb["Guru"]
    ex = read_xlsx(save(wb, tmp_path))
    assert flatten(ex.findings) == [("TABLE_MISSING", "eselon", None), ("TABLE_MISSING", "guru", None)]
    assert ex.findings[0].params == {"sheet": "Eselon"}
    assert ex.tables == set(SPECS) - {"eselon", "guru"}


def test_workbook_without_tables(tmp_path):
    wb = openpyxl.Workbook()
    wb.active["A1"] = "Catatan"
    ex = read_xlsx(save(wb, tmp_path))
    assert {f.table for f in ex.findings if f.code == "TABLE_MISSING"} == set(SPECS) - {"guru"}
    assert ex.cells == [] and ex.identity == {}


# -- files that are no workbook ---------------------------------------------------------------------------------
def _only(ex, code):
    assert [f.code for f in ex.findings] == [code]
    assert ex.cells == [] and ex.tables == set()
    ex.findings[0].message("id"), ex.findings[0].message("en")  # renders
    return ex.findings[0]


def test_empty_file(tmp_path):
    (tmp_path / "a.xlsx").write_bytes(b"")
    _only(read_xlsx(tmp_path / "a.xlsx"), "FILE_EMPTY")


def test_missing_file(tmp_path):
    _only(read_xlsx(tmp_path / "nope.xlsx"), "FILE_NOT_FOUND")


def test_not_a_workbook(tmp_path):
    (tmp_path / "a.xlsx").write_text("kode,nama\nDINKES,Dinas\n")
    f = _only(read_xlsx(tmp_path / "a.xlsx"), "FILE_UNSUPPORTED")
    assert f.params["file"] == "a.xlsx"


def test_zip_that_is_no_workbook(tmp_path):
    with zipfile.ZipFile(tmp_path / "a.xlsx", "w") as z:
        z.writestr("readme.txt", "hello")
    _only(read_xlsx(tmp_path / "a.xlsx"), "FILE_UNSUPPORTED")


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_workbook(tmp_path, keep):
    data = save(build_workbook(DINKES, "2022"), tmp_path).read_bytes()
    (tmp_path / "cut.xlsx").write_bytes(data[: int(len(data) * keep)])
    _only(read_xlsx(tmp_path / "cut.xlsx"), "FILE_CORRUPT")


def test_damaged_member(tmp_path):
    path = save(build_workbook(DINKES, "2022"), tmp_path)
    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    files["xl/workbook.xml"] = b"<workbook><broken"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    _only(read_xlsx(path), "FILE_CORRUPT")


def _cfb(*stream_names: str) -> bytes:
    """A fake OLE2 compound file: the magic bytes and directory entry names, enough for the sniffing."""
    body = b"".join(name.encode("utf-16-le").ljust(64, b"\0") for name in stream_names)
    return bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 504 + body


def test_encrypted_workbook(tmp_path):
    (tmp_path / "a.xlsx").write_bytes(_cfb("Root Entry", "EncryptionInfo", "EncryptedPackage"))
    _only(read_xlsx(tmp_path / "a.xlsx"), "FILE_ENCRYPTED")


def test_damaged_xls(tmp_path):
    (tmp_path / "a.xls").write_bytes(_cfb("Root Entry", "Workbook"))
    _only(read_xlsx(tmp_path / "a.xls"), "FILE_CORRUPT")


@pytest.mark.parametrize("fmt", ["xls", "ods"])
def test_xls_and_ods_read_like_xlsx(tmp_path, fmt):
    """A real .xls (xlwt) or .ods (odfpy) copy of a filled template gives the same cells and the same
    findings as the .xlsx, cell addresses included; the extract says which format it was."""
    from spreadsheets import to_ods, to_xls
    from pipeline.validate import validate_file

    wb = build_workbook(DINDIKBUD, "2022", VALUES)
    wb.save(tmp_path / "DINDIKBUD.xlsx")
    (to_xls if fmt == "xls" else to_ods)(wb, tmp_path / f"DINDIKBUD.{fmt}")
    ex = read_xlsx(tmp_path / f"DINDIKBUD.{fmt}")
    assert ex.kind == fmt and ex.identity["opd"] == "DINDIKBUD"
    assert read_values(ex) == read_values(read_xlsx(tmp_path / "DINDIKBUD.xlsx")) == expected()

    def found(path):
        return sorted((f.code, f.table, str(f.cell), f.sheet, f.address, f.actual, f.expected)
                      for f in validate_file(path, "2022").findings)

    assert found(tmp_path / f"DINDIKBUD.{fmt}") == found(tmp_path / "DINDIKBUD.xlsx")
    assert any(code == "SUM_MISMATCH" for code, *_ in found(tmp_path / "DINDIKBUD.xlsx"))  # random values




# -- layouts remembered per sheet ------------------------------------------------------------------------------
def test_a_remembered_layout_reads_what_a_fresh_search_reads_on_the_sample_and_the_hostile_corpus(tmp_path):
    """Each workbook read with nothing remembered, then all of them in turn with every layout remembered
    from the others (same template, other values, other identities, planted defects): the same extracts."""
    import hostile
    from pipeline.limits import check_xlsx
    from pipeline.sample import write_sample

    write_sample(tmp_path / "sample", "2022", log=None)
    hostile.write_corpus(tmp_path / "hostile", good=True)
    paths = sorted((tmp_path / "sample" / "2022").glob("*.xlsx")) + sorted(
        p for p in (tmp_path / "hostile").iterdir() if p.suffix in (".xlsx", ".xlsm") and check_xlsx(p) is None)
    fresh = []
    for path in paths:
        reader._found.clear()
        fresh.append(extract_of(reader.read_xlsx(path)))
    reader._found.clear()
    assert [extract_of(reader.read_xlsx(p)) for p in paths] == fresh
    assert len(paths) > 34 and sum(len(f[3]) for f in fresh) > 34 * 200


def test_a_workbook_from_the_template_skips_label_matching_when_another_was_read(tmp_path, monkeypatch):
    one = save(build_workbook(DINDIKBUD, "2022", VALUES), tmp_path, "one.xlsx")
    other = save(build_workbook(DINDIKBUD, "2022", sample_values(2)), tmp_path, "other.xlsx")
    reader._found.clear()
    reader.read_xlsx(one)
    searched = []
    monkeypatch.setattr(reader, "_best", lambda *args: searched.append(args) or None)
    ex = reader.read_xlsx(other)
    assert searched == [] and read_values(ex) == expected(sample_values(2))


def test_a_merge_over_a_value_is_remembered_apart_from_the_same_labels_unmerged(tmp_path):
    """Two workbooks with the same text, one with a count merged over its neighbour: the neighbour is read
    from the merged cell's top-left in that one only, whatever was read before."""
    spec = SPECS["golongan"]
    left, right = locate(spec, ("A", "I", "L"))[1], locate(spec, ("A", "I", "P"))[1]
    assert re.sub(r"\d", "", left) < re.sub(r"\d", "", right) and re.sub(r"\D", "", left) == re.sub(r"\D", "", right)
    plain = save(build_workbook(DINKES, "2022", {"golongan": VALUES["golongan"]}), tmp_path, "plain.xlsx")
    wb = build_workbook(DINKES, "2022", {"golongan": VALUES["golongan"]})
    wb["Golongan"][right] = None
    wb["Golongan"].merge_cells(f"{left}:{right}")
    merged = save(wb, tmp_path, "merged.xlsx")
    reader._found.clear()
    for path, address in ((plain, right), (merged, left), (plain, right)):
        cell = next(c for c in read_xlsx(path).cells if c.key == ("A", "I", "P") and c.table == "golongan")
        assert cell.address == address
