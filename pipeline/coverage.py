"""Coverage: which registry OPDs the city tables include, and what share of the staff that is.

Owns the coverage of a run (a row per OPD, and the summary), an OPD's headcount (its ``staff_cell``) and its
previous published version (what the period rules and error localisation compare with). The rows become a
frame (:func:`coverage_frame`) only where one is written: a run that publishes nothing never imports pandas.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

from pipeline import text

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ("period", "opd", "name", "status", "file", "sha256", "staff", "errors", "warnings")


def status_labels(lang: str = "id") -> dict[str, str]:
    """Each coverage status (accepted, accepted_with_warnings, older_version, rejected, withdrawn,
    not_submitted) in words, in the order the reports list them."""
    return text.words("coverage.status", lang)


def staff(values: dict) -> float:
    """The headcount (PNS & CPNS) of a version's values: its ``staff_cell`` (``schemas/rules.yaml``)."""
    from pipeline.specs import load_tables, staff_cell

    table, cell = staff_cell()
    spec = load_tables().get(table)
    if spec is None:  # a collection without the table that counts the staff (pipeline.workspace)
        return 0.0
    return float(values.get(table, {}).get(spec.key(cell)) or 0)


class Previous:
    """Each OPD's version published in the latest earlier period than ``period``, read with one query
    (:meth:`pipeline.catalog.Catalog.previous_published`) and kept compressed: what the period rules,
    error localisation (:class:`pipeline.validate.Evidence`) and the coverage estimate compare with."""

    def __init__(self, catalog, period: str):
        self.packed: dict[str, tuple[str, bytes]] = {}  # OPD -> (period, zlib of the stored values JSON)
        self.orders = dict(catalog.orders)  # what the stored values name (pipeline.values.decode): a plain dict
        for opd, earlier, _sha, stored in catalog.previous_published(period):
            self.packed[opd] = (earlier, zlib.compress(stored.encode()))  # a later period replaces an earlier

    def values(self, opd: str | None) -> tuple[str, dict] | None:
        """``(period, Values)`` of the OPD's previous published version, or None."""
        from pipeline.values import loads

        found = self.packed.get(opd) if opd else None
        return (found[0], loads(zlib.decompress(found[1]), self.orders)) if found else None

    def staff(self, opd: str) -> tuple[str, float] | None:
        """The OPD's headcount in the latest earlier period it was published in, with that period."""
        found = self.values(opd)
        return (found[0], staff(found[1])) if found else None


def coverage_rows(period: str, registry: dict, inputs: list, chosen: dict, previous: Previous,
                  withdrawn: set[str] = frozenset()) -> tuple[list[dict], dict]:
    """Each registry OPD's status in the run (a row of :data:`COLUMNS`; one pass over the inputs) and the
    summary; ``previous``: the earlier periods' published versions (what is missing, as last published)."""
    rows = []
    estimated_missing, unknown_size = 0.0, []
    currents = {i.opd: i for i in inputs if not i.superseded}  # the current file of each OPD (see run)
    for code, opd in registry.items():
        current = currents.get(code)
        version = chosen.get(code)
        if version is None:
            status = "rejected" if current else "withdrawn" if code in withdrawn else "not_submitted"
            estimate = previous.staff(code)  # what is missing, as last published
            if estimate is None:
                unknown_size.append(code)
            else:
                estimated_missing += estimate[1]
        elif current is None and version.kind == "staff":  # counted from a staff list alone (pipeline.staff_run)
            status = "accepted_with_warnings"
        elif current is not None and current.used:
            status = "accepted_with_warnings" if any(f.severity == "warning" for f in current.all_findings) \
                else "accepted"
        else:
            status = "older_version"
        counts = {s: sum(f.severity == s for f in current.all_findings) if current else 0 for s in ("error", "warning")}
        rows.append({"period": period, "opd": code, "name": opd.name, "status": status,
                     "file": current.name if current else "", "sha256": version.sha256 if version else "",
                     "staff": int(staff(version.values)) if version else None,
                     "errors": counts["error"], "warnings": counts["warning"]})
    for i in inputs:  # files that name no registry OPD are listed too, so nothing goes unseen
        if i.opd not in registry:
            rows.append({"period": period, "opd": i.opd or "?", "name": "", "status": "rejected",
                         "file": i.name, "sha256": "", "staff": None,
                         "errors": sum(f.severity == "error" for f in i.all_findings), "warnings": 0})
    used_staff = float(sum(staff(v.values) for v in chosen.values()))
    summary = {
        "opds_in_registry": len(registry),
        "opds_used": len(chosen),
        "staff_used": int(used_staff),
        "staff_missing_estimate": int(estimated_missing),
        # the share of staff is known only if every missing OPD has a headcount from an earlier period
        "staff_share": None if unknown_size or not used_staff else round(used_staff / (used_staff + estimated_missing), 4),
        "missing": sorted(c for c in registry if c not in chosen),
        "missing_without_estimate": sorted(unknown_size),
    }
    return rows, summary


def coverage_frame(rows: list[dict]) -> pd.DataFrame:
    """The coverage rows as a frame (``coverage.csv``, the SQL table), its columns those of the rows (an
    ``instansi`` after ``period`` once tagged with agencies, :func:`pipeline.agencies.tag_coverage`)."""
    import pandas as pd

    columns = list(rows[0]) if rows else list(COLUMNS)
    frame = pd.DataFrame(rows, columns=columns)
    frame["staff"] = frame["staff"].astype("Int64")
    return frame


def coverage_note(summary: dict, lang: str = "id", shown: int | None = None) -> str:
    """What the city tables cover: how many OPDs, about what share of the staff, who is missing (every
    one in the published note; the first ``shown`` of each list in a console's summary)."""
    w = text.words("coverage", lang)
    note = text.fill(w["covers"], {"n": summary["opds_used"], "total": summary["opds_in_registry"]})
    if summary["staff_share"] is not None and summary["missing"]:
        note += text.fill(w["share"], {"share": text.number(summary["staff_share"] * 100, lang, 1)})
    note += text.fill(w["missing"], {"missing": text.first(summary["missing"], shown, lang) or "-"})
    if summary["missing_without_estimate"]:
        note += text.fill(w["no_estimate"], {"opds": text.first(summary["missing_without_estimate"], shown, lang)})
    return note
