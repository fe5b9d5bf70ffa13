"""The Excel template an OPD fills in: an Identitas sheet, then one sheet per table, laid out like the book.

This module paints; what it paints is the table's layout (:mod:`pipeline.layout`: labels, header and
row-label spans, the corner, empty grid places, the identity block), so a new spec gets a sheet with no
code change. It owns where the grid sits on a sheet (:func:`grid_origin`, :func:`locate`), the styles
(fills, borders, protection, data validation) and :func:`write_grid`, which the book workbook
(:mod:`pipeline.book`) uses too. Its words are the ``template`` section of ``schemas/text.yaml``. The
reader (:mod:`pipeline.read_xlsx`) finds the tables by their labels, so it also reads workbooks this
module did not build; :func:`locate` gives the exact address of a cell in one it did.
"""

from __future__ import annotations

from copy import copy
from pathlib import Path
from weakref import WeakKeyDictionary

from openpyxl import Workbook
from openpyxl.cell.cell import MergedCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.merge import MergedCellRange

from pipeline import shares
from pipeline.files import atomic_write, save_workbook
from pipeline.layout import IDENTITY_FIRST_ROW, IDENTITY_SHEET, identity_label, layout, table_heading
from pipeline.specs import Key, Opd, TableSpec, load_tables
from pipeline.submission import IDENTITY_FIELDS
from pipeline.text import LANGUAGES, words

# -- layout: where things sit on a table sheet (1-based rows and columns) -----------------------------
TITLE_ROW = 1
NOTE_ROW = 2
ORIGIN_ROW = 4  # first column-header row of the grid
ORIGIN_COL = 1  # first row-label column of the grid

# -- styles ---------------------------------------------------------------------------------------------
_GREY = PatternFill("solid", fgColor="D9D9D9")
_TOTAL = PatternFill("solid", fgColor="FFF2CC")
_PERCENT = PatternFill("solid", fgColor="DDEBF7")
_HEADER = PatternFill("solid", fgColor="BDD7EE")
_THIN = Side(style="thin", color="808080")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
_LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
_UNLOCKED = Protection(locked=False)
_RIGHT = Alignment(horizontal="right")
_BOLD = Font(bold=True)


# -- grid geometry ----------------------------------------------------------------------------------------
def grid_origin(spec: TableSpec) -> tuple[int, int]:
    """Sheet row and column of the grid's first data cell (row 0, column 0 of the placements)."""
    lay = layout(spec)
    return ORIGIN_ROW + lay.column_levels, ORIGIN_COL + lay.row_levels


def locate(spec: TableSpec, key: Key) -> tuple[str, str]:
    """Sheet title and A1 address of a cell (the top-left of a merged span) in a built workbook."""
    p = spec.placements()[key]
    row0, col0 = grid_origin(spec)
    return spec.sheet, f"{get_column_letter(col0 + p.col_first)}{row0 + p.row}"


# -- building ----------------------------------------------------------------------------------------------
# openpyxl looks a style object up in the workbook's lists (hashing it, and every object inside it) each
# time it is assigned to a cell: half the time of building a template. So each combination of styles is
# assigned once per workbook and its style array copied to the next fresh cell that takes it. A cache
# entry keeps its style objects alive, so an id in a key cannot be reused by another object.
_STYLE_ARRAYS: WeakKeyDictionary = WeakKeyDictionary()  # workbook -> {key: (style array, objects)}


def apply_styles(cell, **style) -> None:
    """Give ``cell`` these styles (``border``, ``fill``, ``alignment``, ``font``, ``number_format``,
    ``protection``), the same as assigning them one by one in that order."""
    if cell.has_style:  # the copy would drop what the cell has already
        for name, value in style.items():
            setattr(cell, name, value)
        return
    known = _STYLE_ARRAYS.setdefault(cell.parent.parent, {})
    key = tuple((name, value if isinstance(value, str) else id(value)) for name, value in style.items())
    hit = known.get(key)
    if hit is None:
        for name, value in style.items():
            setattr(cell, name, value)
        known[key] = (copy(cell._style), tuple(style.values()))
    else:
        cell._style = copy(hit[0])


def merge_range(ws, row: int, col: int, last_row: int, last_col: int) -> None:
    """Merge the range as ``ws.merge_cells`` does (every cell but the top-left one a MergedCell), without
    openpyxl then copying the top-left cell's border and protection onto the range's other cells: a Border
    built and hashed per edge cell, a third of a template's building, and a style on each cell that sends
    :func:`apply_styles` down its slow path. For a range whose cells the caller styles itself (:func:`_put`),
    or whose top-left cell has no border and the default protection (the feedback summary's lines of text),
    the saved workbook is the same bytes."""
    merged = MergedCellRange(ws, f"{get_column_letter(col)}{row}:{get_column_letter(last_col)}{last_row}")
    ws.merged_cells.add(merged)
    for r, c in merged.cells:
        if (r, c) != (row, col):
            ws._cells[r, c] = MergedCell(ws, r, c)


