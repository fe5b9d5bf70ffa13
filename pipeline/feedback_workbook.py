"""The feedback workbook an OPD gets back: its own submission with every finding marked on its cell.

``write_feedback_workbook(path, report, opd, lang)`` writes ``reports/PERIOD/opd/<OPD>-umpan-balik.xlsx``
(:func:`feedback_path`):

* a **copy of the submitted workbook** (the archived copy of exactly that version, loaded with openpyxl:
  content, formulas, formatting, merged cells, sheets, data validation, protection kept). A CSV
  submission has no workbook, so it gets the template layout (:func:`pipeline.template.build_workbook`)
  filled with its values, and its findings are placed with :func:`pipeline.template.locate`;
* every cell with a finding gets a **fill and a border** by its worst severity (:data:`FILLS`): errors red,
  warnings amber, notes light blue (a darker blue border tells a note from the template's pale blue %
  cells), and one **comment** (author ``rekap BKPSDM``) listing all its findings: title, message,
  expected and actual value, and the suggested correction when a finding carries one;
* a **first sheet** (``Umpan Balik`` / ``Feedback``): OPD, period, file, status in words, counts, a colour
  legend, then one row per finding (severity, code, table, where, message, expected, actual, suggestion)
  whose "where" links to the marked cell. Findings with no printed cell (file-level, aggregates, a
  cross-table total without an address, run-level ones) are listed without a link.

Decisions:

* Findings on xlsx submissions are placed only by their own ``sheet``/``address`` (the reader found the
  table wherever the OPD put it; the template geometry would be a guess). An address inside a merged
  range marks the range's top-left cell.
* Sheet protection is kept (it guards the labels the reader needs; the template's has no password), but
  every marked cell is unlocked so the clerk can correct it in place, even a locked grey "impossible" cell.
* A CSV cell that the staged values leave out (an impossible cell, text that is not a number) but that a
  finding points at shows what was sent (the finding's ``actual``), so the clerk sees what to remove.
* A hidden sheet holding a marked cell is made visible, so that its link works.
* A comment the OPD had put on a marked cell is kept under ours.
* The copy holds values only (:func:`pipeline.safe.inert_copy`): each formula is replaced by the value
  Excel saved for it (what was checked), every submitted text is neutralised against formula injection,
  external links, data connections, macros and external hyperlinks are dropped, and nothing asks to
  recalculate on opening. openpyxl does not keep images or charts. The raw file and the archive are
  only read; an archive beyond the reading limits (:mod:`pipeline.limits`) is never loaded.
* Nothing to copy -> no workbook: an unreadable submission (kind "unknown", a corrupt or encrypted
  workbook, a CSV with no readable cell) or none at all returns None; the caller reports it otherwise.
* The suggestion is read from ``finding.suggestion`` or ``finding.params["suggestion"]``: a number, a
  text, an ``{"id": ..., "en": ...}`` dict, or the localiser's ``{"value", "kind", "certain"}`` (an
  uncertain one is shown as one possibility). The "Saran" column is always there, empty when none.
  The localiser's own notes (``CELL_SUSPECT``) carry an address and are marked like any finding.
"""

from __future__ import annotations

import io
import warnings
from copy import copy
from pathlib import Path

import openpyxl
import openpyxl.reader.excel
from openpyxl.cell.cell import MergedCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import coordinate_from_string, range_boundaries
from openpyxl.worksheet._reader import WorksheetReader
from openpyxl.worksheet.cell_range import CellRange, MultiCellRange
from openpyxl.worksheet.hyperlink import Hyperlink

