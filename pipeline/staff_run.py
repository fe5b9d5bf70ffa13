"""Staff lists in ``rekap run``: recognised in ``raw/PERIOD/`` by content, checked, reconciled with the
recaps, and used for the city tables by the staff policy.

Policies (``rekap run --staff-policy``):

- ``reconcile`` (default): the recap is used; a recap cell that differs from the OPD's list is an
  error, so the recap is rejected until the two agree;
- ``recap-first``: the recap is used; a difference is a warning;
- ``list-first``: the counts come from the list wherever the OPD has a usable one; posts available
  (which no list can give) come from the OPD's recap; a difference is a warning.

Under ``recap-first`` and ``list-first`` an OPD with a usable list and no accepted recap is counted
from its list (its echelon table left out: posts available are unknown). A list is usable for an OPD when none of that
OPD's rows has an error. The lineage says per cell whether it came from a list or a recap.

Personal data: archived lists and the people file (``processed/staff/<sha256>.parquet``: row, NIP,
name and codes, for the OPD's own page) are written owner-only; findings hold masked NIPs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import text
from pipeline.catalog import Version
from pipeline.consolidate import Source
from pipeline.findings import Finding
from pipeline.specs import Opd, load_tables
from pipeline.values import Values, key_text, parse_key, refs

if TYPE_CHECKING:
    import polars as pl

# Reading, checking and counting lists (polars, pipeline.staff*) are imported where a list is at hand: a run
# without lists never loads them.

POLICIES = ("reconcile", "recap-first", "list-first")
DEFAULT_POLICY = "reconcile"
SNIFF_CHUNK = 16  # files asked per hand-over to a worker (a recap takes a few milliseconds)


@dataclass
class StaffInput:
    file: Path
    sha256: str
    rows: pl.DataFrame
    findings: list[Finding] = field(default_factory=list)
    derived: dict[str, Values] = field(default_factory=dict)  # OPD -> table -> key -> value
    people: str | None = None  # the people file, relative to processed/

    @property
    def opds(self) -> list[str]:
        return sorted(self.derived)

    def findings_for(self, opd: str | None) -> list[Finding]:
        """The findings on this OPD's rows, and those on the whole list."""
        return [f for f in self.findings if f.params.get("opd") in (opd, None)]

    def usable(self, opd: str) -> bool:
        return opd in self.derived and not any(f.severity == "error" for f in self.findings_for(opd))

    @property
    def status(self) -> str:
        return "rejected" if any(f.severity == "error" for f in self.findings) else "accepted"


def find_lists(paths, jobs: int | None = None) -> list[Path]:
    """The staff lists among ``paths`` (regular files), in their order: each file asked
    (:func:`is_staff_list`) on ``jobs`` processes (:func:`pipeline.pool.ordered_map`; ``None``: the
    command's ``--jobs``). A file whose asking kills its worker is not a list (the recap reader says why)."""
    paths = [Path(p) for p in paths]
    if not paths:
        return []
    from pipeline.pool import ordered_map
    from pipeline.staff import is_staff_list

    answers = ordered_map(is_staff_list, paths, jobs, chunk=SNIFF_CHUNK, on_crash=lambda _: False)
    return [p for p, is_list in zip(paths, answers) if is_list]


def check_list(path, period: str, registry: dict[str, Opd]) -> StaffInput:
    """Read, map, check and count one list (without the city-wide duplicate check)."""
    import polars as pl

    from pipeline.staff import map_rows, read_staff, row_findings
    from pipeline.staff_checks import check_rows
    from pipeline.staff_recap import derive
    from pipeline.versions import sha256_file

    path = Path(path)
    found = read_staff(path)
    out = StaffInput(path, sha256_file(path), found.rows, list(found.findings))
    if found.rows.height and not any(f.code == "STAFF_COLUMN_MISSING" for f in found.findings):
        mapped, findings = map_rows(found, registry)
        checked, more = check_rows(mapped, period, str(path), registry)
        derived, outside = derive(checked)
        out.rows, out.derived = checked, derived
        out.findings += findings + more
        for table in sorted({t for t, _, _ in outside}):
            rows = {r for t, r, _ in outside if t == table}
            out.findings += row_findings(checked.filter(pl.col("row").is_in(sorted(rows))), "STAFF_CELL_NONE",
                                         "staff:cells", path.name, lambda r, t=table: {"table": t})
    return out


