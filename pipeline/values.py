"""Cell values: the one shape they take through the pipeline, and their stored forms.

From staging on, a submission's or the city's numbers are :data:`Values`: table id -> {cell key: value},
a key being the cell's members in the order of the table's dimensions (:data:`pipeline.specs.Key`).
Consolidation, completion, the book, the pages, the template and the feedback workbook take that shape,
and so does the catalog's record of a version (:class:`pipeline.catalog.Version`). The rule engine
evaluates the same numbers as ``{Ref: value}`` (:func:`refs`, :func:`from_refs`).

A key is written as text only where the numbers are stored or published: ``ruang=A|gol=I|sex=L``
(:func:`key_text`), in the catalog (:func:`encode` / :func:`loads`), in the long cell table
``cells.csv`` / ``cells.parquet`` and the lineage (:func:`long_cells` / :func:`from_long_cells`). It is
parsed back by one function, :func:`parse_key`, at those boundaries only.
"""

from __future__ import annotations

import json

import pandas as pd

from pipeline.rules.linear import Ref
from pipeline.specs import Key, TableSpec, load_tables

Values = dict[str, dict[Key, float]]


def key_text(spec: TableSpec, key: Key) -> str:
    """A cell's key as stable text: ``ruang=A|gol=I|sex=L``."""
    return "|".join(f"{n}={m}" for n, m in zip(spec.dim_names, key))


def parse_key(spec: TableSpec, text: str) -> Key:
    """The key of :func:`key_text`. Raises ``ValueError`` when the text does not name one member of each
    of the table's dimensions."""
    try:
        named = dict(part.split("=", 1) for part in str(text).split("|"))
        key = spec.key(named)
    except (KeyError, ValueError) as err:
        raise ValueError(f"{spec.id}: {text!r} is not a cell key of this table") from err
    if len(named) != len(spec.dim_names):
        raise ValueError(f"{spec.id}: {text!r} is not a cell key of this table")
    return key


# -- the catalog's form: JSON with key texts ----------------------------------------------------------------
def encode(values: Values, tables: dict[str, TableSpec] | None = None) -> dict[str, dict[str, float | None]]:
    """``values`` as stored in the catalog: {table: {key text: value}}; NaN (unreadable) as None."""
    tables = tables or load_tables()
    return {t: {key_text(tables[t], k): (None if v is None or v != v else float(v)) for k, v in cells.items()}
            for t, cells in values.items()}


def decode(stored: dict, tables: dict[str, TableSpec] | None = None) -> Values:
    """The catalog's {table: {key text: value}} as :data:`Values` (None stays None: a cell not readable).

    Cells of a table the specs no longer have, or whose key no longer fits the table, are left out: they
    cannot be placed in today's tables (the version is checked again when its rules changed). Each key
    text is parsed once per table spec (:data:`_PARSED`): every version repeats the same texts.
    """
    tables = tables or load_tables()
    out: Values = {}
    for t, cells in (stored or {}).items():
        spec = tables.get(t)
        if spec is None:
            continue
        parsed = _PARSED.setdefault(spec, {})
        mine = out[t] = {}
        for text, v in cells.items():
            key = parsed.get(text)
            if key is None:
                try:
                    key = parsed[text] = parse_key(spec, text)
                except ValueError:
                    continue
            mine[key] = v
    return out


_PARSED: dict[TableSpec, dict[str, Key]] = {}  # spec (by identity) -> key text -> its key, as parsed


class _Numbers(dict):
    """A number as the JSON text gives it -> one float object for every version that holds it: the counts
    0 to 4095 are made once (a run holds every version's cells, nearly all of them small counts, and a
    float object costs more than the slot that points at it); any other text is parsed as it comes."""

    def __missing__(self, text: str) -> float:
        return float(text)


_NUMBERS = _Numbers((repr(float(n)), float(n)) for n in range(4096))


def loads(stored: str | bytes, tables: dict[str, TableSpec] | None = None) -> Values:
    """:func:`decode` of the catalog's JSON text, each small count one shared float (:class:`_Numbers`; the
    text decides, so ``-0.0`` stays itself)."""
    return decode(json.loads(stored, parse_float=_NUMBERS.__getitem__), tables)


# -- the rule engine's view ----------------------------------------------------------------------------------
def refs(values: Values) -> dict[Ref, float]:
    """``{Ref(table, key): value}``, what the rules evaluate; None values are left out."""
    return {Ref(t, k): v for t, cells in values.items() for k, v in cells.items() if v is not None}


def from_refs(values: dict[Ref, float]) -> Values:
    """:data:`Values` from the rule engine's ``{Ref: value}`` (NaN, an unreadable cell, as None)."""
    out: Values = {}
    for ref, v in values.items():
        out.setdefault(ref.table, {})[ref.key] = None if v is None or v != v else float(v)
    return out


# -- the published long cell table ---------------------------------------------------------------------------
def long_cells(values: Values, period: str, tables: dict[str, TableSpec] | None = None) -> pd.DataFrame:
    """The long cell table: one row per cell with its key text and its dimensions as columns (empty where a
    table lacks one), whether it is a total or a percentage, and its value."""
    tables = tables or load_tables()
    dims: list[str] = []
    for spec in tables.values():
        dims += [d for d in spec.dim_names if d not in dims]
    rows = []
    for table, cells in values.items():
        spec = tables[table]
        for key in spec.cells:
            if key not in cells:
                continue
            d = spec.key_dict(key)
            rows.append({"period": period, "table": table, "key": key_text(spec, key),
                         **{n: d.get(n) for n in dims},
                         "is_total": not spec.is_leaf(key), "percent": spec.is_percent(key),
                         "value": float(cells[key])})
    return pd.DataFrame(rows, columns=["period", "table", "key", *dims, "is_total", "percent", "value"])


def from_long_cells(frame: pd.DataFrame, tables: dict[str, TableSpec] | None = None) -> Values:
    """:data:`Values` of every table from a long cell table (:func:`long_cells`, e.g. ``cells.parquet``).

    Every table of the specs is present (empty when the frame has none of its cells); a row of a table the
    specs do not have, or whose key does not fit its table, raises ``ValueError``: a published table must
    match the specs it is read with.
    """
    tables = tables or load_tables()
    out: Values = {t: {} for t in tables}
    for table, key, value in zip(frame["table"], frame["key"], frame["value"]):
        if table not in tables:
            raise ValueError(f"table {table!r} of the published cells is not in the specs")
        out[table][parse_key(tables[table], key)] = float(value)
    return out
