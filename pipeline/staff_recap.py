"""Recaps derived from a staff list, and their reconciliation with what the OPD typed.

:func:`derive` counts the checked rows of a list into the inner cells of every table, through the
mapping of ``schemas/staff.yaml`` (``tables``: which rows, which member of each dimension), then
completes totals and percentages with the table specs (:func:`pipeline.complete.complete`). Cells a
list cannot give (``not_from_list``: posts available, an establishment figure) are left out; they
come from the OPD's recap. :func:`reconcile` compares a recap with the list's values cell by cell;
:func:`people_behind` says which employees a list's count is made of.
"""

from __future__ import annotations

from functools import cache

import polars as pl

from pipeline.complete import complete, inner_cells
from pipeline.findings import Finding
from pipeline.specs import Key, TableSpec, load_tables
from pipeline.staff import staff_spec
from pipeline.values import Values

PCT_TOLERANCE = 0.005 + 1e-9


@cache
def from_list(spec: TableSpec, key: Key) -> bool:
    """Whether a list gives this cell (posts available, for one, it does not)."""
    selector = staff_spec().get("not_from_list", {}).get(spec.id)
    if not selector:
        return True
    d = spec.key_dict(key)
    return not all(d.get(n) in ([v] if isinstance(v, str) else v) for n, v in selector.items())


def _rows_of(frame: pl.DataFrame, mapping: dict) -> pl.Expr:
    expr = pl.col("ok")
    for name, allowed in mapping.get("where", {}).items():
        expr = expr & pl.col(name).is_in([str(a) for a in allowed]).fill_null(False)
    return expr


def _member(source: str) -> pl.Expr:
    return pl.lit(source[1:]) if source.startswith("=") else pl.col(source)


@cache
def _tables() -> dict[str, dict]:
    tables = load_tables()
    mapping = staff_spec()["tables"]
    unknown = set(mapping) - set(tables)
    if unknown:
        raise ValueError(f"schemas/staff.yaml maps unknown tables {sorted(unknown)}")
    for table, m in mapping.items():
        if set(m["cell"]) != set(tables[table].dim_names):
            raise ValueError(f"schemas/staff.yaml: {table} must name every dimension {tables[table].dim_names}")
    return mapping


def cell_frame(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """The rows a table counts, with one column per dimension of the table (its member)."""
    spec, mapping = load_tables()[table], _tables()[table]
    return frame.filter(_rows_of(frame, mapping)).select(
        "row", "opd", *[_member(mapping["cell"][d]).alias(f"_d_{d}") for d in spec.dim_names])


def derive(frame: pl.DataFrame, opds=None) -> tuple[dict[str, Values], list[tuple[str, int, str]]]:
    """Per OPD of the list, every table's values as counted from its rows (``ok`` rows only).

    Also returns ``(table, row, opd)`` of rows a table would count but that fall in no cell of it
    (a functional post below table 5's ranks, say): those are findings for the caller.
    """
    tables = load_tables()
    opds = sorted(set(frame.filter(pl.col("ok"))["opd"].drop_nulls().to_list())) if opds is None else opds
    out: dict[str, Values] = {o: {} for o in opds}
    outside: list[tuple[str, int, str]] = []
    for table in _tables():
        spec = tables[table]
        cells = cell_frame(frame, table)
        dims = [f"_d_{d}" for d in spec.dim_names]
        inner_set = set(inner_cells(spec))
        inner: dict[str, dict[Key, int]] = {o: {} for o in opds}
        for r in cells.group_by("opd", *dims).len().iter_rows(named=True):
            key = tuple(r[d] for d in dims)
            if r["opd"] in inner and key in inner_set:
                inner[r["opd"]][key] = inner[r["opd"]].get(key, 0) + r["len"]
        cells_of = pl.DataFrame([dict(zip(dims, k)) for k in inner_set], schema={d: pl.String for d in dims})
        stray = cells.with_columns(pl.col(d).cast(pl.String) for d in dims).join(cells_of, on=dims, how="anti")
        outside += [(table, row, opd) for row, opd in stray.filter(pl.col("opd").is_in(opds)).select("row", "opd")
                    .iter_rows()]
        for opd in opds:
            if not spec.is_required(opd):
                continue
            values = complete(spec, inner[opd])
            out[opd][table] = {k: float(v) for k, v in values.items() if from_list(spec, k)}
    return out, sorted(outside)


def reconcile(recap: Values, derived: Values, severity: str, sources: dict | None = None) -> list[Finding]:
    """A finding on every recap cell whose value differs from the list's, the list's value as the
    suggestion. ``sources`` maps (table, key) to the recap cell's (sheet, A1), where known."""
    tables = load_tables()
    findings = []
    for table, cells in derived.items():
        typed = recap.get(table)
        if not typed:
            continue
        spec = tables[table]
        for key in spec.cells:
            if key not in cells or key not in typed:
                continue
            listed, value = cells[key], typed[key]
            if value != value:  # unreadable in the recap: the recap's own finding says so
                continue
            tolerance = PCT_TOLERANCE if spec.is_percent(key) else 0
            if abs(listed - value) > tolerance:
                sheet, address = (sources or {}).get((table, key), (None, None))
                findings.append(Finding(
                    "STAFF_RECAP_DIFF", "staff:reconcile", table, spec.key_dict(key), sheet, address,
                    expected=listed, actual=value, severity=severity))
    return findings


def people_behind(frame: pl.DataFrame, opd: str, table: str, cell: dict) -> pl.DataFrame:
    """The rows of one OPD that a list's count in ``cell`` is made of (a total: the rows of its parts)."""
    spec = load_tables()[table]
    cells = cell_frame(frame, table).filter(pl.col("opd") == opd)
    expr = pl.lit(True)
    for d in spec.dim_names:
        leaves = spec.dim(d).leaves(str(cell[d]))
        expr = expr & pl.col(f"_d_{d}").is_in(list(leaves))
    rows = cells.filter(expr)["row"]
    return frame.filter(pl.col("row").is_in(rows.implode()) & (pl.col("opd") == opd)).sort("row")
