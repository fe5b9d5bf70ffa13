"""Percent columns: each printed share equals its count over the total, and each group of shares adds up to 100.

A table's ``percent`` spec says which whole a share is taken of (``of``), how many decimals it prints
(``decimals``) and over which shares the 100 % total is checked (``group``): ``table`` (default: every
part share of the table), ``row`` (the shares printed in one grid row, e.g. the % of men and of women
of each age band) or ``column`` (those printed in one grid column).

Owns the percent rules of a table, derived from its spec: :func:`share_rules` (one per printed
share: the count cells of its part and of its whole) and :func:`total_rules` (the shares that must
add up to 100: every part share of the table). :func:`percent_findings` checks a submission against
them; the publish gate (:mod:`pipeline.gate`) confronts the city tables with the same definitions.
The arithmetic (share, decimals, tolerance) is :mod:`pipeline.shares`: half a unit of the last
printed decimal (0.005 for 2 decimals) plus float noise for one share, n times that for n shares.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

from pipeline.findings import Finding
from pipeline.rules.linear import Ref
from pipeline.shares import decimals, is_part_share, share, share_terms, tolerance
from pipeline.specs import Key, TableSpec


@dataclass(frozen=True)
class ShareRule:
    """A printed share (``key``) equals 100 x sum(part) / sum(whole), within the printed rounding."""

    table: str
    key: Key
    part: tuple[Key, ...]
    whole: tuple[Key, ...]
    rule: str = "percent_share"


@dataclass(frozen=True)
class TotalRule:
    """The printed shares ``keys`` add up to 100 within n x the printed rounding, when ``whole`` > 0."""

    table: str
    keys: tuple[Key, ...]
    whole: tuple[Key, ...]
    rule: str = "percent_total"
    where: tuple = ()  # ("row" | "column", the label printed there) for a group other than the table


@cache
def share_rules(spec: TableSpec) -> tuple[ShareRule, ...]:
    return tuple(ShareRule(spec.id, key, *share_terms(spec, key)) for key in spec.cells if spec.is_percent(key))


@cache
def total_rules(spec: TableSpec) -> tuple[TotalRule, ...]:
    groups: dict[tuple, list[Key]] = {}
    for k in spec.cells:
        if is_part_share(spec, k):
            groups.setdefault(percent_group(spec, k), []).append(k)
    return tuple(TotalRule(spec.id, tuple(keys), share_terms(spec, keys[0])[1], where=_where(spec, group))
                 for group, keys in groups.items())


GROUPS = ("table", "row", "column")


def percent_group(spec: TableSpec, key) -> tuple:
    """The group of shares a percent cell adds up to 100 with (``percent.group`` of the spec)."""
    group = spec.percent.get("group", "table")
    if group not in GROUPS:
        raise ValueError(f"{spec.id}: percent group must be one of {', '.join(GROUPS)}, not {group!r}")
    if group == "table":
        return ("table",)
    place = spec.placements()[key]
    return (group, place.row if group == "row" else place.col_first)


def _where(spec: TableSpec, group: tuple) -> tuple:
    """Where a group other than the whole table is printed: its row's or column's label (spec text)."""
    if group[0] == "row":
        return ("row", " / ".join(spec.rows[group[1]].label))
    if group[0] == "column":
        return ("column", " / ".join(spec.columns[group[1]].label))
    return ()


@cache
def _cells(spec: TableSpec) -> tuple[tuple, tuple]:
    """The share and total rules of a table with the Ref of each cell they read (made once per spec)."""
    def refs(keys):
        return tuple(Ref(spec.id, k) for k in keys)

    return (tuple((rule, Ref(spec.id, rule.key), refs(rule.part), refs(rule.whole)) for rule in share_rules(spec)),
            tuple((rule, refs(rule.keys), refs(rule.whole)) for rule in total_rules(spec)))


def percent_findings(spec: TableSpec, values: dict[Ref, float]) -> tuple[list[Finding], list[str]]:
    """Findings of the percent rules of one table, and the names of rules that could not be evaluated."""
    if not spec.percent:
        return [], []
    findings, not_evaluable, evaluable = [], [], set()

    def unknown(ref) -> bool:
        v = values.get(ref)
        return v is None or math.isnan(v)

    shares, totals = _cells(spec)
    for rule, cell, part, whole in shares:
        if unknown(cell) or any(unknown(r) for r in part + whole):
            not_evaluable.append(f"{spec.id}:{rule.rule}")
            continue
        evaluable.add(rule.key)
        printed = values[cell]
        num, den = sum(values[r] for r in part), sum(values[r] for r in whole)
        exact = share(num, den) or 0.0
        if abs(printed - exact) > tolerance(spec):
            findings.append(Finding(
                "PCT_SHARE", f"{spec.id}:{rule.rule}", spec.id, spec.key_dict(rule.key),
                expected=round(exact, decimals(spec)), actual=printed, params={"count": num, "total": den}))
    for rule, keys, whole in totals:
        if not set(rule.keys) <= evaluable or not sum(values[r] for r in whole):
            continue
        total, n = sum(values[r] for r in keys), len(rule.keys)
        if abs(total - 100.0) > tolerance(spec, n):
            findings.append(Finding(
                "PCT_TOTAL", f"{spec.id}:{rule.rule}", spec.id, None, expected=100.0,
                actual=round(total, decimals(spec) + 2),
                params={"tolerance": round(tolerance(spec, n), decimals(spec) + 1), **dict([rule.where] if rule.where else [])}))
    return findings, not_evaluable
