"""Percent columns: each printed share equals its count over the total, and the column adds up to 100.

The tolerance is the printed rounding: half a unit of the last decimal (0.005 for 2 decimals) plus
float noise for one share, and n times that for the sum of n shares.
"""

from __future__ import annotations

import math

from pipeline.complete import share_terms
from pipeline.findings import Finding
from pipeline.rules.linear import EPS, Ref
from pipeline.specs import TableSpec


def half_unit(spec: TableSpec) -> float:
    return 0.5 * 10 ** -int(spec.percent.get("decimals", 2))


def percent_findings(spec: TableSpec, values: dict[Ref, float]) -> tuple[list[Finding], list[str]]:
    """Findings of the percent rules of one table, and the names of rules that could not be evaluated."""
    if not spec.percent:
        return [], []
    findings, not_evaluable = [], []
    tol = half_unit(spec) + EPS
    decimals = int(spec.percent.get("decimals", 2))

    def val(key):
        v = values.get(Ref(spec.id, key))
        return None if v is None or math.isnan(v) else v

    leaf_shares = []
    for key in spec.cells:
        if not spec.is_percent(key):
            continue
        part, whole = share_terms(spec, key)
        printed = val(key)
        counts = [val(k) for k in part + whole]
        if printed is None or any(c is None for c in counts):
            not_evaluable.append(f"{spec.id}:percent_share")
            continue
        num = sum(val(k) for k in part)
        den = sum(val(k) for k in whole)
        exact = 100.0 * num / den if den else 0.0
        if is_part_share(spec, key):
            leaf_shares.append(printed)
        if abs(printed - exact) > tol:
            findings.append(Finding(
                "PCT_SHARE", f"{spec.id}:percent_share", spec.id, spec.key_dict(key),
                expected=round(exact, decimals), actual=printed, params={"count": num, "total": den}))
    if leaf_shares and len(leaf_shares) == sum(is_part_share(spec, k) for k in spec.cells if spec.is_percent(k)):
        total = sum(leaf_shares)
        n_tol = len(leaf_shares) * half_unit(spec) + EPS
        if den and abs(total - 100.0) > n_tol:
            findings.append(Finding(
                "PCT_TOTAL", f"{spec.id}:percent_total", spec.id, None, expected=100.0,
                actual=round(total, decimals + 2),
                params={"tolerance": round(len(leaf_shares) * half_unit(spec), decimals + 1)}))
    return findings, not_evaluable


def is_part_share(spec: TableSpec, key) -> bool:
    """A share of one part (not of the whole the shares are taken of)."""
    d = spec.key_dict(key)
    return spec.is_percent(key) and not any(spec.dim(n).member(d[n]).is_total for n in spec.percent["of"])
