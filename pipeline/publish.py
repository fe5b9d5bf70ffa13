"""Publishing: a period's outputs are written into a new release folder, then swapped in at once.

``processed/PERIOD`` is a symbolic link to ``processed/.releases/PERIOD-<run id>``. A run writes a
complete release beside the current one and replaces the link with one atomic rename, so a reader
(or a crash) sees either the old outputs or the new ones, never a mix. The previous release is kept
for one more run, older ones are removed. A release folder is never changed once written, so a new
release may hard-link an unchanged part of the current one (:func:`link_release`).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.values import Values, long_cells
from pipeline.files import atomic_write, atomic_write_text
from pipeline.safe import neutral_frame
from pipeline.specs import load_tables

if TYPE_CHECKING:  # pandas is imported where a frame is made, not by a run that publishes nothing
    import pandas as pd

RELEASES = ".releases"
_RELEASE = re.compile(r"(\d{8}T\d{6}Z-[0-9a-f]{6}|legacy)(\.tmp)?")  # after "PERIOD-": a run's id, or legacy


def release_dir(processed: Path, period: str, run_id: str) -> Path:
    return processed / RELEASES / f"{period}-{run_id}"


def current_manifest(processed: Path, period: str) -> dict | None:
    return read_manifest(processed / period)


def read_manifest(folder: Path) -> dict | None:
    """The manifest of a release folder, or None when there is none (or it cannot be read)."""
    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def integer_values(frame: pd.DataFrame, column: str = "value") -> pd.DataFrame:
    """``frame`` with ``column`` as whole numbers (``Int64``): counts read ``16``, not ``16.0``, in a CSV
    or SQL table. Only for columns of counts (the publish gate has checked they are whole)."""
    return frame.assign(**{column: frame[column].round().astype("Int64")})


def published_cells(cells: pd.DataFrame) -> pd.DataFrame:
    """The long cell table as published (CSV, SQL): counts in ``value`` as whole numbers, the
    percentages in ``pct`` (empty ``value``); ``long_cells`` keeps one float column for the parquet."""
    return integer_values(cells.assign(value=cells["value"].where(~cells["percent"]),
                                       pct=cells["value"].where(cells["percent"]).astype("Float64")))


def parquet_bytes(cells: pd.DataFrame) -> bytes:
    """The long cell table as ``cells.parquet`` holds it: the same tables, the same bytes (the profile's
    fingerprint hashes them, :func:`pipeline.report.build_reports`)."""
    buffer = io.BytesIO()
    cells.to_parquet(buffer, index=False)
    return buffer.getvalue()


def write_release(folder: Path, period: str, city: Values, lineage: pd.DataFrame, coverage: pd.DataFrame,
                  coverage_note: str, manifest: dict, lang: str = "id", book_csv: str = "excel-id") -> list[str]:
    """Every output of a period into ``folder`` (which must not exist yet); returns the file names.

    ``book_csv``: the dialect of the book-layout tables (``tables/*.csv``), see :mod:`pipeline.book`."""
    from pipeline.book import write_book_csv, write_book_xlsx

    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "tables").mkdir(parents=True)
    cells = long_cells(city, period)
    (tmp / "cells.parquet").write_bytes(parquet_bytes(cells))
    _csv(published_cells(cells), tmp / "cells.csv")
    _lineage_csv(integer_values(lineage), tmp / "lineage.csv")
    _csv(coverage, tmp / "coverage.csv")
    for spec in load_tables().values():
        write_book_csv(tmp / "tables" / f"{spec.number}-{spec.id}.csv", spec, city[spec.id], lang, dialect=book_csv)
    write_book_xlsx(tmp / f"profil-kepegawaian-{period}.xlsx", city, period, coverage_note, lang,
                    release=manifest.get("release"))
    return _finish(tmp, folder, manifest)


def link_release(folder: Path, previous: Path, manifest: dict) -> list[str] | None:
    """The release ``previous`` again as ``folder`` (which must not exist yet) when its manifest has the
    fingerprint of ``manifest``: its files hard-linked (copied where the file system cannot link), its
    manifest replaced by ``manifest``; returns the file names, or None (nothing done) when the fingerprint
    differs or a file of it is missing. Release folders are never changed once written, so a link is safe."""
    old = read_manifest(previous)
    if not old or not manifest.get("fingerprint") or old.get("fingerprint") != manifest["fingerprint"]:
        return None
    names = [name for name in old["outputs"] if name != "manifest.json"]
    if not all((previous / name).is_file() for name in names):
        return None
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for name in names:
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(previous / name, tmp / name)
        except OSError:  # a file system without hard links
            shutil.copy2(previous / name, tmp / name)
    return _finish(tmp, folder, manifest)


def _finish(tmp: Path, folder: Path, manifest: dict) -> list[str]:
    """The manifest (listing every file) written into ``tmp``, all of it synced and renamed to ``folder``."""
    names = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file())
    manifest = {**manifest, "outputs": names + ["manifest.json"]}
    atomic_write_text(tmp / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
    _fsync_tree(tmp)
    os.replace(tmp, folder)
    return manifest["outputs"]


def _csv(frame: pd.DataFrame, path: Path) -> None:
    """A CSV whose text is neutral: a file name or a code can never arrive as a formula."""
    frame = neutral_frame(frame)
    atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False, lineterminator="\n"))


def _lineage_csv(frame: pd.DataFrame, path: Path) -> None:
    """:func:`_csv` of a lineage (a row per contribution: texts as categories, whole numbers), the same
    bytes in a tenth of the time (Arrow's CSV writer: 0.2 against 2.2 s of CPU for 700,000 rows).

    Arrow is asked to quote nothing, which is what pandas writes where no text holds a comma, a quote or
    a line break; a text that does makes Arrow refuse, and :func:`_csv` writes the file instead."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    frame = neutral_frame(frame)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write((",".join(frame.columns) + "\n").encode())  # the columns' names need no quotes
            pacsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), f,
                            pacsv.WriteOptions(include_header=False, quoting_style="none"))

    try:
        atomic_write(path, write)
    except pa.ArrowInvalid:  # a text that must be quoted
        _csv(frame, path)


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())


def swap_in(processed: Path, period: str, release: Path) -> None:
    """Point ``processed/PERIOD`` at ``release`` in one atomic rename, then prune old releases."""
    link = processed / period
    replaced = link.resolve() if link.is_symlink() else None
    if link.exists() and not link.is_symlink():  # outputs from before releases: keep them as a release
        replaced = release_dir(processed, period, "legacy")
        os.replace(link, replaced)
    tmp_link = processed / f".{period}.link"
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    tmp_link.symlink_to(release.relative_to(processed), target_is_directory=True)
    os.replace(tmp_link, link)
    prune(processed, period, replaced)


def prune(processed: Path, period: str, replaced: Path | None = None) -> None:
    """Remove every release folder of a period but the current one and ``replaced``, the one it replaced:
    unfinished ones, older ones, and one a killed run wrote but never swapped in (it is not kept in place
    of the release the officer saw last). Another period's folders are never touched (``2022-12-...`` is
    not one of ``2022``'s)."""
    root = processed / RELEASES
    if not root.is_dir():
        return
    link = processed / period
    kept = {link.resolve() if link.is_symlink() else None, replaced.resolve() if replaced is not None else None}
    for p in sorted(root.iterdir()):
        mine = p.name.startswith(f"{period}-") and _RELEASE.fullmatch(p.name[len(period) + 1:])
        if mine and (p.name.endswith(".tmp") or p.resolve() not in kept):
            shutil.rmtree(p, ignore_errors=True)
