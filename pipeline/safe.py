"""No live content out: text that came from a submission is made inert in every spreadsheet and CSV written.

* :func:`neutral` applies the OWASP rule against formula (CSV) injection: a text starting with
  ``= + - @``, a tab or a carriage return gets a leading ``'``, so no spreadsheet program takes it for a
  formula (``=HYPERLINK(...)``, ``=cmd|' /C calc'!A0``). Numbers, and texts that are plain numbers
  or a lone dash, are left alone. Every CSV writer
  passes its frame through :func:`neutral_frame`; every cell the tool fills with submitted text goes
  through :func:`cell_text`, which also drops the characters XML cannot hold (a NUL would make the
  whole workbook unwritable).
* :func:`inert_copy` makes the copy of an OPD's own workbook (the marked feedback workbook) hold
  values only: every formula is replaced by the value Excel saved for it (a formula without one shows
  its text, neutralised), every text is neutralised, external links, data connections, macros,
  external hyperlinks and user-defined names are dropped, and nothing asks to recalculate on opening.

The numbers reader (:mod:`pipeline.numbers`) ignores one leading ``'``, so a marked copy sent back
reads the same.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
# The control characters XML 1.0 cannot hold (openpyxl refuses a cell holding one, with this same pattern;
# it is not imported from there so that writing CSV needs no openpyxl).
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


_INERT = re.compile(r"[-+]?[\d.,\s%]*")  # a plain number ("-5", "1.009") or a lone dash: no formula in it


def neutral(value):
    """``value`` with a leading ``'`` when it is a text a spreadsheet could read as a formula (a plain
    number such as ``-5`` or a lone ``-`` is left as it is: there is nothing in it to run)."""
    if isinstance(value, str) and value.startswith(DANGEROUS) and not _INERT.fullmatch(value):
        return "'" + value
    return value


def cell_text(value):
    """A value to put in a workbook cell: neutral, and without characters XML cannot hold."""
    if isinstance(value, str):
        return neutral(ILLEGAL_CHARACTERS_RE.sub("\ufffd", value))
    return value


def plain_text(text: str) -> str:
    """Text for a comment or a sheet title: only the characters XML can hold."""
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)


def neutral_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text columns are neutral (numbers untouched).

    A column's distinct texts are judged once each (a lineage of a million rows names a few thousand
    files, tables and cells), and only a column holding a text that changes is rewritten."""
    import pandas as pd

    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        try:
            distinct = series.dropna().unique()
        except TypeError:  # a value that cannot be hashed: judged one by one
            out[column] = series.map(cell_text)
            continue
        changed = {v: cell_text(v) for v in distinct if isinstance(v, str) and cell_text(v) != v}
        if changed:
            out[column] = series.map(lambda v: changed.get(v, v) if isinstance(v, str) else v)
    return out


def inert_copy(wb, cached) -> None:
    """Make ``wb`` (an OPD's workbook loaded with formulas) hold values only; ``cached`` is the same
    file loaded with ``data_only=True`` (the values Excel saved). See the module doc."""
    from openpyxl.cell.rich_text import CellRichText

    for ws in wb.worksheets:
        values = cached[ws.title] if ws.title in cached.sheetnames else None
        for (r, c), cell in list(ws._cells.items()):
            if cell.data_type == "f":
                saved = values._cells.get((r, c)).value if values is not None and (r, c) in values._cells else None
                text = cell.value if isinstance(cell.value, str) else getattr(cell.value, "text", None)
                cell.value = cell_text(saved if saved is not None else text or "")
            elif isinstance(cell.value, CellRichText):
                if str(cell.value).startswith(DANGEROUS) or ILLEGAL_CHARACTERS_RE.search(str(cell.value)):
                    cell.value = cell_text(str(cell.value))
            elif isinstance(cell.value, str):
                cell.value = cell_text(cell.value)
        for cell in list(ws._cells.values()):  # links within the workbook stay, links out go
            if getattr(cell, "hyperlink", None) is not None and cell.hyperlink.target:
                cell.hyperlink = None
        for name in [n for n in ws.defined_names if not n.startswith("_xlnm")]:
            del ws.defined_names[name]
    wb._external_links = []
    for name in list(wb.defined_names):
        if not name.startswith("_xlnm"):
            del wb.defined_names[name]
    wb.vba_archive = None
    wb.calculation.fullCalcOnLoad = False
