"""``rekap status``: every registry OPD as the last run saw it, the release, and the last runs.

The statuses are the run's own (coverage: accepted, accepted with warnings, using an older accepted
version, rejected, not submitted), so status and dashboard agree. A run still marked running whose
process is gone (nobody holds the run lock) is shown as stopped (*terhenti*), as the next run will
record it.

A registry of agencies (a province, the national agency: thousands of OPDs) is shown a line per agency:
how many of its OPDs are in each status, and its own release's status. Its OPDs are listed for the
agencies asked for (``agencies``, ``rekap status --instansi``).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from filelock import FileLock, Timeout

from pipeline import text
from pipeline.catalog import Catalog
from pipeline.coverage import status_labels
from pipeline.publish import current_manifest
from pipeline.release import agencies_line, release_text
from pipeline.specs import agencies as agencies_of, load_registry


class UnknownAgency(ValueError):
    """``rekap status --instansi`` named an agency the registry does not have (or it has none)."""

    def __init__(self, asked: str, known: list[str]):
        super().__init__(asked)
        self.asked, self.known = asked, known


def run_alive(processed: Path) -> bool:
    """Whether a run holds the lock now (a run killed with its process releases it)."""
    lock = FileLock(Path(processed) / ".rekap.lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release()
    return False


def check_agencies(asked: tuple[str, ...], names: list[str]) -> None:
    """Raises :class:`UnknownAgency` for the first of ``asked`` that is not an agency of ``names``."""
    for agency in asked:
        if agency not in names:
            raise UnknownAgency(agency, names)


def status_text(processed, period: str, lang: str = "id", agencies: tuple[str, ...] = ()) -> str:
    """The status of ``period``: each OPD's (a registry of agencies: each agency's, and the OPDs of
    ``agencies``), the release and the last runs. Raises :class:`UnknownAgency` for an agency of
    ``agencies`` the registry does not have."""
    w = text.words("status", lang)
    labels = status_labels(lang)
    processed = Path(processed)
    registry = load_registry()
    names = agencies_of(registry)
    check_agencies(agencies, names)
    catalog = Catalog(processed / "catalog.sqlite")
    try:
        last = catalog.last_coverage(period)
        runs = catalog.runs(period, limit=5)
        manifest = current_manifest(processed, period)
        release = (manifest or {}).get("release")
        lines = []
        if last is None:
            lines.append(w["none"])
        elif names and not agencies:
            rows, _summary, run_id = last
            lines.append(text.fill(w["head_agencies"], {"period": period, "run": run_id}))
            lines += _agency_lines(rows, registry, names, release, labels, w, lang)
            lines.append(w["one_agency"])
        else:
            rows, _summary, run_id = last
            if agencies:
                rows = [r for r in rows if _agency(r, registry) in agencies]
                lines.append(text.fill(w["head_agency"], {"period": period, "run": run_id,
                                                           "agencies": ", ".join(agencies)}))
            else:
                lines.append(text.fill(w["head"], {"period": period, "run": run_id}))
            lines += [_opd_line(row, registry, labels, w) for row in rows]
        if manifest is not None:
            lines.append(text.fill(w["release"], {"release": release_text(release, lang)})
                         + agencies_line(release, lang))
            for asked in agencies:
                own = ((release or {}).get("agencies") or {}).get(asked)
                if own:
                    lines.append(text.fill(w["agency_release"], {"agency": asked, "release": release_text(own, lang)}))
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


def _agency(row: dict, registry) -> str:
    """The agency of a coverage row: the run's tag (an unknown OPD's file: its agency's folder), else the
    registry's."""
    opd = registry.get(row["opd"])
    return row.get("instansi") or (opd.instansi if opd else "")


def _opd_line(row: dict, registry, labels: dict, w: dict) -> str:
    label = labels.get(row["status"], row["status"])
    if row["opd"] not in registry:
        label += f" ({w['unregistered']})"
    version = (row["sha256"] or "")[:12] or "-"
    return f"  {row['opd']:<20} {label:<34} E{row['errors']} W{row['warnings']}  {version:<12}  {row['file'] or '-'}"


def _agency_lines(rows: list[dict], registry, names: list[str], release: dict | None, labels: dict, w: dict,
                  lang: str) -> list[str]:
    """A line per agency of the registry, in its order: its OPDs, how many are in each status (files naming
    no OPD of the registry counted apart) and its own release's status; then, each on its own line, the
    files that belong to no agency (directly in ``raw/PERIOD/``, naming no OPD id of the registry)."""
    counts = {name: Counter() for name in names}
    strays = []
    for row in rows:
        agency = _agency(row, registry)
        if agency not in counts:
            strays.append(row)
        else:
            counts[agency]["unregistered" if row["opd"] not in registry else row["status"]] += 1
    own = (release or {}).get("agencies") or {}
    statuses = text.words("release.status", lang)
    sizes = Counter(o.instansi for o in registry.values())
    width = max(len(n) for n in names)
    lines = []
    for name in names:
        found = counts[name]
        parts = [f"{found[s]} {label}" for s, label in labels.items() if found[s]]
        if found["unregistered"]:
            parts.append(f"{found['unregistered']} {w['unregistered']}")
        state = statuses.get((own.get(name) or {}).get("status"), "-")
        lines.append(f"  {name:<{width}}  {text.fill(w['opds'], {'n': sizes[name]})}: {', '.join(parts) or '-'}  "
                     f"[{text.fill(w['agency_state'], {'status': state})}]")
    return lines + [_opd_line(row, registry, labels, w) for row in strays]
