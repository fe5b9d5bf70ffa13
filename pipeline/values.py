"""Cell values: the one shape they take through the pipeline, and their stored forms.

From staging on, a submission's or the city's numbers are :data:`Values`: table id -> {cell key: value},
a key being the cell's members in the order of the table's dimensions (:data:`pipeline.specs.Key`).
Consolidation, completion, the book, the pages, the template and the feedback workbook take that shape,
and so does the catalog's record of a version (:class:`pipeline.catalog.Version`), whose cells are read
back as a compact, read-only mapping (:class:`Cells`). The rule engine evaluates the same numbers as
``{Ref: value}`` (:func:`refs`, :func:`from_refs`).

A key is written as text only where the numbers are stored or published: ``ruang=A|gol=I|sex=L``
(:func:`key_text`), in the catalog (:func:`encode` / :func:`loads`), in the long cell table
``cells.csv`` / ``cells.parquet`` and the lineage (:func:`long_cells` / :func:`from_long_cells`). It is
parsed back by one function, :func:`parse_key`, at those boundaries only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import ItemsView, Iterator, Mapping, Sequence
from functools import lru_cache
from operator import itemgetter
from typing import TYPE_CHECKING

from pipeline.rules.linear import Ref
from pipeline.specs import Key, TableSpec, load_tables

if TYPE_CHECKING:
    import pandas as pd

Values = dict[str, Mapping[Key, float]]  # a dict, or a stored version's Cells


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


# -- the catalog's form: each value in the order of a list of key texts kept once -------------------------------
# Every version of a table repeats the same cell keys, so the catalog stores a version's cells as
# {table: [order, [value, ...]]}: the values in the order of a list of key texts (``ruang=A|gol=I|sex=L``, ...)
# that the catalog keeps once under its id, ``order`` (a digest of the list; Catalog.orders). Versions
# written before this form hold {table: {key text: value}}: both forms load.
def encode(values: Values, tables: dict[str, TableSpec] | None = None) -> tuple[dict[str, list], dict[str, tuple[str, ...]]]:
    """``values`` as stored in the catalog, {table: [order, [value, ...]]} (NaN, unreadable, as None), and the
    orders they use, {order: [key text, ...]}."""
    tables = tables or load_tables()
    stored, orders = {}, {}
    for t, cells in values.items():
        order, texts = _order_id(tables[t], tuple(cells))
        stored[t] = [order, [None if v is None or v != v else float(v) for v in cells.values()]]
        orders[order] = texts
    return stored, orders


@lru_cache(maxsize=256)
def _order_id(spec: TableSpec, keys: tuple[Key, ...]) -> tuple[str, tuple[str, ...]]:
    texts = tuple(key_text(spec, k) for k in keys)
    return hashlib.sha256("\n".join(texts).encode()).hexdigest()[:20], texts


def decode(stored: dict, tables: dict[str, TableSpec] | None = None,
           orders: Mapping[str, Sequence[str]] | None = None) -> Values:
    """The catalog's stored cells (:func:`encode`, or the key-text form of earlier versions) as
    :data:`Values` (None stays None: a cell not readable), each table's cells a compact :class:`Cells`.
    ``orders``: the key texts of each order the stored form names (the catalog's).

    Cells of a table the specs no longer have, or whose key no longer fits the table, are left out: they
    cannot be placed in today's tables (the version is checked again when its rules changed). Each key
    text is parsed once per table spec (:data:`_PARSED`), each order placed once (:data:`_PLACED`).
    """
    tables = tables or load_tables()
    out: Values = {}
    for t, cells in (stored or {}).items():
        spec = tables.get(t)
        if spec is None:
            continue
        order = _order(spec)
        if isinstance(cells, dict):  # key texts, as earlier versions were stored
            places, values = _places(spec, tuple(cells)), cells.values()
        else:
            name, values = cells
            places = _PLACED.get((spec, name), _UNPLACED)
            if places is _UNPLACED:
                places = _PLACED[(spec, name)] = _places(spec, tuple(orders[name]))
        if places is None:  # the spec's own order, every cell: the values as they are
            out[t] = Cells(order, tuple(values))
            continue
        slots = [_ABSENT] * len(order.keys)
        for at, v in zip(places, values):
            if at is not None:
                slots[at] = v
        out[t] = Cells(order, tuple(slots))
    return out


def _places(spec: TableSpec, texts: tuple[str, ...]) -> tuple[int | None, ...] | None:
    """Each key text's place in the spec's order (None: not a cell of the table), or None when the texts
    are the spec's cells in its order."""
    parsed = _PARSED.setdefault(spec, {})
    order = _order(spec)
    places = []
    for text in texts:
        at = parsed.get(text)
        if at is None:
            try:
                at = parsed[text] = order.position[parse_key(spec, text)]
            except (ValueError, KeyError):
                pass
        places.append(at)
    return None if places == list(range(len(order.keys))) else tuple(places)


_PARSED: dict[TableSpec, dict[str, int]] = {}  # spec (by identity) -> key text -> its cell's place in the spec
_PLACED: dict[tuple[TableSpec, str], tuple | None] = {}  # (spec, stored order) -> its places (_places)
_UNPLACED = object()


class _Order:
    """A table's cells in the spec's order, and each one's place: shared by every :class:`Cells` of the table."""

    __slots__ = ("keys", "position")

    def __init__(self, keys: tuple[Key, ...]):
        self.keys = keys
        self.position = {k: i for i, k in enumerate(keys)}

    def __reduce__(self):
        return _Order, (self.keys,)


_ORDERS: dict[TableSpec, _Order] = {}  # spec (by identity) -> its order


class _Absent:
    """A place of the spec's order the version has no cell for (one object, also after pickling)."""

    __slots__ = ()

    def __reduce__(self):
        return "_ABSENT"


_ABSENT = _Absent()


def _order(spec: TableSpec) -> _Order:
    order = _ORDERS.get(spec)
    if order is None:
        order = _ORDERS[spec] = _Order(tuple(spec.cells))
    return order


class Cells(Mapping):
    """One table's cells of a stored version ({key: value}), read-only and compact: a tuple of the values in
    the spec's cell order. A run holds the cells of every version it may choose, and a dict costs four times
    as much as the tuple (a national run holds some 20,000 versions)."""

    __slots__ = ("_order", "_values", "_len")

    def __init__(self, order: _Order, values: tuple):
        self._order, self._values = order, values
        self._len = len(values) - values.count(_ABSENT)

    def __getitem__(self, key: Key):
        at = self._order.position.get(key)
        v = _ABSENT if at is None else self._values[at]
        if v is _ABSENT:
            raise KeyError(key)
        return v

    def get(self, key: Key, default=None):
        at = self._order.position.get(key)
        v = _ABSENT if at is None else self._values[at]
        return default if v is _ABSENT else v

    def __contains__(self, key) -> bool:
        at = self._order.position.get(key)
        return at is not None and self._values[at] is not _ABSENT

    def __iter__(self) -> Iterator[Key]:
        return (k for k, v in zip(self._order.keys, self._values) if v is not _ABSENT)

    def __len__(self) -> int:
        return self._len

    def items(self) -> ItemsView:
        return _Items(self)

    def __repr__(self) -> str:
        return f"Cells({dict(self.items())!r})"

    def __reduce__(self):
        return Cells, (self._order, self._values)


def row(cells: Mapping, keys: tuple[Key, ...]) -> list:
    """The values of ``keys`` in ``cells``, None where it has none: at C speed for a stored :class:`Cells`."""
    if type(cells) is Cells:
        return [None if v is _ABSENT else v for v in _getter(cells._order, keys)(cells._values)]
    return [cells.get(k) for k in keys]


@lru_cache(maxsize=64)
def _getter(order: _Order, keys: tuple[Key, ...]):
    """The values at ``keys``' places in the order, as a list (an absent key: :data:`_ABSENT`)."""
    at = [order.position.get(k) for k in keys]
    if None in at:
        return lambda values: [_ABSENT if i is None else values[i] for i in at]
    if len(at) < 2:  # itemgetter gives a bare value for one place
        return lambda values: [values[i] for i in at]
    return itemgetter(*at)


class _Items(ItemsView):
    def __iter__(self):
        return ((k, v) for k, v in zip(self._mapping._order.keys, self._mapping._values) if v is not _ABSENT)


class _Numbers(dict):
    """A number as the JSON text gives it -> one float object for every version that holds it: the counts
    0 to 4095 are made once (a run holds every version's cells, nearly all of them small counts, and a
    float object costs more than the slot that points at it); any other text is parsed as it comes."""

    def __missing__(self, text: str) -> float:
        return float(text)


_NUMBERS = _Numbers((repr(float(n)), float(n)) for n in range(4096))


def loads(stored: str | bytes, orders: Mapping[str, Sequence[str]] | None = None,
          tables: dict[str, TableSpec] | None = None) -> Values:
    """:func:`decode` of the catalog's JSON text, each small count one shared float (:class:`_Numbers`; the
    text decides, so ``-0.0`` stays itself)."""
    return decode(json.loads(stored, parse_float=_NUMBERS.__getitem__), tables, orders)


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
    import pandas as pd

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
