"""Rules wider than one submission: over the city (every OPD the city tables use) and across periods.

Owns their evaluation, on :data:`~pipeline.values.Values` (one OPD's version, or the city tables): :func:`city_breaches` finds the city-scope rules of ``schemas/rules.yaml`` that the OPDs'
versions break together, with each OPD's part in the excess (``rekap run`` keeps those OPDs out of
the city tables, :func:`city_findings` says so on their files); :func:`period_findings` confronts an
OPD's version with its previous published one. The rules themselves are compiled by
:mod:`pipeline.rules.cross`; the publish gate checks the city tables against the same city rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pipeline.findings import Finding
from pipeline.rules.linear import EPS, LinearRule, Ref, sides
from pipeline.values import Values


@dataclass(frozen=True)
class ChangeRule:
    """Scope ``period``: ``|now - before| <= limit x before`` for the sum of ``refs``, when ``before`` > 0."""

    rule: str
    code: str
    severity: str
    refs: tuple[Ref, ...]
    anchor_cell: dict
    limit: float
    scope: str = "period"


@dataclass(frozen=True)
class Breach:
    """A city rule the OPDs break together: the city-wide sides, and each OPD's part in the excess."""

    rule: LinearRule
    total: float  # the left side, city-wide
    bound: float  # the right side (with the constant term), city-wide
    parts: dict[str, float]  # OPD -> its own left minus right, for the OPDs that push past the bound


def value(values: Values, ref: Ref, missing: float = 0.0) -> float:
    v = values.get(ref.table, {}).get(ref.key)
    return missing if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def city_breaches(by_opd: dict[str, Values], rules) -> list[Breach]:
    """The city ``rules`` that the versions ``by_opd`` (OPD -> its values) break when summed."""
    out = []
    for rule in rules:
        own = {opd: sides(rule, lambda r, v=v: value(v, r)) for opd, v in by_opd.items()}
        total = sum(left for left, _ in own.values())
        bound = sum(right - rule.const for _, right in own.values()) + rule.const
        holds = abs(total - bound) <= rule.tol if rule.op == "==" else total <= bound + rule.tol
        if holds:
            continue
        parts = {opd: left - (right - rule.const) for opd, (left, right) in sorted(own.items())}
        out.append(Breach(rule, total, bound, {o: p for o, p in parts.items()
                                               if (p > EPS if rule.op == "<=" else abs(p) > EPS)}))
    return out


def city_finding(breach: Breach) -> Finding:
    """The finding on the file of each OPD of the breach: the city-wide count, the bound, who adds up to it."""
    rule = breach.rule
    bound = int(breach.bound) if float(breach.bound).is_integer() else breach.bound
    return Finding(rule.code, rule.rule, rule.anchor.table if rule.anchor else rule.lhs[0].table, rule.anchor_cell,
                   actual=breach.total, expected=bound, severity=rule.severity,
                   params={**rule.params, "detail": ", ".join(f"{o} {p:g}" for o, p in breach.parts.items())})


def period_findings(opd: str, now: Values, previous: tuple[str, Values] | None, rules) -> list[Finding]:
    """The period ``rules`` that the OPD's version ``now`` breaks against ``previous`` (its period, values)."""
    if previous is None:
        return []
    period, before_values = previous
    out = []
    for rule in rules:
        current = sum(value(now, r) for r in rule.refs)
        before = sum(value(before_values, r) for r in rule.refs)
        if before and abs(current - before) / before > rule.limit:
            out.append(Finding(rule.code, rule.rule, rule.refs[0].table, rule.anchor_cell, actual=current,
                               expected=before, severity=rule.severity, params={
                                   "opd": opd, "previous": period, "change": f"{(current - before) / before:+.0%}"}))
    return out