def _check_safely(path, period: str, registry: dict[str, Opd]) -> StaffInput:
    """A fault while checking one list is a finding on it, never a stop for the others."""
    import polars as pl

    from pipeline.versions import sha256_file

    try:
        return check_list(path, period, registry)
    except Exception as err:  # a bug, not bad data: record it and go on
        out = StaffInput(Path(path), sha256_file(path), pl.DataFrame({"row": []}, schema={"row": pl.Int64}))
        out.findings.append(Finding("INTERNAL_ERROR", "internal", params={
            "file": Path(path).name, "detail": f"{type(err).__name__}: {err}"}))
        return out


def check_lists(paths, period: str, registry: dict[str, Opd],
                registry_of: dict[str, dict[str, Opd]] | None = None) -> list[StaffInput]:
    """Every list, then NIPs given twice within or across them (city-wide). ``registry_of``: the registry a
    list is matched against, by path (a list in an agency's folder: its agency's OPDs,
    :func:`pipeline.agencies.registries_by_file`); a list not in it: ``registry``."""
    registry_of = registry_of or {}
    lists = [_check_safely(p, period, registry_of.get(str(p), registry)) for p in paths]
    if not lists:
        return lists
    from pipeline.staff_checks import duplicate_findings

    dup = duplicate_findings([(str(s.file), s.rows) for s in lists if "nip" in s.rows.columns])
    for s in lists:
        s.findings += [f for f in dup if f.params.get("file") == s.file.name]
    return lists


def archive_lists(lists: list[StaffInput], processed: Path) -> None:
    """The archived copy and the people file of each list, owner-only."""
    folder = processed / "staff"
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    if lists:
        from pipeline.staff import copy_private, write_people
    for s in lists:
        archive = processed / "archive" / s.sha256[:2] / f"{s.sha256}{s.file.suffix.lower()}"
        if not archive.exists():
            copy_private(s.file, archive)
        if "nip" in s.rows.columns and "ok" in s.rows.columns:
            write_people(folder / f"{s.sha256}.parquet", s.rows)
            s.people = f"staff/{s.sha256}.parquet"


def reference_for(lists: list[StaffInput], opd: str | None) -> dict:
    """``{Ref: value}``: the counts an OPD's usable list gives, evidence for error localisation."""
    for s in lists:
        if opd and s.usable(opd):
            return refs(s.derived[opd])
    return {}


def evidence_tag(lists: list[StaffInput], opd: str | None) -> str:
    """The list a recap's localisation took as evidence, for the validation cache key ("" for none)."""
    for s in lists:
        if opd and s.usable(opd):
            return f"+staff:{s.sha256[:12]}"
    return ""


def _recap_values(version: Version) -> Values:
    return {t: {k: (float("nan") if v is None else v) for k, v in cells.items()} for t, cells in version.values.items()}


def _sources(archive: Path) -> dict:
    """(table, key) -> (sheet, A1) of an archived recap, read again for its cell addresses."""
    from pipeline.read import read_submission

    try:
        extract = read_submission(archive)
    except Exception:
        return {}
    return {(c.table, c.key): (c.sheet, c.address) for c in extract.cells if c.sheet}


def reconcile_inputs(lists: list[StaffInput], inputs, policy: str, processed: Path) -> dict[str, int]:
    """A finding on every recap cell that differs from the OPD's usable list (error under
    ``reconcile``, warning otherwise), added to the recap's run findings. Returns, for every OPD
    whose recap was compared with a list, the number of differing cells."""
    severity = "error" if policy == "reconcile" else "warning"
    compared: dict[str, int] = {}
    if not lists:
        return compared
    from pipeline.staff_recap import reconcile

    for i in inputs:
        for s in lists:
            if i.opd and s.usable(i.opd) and i.version.values:
                archive = processed / i.version.archive if i.version.archive else None
                sources = _sources(archive) if archive and archive.is_file() else {}
                found = reconcile(_recap_values(i.version), s.derived[i.opd], severity, sources)
                i.findings += found
                compared[i.opd] = compared.get(i.opd, 0) + len(found)
    return compared


