"""Writing files safely: a reader never sees a half-written output, and the same content gives the same bytes."""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from datetime import datetime
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
    time: the core properties are rewritten with ``stamp`` as creation and modification time, and
    every entry is re-zipped, in openpyxl's (deterministic) order, with ``stamp`` as its time.
    """
    from openpyxl.xml.functions import tostring  # only where a workbook is saved

    buffer = io.BytesIO()
    wb.save(buffer)
    wb.properties.created = wb.properties.modified = stamp
    core = tostring(wb.properties.to_tree())
    date_time = max(stamp, EPOCH).timetuple()[:6]
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for entry in src.infolist():
            data = core if entry.filename == "docProps/core.xml" else src.read(entry)
            info = zipfile.ZipInfo(entry.filename, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            dst.writestr(info, data)
