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
    is, but each worksheet is serialised in memory rather than through a temporary file of its own.
    """
    wb.properties.created = wb.properties.modified = stamp
    stamped, in_memory = _writers()
    with stamped(path, max(stamp, EPOCH).timetuple()[:6]) as archive:
        in_memory(wb, archive).save()


@cache
def _writers():
    """(zip file, workbook writer) classes for :func:`save_workbook`; openpyxl is imported only here."""
    from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
    from openpyxl.worksheet._writer import WorksheetWriter
    from openpyxl.writer.excel import ExcelWriter

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

        def write_worksheet(self, ws):
            if self.workbook.write_only:  # its sheets are already written, to their own files
                return super().write_worksheet(ws)
            ws._drawing = SpreadsheetDrawing()
            ws._drawing.charts = ws._charts
            ws._drawing.images = ws._images
            writer = WorksheetWriter(ws, out=io.BytesIO())
            writer.write()
            ws._rels = writer._rels
            self._archive.writestr(ws.path[1:], writer.read())
            self.manifest.append(ws)

    return StampedZip, InMemorySheets
