"""Pick the reader for a submission by its content, not its name."""

from __future__ import annotations

import stat
from pathlib import Path

from pipeline.findings import Finding
from pipeline.submission import Extract

ZIP = b"PK\x03\x04"
CFB = bytes.fromhex("D0CF11E0A1B11AE1")
SKIP_PREFIXES = ("~$", ".")  # Excel's lock files and hidden files are not submissions
# What a submission in a folder may be; anything else there (a cover letter, a scan, notes) is not.
SUBMISSION_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".tsv")


def scan(folder) -> tuple[list[Path], list[Path]]:
    """The submissions in a folder and the other files there (ignored: pdf, docx, txt, images, ...),
    each in name order. Excel lock files and hidden files are neither. Only regular files: a symbolic
    link, a FIFO, a folder or a device is never followed nor read (:func:`skipped_entries` names them)."""
    folder = Path(folder)
    if not folder.is_dir():
        return [], []
    files = sorted(p for p in folder.iterdir() if _kind(p) is None and not p.name.startswith(SKIP_PREFIXES))
    return ([p for p in files if p.suffix.lower() in SUBMISSION_SUFFIXES],
            [p for p in files if p.suffix.lower() not in SUBMISSION_SUFFIXES])


def _kind(path: Path) -> str | None:
    """None for a regular file; else what the entry is (never following a link): ``symlink``, ``folder``,
    ``fifo`` or ``other`` (put in words by ``ENTRY_SKIPPED``'s texts)."""
    try:
        mode = path.lstat().st_mode
    except OSError:
        return "other"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISDIR(mode):
        return "folder"
    return "fifo" if stat.S_ISFIFO(mode) else "other"


def skipped_entries(folder) -> list[Finding]:
    """An ``ENTRY_SKIPPED`` note for each entry of ``folder`` that is not a regular file (hidden ones aside)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    out = []
    for p in sorted(folder.iterdir()):
        kind = _kind(p)
        if kind is not None and not p.name.startswith(SKIP_PREFIXES):
            out.append(Finding("ENTRY_SKIPPED", "file:discover", params={"name": p.name, "kind": kind}))
    return out


def read_submission(path) -> Extract:
    path = Path(path)
    if not path.is_file():
        ex = Extract(file=str(path), kind="unknown")
        ex.findings.append(Finding("FILE_NOT_FOUND", "file:read", params={"file": str(path)}))
        return ex
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(ZIP) or head.startswith(CFB) or path.suffix.lower() in (".xlsx", ".xlsm", ".xls", ".ods"):
        from pipeline.read_xlsx import read_xlsx
        return read_xlsx(path)
    from pipeline.read_csv import read_csv
    if path.suffix.lower() in (".csv", ".txt", ".tsv") or not head:
        return read_csv(path)
    ex = Extract(file=str(path), kind="unknown")
    ex.findings.append(Finding("FILE_UNSUPPORTED", "file:read", params={"file": path.name}))
    return ex