from pipeline.corrections import LOCATED, ROLES, affected_text, corrections, role, typed
from pipeline.coverage import status_labels
from pipeline.files import atomic_write, save_workbook
from pipeline.findings import SEVERITIES, Finding, describe_cell, fmt
from pipeline.limits import LIMITS, check_xlsx
from pipeline.report_data import FILE_SUFFIX, feedback_path  # noqa: F401 - where it is written
from pipeline.safe import cell_text, inert_copy, plain_text
from pipeline.specs import Opd, load_registry, load_tables
from pipeline.template import apply_styles, build_workbook, locate, merge_range, page_setup
from pipeline.text import LANGUAGES, label, say, words

AUTHOR = "rekap BKPSDM"
# Submissions whose marked copy is the template layout filled with their values (openpyxl cannot
# edit their own file): tidy CSV, and .xls/.ods workbooks.
VALUES_ONLY = ("csv", "xls", "ods")

# Fill (cell background) and border colour per severity. The fills differ from the template's own
# (grey D9D9D9, total yellow FFF2CC, percent blue DDEBF7, header blue BDD7EE); the border tells them apart.
# Colours go by what the clerk should do with the cell (:func:`pipeline.corrections.role`): red only for
# "change this cell".
FILLS = {"change": "FF8B8B", "check": "F8CBAD", "affected": "D9D2E9", "warning": "FFE699", "info": "9BC2E6"}
BORDERS = {"change": "C00000", "check": "C55A11", "affected": "7030A0", "warning": "BF8F00", "info": "2F75B5"}

# -- summary sheet layout -----------------------------------------------------------------------------------
HEAD_ROW_OFFSET = 2  # blank rows between the "how" line and the findings' header row
WIDTHS = [5, 12, 22, 30, 22, 70, 14, 14, 18]
_BOLD = Font(bold=True)
_HEAD_FILL = PatternFill("solid", fgColor="BDD7EE")
_WRAP = Alignment(wrap_text=True, vertical="top")
_LINK_FONT = Font(color="0563C1", underline="single")
_TITLE_FONT = Font(bold=True, size=13)
_SECTION_FONT = Font(bold=True, size=12)
_PLAIN_FONT = Font()
_NOTE_FONT = Font(italic=True)
# each style object made once: a workbook's cells given the same objects share one cached style array
# (:func:`pipeline.template.apply_styles`) instead of hashing a new object per cell
_ROLE_FILLS = {shown: PatternFill("solid", fgColor=colour) for shown, colour in FILLS.items()}
_ROLE_BORDERS = {shown: Border(**dict.fromkeys(("left", "right", "top", "bottom"), Side(style="medium", color=colour)))
                 for shown, colour in BORDERS.items()}


def suggestion_text(finding: Finding, lang: str = "id") -> str:
    """The suggestion (:meth:`Finding.suggestion`) as the clerk types it: ``1009`` (a count has no thousands
    point: that is the very slip of an English-locale Excel); ``21 (kemungkinan)`` when it is not certain;
    "" if none."""
    found = finding.suggestion(lang)
    if found is None:
        return ""
    text = typed(found["value"], lang)
    return text if found["certain"] else say("feedback_workbook.uncertain", lang, value=text)


# -- the workbook to mark ---------------------------------------------------------------------------------
class _MergesAsSaved(WorksheetReader):
    """openpyxl's sheet reader, but a merged range's cells keep the style the file saved for them.

    openpyxl replaces every cell of a merged range but the top-left one by a MergedCell and re-derives
    the borders of those on the range's edge from the top-left cell, hashing a Border per cell. Here
    every inner cell is a MergedCell too (no value, no comment, as in openpyxl), with the style the file
    saved for it, if any."""

    def bind_merged_cells(self):
        if not self.parser.merged_cells:
            return
        ranges, cells = [], self.ws._cells
        for merge in self.parser.merged_cells.mergeCell:
            rng = CellRange(merge.ref)
            ranges.append(rng)
            for row, col in rng.cells:
                if (row, col) != (rng.min_row, rng.min_col):
                    saved = cells.get((row, col))
                    cells[row, col] = inner = MergedCell(self.ws, row, col)
                    if saved is not None:
                        inner._style = copy(saved._style)
        self.ws.merged_cells = MultiCellRange(ranges)


