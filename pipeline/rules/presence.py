"""Was anything filled in? A table left entirely blank, and a submission that counts no staff at all.

A blank cell reads as 0, so an untouched template satisfies every sum; these two rules say what a
person sees at once: nothing was filled in.
"""

from __future__ import annotations

from pipeline.findings import Finding
from pipeline.rules.linear import Ref
from pipeline.specs import TableSpec, staff_cell


def presence_findings(filled: set[str], values: dict[Ref, float], present: set[str],
                      tables: dict[str, TableSpec]) -> list[Finding]:
    """``filled``: the tables with a cell not left blank (:attr:`pipeline.stage.Staged.filled`)."""
    findings = []
    for table in sorted(present, key=lambda t: tables[t].number):
        if table not in filled:
            findings.append(Finding("TABLE_EMPTY", "presence:table", table))
    table, cell = staff_cell()  # the cell that counts every PNS & CPNS (schemas/rules.yaml)
    if table in present:
        staff = values.get(Ref(table, tables[table].key(cell)))
        if staff == 0:
            findings.append(Finding("NO_STAFF", "presence:staff", table, cell, actual=0))
    return findings
