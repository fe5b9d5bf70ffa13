"""Staging: a reader's raw cells become typed values, checked by pandera, a batch of submissions at once.

Only renaming, casting and number normalisation happen here (no rule logic): each value is parsed
with the Indonesian number rules, then a pandera schema checks whole numbers >= 0 for counts and
0..100 for percentages. Every failure is a finding. The cells of every submission of a batch form one
long frame and the schema validates it once (:func:`stage_batch`): its cost is paid per batch, not
per submission; failures are mapped back to their submission by row. Member codes need no check
here: a reader makes keys of the table spec only, and a key outside the spec cannot be staged.

Two habits of published tables are read, with a note instead of an error: a count written with a unit
word (``54 orang``: the number, ``VALUE_WITH_UNIT``) and, where the table spec allows it, a cell
marked not available (``n/a``, ``..``, ``x``: no value, so the rules over it are not evaluable;
``VALUE_NOT_AVAILABLE``). Such notes are folded into one per sheet (a CSV: per table).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pandas as pd
import pandera.pandas as pa

from pipeline.findings import Finding
from pipeline.numbers import parse_count, parse_percent, thousands_hint
from pipeline.rules.linear import Ref
from pipeline.specs import Key, TableSpec, load_tables
from pipeline.submission import Extract, RawCell


@dataclass
class Staged:
    values: dict[Ref, float]  # what the rules read; NaN where a value is unusable
    sources: dict[Ref, tuple[str | None, str | None]]  # (sheet, A1) of each cell
    findings: list[Finding]
    filled: set[str] = field(default_factory=set)  # tables with a cell not left blank


def _value_check(name: str, holds) -> pa.Check:
    """A check on the value of each row; a row without a value (text that is no number) passes."""
    return pa.Check(lambda df: df["value"].isna() | holds(df), name=name)


# the schema's checks, in the order their findings are listed, and the finding code of each
CHECKS = {
    "non_negative": ("VALUE_NEGATIVE", lambda df: df["percent"] | (df["value"] >= 0)),
    "whole_number": ("VALUE_NOT_WHOLE", lambda df: df["percent"] | (df["value"] == df["value"].round())),
    "percent_range": ("PCT_RANGE", lambda df: ~df["percent"] | ((df["value"] >= 0) & (df["value"] <= 100))),
}


@cache
def schema() -> pa.DataFrameSchema:
    """One schema over the long frame of a batch's cells (``percent``, ``value``): value checks by kind of cell."""
    return pa.DataFrameSchema({"percent": pa.Column(bool), "value": pa.Column(float, nullable=True)},
                              checks=[_value_check(name, holds) for name, (_, holds) in CHECKS.items()])


def warm() -> None:
    """Have pandera ready to validate: its first validation in a process registers its pandas backends,
    importing their checks (and, where hypothesis is installed, its strategies), about a quarter of a
    second. Called before workers are forked, so that they inherit it instead of each paying for it."""
    schema().validate(pd.DataFrame({"percent": pd.Series([], dtype=bool), "value": pd.Series([], dtype=float)}))


def _blank(value) -> bool:
    """A cell left empty: nothing, blank text, or a missing number."""
    if isinstance(value, str):
        return not value.strip()
    return value is None or (isinstance(value, float) and math.isnan(value))


def stage(extract: Extract, tables: dict[str, TableSpec] | None = None) -> Staged:
    """One submission's staging (a batch of one)."""
    return stage_batch([extract], tables)[0]


