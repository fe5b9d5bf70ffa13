"""Rules across the tables of one submission, compiled from ``schemas/rules.yaml`` into linear rules."""

from __future__ import annotations

import itertools
from functools import cache

from pipeline.rules.linear import LinearRule, Ref
from pipeline.specs import TableSpec, load_rules, load_tables

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
    """The cells a rule side sums and the logical key it is reported under."""
    if side == 0:
        return (), None, None
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
def cross_rules() -> tuple[LinearRule, ...]:
    tables = load_tables()
    rules = []
    for raw in load_rules():
        for instance in _instances(raw.get("for_each")):
            lhs, ltable, lcell = _side(raw["left"], instance, tables)
            rhs, rtable, rcell = _side(raw["right"], instance, tables)
            if not lhs:
                continue  # nothing can be counted there (all parts impossible)
            report_right = raw.get("report", "left") == "right"
            table, cell, refs = (rtable, rcell, rhs) if report_right else (ltable, lcell, lhs)
            if cell is None:
                cell = {k: v for k, v in instance.items() if k in tables[table].dim_names} or {
                    k: str(v) for k, v in instance.items()}
            rules.append(LinearRule(
                rule=f"{raw['id']}", code=raw["code"], severity="",
                lhs=lhs, rhs=rhs, op="==" if raw["kind"] == "equal" else "<=",
                anchor=refs[0] if len(refs) == 1 else None, anchor_cell=cell,
                params=_params(raw, instance, rtable if not report_right else ltable)))
    return tuple(rules)


def _params(raw: dict, instance: dict, other_table: str | None) -> dict:
    params = {k: v for k, v in instance.items()}
    if "detail" in raw:
        params["detail"] = raw["detail"]
    if other_table:
        params["other_table"] = other_table
    return params
