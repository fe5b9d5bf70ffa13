"""Benchmark: the dashboard of a national registry, one page of every OPD or a page per agency (prints JSON).

A registry of agencies lists its agencies on the dashboard and each agency's OPDs on the agency's own page
(``reports/PERIOD/instansi/<INSTANSI>.html``), written again only when its fingerprint changed. The baseline,
measured in the same run, is the one page of every OPD that the same data makes without agencies (how a
national dashboard was written before). A synthetic report of ``--opds`` OPDs in agencies of ``--per-agency``
is made in memory (statuses, findings, staff; no workspace), then, best of ``--repeat``, CPU seconds of this
process for:

* the baseline: the one page of every OPD, rendered (every run wrote it);
* a run with nothing changed: the dashboard of the agencies, and every agency page's fingerprint;
* a run from scratch: that, and every agency's page rendered.

    .venv/bin/python bench/dashboard.py [--opds 20000] [--per-agency 34] [--repeat 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

STATUSES = ("accepted", "accepted", "accepted", "accepted_with_warnings", "rejected", "not_submitted")


def report_of(n: int, per_agency: int):
    """A period's report of ``n`` OPDs, ``per_agency`` to an agency, with the coverage and release a run gives."""
    from pipeline.findings import Finding
    from pipeline.report_data import OpdReport, PeriodReport

    opds = []
    for i in range(n):
        agency, status = f"K{i // per_agency:04d}", STATUSES[i % len(STATUSES)]
        findings = [Finding("SUM_MISMATCH", "sum", params={"table": "golongan"})] * (2 if status == "rejected" else 0)
        opds.append(OpdReport(f"{agency}.OPD{i % per_agency:02d}", f"Dinas {i % per_agency}", status,
                              None if status == "not_submitted" else f"{agency}/OPD{i % per_agency:02d}.xlsx",
                              findings=findings, staff=100 + i % 900, instansi=agency))
    agencies = sorted({o.instansi for o in opds})
    parts = {a: {"opds_used": per_agency - 2, "opds_in_registry": per_agency, "staff_used": 30_000, "staff_share": None,
                 "missing": [f"{a}.OPD04", f"{a}.OPD05"], "missing_without_estimate": [], "staff_missing_estimate": 0}
             for a in agencies}
    summary = {"opds_used": n - 2 * len(agencies), "opds_in_registry": n, "staff_used": 30_000 * len(agencies),
               "staff_share": None, "missing": [m for p in parts.values() for m in p["missing"]],
               "missing_without_estimate": [], "staff_missing_estimate": 0, "agencies": parts}
    release = {"status": "sementara", "included": summary["opds_used"], "required": n, "needed": n,
               "missing": summary["missing"], "reason": None, "finalised_by": None, "finalised_at": None,
               "agencies": {a: {"status": "sementara", "included": per_agency - 2, "required": per_agency,
                                "needed": per_agency, "missing": parts[a]["missing"], "reason": None,
                                "finalised_by": None, "finalised_at": None} for a in agencies}}
    return PeriodReport("2099", "run", opds, summary, None, [], None, release=release)


def best(repeat: int, work) -> float:
    spent = []
    for _ in range(repeat):
        start = time.process_time()
        work()
        spent.append(time.process_time() - start)
    return min(spent)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--opds", type=int, default=20_000)
    parser.add_argument("--per-agency", type=int, default=34)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from pipeline.pages import agency_context, agency_html, agency_made_of, by_agency, dashboard_html
    from pipeline.report import fingerprint

    report = report_of(args.opds, args.per_agency)
    city = dataclasses.replace(report, opds=[dataclasses.replace(o, instansi="") for o in report.opds],
                               coverage={k: v for k, v in report.coverage.items() if k != "agencies"})
    linked = {o.code for o in report.opds}
    groups = {code: opds for code, opds in by_agency(report).items() if code}
    sizes = {}

    def one_page():
        sizes["one_page"] = len(dashboard_html(city, "id", pages=linked, workbooks=linked).encode())

    def nothing_changed():
        sizes["dashboard"] = len(dashboard_html(report, "id", pages=linked, workbooks=linked,
                                                agency_pages=set(groups)).encode())
        for code, opds in groups.items():
            fingerprint(agency_made_of(report, code, opds, linked, linked), "id", "versions")

    def from_scratch():
        nothing_changed()
        sizes["agency_pages"] = sum(len(agency_html(agency_context(report, code, opds, "id", linked, linked)).encode())
                                    for code, opds in groups.items())

    spent = {"one_page": best(args.repeat, one_page), "nothing_changed": best(args.repeat, nothing_changed),
             "from_scratch": best(args.repeat, from_scratch)}
    print(json.dumps({
        "opds": args.opds, "agencies": len(groups),
        "baseline": "the one page of every OPD (the dashboard without agencies)",
        "cpu_s": {k: round(v, 3) for k, v in spent.items()},
        "ratio_nothing_changed_to_one_page": round(spent["nothing_changed"] / spent["one_page"], 2),
        "ratio_from_scratch_to_one_page": round(spent["from_scratch"] / spent["one_page"], 2),
        "bytes": sizes,
        "spread_note": f"best of {args.repeat}, CPU of this process",
    }, indent=2))


if __name__ == "__main__":
    main()