def apply_policy(lists: list[StaffInput], chosen: dict[str, Version], inputs, policy: str,
                 period: str) -> dict[str, dict]:
    """Replace ``chosen`` versions by list-derived ones where the policy says so; returns the origins
    ``{OPD: {"list": file, "list_sha256", "recap_sha256" (or None), "recap_cells": [...]}}``."""
    tables = load_tables()
    origins: dict[str, dict] = {}
    if policy == "reconcile" or not lists:  # lists check the recaps; the recaps alone make the tables
        return origins
    from pipeline.staff_recap import from_list

    for s in lists:
        for opd in s.opds:
            if not s.usable(opd) or opd in origins:
                continue
            recap = chosen.get(opd)
            if recap is not None and policy != "list-first":
                continue
            values = {t: dict(cells) for t, cells in s.derived[opd].items()}
            kept = []
            if recap is not None:  # cells no list can give stay from the recap
                for t, cells in recap.values.items():
                    for k, v in cells.items():
                        if not from_list(tables[t], k):
                            values.setdefault(t, {})[k] = v
                            kept.append(f"{t}:{key_text(tables[t], k)}")
            else:
                values.pop("eselon", None)
            chosen[opd] = Version(s.sha256, period, opd, s.file.name, "staff", None, "", "", "accepted", "", [],
                                  values)
            origins[opd] = {"list": s.file.name, "list_sha256": s.sha256,
                            "recap_sha256": recap.sha256 if recap else None, "recap_cells": sorted(kept)}
            current = [i for i in inputs if i.opd == opd]
            for i in current:
                if recap is not None and i.version.sha256 == recap.sha256:
                    i.used = True
                i.findings.append(Finding("STAFF_SOURCE", "staff:policy", params={
                    "file": s.file.name, "opd": opd, "policy": policy, "detail": "recap" if recap else "no_recap"}))
            if recap is None:
                s.findings.append(Finding("STAFF_POSTS_MISSING", "staff:policy", "eselon", params={"opd": opd}))
    return origins


def sources(chosen: dict[str, Version], origins: dict[str, dict]) -> list[Source]:
    """What consolidation sums: per OPD its recap, or its list's cells and the recap's remaining cells (the
    versions' own values, shared, never changed: an unreadable cell counts 0 where it is summed or ruled on,
    :func:`pipeline.consolidate.consolidate`, :func:`pipeline.rules.scoped.value`)."""
    tables = load_tables()
    out = []
    if origins:
        from pipeline.staff_recap import from_list
    for opd, v in chosen.items():
        values = v.values
        origin = origins.get(opd)
        if origin is None:
            out.append(Source(opd, v.sha256, values))
            continue
        listed = {t: {k: x for k, x in cells.items() if from_list(tables[t], k)} for t, cells in values.items()}
        out.append(Source(opd, origin["list_sha256"], listed, kind="list"))
        if origin["recap_sha256"]:
            rest = {t: {k: x for k, x in cells.items() if not from_list(tables[t], k)} for t, cells in values.items()}
            out.append(Source(opd, origin["recap_sha256"], {t: c for t, c in rest.items() if c}, kind="recap"))
    return out


def private(path) -> bool:
    from pipeline.staff import PRIVATE

    return (os.stat(path).st_mode & 0o777) == PRIVATE


def staff_text(lists: list[StaffInput], lang: str = "id", fmt: str = "text") -> str:
    """What ``rekap staff check`` prints: each list's findings (NIPs masked) and the PNS & CPNS it counts
    per OPD; ``fmt="json"`` gives the same as data."""
    import json

    from pipeline.specs import staff_cell

    staff_table, staff_key = staff_cell()
    tables = load_tables()
    if fmt == "json":
        return json.dumps({"lists": [{
            "file": str(s.file), "status": s.status, "rows": s.rows.height,
            "opds": {o: {t: {key_text(tables[t], k): v for k, v in cells.items()} for t, cells in s.derived[o].items()}
                     for o in s.opds},
            "findings": [f.to_dict(lang) for f in s.findings]} for s in lists]}, ensure_ascii=False, indent=2)
    w = text.words("staff_run", lang)
    out = []
    for s in lists:
        status = w["rejected" if s.status == "rejected" else "accepted"]
        out.append(text.fill(w["list_line"], {"file": s.file, "rows": s.rows.height, "status": status}))
        for o in s.opds:
            total = s.derived[o].get(staff_table, {}).get(tables[staff_table].key(staff_key), 0)
            out.append("  " + text.fill(w["opd_line"], {"opd": o, "total": int(total)}))
        for f in s.findings:
            out.append(f"  [{f.severity}] {f.code}: {f.message(lang)}")
    return "\n".join(out)


def summary_lines(result, lang: str = "id") -> list[str]:
    """The run summary's lines on staff lists: each list, each reconciliation, the OPDs counted from a list."""
    if not getattr(result, "staff", None):
        return []
    w = text.words("staff_run", lang)
    lines = [text.fill(w["lists"], {"policy": result.staff_policy})]
    for s in result.staff:
        lines.append(f"  {s.file.name:<28} {w[s.status]} ({', '.join(s.opds) or '-'})")
    for opd, n in sorted(result.reconciled.items()):
        lines.append("  " + text.fill(w["differs"] if n else w["same"], {"opd": opd, "n": n}))
    if result.from_lists:
        lines.append("  " + text.fill(w["from_list"], {"opds": ", ".join(sorted(result.from_lists))}))
    return lines