def _put(ws, row: int, col: int, value, *, fill=None, align=_CENTER, bold=False, last_row=None, last_col=None,
         boxed=True, number_format=None, protection=None):
    last_row, last_col = last_row or row, last_col or col
    if (last_row, last_col) != (row, col):
        merge_range(ws, row, col, last_row, last_col)
    edge = {"border": _BOX} if boxed else {}
    if fill is not None:
        edge["fill"] = fill
    for r in range(row, last_row + 1):
        for c in range(col, last_col + 1):
            if (r, c) != (row, col) and edge:
                apply_styles(ws.cell(r, c), **edge)
    cell = ws.cell(row, col)
    cell.value = value
    first = dict(edge, alignment=align)
    if bold:
        first["font"] = _BOLD
    if number_format is not None:
        first["number_format"] = number_format
    if protection is not None:
        first["protection"] = protection
    apply_styles(cell, **first)
    return cell


def _identity_sheet(ws, opd: Opd, period: str, lang: str) -> None:
    text = words("template", lang)
    ws.title = IDENTITY_SHEET
    ws["A1"] = text["identity_title"]
    ws["A1"].font = Font(bold=True, size=13)
    prefilled = {"opd": opd.code, "opd_name": opd.name, "period": str(period)}
    for i, name in enumerate(IDENTITY_FIELDS):
        row = IDENTITY_FIRST_ROW + i
        _put(ws, row, 1, identity_label(name, lang), fill=_HEADER, align=_LEFT, bold=True)
        cell = _put(ws, row, 2, prefilled.get(name), align=_LEFT)
        cell.number_format = "@"  # period "2022" stays text
        if name not in prefilled:
            cell.protection = _UNLOCKED
    row = IDENTITY_FIRST_ROW + len(IDENTITY_FIELDS)
    ws.cell(row, 1, text["identity_hint"]).font = Font(italic=True)
    ws.cell(row + 2, 1, text["instructions_title"]).font = Font(bold=True)
    for i, line in enumerate(text["instructions"].values()):
        ws.cell(row + 3 + i, 1, line)
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 45
    ws.protection.sheet = True
    page_setup(ws)


def page_setup(ws) -> None:
    """A4 landscape, one page wide."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def write_heading(ws, spec: TableSpec, subtitle: str, lang: str) -> None:
    """The table's title ("Tabel N. ...") and a line under it, each merged over the grid's width."""
    last_col = grid_origin(spec)[1] + len(spec.columns) - 1
    _put(ws, TITLE_ROW, ORIGIN_COL, table_heading(spec, lang), align=_LEFT, last_col=last_col,
         boxed=False).font = Font(bold=True, size=12)
    _put(ws, NOTE_ROW, ORIGIN_COL, subtitle, align=_LEFT, last_col=last_col, boxed=False).font = Font(italic=True)


def percent_format(spec: TableSpec) -> str:
    """Excel number format of the table's percent cells (``0.00`` for 2 decimals)."""
    decimals = shares.decimals(spec)
    return "0." + "0" * decimals if decimals else "0"


def blocks(cells: list[tuple[int, int]]) -> str:
    """The cells (row, column) as an Excel range list covering exactly them: each row's adjacent cells one
    run, the same run in adjacent rows one block (``D8:K12 D14 F14:G14``), in the order of their first
    cell. A form's input cells are a few blocks, not hundreds of single cells: a rule's range list is
    parsed range by range wherever the workbook is opened (openpyxl loading a submission, Excel)."""
    runs: list[list[int]] = []  # [row, first column, last column]
    for row, col in sorted(set(cells)):
        if runs and runs[-1][0] == row and runs[-1][2] == col - 1:
            runs[-1][2] = col
        else:
            runs.append([row, col, col])
    open_: dict[tuple[int, int], list[int]] = {}  # (first, last column) -> [top, bottom row, first, last column]
    out: list[list[int]] = []
    for row, first, last in runs:
        block = open_.get((first, last))
        if block is not None and block[1] == row - 1:
            block[1] = row
        else:
            open_[first, last] = block = [row, row, first, last]
            out.append(block)

    def name(top: int, bottom: int, first: int, last: int) -> str:
        corner = f"{get_column_letter(first)}{top}"
        return corner if (top, first) == (bottom, last) else f"{corner}:{get_column_letter(last)}{bottom}"

    return " ".join(name(*block) for block in out)