def stage_batch(extracts: list[Extract], tables: dict[str, TableSpec] | None = None) -> list[Staged]:
    """Stage the cells of each extract, validating all of them with one schema call; one Staged per extract."""
    tables = tables or load_tables()
    staged = [Staged({}, {}, []) for _ in extracts]
    rows: list[tuple[int, Ref, RawCell]] = []  # the staged cells of the batch: submission, cell, as read
    percents: list[bool] = []
    numbers: list[float] = []
    cells_of = {table: _cells(spec) for table, spec in tables.items()}
    for sub, (extract, out) in enumerate(zip(extracts, staged)):
        values, sources, filled = out.values, out.sources, out.filled
        digits_plain = extract.kind != "xlsx"  # digits typed as text are no note (in a CSV, every value is text)
        for raw in extract.cells:
            spec = tables[raw.table]
            ref, percent, impossible = cells_of[raw.table].get(raw.key) or _cell(spec, raw.key)
            typed = raw.value
            kind = type(typed)
            if not percent and (kind is float or kind is int) and math.isfinite(typed):
                value, blank = float(typed), False  # a plain number: what parse_count gives it, with no note
            elif digits_plain and kind is str and typed.isascii() and typed.isdigit():
                value, blank = float(typed), False  # what parse_count and parse_percent give it, with no note
            else:
                parsed = parse_percent(typed, raw.fraction) if percent else parse_count(typed)
                value = 0.0 if parsed.value is None else parsed.value
                if parsed.not_available or parsed.unit or parsed.as_text or math.isnan(value):
                    out.findings += _notes(extract, raw, spec, parsed, value)
                blank = _blank(typed)
            if impossible:
                if value:
                    out.findings.append(Finding("IMPOSSIBLE_CELL", "cell:possible", raw.table, spec.key_dict(raw.key),
                                                raw.sheet, raw.address, actual=value, expected=0))
                continue
            if not blank:
                filled.add(raw.table)
            values[ref] = value
            sources[ref] = (raw.sheet, raw.address)
            rows.append((sub, ref, raw))
            percents.append(percent)
            numbers.append(value)
        for table in extract.tables:  # cells of optional rows an older template lacks count as zero
            for ref in _optional_cells(tables[table]):
                values.setdefault(ref, 0.0)
    frame = pd.DataFrame({"percent": np.array(percents, dtype=bool), "value": np.array(numbers, dtype=float)})
    rejected = list(_schema_findings(frame, rows, tables))
    if rejected:  # the row each cell's value comes from (a repeated cell: its last)
        last = {(sub, ref): index for index, (sub, ref, _) in enumerate(rows)}
    for index, finding in rejected:
        sub, ref, _ = rows[index]
        staged[sub].findings.append(finding)
        if last[sub, ref] == index:
            staged[sub].values[ref] = math.nan  # a value the schema rejects is not used by rules
    for out in staged:
        out.findings = fold_notes(out.findings)
    return staged


def _cell(spec: TableSpec, key: Key) -> tuple[Ref, bool, bool]:
    """A cell's Ref, whether it is a percentage and whether it cannot exist."""
    return Ref(spec.id, key), spec.is_percent(key), spec.is_impossible(key)


@cache
def _cells(spec: TableSpec) -> dict[Key, tuple[Ref, bool, bool]]:
    """:func:`_cell` of every cell a table prints, worked out once per spec."""
    return {key: _cell(spec, key) for key in spec.placements()}


@cache
def _optional_cells(spec: TableSpec) -> tuple[Ref, ...]:
    return tuple(Ref(spec.id, key) for key in spec.cells if spec.rows[spec.placements()[key].row].optional)


def _notes(extract: Extract, raw, spec: TableSpec, parsed, value: float) -> list[Finding]:
    """What a cell's text says besides its number: not available, a unit, no number, typed as text."""
    if not (parsed.not_available or parsed.unit or math.isnan(value) or extract.kind == "xlsx"):
        return []  # a number in a CSV's text: every value there is text
    where = dict(table=raw.table, cell=spec.key_dict(raw.key), sheet=raw.sheet, address=raw.address)
    if parsed.not_available and spec.may_be_unavailable(raw.key):
        return [Finding("VALUE_NOT_AVAILABLE", "value:available", actual=str(raw.value), **where)]
    if parsed.unit:
        return [Finding("VALUE_WITH_UNIT", "value:number", actual=str(raw.value), expected=value,
                        params={"unit": parsed.unit}, **where)]
    if math.isnan(value):
        return [Finding("VALUE_NOT_NUMBER", "value:number", actual=str(raw.value), **where)]
    if parsed.as_text and extract.kind == "xlsx":  # in a CSV every value is text
        return [Finding("VALUE_AS_TEXT", "value:number", actual=str(raw.value), expected=value, **where)]
    return []


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


def _schema_findings(frame: pd.DataFrame, rows: list[tuple[int, Ref, RawCell]], tables: dict[str, TableSpec]):
    """``(row, finding)`` for each row of ``frame`` a check of the schema rejects, by check then row."""
    if frame.empty:
        return
    try:
        schema().validate(frame, lazy=True)
        return
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
    cases = cases[cases["check"].isin(list(CHECKS))].drop_duplicates(["check", "index"])
    order = {name: i for i, name in enumerate(CHECKS)}
    for check, index in sorted(zip(cases["check"], map(int, cases["index"])), key=lambda c: (order[c[0]], c[1])):
        (_, ref, raw), value = rows[index], float(frame["value"].iat[index])
        cell = tables[ref.table].key_dict(ref.key)
        code = CHECKS[check][0]
        params, expected = {"line": "-", "detail": cell}, None
        if code == "VALUE_NOT_WHOLE" and (expected := thousands_hint(value)):
            params["hint"] = str(expected)  # as the clerk should type it (1009), not formatted
        yield index, Finding(code, f"schema:{check}", ref.table, cell, raw.sheet, raw.address,
                             expected=expected, actual=value, params=params)
