"""``rekap repair``: rebuild a damaged catalog from what is kept beside it, losing no version.

Everything the catalog knows can be found again:

* every version is archived under ``processed/archive/<sha[:2]>/<sha><suffix>`` with a small note,
  ``<sha>.<period>.note.json`` (period, file name, first seen), written when the version is first seen;
  a version archived before notes existed is found through the published manifests, which list every
  input with its hash;
* each published release's ``manifest.json`` and ``coverage.csv`` say which versions the city tables of
  a period use and what the coverage was.

Repair moves the damaged file aside (``catalog.sqlite.damaged-<time>``, never deleted), validates every
archived version again with the current code and rules (from a private copy under its own file name, so
the OPD and period it states are checked as before, against its agency's OPDs for a version of an
agency's folder), and records, for each period with a release, one run ``repair-<time>`` that stands
for the published release (its versions, coverage and fingerprint).
The run history before the damage is lost; the versions, the releases and the raw files are not.
Then the next ``rekap run`` works as before (and finds nothing changed if nothing did).
"""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from pipeline.files import atomic_write_text
from pipeline.text import note

NOTE = ".note.json"


def write_archive_note(archive: Path, sha: str, period: str, file: str, first_seen: str) -> None:
    """The note beside an archived version that lets :func:`repair` find its period again."""
    note = archive.with_name(f"{sha}.{period}{NOTE}")
    if not note.exists():
        atomic_write_text(note, json.dumps({"sha256": sha, "period": period, "file": file, "first_seen": first_seen,
                                            "archive": archive.name}, ensure_ascii=False, sort_keys=True) + "\n")


@dataclass
class Repaired:
    moved_to: Path | None
    versions: int = 0
    periods: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # versions named by a manifest with no archived copy


def _releases(processed: Path) -> dict[str, list[Path]]:
    """Every release folder's manifest, by period, oldest first; the current one last."""
    out: dict[str, list[Path]] = {}
    folders = sorted((processed / ".releases").glob("*/manifest.json"), key=lambda p: p.stat().st_mtime) \
        if (processed / ".releases").is_dir() else []
    for manifest in folders:
        if manifest.parent.name.endswith(".tmp"):
            continue
        try:
            period = json.loads(manifest.read_text(encoding="utf-8"))["period"]
        except (OSError, ValueError, KeyError):
            continue
        out.setdefault(period, []).append(manifest)
    for period, manifests in out.items():
        current = (processed / period / "manifest.json")
        if current.is_file():
            resolved = current.resolve()
            manifests.sort(key=lambda m: m.resolve() == resolved)  # the published one last
    return out


def repair(processed, registry=None, now: str | None = None) -> Repaired:
    """Rebuild ``processed/catalog.sqlite`` (see the module doc). Holds the run lock while it works."""
    from filelock import FileLock

    from pipeline.agencies import registry_of
    from pipeline.catalog import Catalog
    from pipeline.run import RunLocked, version_of
    from pipeline.specs import load_registry
    from pipeline.validate import validate_files

    processed = Path(processed)
    registry = registry or load_registry()
    now = now or datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    lock = FileLock(processed / ".rekap.lock")
    from filelock import Timeout
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise RunLocked(str(processed / ".rekap.lock")) from None
    try:
        path = processed / "catalog.sqlite"
        moved = None
        if path.exists():
            moved = path.with_name(f"catalog.sqlite.damaged-{stamp}")
            for suffix in ("", "-wal", "-shm"):
                old = Path(f"{path}{suffix}")
                if old.exists():
                    old.rename(Path(f"{moved}{suffix}"))
        result = Repaired(moved)
        found: dict[tuple[str, str], dict] = {}
        archive_root = processed / "archive"
        for note in sorted(archive_root.glob(f"*/*{NOTE}")) if archive_root.is_dir() else []:
            try:
                data = json.loads(note.read_text(encoding="utf-8"))
                found[(data["sha256"], data["period"])] = {**data, "archive": note.with_name(data["archive"])}
            except (OSError, ValueError, KeyError):
                continue
        releases = _releases(processed)
        for period, manifests in releases.items():
            for manifest in manifests:
                for item in json.loads(manifest.read_text(encoding="utf-8")).get("inputs", []):
                    key = (item["sha256"], period)
                    if key in found:
                        continue
                    copies = [p for p in (archive_root / item["sha256"][:2]).glob(f"{item['sha256']}*")
                              if not p.name.endswith(NOTE)]
                    if copies:
                        found[key] = {"file": item["file"], "first_seen": now, "archive": copies[0]}
                    elif not item["sha256"].startswith("unread-"):
                        result.missing.append(f"{period} {item['file']} {item['sha256'][:12]}")
        catalog = Catalog(path)
        try:
            for (sha, period), item in sorted(found.items(), key=lambda kv: (kv[1]["first_seen"], kv[0])):
                with tempfile.TemporaryDirectory() as tmp:
                    copy = Path(tmp) / period / Path(item["file"]).name
                    copy.parent.mkdir()
                    shutil.copyfile(item["archive"], copy)
                    checked = validate_files([copy], period, registry_of(registry, sha))[0]
                version = version_of(checked, sha, period, Path(item["file"]).name,
                                     Path(item["archive"]).relative_to(processed).as_posix(), item["first_seen"], now)
                catalog.save_version(version)
                result.versions += 1
            for period, manifests in sorted(releases.items()):
                _record_release(catalog, processed, period, manifests[-1], stamp, now)
                result.periods.append(period)
        finally:
            catalog.close()
        return result
    finally:
        lock.release()


def _count(text: str) -> int | None:
    """A count of ``coverage.csv`` (None where it is empty)."""
    try:
        return int(text)
    except ValueError:
        return None


def _record_release(catalog, processed: Path, period: str, manifest_path: Path, stamp: str, now: str) -> None:
    """One run standing for the published release of a period: its inputs, coverage and fingerprint."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    run_id = f"repair-{stamp}-{period}"
    catalog.start_run(run_id, period, now)
    catalog.record_inputs(run_id, period, [
        {"file": i["file"], "sha256": i["sha256"], "opd": i.get("opd"), "status": i["status"],
         "used": i.get("used", False), "findings": []} for i in manifest.get("inputs", [])])
    coverage = manifest_path.parent / "coverage.csv"
    if coverage.is_file():
        with open(coverage, newline="", encoding="utf-8") as f:
            rows = [{k: _count(v) if k in ("staff", "errors", "warnings") else v for k, v in row.items()}
                    for row in csv.DictReader(f)]
        catalog.record_coverage(run_id, period, rows, manifest.get("coverage", {}))
    catalog.end_run(run_id, ended=now, outcome="published", exit_code=0, files=len(manifest.get("inputs", [])),
                    published=1, fingerprint=manifest.get("fingerprint"), message=note("run.rebuilt"))
