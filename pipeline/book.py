"""Publish the city-wide tables like the printed *Profil Kepegawaian* book: a frame, a CSV, a workbook.

The layout is every table's one layout (:mod:`pipeline.layout`: labels, row levels, header spans):
the frame takes its labels and row-level names from it, and the workbook is painted by the template's
grid writer (:func:`pipeline.template.write_grid`), here read-only (totals bold, counts with thousands
separators, impossible cells blank). This module owns the values as printed (:func:`book_value`), the
CSV dialects and the reproducible workbook save. Its words are the ``book`` section of
``schemas/text.yaml``. Outputs are written atomically and are byte-identical for the same inputs, so a
no-change re-run of the pipeline leaves published files untouched.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.hyperlink import Hyperlink

from pipeline import shares
from pipeline.files import EPOCH, atomic_write, save_workbook
from pipeline.safe import cell_text, neutral
from pipeline.layout import layout, table_name
from pipeline.specs import Key, TableSpec, load_tables
from pipeline.template import page_setup, write_grid, write_heading
from pipeline.text import LANGUAGES, label, words
from pipeline.values import Values



def _check_lang(lang: str) -> None:
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}")


# -- values as printed ---------------------------------------------------------------------------------
def book_value(spec: TableSpec, key: Key, value):
    """A cell value as the book prints it: a count as an int, a percentage rounded to its decimals.

    ``None`` stays ``None``; a count that is not whole (which validation rejects) is kept as a float
    rather than silently rounded.
    """
    if value is None:
        return None
    number = float(value)
    if spec.is_percent(key):
        return round(number, shares.decimals(spec))
    return int(number) if number.is_integer() else number


def _book_values(spec: TableSpec, values: dict) -> dict[Key, object]:
    """The printable values of one table: checked against its grid, impossible cells left out."""
    placements = spec.placements()
    stray = [k for k in values if k not in placements]
    if stray:
        raise ValueError(f"{spec.id}: keys not in the grid: {stray[:3]}")
    return {k: book_value(spec, k, values.get(k)) for k in placements if not spec.is_impossible(k)}


# -- the frame -----------------------------------------------------------------------------------------
def flat_label(parts: tuple[str, ...]) -> str:
    """A header's levels as one readable name: ``("GOL I", "L")`` -> ``GOL I L``, ``("TOTAL", "")`` -> ``TOTAL``."""
    return " ".join(p for p in parts if p)


def _dtype(column: list) -> str:
    present = [v for v in column if v is not None]
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "Int64"
    if all(isinstance(v, (int, float)) for v in present):
        return "Float64"
    return "object"


def book_frame(spec: TableSpec, values: dict, lang: str = "id") -> pd.DataFrame:
    """One table in book layout: row labels as the index, header labels as the columns.

    Both are a MultiIndex when the book prints two levels (a one-level line is padded with ""), so
    ``frame.iloc[p.row, p.col_first]`` is the cell at placement ``p``. A merged span holds its value
    once, in its first column; impossible cells and grid places without a cell are empty (``<NA>``).
    Counts are ints (``Int64`` columns), percentages floats rounded to the printed decimals.
    """
    _check_lang(lang)
    printed = _book_values(spec, values)
    grid: list[list] = [[None] * len(spec.columns) for _ in spec.rows]
    placements = spec.placements()
    for key, value in printed.items():
        p = placements[key]
        grid[p.row][p.col_first] = value

    lay = layout(spec)
    rows, cols = lay.labels("rows", lang), lay.labels("columns", lang)
    names = lay.level_names(lang)
    index = (pd.Index([r[0] for r in rows], name=names[0], dtype=object) if len(names) == 1
             else pd.MultiIndex.from_tuples(rows, names=names))
    columns = (pd.Index([c[0] for c in cols], dtype=object) if len(cols[0]) == 1
               else pd.MultiIndex.from_tuples(cols))
    data = {}
    for j in range(len(spec.columns)):
        column = [grid[i][j] for i in range(len(spec.rows))]
        data[j] = pd.array([pd.NA if v is None else v for v in column], dtype=_dtype(column))
    frame = pd.DataFrame(data, index=index)
    frame.columns = columns
    return frame


# -- CSV -----------------------------------------------------------------------------------------------
# The CSV dialects of the book-layout tables: "standard" (comma-separated, decimal point) for programs,
# "excel-id" for an Indonesian-locale Excel, which splits on ";" and reads "68,04" as a number.
CSV_DIALECTS = {"standard": {"delimiter": ",", "decimal": "."}, "excel-id": {"delimiter": ";", "decimal": ","}}


