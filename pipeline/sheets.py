"""A workbook's sheets as python-calamine parses them: once per workbook and process.

A file in a period's folder is first asked whether it is a staff list (the first rows of its visible
sheets), then read as a recap (every cell). Both read the sheets parsed here. The last workbook parsed is
kept, by its bytes' digest, so that the second reading parses nothing again.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass


@dataclass(frozen=True)
class Sheet:
    """One sheet: its rows from A1 (every cell, None where empty), where its data starts, its merged ranges."""

    name: str
    visible: bool  # neither hidden nor very hidden
    rows: list[list]  # python-calamine's values, row by row from A1 (to_python(skip_empty_area=False))
    start: int  # the first row (0-based) of calamine's own range: where the sheet's data starts
    merged: tuple  # ((first row, first column), (last row, last column)), 0-based, as calamine gives them

    def head(self, n: int) -> list[list]:
        """The first ``n`` rows from where the data starts (what a sheet shows at its top)."""
        return self.rows[self.start:self.start + n]


_last: list = [None, ()]  # the last workbook parsed: (its bytes' digest, worksheets only?), its sheets


def workbook_sheets(data: bytes, xlsx: bool = True) -> tuple[Sheet, ...]:
    """The sheets of a workbook's bytes, in the workbook's order. For an .xlsx (``xlsx``), its worksheets only
    (a chart sheet is no grid); for .xls and .ods every sheet. Raises what python-calamine raises on a
    damaged or protected file (nothing is kept then)."""
    key = (hashlib.blake2b(data, digest_size=16).digest(), xlsx)
    if _last[0] != key:
        _last[:] = [key, _parse(data, xlsx)]
    return _last[1]


def _parse(data: bytes, xlsx: bool) -> tuple[Sheet, ...]:
    from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

    wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    sheets = []
    for meta in wb.sheets_metadata:
        if xlsx and meta.typ != SheetTypeEnum.WorkSheet:
            continue
        sheet = wb.get_sheet_by_name(meta.name)
        start = sheet.start
        sheets.append(Sheet(meta.name, meta.visible == SheetVisibleEnum.Visible,
                            sheet.to_python(skip_empty_area=False), start[0] if start else 0,
                            tuple(sheet.merged_cell_ranges or ())))
    return tuple(sheets)
