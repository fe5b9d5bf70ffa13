"""Test helpers: an openpyxl workbook saved as a real .xls (xlwt) or .ods (odfpy), values and merged
ranges kept, as an office that still uses those formats would send it."""

from __future__ import annotations

import datetime as dt

import openpyxl


def _cells(ws):
    for (r, c), cell in sorted(ws._cells.items()):
        if cell.value is not None:
            yield r, c, cell.value


def to_xls(wb: openpyxl.Workbook, path) -> None:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    for ws in wb.worksheets:
        sheet = book.add_sheet(ws.title[:31], cell_overwrite_ok=True)
        if ws.sheet_state != "visible":
            sheet.visibility = 1
        merged = {(m.min_row, m.min_col): m for m in ws.merged_cells.ranges}
        covered = {(r, c) for m in merged.values() for r in range(m.min_row, m.max_row + 1)
                   for c in range(m.min_col, m.max_col + 1)} - set(merged)
        values = {(r, c): v for r, c, v in _cells(ws)}
        for (r, c), m in merged.items():
            sheet.write_merge(r - 1, m.max_row - 1, c - 1, m.max_col - 1, values.pop((r, c), ""))
        for (r, c), v in values.items():
            if (r, c) not in covered:
                sheet.write(r - 1, c - 1, v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v)
    book.save(str(path))


def to_ods(wb: openpyxl.Workbook, path) -> None:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import CoveredTableCell, Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    for ws in wb.worksheets:
        table = Table(name=ws.title)
        values = {(r, c): v for r, c, v in _cells(ws)}
        merged = {(m.min_row, m.min_col): m for m in ws.merged_cells.ranges}
        covered = {(r, c) for m in merged.values() for r in range(m.min_row, m.max_row + 1)
                   for c in range(m.min_col, m.max_col + 1)} - set(merged)
        max_row = max([r for r, _ in values] + [m.max_row for m in merged.values()] + [1])
        max_col = max([c for _, c in values] + [m.max_col for m in merged.values()] + [1])
        for r in range(1, max_row + 1):
            row = TableRow()
            for c in range(1, max_col + 1):
                if (r, c) in covered:
                    row.addElement(CoveredTableCell())
                    continue
                span = {}
                if (r, c) in merged:
                    m = merged[(r, c)]
                    span = {"numbercolumnsspanned": m.max_col - m.min_col + 1,
                            "numberrowsspanned": m.max_row - m.min_row + 1}
                v = values.get((r, c))
                if isinstance(v, bool) or v is None:
                    cell = TableCell(**span)
                elif isinstance(v, (int, float)):
                    cell = TableCell(valuetype="float", value=v, **span)
                    cell.addElement(P(text=str(v)))
                else:
                    text = v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else str(v)
                    cell = TableCell(valuetype="string", **span)
                    cell.addElement(P(text=text))
                row.addElement(cell)
            table.addElement(row)
        doc.spreadsheet.addElement(table)
    doc.save(str(path))