def write_grid(ws, spec: TableSpec, values: dict, lang: str, *, form: bool = True) -> None:
    """One table's grid at :func:`grid_origin`: corner, column headers, row labels and cell values.

    ``form=True`` lays out the OPD's form: input cells unlocked with data validation, totals and
    percentages in light fills, impossible cells and empty grid places grey. ``form=False`` lays out a
    read-only print (the book): no validation, no input colours, totals in bold, counts with thousands
    separators; impossible cells and empty grid places print blank. Values are written as given.
    """
    lay = layout(spec)
    row0, col0 = grid_origin(spec)
    last_col = col0 + len(spec.columns) - 1

    # Corner: the row dimensions' names, over the row-label columns and all header rows.
    _put(ws, ORIGIN_ROW, ORIGIN_COL, lay.corner(lang), fill=_HEADER, bold=True, last_row=row0 - 1, last_col=col0 - 1)
    # Column headers: an outer label merged over its sub-columns, a one-level label over all header rows.
    for span in lay.header:
        _put(ws, ORIGIN_ROW + span.level, col0 + span.first, span.label.printed(lang), fill=_HEADER, bold=True,
             last_row=ORIGIN_ROW + span.last_level, last_col=col0 + span.last)
    # Row labels: an outer label merged down its group, a one-level label across all label columns.
    for span in lay.row_labels:
        _put(ws, row0 + span.first, ORIGIN_COL + span.level, span.label.printed(lang),
             align=_LEFT if span.last_level == lay.row_levels - 1 else _CENTER, bold=span.level == 0,
             last_row=row0 + span.last, last_col=ORIGIN_COL + span.last_level)

    # Data cells. In the form, grid places that hold no cell, and impossible cells, are grey and locked.
    validated: dict[bool, list[tuple[int, int]]] = {False: [], True: []}  # percent? -> input cells (row, column)
    empty_fill = _GREY if form else None
    for key, p in spec.placements().items():
        row, first, last = row0 + p.row, col0 + p.col_first, col0 + p.col_last
        if spec.is_impossible(key):
            _put(ws, row, first, values.get(key) if form else None, fill=empty_fill, last_col=last)
            continue
        percent, total = spec.is_percent(key), not spec.is_leaf(key)
        fill = (_PERCENT if percent else (_TOTAL if total else None)) if form else None
        _put(ws, row, first, values.get(key), fill=fill, align=_RIGHT, bold=total and not form, last_col=last,
             number_format=percent_format(spec) if percent else ("0" if form else "#,##0"),
             protection=_UNLOCKED if form else None)
        if form and not spec.may_be_unavailable(key):  # one the spec lets be n/a takes that text too
            validated[percent].append((row, first))
    if form:  # one range list per rule, set once (adding cells one by one is quadratic in openpyxl)
        counts = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                                showErrorMessage=True, sqref=blocks(validated[False]))
        percents = DataValidation(type="decimal", operator="between", formula1="0", formula2="100",
                                  allow_blank=True, showErrorMessage=True, sqref=blocks(validated[True]))
        ws.add_data_validation(counts)
        ws.add_data_validation(percents)
    for r, c in lay.empty:
        _put(ws, row0 + r, col0 + c, None, fill=empty_fill)

    for c in range(ORIGIN_COL, col0):
        ws.column_dimensions[get_column_letter(c)].width = 16 if c < col0 - 1 or lay.row_levels == 1 else 12
    if lay.row_levels == 1:
        widest = max(len(line[0].printed(lang)) for line in lay.rows)
        ws.column_dimensions[get_column_letter(ORIGIN_COL)].width = max(14, min(40, widest + 4))
    for c, line in enumerate(lay.columns, start=col0):
        widest = max(len(label.printed(lang)) for label in line)
        ws.column_dimensions[get_column_letter(c)].width = max(9, min(22, widest + 3)) if len(line) == 1 else 9
    ws.freeze_panes = ws.cell(row0, col0)
    ws.print_title_rows = f"{ORIGIN_ROW}:{row0 - 1}"


def _table_sheet(ws, spec: TableSpec, values: dict, lang: str) -> None:
    note = (spec.note or {}).get(lang) or words("template", lang)["note_default"]
    write_heading(ws, spec, note, lang)
    ws.row_dimensions[NOTE_ROW].height = 30
    write_grid(ws, spec, values, lang, form=True)
    ws.protection.sheet = True
    page_setup(ws)


def build_workbook(opd: Opd, period: str, values: dict[str, dict] | None = None, lang: str = "id") -> Workbook:
    """The template for one OPD and period; ``values`` (table id -> {key: value}) pre-fills cells."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}")
    values = values or {}
    specs = load_tables()
    unknown = set(values) - set(specs)
    if unknown:
        raise ValueError(f"unknown tables in values: {sorted(unknown)}")
    wb = Workbook()
    _identity_sheet(wb.active, opd, period, lang)
    for spec in sorted(specs.values(), key=lambda s: s.number):
        if not spec.is_required(opd.code) and spec.id not in values:
            continue
        given = values.get(spec.id, {})
        stray = [k for k in given if k not in spec.placements()]
        if stray:
            raise ValueError(f"{spec.id}: keys not in the grid: {stray[:3]}")
        _table_sheet(wb.create_sheet(spec.sheet), spec, given, lang)
    return wb


def write_template(path, opd: Opd, period: str, values: dict[str, dict] | None = None, lang: str = "id") -> Path:
    """Build the template and save it atomically (a temporary file in the same folder, then replaced)."""
    path = Path(path)
    wb = build_workbook(opd, period, values, lang)
    atomic_write(path, lambda tmp: save_workbook(wb, tmp))
    return path
