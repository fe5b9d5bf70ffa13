"""What the reports show, gathered from the catalog and the published release (nothing re-validated).

``load_period(processed, period)`` gives a :class:`PeriodReport`: every registry OPD with its status,
its latest submission (file, version, archived copy) and every finding on it (the validation's and
the run's), the coverage of the city tables, the published city tables and the recent runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipeline.catalog import opened
from pipeline.values import Values, from_long_cells
from pipeline.findings import Finding
from pipeline.publish import current_manifest
from pipeline.specs import load_registry

FILE_SUFFIX = "-umpan-balik.xlsx"  # an OPD's marked workbook (pipeline.feedback_workbook), beside its page


def feedback_path(reports, period: str, opd_code: str) -> Path:
    """``reports/PERIOD/opd/<OPD>-umpan-balik.xlsx``: where an OPD's marked workbook is written."""
    return Path(reports) / str(period) / "opd" / f"{opd_code}{FILE_SUFFIX}"


@dataclass
class OpdReport:
    code: str
    name: str
    status: str  # accepted, accepted_with_warnings, older_version, rejected, not_submitted (coverage.status_labels)
    file: str | None = None  # the latest submitted file, as named in raw/PERIOD/
    sha256: str | None = None  # its version
    kind: str | None = None  # "xlsx", "xls", "ods" or "csv" (or "unknown" for an unreadable file)
    archive: Path | None = None  # the archived copy of exactly that version
    findings: list[Finding] = field(default_factory=list)  # of the latest submission: validation + run
    used_sha256: str | None = None  # the version in the city tables (may be an older accepted one)
    staff: int | None = None
    values: Values = field(default_factory=dict)  # the latest submission's cells as read (None: unreadable)
    staff_lists: object | None = None  # pipeline.staff_report.StaffView: staff lists holding this OPD's rows
    instansi: str = ""  # its agency (a registry of agencies; a file naming no OPD: its agency's folder), else ""

    @property
    def counts(self) -> dict[str, int]:
        return {s: sum(f.severity == s for f in self.findings) for s in ("error", "warning", "info")}


@dataclass
class PeriodReport:
    period: str
    run_id: str | None
    opds: list[OpdReport]  # registry order, then files naming no registry OPD
    coverage: dict  # the summary: opds_used, opds_in_registry, staff_used, staff_share, missing, ...
    city: Values | None  # the published city tables (None before the first publication, or left out)
    runs: list[dict]  # the latest runs of the period, newest first
    published: Path | None  # processed/PERIOD, when published
    release: dict | None = None  # the published release's status (pipeline.release), from its manifest
    # the coverage summary the published tables were made with (its manifest's; ``coverage`` is the latest
    # run's, which may have published nothing: its gate failed): what the profile says of its tables
    published_coverage: dict | None = None
    ignored: list[str] = field(default_factory=list)  # files of raw/PERIOD/ the last run did not take
    gate: dict | None = None  # the latest publish gate result (catalog.last_gate)
    notes: list[Finding] = field(default_factory=list)  # the run's notes on no OPD (skipped folder entries)
    fingerprint: str | None = None  # of the published release: what the reports were made from


def load_period(processed, period: str, registry=None, values: bool = True, catalog=None,
                city: bool = True) -> PeriodReport:
    """``values=False``: the OPDs' cell values are left out (the reports read them, a few OPDs at a time,
    for the reports that are written: :func:`pipeline.report._with_values`). ``city=False``: the published
    tables are left out too (``city`` None, ``published`` set: :func:`read_city` reads them where a report
    that shows them is written). ``catalog``: the one open already (a run's), else
    ``processed/catalog.sqlite`` is opened for the call."""
    processed = Path(processed)
    registry = registry or load_registry()
    with opened(processed, catalog) as catalog:
        last = catalog.last_coverage(period)
        runs = catalog.runs(period, limit=10)
        # the latest run's: a run writes its reports before it is recorded as ended
        ignored = catalog.ignored(runs[0]["id"]) if runs else []
        gate = catalog.last_gate(period)
        if last is None:
            return PeriodReport(period, None, [OpdReport(c, o.name, "not_submitted", instansi=o.instansi)
                                               for c, o in registry.items()],
                                {}, None, runs, None, ignored=ignored, gate=gate)
        rows, summary, run_id = last
        inputs = {i["file"]: i for i in catalog.run_inputs(run_id)}
        notes = catalog.run_notes(run_id)
        on_opd = {}
        for note in notes:
            if note.params.get("opd") in registry:
                on_opd.setdefault(note.params["opd"], []).append(note)
        versions = catalog.known(sorted({i["sha256"] for i in inputs.values()}), period, values=values)
        opds = []
        for row in rows:
            name = row["name"] or (registry[row["opd"]].name if row["opd"] in registry else "")
            report = OpdReport(row["opd"], name, row["status"], row["file"] or None,
                               used_sha256=row["sha256"] or None, staff=row["staff"],
                               instansi=row.get("instansi") or (registry[row["opd"]].instansi
                                                                 if row["opd"] in registry else ""))
            run_input = inputs.get(row["file"]) if row["file"] else None
            version = versions.get(run_input["sha256"]) if run_input is not None else None
            if version is not None:  # (a file unreadable in the run has no catalog version)
                report.sha256, report.kind = version.sha256, version.kind
                report.archive = processed / version.archive if version.archive else None
                report.findings = version.findings + run_input["findings"]
                report.values = version.values
            report.findings = report.findings + on_opd.get(row["opd"], [])
            opds.append(report)
        # staff lists: their part of each OPD's own feedback (personal data: the OPD's own page only)
        staff_records = catalog.run_staff(run_id)
        if staff_records:  # (polars is imported only then)
            from pipeline.staff_report import staff_view

            for report in opds:
                report.staff_lists = staff_view(processed, staff_records, report.code, report.findings)
    published = processed / period
    if not (published / "cells.parquet").exists():
        published = None
    manifest = current_manifest(processed, period) if published is not None else None
    tables = read_city(published / "cells.parquet") if published is not None and city else None
    return PeriodReport(period, run_id, opds, summary, tables, runs, published,
                        release=(manifest or {}).get("release"),
                        published_coverage=(manifest or {}).get("coverage", summary), ignored=ignored, gate=gate,
                        notes=[n for n in notes if n.params.get("opd") not in registry],
                        fingerprint=(manifest or {}).get("fingerprint"))


def read_city(path) -> Values:
    """The published city tables (``cells.parquet``, by path or as an open binary file)."""
    import pandas as pd

    return from_long_cells(pd.read_parquet(path))
