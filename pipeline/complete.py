"""Complete a table from its inner cells: every total and percentage recomputed from the parts.

Used to build consistent data (the sample, tests) and, at consolidation, to recompute totals.
"""

from __future__ import annotations

from functools import cache

from pipeline.rules.sums import sum_rules
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
    """The share a percent cell should print, rounded as the table prints it."""
    part, whole = share_terms(spec, key)
    num = sum(counts.get(k, 0) for k in part)
    den = sum(counts.get(k, 0) for k in whole)
    value = 100.0 * num / den if den else 0.0
    return round(value, int(spec.percent.get("decimals", 2)))


def share_terms(spec: TableSpec, key: Key) -> tuple[tuple[Key, ...], tuple[Key, ...]]:
    """The count cells whose sums are the numerator and denominator of a percent cell."""
    dim = next(d for d in spec.dims if any(m.percent for m in d.members))
    base = {**spec.key_dict(key), dim.name: next(m.code for m in dim.members if not m.percent)}
    part = spec.select(base)
    whole = spec.select({**base, **spec.percent["of"]})
    if part is None or whole is None:
        raise ValueError(f"{spec.id}: percent cell {key} cannot be computed from counts")
    return part, whole
