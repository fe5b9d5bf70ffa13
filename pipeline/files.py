"""Writing files safely: a reader never sees a half-written output, and the same content gives the same bytes."""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Callable

EPOCH = datetime(1980, 1, 1)  # the earliest time a zip entry can carry


def atomic_write(path, write: Callable[[str], None], mode: int | None = None) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place.

    The rename is atomic on one file system; if ``write`` fails, ``path`` is left as it was.
    ``mode`` (e.g. 0o600 for a file holding personal data) overrides the usual readable-by-all mode.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        # mkstemp makes it private; outputs are for others to read unless ``mode`` says otherwise
        os.chmod(tmp, (0o666 & ~_umask()) if mode is None else mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path, text: str, mode: int | None = None) -> Path:
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"), mode)


def save_workbook(wb, path, stamp: datetime = EPOCH) -> None:
    """Save ``wb`` so that the same workbook always gives the same bytes.

    openpyxl stamps the save time into ``docProps/core.xml`` and the zip entries carry the current
    time: here the core properties say ``stamp`` as creation and modification time, and every entry,
    in openpyxl's (deterministic) order, carries ``stamp`` as its time. openpyxl's writer is used as it
    is, but each worksheet is serialised in memory rather than through a temporary file of its own, its
    rows by ``FastRows`` (the same bytes as openpyxl's own writer, in a fraction of the time).
    """
    wb.properties.created = wb.properties.modified = stamp
    stamped, in_memory = _writers()
    with stamped(path, max(stamp, EPOCH).timetuple()[:6]) as archive:
        in_memory(wb, archive).save()


@cache
def _writers():
    """(zip file, workbook writer) classes for :func:`save_workbook`; openpyxl is imported only here."""
    from openpyxl import LXML
    from openpyxl.cell._writer import write_cell
    from openpyxl.comments.comment_sheet import CommentRecord
    from openpyxl.compat import safe_string
    from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
    from openpyxl.worksheet._writer import WorksheetWriter
    from openpyxl.writer.excel import ExcelWriter

    class FastRows(WorksheetWriter):
        """openpyxl's sheet writer (its standard-library XML stream: lxml is absent), each row and the merged
        ranges written in one piece, byte for byte as openpyxl serialises them (``write_row``,
        ``etree_write_cell``, ``MergeCells``), instead of one element tree per cell or range. A cell of a
        rarer kind (a formula, a date, rich text) is handed to openpyxl's ``write_cell`` itself, in its place."""

        def write_row(self, xf, row, row_idx):
            raw = getattr(xf, "_file", None)  # the stream's own writer: text written as it is
            if not callable(raw):  # an et_xmlfile that no longer has it: openpyxl's way
                return super().write_row(xf, row, row_idx)
            attrs = {"r": f"{row_idx}"}
            attrs.update(self.ws.row_dimensions.get(row_idx, {}))
            parts = ["<row" + "".join(f' {k}="{_attribute(v)}"' for k, v in attrs.items()) + ">"]
            for cell in row:  # as openpyxl's write_row: comments recorded, empty unstyled cells skipped
                if cell._comment is not None:
                    self.ws._comments.append(CommentRecord.from_cell(cell))
                value = cell._value
                if value is None and not cell.has_style and not cell._comment:
                    continue
                kind = cell.data_type
                if kind in ("f", "d") or (kind == "s" and value is not None and type(value) is not str):
                    raw("".join(parts))
                    parts = []
                    write_cell(xf, self.ws, cell, cell.has_style)
                    continue
                start = f'<c r="{cell.coordinate}"'
                if cell.has_style:
                    start += f' s="{cell.style_id}"'
                start += ' t="inlineStr"' if kind == "s" else f' t="{kind}"'
                if cell.hyperlink:
                    self.ws._hyperlinks.append(cell.hyperlink)
                if value is None or value == "":
                    parts.append(start + " />")
                elif kind == "s":
                    stripped = value.strip()
                    space = ' xml:space="preserve"' if stripped and value != stripped else ""
                    parts.append(f"{start}><is><t{space}>{_cdata(value)}</t></is></c>")
                else:
                    text = safe_string(value)
                    parts.append(f"{start}><v>{_cdata(text)}</v></c>" if text else f"{start}><v /></c>")
            parts.append("</row>")
            raw("".join(parts))

        def write_merged_cells(self):
            merged = self.ws.merged_cells.ranges  # as openpyxl's MergeCells element serialises them
            if not merged:
                return
            raw = getattr(self.xf.send(True), "_file", None)
            self.xf.send(None)
            if not callable(raw):
                return super().write_merged_cells()
            raw(f'<mergeCells count="{len(merged)}">'
                + "".join(f'<mergeCell ref="{_attribute(r.coord)}" />' for r in merged) + "</mergeCells>")

    class StampedZip(zipfile.ZipFile):
        """A zip being written whose entries all carry ``date_time``, deflated, with no file attributes."""

        def __init__(self, file, date_time):
            super().__init__(file, "w", zipfile.ZIP_DEFLATED)
            self.date_time = date_time

        def writestr(self, name, data, compress_type=None, compresslevel=None):
            info = zipfile.ZipInfo(getattr(name, "filename", name), date_time=self.date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            super().writestr(info, data)

        def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
            self.writestr(arcname or filename, Path(filename).read_bytes())

    class InMemorySheets(ExcelWriter):
        """openpyxl's workbook writer; its ``write_worksheet`` with an in-memory stream for the sheet."""

        sheet_writer = WorksheetWriter if LXML else FastRows  # with lxml, openpyxl's stream is lxml's own

        def write_worksheet(self, ws):
            if self.workbook.write_only:  # its sheets are already written, to their own files
                return super().write_worksheet(ws)
            ws._drawing = SpreadsheetDrawing()
            ws._drawing.charts = ws._charts
            ws._drawing.images = ws._images
            writer = self.sheet_writer(ws, out=io.BytesIO())
            writer.write()
            ws._rels = writer._rels
            self._archive.writestr(ws.path[1:], writer.read())
            self.manifest.append(ws)

    return StampedZip, InMemorySheets


def _cdata(text: str) -> str:
    """Text escaped as the standard library's XML writer escapes element text."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _attribute(text: str) -> str:
    """An attribute's value escaped as the standard library's XML writer escapes it."""
    text = _cdata(text)
    for plain, escaped in (('"', "&quot;"), ("\r", "&#13;"), ("\n", "&#10;"), ("\t", "&#09;")):
        if plain in text:
            text = text.replace(plain, escaped)
    return text