def book_csv_text(spec: TableSpec, values: dict, lang: str = "id", dialect: str = "standard") -> str:
    """The CSV text of :func:`book_frame`: one header row (levels flattened), row labels first.

    Counts print as whole numbers, percentages with the table's decimals (``68.04``; ``68,04`` in the
    ``excel-id`` dialect), empty cells as nothing; CRLF line ends. ``dialect`` (:data:`CSV_DIALECTS`)
    sets the separator and the decimal mark.
    """
    form = CSV_DIALECTS[dialect]
    frame = book_frame(spec, values, lang)
    decimals = shares.decimals(spec)
    index_names = list(frame.index.names)
    header = [n or "" for n in index_names] + [flat_label(c if isinstance(c, tuple) else (c,))
                                               for c in frame.columns]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=form["delimiter"], lineterminator="\r\n")
    writer.writerow([neutral(h) for h in header])
    placements = spec.placements()
    percent_places = {(p.row, p.col_first) for k, p in placements.items() if spec.is_percent(k)}
    for i, (label, row) in enumerate(zip(frame.index, frame.itertuples(index=False, name=None))):
        labels = list(label) if isinstance(label, tuple) else [label]
        cells = []
        for j, v in enumerate(row):
            if v is None or v is pd.NA:
                cells.append("")
            elif (i, j) in percent_places:
                cells.append(f"{float(v):.{decimals}f}".replace(".", form["decimal"]))
            elif float(v).is_integer():
                cells.append(str(int(v)))
            else:
                cells.append(repr(float(v)).replace(".", form["decimal"]))
        writer.writerow([neutral(x) for x in labels] + cells)
    return out.getvalue()


def write_book_csv(path, spec: TableSpec, values: dict, lang: str = "id", dialect: str = "standard") -> Path:
    """Write one table as CSV (UTF-8 with BOM, so Excel reads the encoding right), atomically."""
    data = book_csv_text(spec, values, lang, dialect).encode("utf-8-sig")
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


# -- the workbook --------------------------------------------------------------------------------------
def period_stamp(period) -> datetime:
    """A fixed time for the workbook's metadata: the start of the period (``2022`` -> 2022-01-01)."""
    m = re.match(r"^\s*(\d{4})(?:\D(\d{1,2}))?", str(period))
    if not m or int(m.group(1)) < EPOCH.year:
        return EPOCH
    month = int(m.group(2)) if m.group(2) and 1 <= int(m.group(2)) <= 12 else 1
    return datetime(int(m.group(1)), month, 1)


def _notes_sheet(ws, specs: list[TableSpec], period: str, coverage_note: str, lang: str,
                 release: dict | None = None) -> None:
    text = words("book", lang)
    ws.title = text["notes_sheet"]
    ws["A1"] = text["book_title"]
    ws["A1"].font = Font(bold=True, size=13)
    top = Alignment(vertical="top", wrap_text=True)
    row = 3
    lines = [line for line in str(coverage_note).splitlines()] or [""]
    rows = [(text["period"], [str(period)])]
    if release:
        from pipeline.release import release_text
        rows.append((text["release"], [release_text(release, lang)]))
    for name, items in (*rows, (text["coverage"], lines), (text["source"], [text["source_text"]])):
        ws.cell(row, 1, name).font = Font(bold=True)
        for item in items:
            cell = ws.cell(row, 2, cell_text(item))
            cell.number_format = "@"  # period "2022" stays text
            cell.alignment = top
            row += 1
    row += 1
    ws.cell(row, 1, text["tables"]).font = Font(bold=True)
    row += 1
    for col, name in enumerate((text["number"], text["title"], text["sheet"]), start=1):
        ws.cell(row, col, name).font = Font(bold=True)
    for spec in specs:
        row += 1
        ws.cell(row, 1, table_name(spec, lang))
        ws.cell(row, 2, label(spec.title, lang))
        link = ws.cell(row, 3, spec.sheet)
        link.hyperlink = Hyperlink(ref=link.coordinate, location=f"'{spec.sheet}'!A1", display=spec.sheet)
        link.style = "Hyperlink"
    ws.column_dimensions["A"].width = 16
    ws.column_dimensions["B"].width = 80
    ws.column_dimensions["C"].width = 14
    page_setup(ws)


def build_book(city: Values, period: str, coverage_note: str, lang: str = "id", release: dict | None = None) -> Workbook:
    """The book workbook: a notes sheet, then one read-only sheet per table in book order.

    ``release`` (:mod:`pipeline.release`): its status is on the notes sheet, and a provisional release
    says SEMENTARA under every table's title."""
    _check_lang(lang)
    specs = load_tables()
    unknown = set(city) - set(specs)
    if unknown:
        raise ValueError(f"unknown tables in values: {sorted(unknown)}")
    ordered = sorted(specs.values(), key=lambda s: s.number)
    wb = Workbook()
    _notes_sheet(wb.active, ordered, period, coverage_note, lang, release)
    text = words("book", lang)
    subtitle = f"{text['period']}: {period}"
    if release and release.get("status") != "final":
        subtitle += f" ({text['provisional']})"
    for spec in ordered:
        ws = wb.create_sheet(spec.sheet)
        write_heading(ws, spec, subtitle, lang)
        write_grid(ws, spec, _book_values(spec, city.get(spec.id, {})), lang, form=False)
        page_setup(ws)
    stamp = period_stamp(period)
    wb.properties.created = wb.properties.modified = stamp
    wb.properties.creator = wb.properties.lastModifiedBy = "rekap"
    wb.properties.title = f"{text['book_title']} ({period})"
    return wb


def write_book_xlsx(path, city: Values, period: str, coverage_note: str, lang: str = "id",
                    release: dict | None = None) -> Path:
    """Write the formatted book workbook (notes sheet + one sheet per table), atomically and reproducibly."""
    wb = build_book(city, period, coverage_note, lang, release)
    return atomic_write(path, lambda tmp: save_workbook(wb, tmp, period_stamp(period)))
