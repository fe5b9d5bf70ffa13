"""Complete a table from its inner cells: every total and percentage recomputed from the parts.

Owns :func:`inner_cells` (what a person counts) and :func:`complete` (every total from the sum rules,
every share from :mod:`pipeline.shares`). Used to build consistent data (the sample, tests) and, at
consolidation, to recompute totals. It sits above the rules (it reads :func:`sum_rules`); the rules
never import it.
"""

from __future__ import annotations

from functools import cache

from pipeline.rules.sums import sum_rules
from pipeline.shares import decimals, share, share_terms
from pipeline.specs import Key, TableSpec


@cache
def inner_cells(spec: TableSpec) -> tuple[Key, ...]:
    """The count cells that are no total of other cells: what a person actually counts."""
    totals = {r.anchor.key for r in sum_rules(spec)}
    return tuple(k for k in spec.cells if k not in totals and not spec.is_percent(k))


def complete(spec: TableSpec, inner: dict[Key, float]) -> dict[Key, float]:
    """All cells of ``spec`` from the values of its inner cells (missing ones count as zero)."""
    parts = {}
    for rule in sum_rules(spec):
        parts.setdefault(rule.anchor.key, tuple(r.key for r in rule.rhs))
    out: dict[Key, float] = {}

    def value(key: Key) -> float:
        if key not in out:
            out[key] = sum(value(p) for p in parts[key]) if key in parts else inner.get(key, 0)
        return out[key]

    for key in spec.cells:
        if not spec.is_percent(key):
            value(key)
    for key in spec.cells:
        if spec.is_percent(key):
            out[key] = percent_of(spec, key, out)
    return {k: out[k] for k in spec.cells}


def percent_of(spec: TableSpec, key: Key, counts: dict[Key, float]) -> float:
    """The share a percent cell should print, rounded as the table prints it (0 when nobody is counted)."""
    part, whole = share_terms(spec, key)
    exact = share(sum(counts.get(k, 0) for k in part), sum(counts.get(k, 0) for k in whole))
    return round(exact or 0.0, decimals(spec))