def load_copy(data: bytes, **options):
    """``openpyxl.load_workbook`` of a workbook's bytes, its merged ranges bound by :class:`_MergesAsSaved`.

    The reader class is swapped in openpyxl's module for the call: rekap loads workbooks from one
    thread per process."""
    standard = openpyxl.reader.excel.WorksheetReader
    openpyxl.reader.excel.WorksheetReader = _MergesAsSaved
    try:
        return openpyxl.load_workbook(io.BytesIO(data), keep_links=False, **options)
    finally:
        openpyxl.reader.excel.WorksheetReader = standard


def _opd_entry(opd) -> Opd:
    return load_registry().get(opd.code) or Opd(opd.code, opd.name or opd.code, "", "")


def _source_workbook(report, opd, lang: str):
    """(workbook, locator) for the submission, or None when there is nothing readable to copy.

    The locator maps a finding to (sheet title, A1) or None.
    """
    if opd.kind == "xlsx" and opd.archive is not None and Path(opd.archive).is_file():
        if Path(opd.archive).stat().st_size > LIMITS["file_bytes"].value:  # not even read
            return None
        data = Path(opd.archive).read_bytes()  # read once; the archive is never opened for writing
        if check_xlsx(opd.archive, len(data), data) is not None:  # these very bytes beyond a limit: never parsed
            return None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                wb = load_copy(data, rich_text=True)
                formulas = any(c.data_type == "f" for ws in wb.worksheets for c in ws._cells.values())
                cached = load_copy(data, data_only=True) if formulas else wb
        except Exception:  # corrupt, encrypted, not really a workbook: nothing to copy
            return None
        inert_copy(wb, cached)
        return wb, lambda f: (f.sheet, f.address) if f.sheet and f.address else None
    if opd.kind in VALUES_ONLY and opd.values:
        tables = load_tables()
        values = {t: {k: v for k, v in cells.items() if k in tables[t].placements()}
                  for t, cells in opd.values.items() if t in tables}
        wb = build_workbook(_opd_entry(opd), report.period, values, lang)

        def locator(f: Finding):
            spec = tables.get(f.table) if f.table else None
            if spec is None or not isinstance(f.cell, dict) or set(f.cell) != set(spec.dim_names):
                return None
            if any(isinstance(v, (list, tuple, dict)) for v in f.cell.values()):
                return None
            try:
                return locate(spec, spec.key({k: str(v) for k, v in f.cell.items()}))
            except KeyError:  # a cell the grid does not print (CELL_UNKNOWN)
                return None
        return wb, locator
    return None


def _resolve(wb, where) -> tuple[str, str] | None:
    """(sheet, A1 of the cell to mark) if ``where`` names a cell of the workbook; merged -> top-left."""
    if where is None:
        return None
    sheet, address = where
    if sheet not in wb.sheetnames:
        return None
    try:
        column, row = coordinate_from_string(str(address).split(":")[0].replace("$", ""))
    except Exception:
        return None
    ws = wb[sheet]
    coordinate = f"{column}{row}"
    for rng in ws.merged_cells.ranges:
        if coordinate in rng:
            min_col, min_row, _, _ = range_boundaries(rng.coord)
            coordinate = f"{get_column_letter(min_col)}{min_row}"
            break
    return sheet, coordinate


def _show_submitted(cell, findings: list[Finding]) -> None:
    """A CSV cell the staged values leave out (an impossible cell, a value that is not a number): show
    what was sent, which is the ``actual`` of a finding on that one cell."""
    sent = next((f.actual for f in findings if isinstance(f.actual, (int, float, str)) and f.actual != ""), None)
    if sent is not None:
        cell.value = cell_text(sent)


def _worst(findings: list[Finding], items) -> str:
    return min((role(f, items) for f in findings), key=ROLES.index)


