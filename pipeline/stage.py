"""Staging: a reader's raw cells become one typed, long table of values, checked by pandera.

Only renaming, casting and number normalisation happen here (no rule logic): each value is parsed
with the Indonesian number rules, then a pandera schema derived from the table spec checks member
codes, whole numbers >= 0 for counts and 0..100 for percentages. Every failure is a finding.

Two habits of published tables are read, with a note instead of an error: a count written with a unit
word (``54 orang``: the number, ``VALUE_WITH_UNIT``) and, where the table spec allows it, a cell
marked not available (``n/a``, ``..``, ``x``: no value, so the rules over it are not evaluable;
``VALUE_NOT_AVAILABLE``). Such notes are folded into one per sheet (a CSV: per table).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import pandas as pd
import pandera.pandas as pa

from pipeline.findings import Finding
from pipeline.numbers import parse_count, parse_percent, thousands_hint
from pipeline.rules.linear import Ref
from pipeline.specs import TableSpec, load_tables
from pipeline.submission import Extract

COLUMNS = ["table", "cell", "percent", "value", "raw", "sheet", "address"]


@dataclass
class Staged:
    frame: pd.DataFrame  # one row per cell: table, cell (dict), percent, value, raw, sheet, address
    values: dict[Ref, float]  # what the rules read; NaN where a value is unusable
    sources: dict[Ref, tuple[str | None, str | None]]  # (sheet, A1) of each cell
    findings: list[Finding]


@cache
def schema(tables: tuple[TableSpec, ...]) -> pa.DataFrameSchema:
    """One schema over the long table of all cells: member codes, and value checks by kind of cell."""
    members: dict[str, set[str]] = {}
    for spec in tables:
        for dim in spec.dims:
            members.setdefault(dim.name, set()).update(dim.codes)
    columns = {"table": pa.Column(str, pa.Check.isin([t.id for t in tables])),
               "percent": pa.Column(bool), "value": pa.Column(float, nullable=True)}
    columns.update({name: pa.Column(str, pa.Check.isin(sorted(codes)), nullable=True)
                    for name, codes in members.items()})

    def check(fn, name):
        return pa.Check(lambda df: df["value"].isna() | fn(df), name=name)

    return pa.DataFrameSchema(columns, checks=[
        check(lambda df: df["percent"] | (df["value"] >= 0), "non_negative"),
        check(lambda df: df["percent"] | (df["value"] == df["value"].round()), "whole_number"),
        check(lambda df: ~df["percent"] | ((df["value"] >= 0) & (df["value"] <= 100)), "percent_range"),
    ])


CHECK_CODES = {"percent_range": "PCT_RANGE", "non_negative": "VALUE_NEGATIVE", "whole_number": "VALUE_NOT_WHOLE"}


def stage(extract: Extract, tables: dict[str, TableSpec] | None = None) -> Staged:
    tables = tables or load_tables()
    findings: list[Finding] = []
    rows = []
    present = set()
    for raw in extract.cells:
        spec = tables[raw.table]
        percent = spec.is_percent(raw.key)
        parsed = parse_percent(raw.value, raw.fraction) if percent else parse_count(raw.value)
        value = 0.0 if parsed.value is None else parsed.value
        cell = spec.key_dict(raw.key)
        where = dict(table=raw.table, cell=cell, sheet=raw.sheet, address=raw.address)
        if parsed.not_available and spec.may_be_unavailable(raw.key):
            findings.append(Finding("VALUE_NOT_AVAILABLE", "value:available", actual=str(raw.value), **where))
        elif parsed.unit:
            findings.append(Finding("VALUE_WITH_UNIT", "value:number", actual=str(raw.value), expected=value,
                                    params={"unit": parsed.unit}, **where))
        elif math.isnan(value):
            findings.append(Finding("VALUE_NOT_NUMBER", "value:number", actual=str(raw.value), **where))
        elif parsed.as_text and extract.kind == "xlsx":  # in a CSV every value is text
            findings.append(Finding("VALUE_AS_TEXT", "value:number", actual=str(raw.value), expected=value, **where))
        if spec.is_impossible(raw.key):
            if value:
                findings.append(Finding("IMPOSSIBLE_CELL", "cell:possible", actual=value, expected=0, **where))
            continue
        present.add((raw.table, raw.key))
        rows.append({"table": raw.table, "cell": cell, "percent": percent, "value": value,
                     "raw": raw.value, "sheet": raw.sheet, "address": raw.address, "key": raw.key})
    frame = pd.DataFrame(rows, columns=COLUMNS + ["key"])
    frame["value"] = frame["value"].astype(float)
    frame["percent"] = frame["percent"].astype(bool)
    findings += _schema_findings(frame, tables)

    values: dict[Ref, float] = {}
    sources: dict[Ref, tuple] = {}
    for row in frame.itertuples(index=False):
        ref = Ref(row.table, row.key)
        values[ref] = row.value
        sources[ref] = (row.sheet, row.address)
    for table in extract.tables:  # cells of optional rows an older template lacks count as zero
        spec = tables[table]
        for key in spec.cells:
            if (table, key) not in present and spec.rows[spec.placements()[key].row].optional:
                values[Ref(table, key)] = 0.0
    return Staged(frame.drop(columns="key"), values, sources, fold_notes(findings))


FOLDED = frozenset({"VALUE_AS_TEXT", "VALUE_WITH_UNIT", "VALUE_NOT_AVAILABLE"})  # summarised per sheet


def _fold_key(f: Finding) -> tuple | None:
    """The group a foldable note belongs to: its sheet, or (a CSV has none) its table."""
    if f.code not in FOLDED or not (f.sheet or f.table):
        return None
    return (f.code, f.sheet) if f.sheet else (f.code, None, f.table)


def fold_notes(findings: list[Finding]) -> list[Finding]:
    """Notes of one kind on one sheet (numbers typed as text, ...) as one finding: the first cell, with
    how many others there are and their addresses (``params["cells"]`` lists every address; in a CSV,
    without addresses, the notes of one table are folded and each cell named by its member codes)."""
    groups: dict[tuple, list[Finding]] = {}
    for f in findings:
        if (key := _fold_key(f)) is not None:
            groups.setdefault(key, []).append(f)
    out = []
    for f in findings:
        group = groups.get(_fold_key(f)) if _fold_key(f) is not None else None
        if group is None or len(group) == 1:
            out.append(f)
        elif f is group[0]:
            addresses = [g.address or "/".join((g.cell or {}).values()) for g in group]
            out.append(Finding(f.code, f.rule, f.table, f.cell, f.sheet, f.address, f.expected, f.actual,
                               {**f.params, "more": len(group) - 1, "others": ", ".join(addresses[1:]),
                                "cells": addresses}, f.severity))
    return out


def _schema_findings(frame: pd.DataFrame, tables: dict[str, TableSpec]) -> list[Finding]:
    findings = []
    if frame.empty:
        return findings
    wide = pd.concat([frame[["table", "percent", "value"]],
                      pd.DataFrame(list(frame["cell"]), index=frame.index)], axis=1)
    try:
        schema(tuple(tables.values())).validate(wide, lazy=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases.dropna(subset=["index"]).drop_duplicates(["check", "index"])
        for case in cases.itertuples(index=False):
            row = frame.loc[int(case.index)]
            code = CHECK_CODES.get(case.check, "CELL_UNKNOWN")
            params, expected = {"line": "-", "detail": row.cell}, None
            if code == "VALUE_NOT_WHOLE" and (expected := thousands_hint(row.value)):
                params["hint"] = str(expected)  # as the clerk should type it (1009), not formatted
            findings.append(Finding(code, f"schema:{case.check}", row.table, row.cell, row.sheet,
                                    row.address, expected=expected, actual=row.value, params=params))
            frame.at[int(case.index), "value"] = math.nan  # a value the schema rejects is not used by rules
    return findings
