"""``rekap status``: every registry OPD as the last run saw it, the release, and the last runs.

The statuses are the run's own (coverage: accepted, accepted with warnings, using an older accepted
version, rejected, not submitted), so status and dashboard agree. A run still marked running whose
process is gone (nobody holds the run lock) is shown as stopped (*terhenti*), as the next run will
record it.
"""

from __future__ import annotations

from pathlib import Path

from filelock import FileLock, Timeout

from pipeline import text
from pipeline.catalog import Catalog
from pipeline.coverage import status_labels
from pipeline.publish import current_manifest
from pipeline.release import agencies_line, release_text
from pipeline.specs import load_registry

def run_alive(processed: Path) -> bool:
    """Whether a run holds the lock now (a run killed with its process releases it)."""
    lock = FileLock(Path(processed) / ".rekap.lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release()
    return False


def status_text(processed, period: str, lang: str = "id") -> str:
    w = text.words("status", lang)
    labels = status_labels(lang)
    processed = Path(processed)
    catalog = Catalog(processed / "catalog.sqlite")
    try:
        last = catalog.last_coverage(period)
        runs = catalog.runs(period, limit=5)
        lines, registry = [], load_registry()
        if last is None:
            lines.append(w["none"])
        else:
            rows, _summary, run_id = last
            lines.append(text.fill(w["head"], {"period": period, "run": run_id}))
            for row in rows:
                label = labels.get(row["status"], row["status"])
                if row["opd"] not in registry:
                    label += f" ({w['unregistered']})"
                version = (row["sha256"] or "")[:12] or "-"
                lines.append(f"  {row['opd']:<20} {label:<34} E{row['errors']} W{row['warnings']}  "
                             f"{version:<12}  {row['file'] or '-'}")
        manifest = current_manifest(processed, period)
        if manifest is not None:
            lines.append(text.fill(w["release"], {"release": release_text(manifest.get("release"), lang)})
                         + agencies_line(manifest.get("release"), lang))
        lines.append(w["runs"])
        alive = run_alive(processed)
        for r in runs:
            outcome = r["outcome"]
            if outcome == "running" and not alive:
                outcome = "stopped"
            lines.append(f"  {r['id']}  {r['started'][:19]}  {w['outcome'].get(outcome, outcome):<26} "
                         f"exit={r['exit_code'] if r['exit_code'] is not None else '-'} "
                         + text.fill(w["cols"], {"files": r["files"], "validated": r["validated"], "rejected": r["rejected"]}))
        return "\n".join(lines)
    finally:
        catalog.close()
