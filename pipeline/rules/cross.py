"""The rules of ``schemas/rules.yaml``, compiled: linear rules by scope, and period rules.

Owns the reading of the rulebook: :func:`cross_rules` (scope ``submission``: across the tables of one
submission), :func:`city_rules` (scope ``city``: the same form summed over the OPDs the city tables
use) and :func:`period_rules` (scope ``period``: a cell against the OPD's previous published period).
How wider scopes are evaluated is :mod:`pipeline.rules.scoped`.
"""

from __future__ import annotations

import itertools
from functools import cache

from pipeline.rules.linear import LinearRule, Ref
from pipeline.rules.scoped import ChangeRule
from pipeline.specs import TableSpec, load_rules, load_tables, staff_cell

AT_OR_ABOVE = "at_or_above"


def _instances(for_each) -> list[dict]:
    if not for_each:
        return [{}]
    if isinstance(for_each, list):
        return [dict(item) for item in for_each]
    names = list(for_each)
    return [dict(zip(names, combo)) for combo in itertools.product(*(for_each[n] for n in names))]


def _rank_selectors(spec: TableSpec, rank: str) -> list[dict]:
    """Selectors for every grade at or above ``rank`` (``III/b``): the rest of III, then all of IV."""
    gol, ruang = rank.split("/")
    gols = [m.code for m in spec.dim("gol").members if not m.is_total]
    ruangs = [m.code for m in spec.dim("ruang").members if not m.is_total]
    out = [{"gol": gol, "ruang": ruangs[ruangs.index(ruang.upper()):]}]
    out += [{"gol": g} for g in gols[gols.index(gol) + 1:]]
    return out


def _side(side, instance: dict, tables: dict[str, TableSpec]):
    """The cells a rule side sums and the logical key it is reported under (a number: no cells)."""
    if isinstance(side, (int, float)):
        return (), None, None
    if side == "staff_cell":
        table, cell = staff_cell()
        side = {"table": table, "select": cell}
    spec = tables[side["table"]]
    base = {k: v for k, v in side.get("select", {}).items()}
    base.update({k: v for k, v in instance.items() if k in spec.dim_names and base.get(k) != AT_OR_ABOVE})
    selectors = [base]
    for name, value in list(base.items()):
        if value != AT_OR_ABOVE:
            continue
        if name in spec.dim_names:  # members listed highest first: this one and those before it
            codes = [m.code for m in spec.dim(name).members if not m.is_total]
            base[name] = codes[:codes.index(instance[name]) + 1]
        else:  # a pseudo-dimension: `rank` at or above a gol/ruang
            del base[name]
            selectors = [{**base, **s} for s in _rank_selectors(spec, instance[name])]
    cells = []
    for selector in selectors:
        part = spec.select(selector)
        if part is None:
            raise ValueError(f"rules.yaml: selector {selector} does not fit table {spec.id}")
        cells.extend(part)
    cell = None
    if len(selectors) == 1:  # the logical key, totals written out for the dimensions left out
        cell = {d.name: base.get(d.name, d.codes[-1]) for d in spec.dims}
    return tuple(Ref(spec.id, k) for k in cells), spec.id, cell


@cache
def compiled() -> tuple[LinearRule | ChangeRule, ...]:
    """Every rule of the rulebook in force, each ``for_each`` instance one rule."""
    tables = load_tables()
    rules = []
    for raw in load_rules():
        scope = raw.get("scope", "submission")
        for instance in _instances(raw.get("for_each")):
            lhs, ltable, lcell = _side(raw["left"], instance, tables)
            rhs, rtable, rcell = _side(raw["right"], instance, tables)
            if not lhs:
                continue  # nothing can be counted there (all parts impossible)
            if raw["kind"] == "change_at_most":
                rules.append(ChangeRule(rule=raw["id"], code=raw["code"], severity=raw.get("severity", ""),
                                        refs=lhs, anchor_cell=lcell, limit=float(raw["right"])))
                continue
            report_right = raw.get("report", "left") == "right"
            table, cell, refs = (rtable, rcell, rhs) if report_right else (ltable, lcell, lhs)
            if cell is None:
                cell = {k: v for k, v in instance.items() if k in tables[table].dim_names} or {
                    k: str(v) for k, v in instance.items()}
            rules.append(LinearRule(
                rule=f"{raw['id']}", code=raw["code"], severity=raw.get("severity", ""),
                lhs=lhs, rhs=rhs, op="==" if raw["kind"] == "equal" else "<=",
                anchor=refs[0] if len(refs) == 1 else None, anchor_cell=cell,
                params=_params(raw, instance, rtable if not report_right else ltable),
                const=raw["right"] if isinstance(raw["right"], (int, float)) else 0.0, scope=scope))
    return tuple(rules)


def cross_rules() -> tuple[LinearRule, ...]:
    """The rules over one submission (scope ``submission``)."""
    return tuple(r for r in compiled() if r.scope == "submission")


def city_rules() -> tuple[LinearRule, ...]:
    """The rules over the city tables (scope ``city``)."""
    return tuple(r for r in compiled() if r.scope == "city")


def period_rules() -> tuple[ChangeRule, ...]:
    """The rules of an OPD against its previous published period (scope ``period``)."""
    return tuple(r for r in compiled() if r.scope == "period")


def _params(raw: dict, instance: dict, other_table: str | None) -> dict:
    params = {k: v for k, v in instance.items()}
    if "detail" in raw:
        params["detail"] = raw["detail"]
    if other_table:
        params["other_table"] = other_table
    return params