def comment_text(findings: list[Finding], lang: str, items=()) -> str:
    """One comment for one cell: every finding on it, the cell to change first. An affected total gets no
    value to write: it is to be left as it is."""
    t = words("feedback_workbook", lang)
    parts = []
    for f in sorted(findings, key=lambda f: (ROLES.index(role(f, items)), SEVERITIES.index(f.severity))):
        lines = [f"[{t['severity'][f.severity].upper()}] {f.title(lang)}", f.message(lang)]
        if role(f, items) == "affected":
            lines.append(affected_text(f, lang))
        elif f.expected is not None or f.actual is not None:
            lines.append(f"{t['expected']}: {fmt(f.expected, lang)}; {t['actual']}: {fmt(f.actual, lang)}")
            suggestion = suggestion_text(f, lang)
            if suggestion:
                lines.append(f"{t['suggestion']}: {suggestion}")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def _mark(ws, coordinate: str, findings: list[Finding], lang: str, items=()) -> None:
    cell = ws[coordinate]
    severity = _worst(findings, items)
    cell.fill, cell.border = _ROLE_FILLS[severity], _ROLE_BORDERS[severity]
    cell.protection = Protection(locked=False, hidden=cell.protection.hidden)
    text = comment_text(findings, lang, items)
    if cell.comment is not None and cell.comment.author != AUTHOR:
        text += f"\n\n{say('feedback_workbook.earlier_comment', lang)}\n{cell.comment.text}"
    lines = sum(1 + len(line) // 60 for line in text.splitlines())
    cell.comment = Comment(plain_text(text), AUTHOR, height=min(600, 20 + 15 * lines), width=360)


# -- the summary sheet --------------------------------------------------------------------------------------
def _sheet_ref(sheet: str, coordinate: str) -> str:
    return "'" + sheet.replace("'", "''") + "'!" + coordinate


def _where_text(f: Finding, lang: str) -> str:
    t = words("feedback_workbook", lang)
    spec = load_tables().get(f.table) if f.table else None
    if f.sheet and f.address:
        return f"{f.sheet}!{f.address}"
    if spec is not None and isinstance(f.cell, dict) and f.cell:
        return describe_cell(spec, f.cell, lang) or t["whole_table"]
    return t["whole_table"] if f.table else t["whole_file"]


def _unique_title(wb, title: str) -> str:
    n, name = 1, title
    while name in wb.sheetnames:
        n += 1
        name = f"{title} ({n})"
    return name


def _summary(wb, report, opd, rows: list[tuple[Finding, tuple[str, str] | None]], lang: str, items=(),
             place=None):
    t = words("feedback_workbook", lang)
    ws = wb.create_sheet(_unique_title(wb, t["sheet"]), 0)
    ws["A1"] = t["title"]
    apply_styles(ws["A1"], font=_TITLE_FONT)
    counts = {s: sum(f.severity == s for f in opd.findings) for s in SEVERITIES}
    facts = [
        (t["opd"], f"{opd.code} - {opd.name}" if opd.name else opd.code),
        (t["period"], str(report.period)),
        (t["file"], opd.file or "-"),
        (t["version"], (opd.sha256 or "-")[:12]),
        (t["status"], status_labels(lang).get(opd.status, opd.status)),
        (t["counts"], t["count_words"].format(**counts)),
    ]
    r = 3
    for name, value in facts:
        apply_styles(ws.cell(r, 1, name), font=_BOLD)
        merge_range(ws, r, 1, r, 3)
        apply_styles(ws.cell(r, 4, cell_text(value)), font=_BOLD if name == t["status"] else _PLAIN_FONT)
        r += 1
    _note(ws, r, t["next"].get(opd.status, ""))
    r += 2
    apply_styles(ws.cell(r, 1, t["legend"]), font=_BOLD)
    for shown in ROLES:
        r += 1
        apply_styles(ws.cell(r, 2), fill=_ROLE_FILLS[shown], border=_ROLE_BORDERS[shown])
        ws.cell(r, 3, t["legend_rows"][shown])
    r += 2
    _note(ws, r, t["how"])
    if items:
        r = _corrections_table(ws, r + 2, items, lang, place)
        r += 1
        apply_styles(ws.cell(r, 1, t["all_findings"]), font=_BOLD)
    head = r + HEAD_ROW_OFFSET
    for c, text in enumerate(t["head"].values(), start=1):
        apply_styles(ws.cell(head, c, text), font=_BOLD, fill=_HEAD_FILL)
    for c, width in enumerate(WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(c)].width = width
    if not rows:
        apply_styles(ws.cell(head + 1, 1, t["none"]), font=_BOLD)
    tables = load_tables()
    for i, (f, target) in enumerate(rows, start=1):
        row = head + i
        spec = tables.get(f.table) if f.table else None
        affected = role(f, items) == "affected"  # a correct total: its arithmetic, never a value to write
        values = [i, t["severity"][f.severity], f.code,
                  f"{spec.number}. {label(spec.title, lang)}" if spec else (f.table or "-"),
                  f"{target[0]}!{target[1]}" if target else _where_text(f, lang),
                  f.message(lang),
                  fmt(f.expected, lang) if f.expected is not None and not affected else "",
                  fmt(f.actual, lang) if f.actual is not None else "",
                  affected_text(f, lang) if affected else suggestion_text(f, lang)]
        styles = {2: {"fill": _ROLE_FILLS[role(f, items)]}, 5: {"font": _LINK_FONT} if target else {}}
        for c, value in enumerate(values, start=1):
            # submitted text (a file name, a value) stays text
            apply_styles(ws.cell(row, c, cell_text(value)), alignment=_WRAP, **styles.get(c, {}))
        ws.row_dimensions[row].height = 15 * max(_lines(str(v), w) for v, w in zip(values, WIDTHS))
        if target:
            where = ws.cell(row, 5)
            where.hyperlink = Hyperlink(ref=where.coordinate, location=_sheet_ref(*target),
                                        tooltip=t["head"]["where"])
    ws.freeze_panes = ws.cell(head + 1, 1)
    page_setup(ws)
    ws.print_title_rows = f"{head}:{head}"
    return ws


def _corrections_table(ws, r: int, items, lang: str, place) -> int:
    """The corrections (:mod:`pipeline.corrections`) from row ``r``: one row per cell to change, with a
    link to it; returns the next free row."""
    t = words("feedback_workbook", lang)
    apply_styles(ws.cell(r, 1, t["corrections"]), font=_SECTION_FONT)
    r += 1
    for c, text in enumerate(t["chead"].values(), start=1):
        apply_styles(ws.cell(r, c, text), font=_BOLD, fill=_HEAD_FILL)
    for i, item in enumerate(items, start=1):
        why, repairs = item.why(lang), ", ".join(_where_text(x, lang) for x in item.repaired())
        lines = [(x, "" if value is None else f"({typed(value, lang)}?)" if conditional else typed(value, lang))
                 for x, value, conditional in item.lines()]
        for j, (x, expected) in enumerate(lines):
            r += 1
            target = place(x) if place else None
            values = [i if j == 0 else "", f"{target[0]}!{target[1]}" if target else _where_text(x, lang),
                      typed(x.actual, lang) if x.actual is not None else "", expected,
                      why if j == 0 else "", repairs if j == 0 else ""]
            styles = {1: {"fill": _ROLE_FILLS[role(x, items)]}, 2: {"font": _LINK_FONT} if target else {}}
            for c, value in enumerate(values, start=1):  # a sheet name or a value sent stays text
                apply_styles(ws.cell(r, c, cell_text(value)), alignment=_WRAP, **styles.get(c, {}))
            ws.row_dimensions[r].height = 15 * max(_lines(str(v), w) for v, w in zip(values, WIDTHS))
            if target:
                link = ws.cell(r, 2)
                link.hyperlink = Hyperlink(ref=link.coordinate, location=_sheet_ref(*target), tooltip=t["chead"]["where"])
    return r + 1


def _lines(text: str, width: float) -> int:
    """About how many lines ``text`` wraps to in a column ``width`` characters wide."""
    return sum(max(1, -(-len(part) // max(1, int(width * 1.1) - 2))) for part in text.split("\n"))


def _note(ws, row: int, text: str) -> None:
    """An italic line of text merged over the findings table's width, wrapped."""
    merge_range(ws, row, 1, row, len(WIDTHS))
    apply_styles(ws.cell(row, 1, text), font=_NOTE_FONT, alignment=_WRAP)
    ws.row_dimensions[row].height = 15 * _lines(text, sum(WIDTHS))


# -- the API ------------------------------------------------------------------------------------------------
def _find_opd(report, opd):
    if not isinstance(opd, str):
        return opd
    for o in report.opds:
        if o.code == opd:
            return o
    raise KeyError(f"OPD {opd!r} is not in the report of period {report.period}")


def build_feedback_workbook(report, opd, lang: str = "id"):
    """The feedback workbook in memory (see the module doc), or None when there is nothing to copy."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}")
    opd = _find_opd(report, opd)
    source = _source_workbook(report, opd, lang)
    if source is None:
        return None
    wb, locator = source
    order = {s: i for i, s in enumerate(SEVERITIES)}
    numbers = {s.id: s.number for s in load_tables().values()}
    items = corrections(opd.findings)
    findings = sorted(opd.findings, key=lambda f: (order.get(f.severity, 9), numbers.get(f.table, 99)))
    rows = [(f, _resolve(wb, locator(f))) for f in findings]
    cells: dict[tuple[str, str], list[Finding]] = {}
    for f, target in rows:
        if target:
            cells.setdefault(target, []).append(f)
        for address in f.params.get("cells", [])[1:] if target else []:  # a note summarised per sheet
            other = _resolve(wb, (f.sheet, address))
            if other:
                cells.setdefault(other, []).append(f)
    for (sheet, coordinate), on_cell in cells.items():
        ws = wb[sheet]
        if ws.sheet_state != "visible":
            ws.sheet_state = "visible"
        if opd.kind in VALUES_ONLY and ws[coordinate].value is None:
            _show_submitted(ws[coordinate], on_cell)
        _mark(ws, coordinate, on_cell, lang, items)
    _summary(wb, report, opd, [(f, target) for f, target in rows if f.code not in LOCATED], lang, items,
             lambda f: _resolve(wb, locator(f)))
    if getattr(opd, "staff_lists", None) is not None:  # staff lists: the OPD's own employees (personal data)
        from pipeline.staff_report import add_staff_sheet, mark_personal

        add_staff_sheet(wb, opd.staff_lists, lang)
        mark_personal(wb, opd.staff_lists, lang)
    for ws in wb.worksheets:
        ws.sheet_view.tabSelected = False
    wb.active = 0
    wb.worksheets[0].sheet_view.tabSelected = True
    wb.calculation.fullCalcOnLoad = False  # nothing to recalculate: the copy holds values only
    return wb


def write_feedback_workbook(path, report, opd, lang: str = "id") -> Path | None:
    """Write the feedback workbook of ``opd`` (an OpdReport or its code) atomically to ``path``.

    Returns the path, or None (nothing written) when the submission is unreadable or absent.
    """
    wb = build_feedback_workbook(report, opd, lang)
    if wb is None:
        return None
    staff = getattr(_find_opd(report, opd), "staff_lists", None)
    return atomic_write(Path(path), lambda tmp: save_workbook(wb, tmp), 0o600 if staff is not None and staff.personal else None)
