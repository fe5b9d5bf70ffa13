"""Publishing: a period's frames written into SQL tables (SQLite file or PostgreSQL), one period at a time.

:func:`publish_frames` replaces the rows of one period in each named table, in ONE transaction: either
every table holds the new rows of that period, or (after any failure, even a crash) every table still
holds the previous ones. Running it twice with the same frames leaves identical table contents. Rows of
other periods are never touched, nor are tables not named in ``frames``.

Tables are created when missing, with column types derived from the frame's dtypes (text, bigint,
double, boolean, timestamp) and a ``period`` column always first. Every table gets an index on the
columns it has among ``(period, table, key)``; ``rekap_cells`` gets a primary key on them instead
(see :data:`PRIMARY_KEYS`, extensible through ``primary_keys=``). A frame with a column the table lacks
adds that column (nullable) in the same transaction; a column the table has but the frame lacks is
written as NULL. Column types of an existing table are never changed: a value the database cannot
store in it (PostgreSQL is strict, SQLite is not) fails the publish with a :class:`DatabaseError`.

Concurrent publishes are serialised (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-scoped
advisory lock), so two runs never interleave their rows.

Any problem with the database (bad URL, missing driver, unreachable server, failed statement) is raised
as :class:`DatabaseError` with a one-line message naming the database, password hidden.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event, exc

# Key columns of the known tables (period first), beyond which a frame's rows must be unique.
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {"rekap_cells": ("period", "table", "key")}
INDEX_COLUMNS = ("period", "table", "key")  # indexed where a table has them (the leading ones present)
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CONNECT_TIMEOUT = 10  # seconds, PostgreSQL: an unreachable server fails fast instead of hanging


class DatabaseError(Exception):
    """The database could not be reached or refused the work: the message says which and why."""


class _NoDatabase(DatabaseError):
    """The SQLite file to read does not exist."""


def publish_frames(url: str, period: str, frames: Mapping[str, pd.DataFrame],
                   primary_keys: Mapping[str, Sequence[str]] | None = None) -> None:
    """Replace the rows of ``period`` in each table ``frames`` names with that frame's rows, atomically.

    A frame without a ``period`` column gets one; a frame with one must hold ``period`` only.
    ``primary_keys`` adds to :data:`PRIMARY_KEYS` (table -> key columns, used when a table is created).
    """
    period = str(period)
    keys = {**PRIMARY_KEYS, **(primary_keys or {})}
    prepared = {name: _prepare(name, period, frame) for name, frame in frames.items()}
    with _engine(url, create=True) as engine:
        where = _where(engine)
        try:
            with engine.begin() as conn:
                if engine.dialect.name == "postgresql":  # concurrent publishes wait for each other
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('rekap.publish_frames'))"))
                for name, frame in prepared.items():
                    table = _ensure_table(conn, name, frame, keys.get(name))
                    conn.execute(sa.delete(table).where(table.c.period == period))
                    rows = _records(frame, table)
                    if rows:
                        conn.execute(sa.insert(table), rows)
        except exc.SQLAlchemyError as e:
            raise DatabaseError(f"publishing period {period} to {where} failed, nothing changed: "
                                f"{_reason(e)}") from e


def read_frame(url: str, table: str, period: str | None = None, missing_ok: bool = False) -> pd.DataFrame:
    """The rows of ``table`` (of one ``period`` if given), ordered by every column, with sensible dtypes.

    Text columns come back as pandas' ``str`` dtype, integers as ``int64`` (``Int64`` when NULLs occur),
    doubles as ``float64``, booleans as ``bool`` (``boolean`` when NULLs occur), timestamps as
    ``datetime64``. A missing table (or SQLite file) raises :class:`DatabaseError`, or gives an empty
    frame when ``missing_ok``.
    """
    _check_name(table)
    try:
        with _engine(url, create=False) as engine:
            return _read(engine, table, period, missing_ok)
    except _NoDatabase:
        if missing_ok:
            return pd.DataFrame()
        raise


def _read(engine: sa.Engine, table: str, period: str | None, missing_ok: bool) -> pd.DataFrame:
    where = _where(engine)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(table):
                if missing_ok:
                    return pd.DataFrame()
                raise DatabaseError(f"no table {table!r} in {where}")
            t = sa.Table(table, sa.MetaData(), autoload_with=conn)
            query = sa.select(t).order_by(*t.columns)
            if period is not None:
                query = query.where(t.c.period == str(period))
            result = conn.execute(query)
            rows = result.fetchall()
    except exc.SQLAlchemyError as e:
        raise DatabaseError(f"reading {table!r} from {where} failed: {_reason(e)}") from e
    return pd.DataFrame({c.name: _column(c, [r[i] for r in rows]) for i, c in enumerate(t.columns)},
                        index=pd.RangeIndex(len(rows)))


# --- connection ---------------------------------------------------------------------------------------

@contextmanager
def _engine(url: str, create: bool) -> Iterator[sa.Engine]:
    """An engine for ``url`` (disposed afterwards); URL, driver and SQLite-file problems as DatabaseError."""
    try:
        u = sa.make_url(url)
    except (exc.ArgumentError, ValueError, TypeError) as e:
        raise DatabaseError(f"not a database URL: {url!r} ({e})") from e
    kwargs: dict = {}
    if u.drivername == "postgresql":  # the bare name means psycopg2, which we do not install
        u = u.set(drivername="postgresql+psycopg")
    if u.get_backend_name() == "postgresql" and "connect_timeout" not in u.query:
        kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT}
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:" \
            and not u.database.startswith("file:"):
        path = Path(u.database)
        if create:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise DatabaseError(f"cannot create the folder of {path}: {e}") from e
        elif not path.exists():
            raise _NoDatabase(f"no SQLite database at {path}")
    try:
        engine = sa.create_engine(u, **kwargs)
    except (exc.ArgumentError, exc.NoSuchModuleError, ImportError) as e:
        raise DatabaseError(f"cannot use database URL {u.render_as_string(hide_password=True)}: "
                            f"{type(e).__name__}: {e}") from e
    if engine.dialect.name == "sqlite":
        _transactional_sqlite(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def _transactional_sqlite(engine: sa.Engine) -> None:
    """Make pysqlite transactional for DDL too (it only BEGINs before DML by itself), locking up front."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # the driver leaves transactions to us

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _where(engine: sa.Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _reason(e: exc.SQLAlchemyError) -> str:
    """The driver's own message, first line, without SQLAlchemy's statement dump."""
    orig = getattr(e, "orig", None)
    text = str(orig if orig is not None else e).strip().splitlines()
    return f"{type(orig or e).__name__}: {text[0] if text else ''}"


# --- schema -------------------------------------------------------------------------------------------

def _check_name(name: str) -> None:
    if not isinstance(name, str) or not NAME.match(name):
        raise ValueError(f"not a usable table or column name: {name!r} (letters, digits, underscore)")


def _prepare(name: str, period: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame to write: string column names, a ``period`` column first, holding ``period`` only."""
    _check_name(name)
    frame = frame.reset_index(drop=True).rename(columns=str)
    if frame.columns.duplicated().any():
        raise ValueError(f"frame {name!r} has duplicate columns: {list(frame.columns[frame.columns.duplicated()])}")
    for column in frame.columns:
        _check_name(column)
    if "period" in frame.columns:
        found = set(frame["period"].dropna().astype(str)) - {period}
        if found or frame["period"].isna().any():
            raise ValueError(f"frame {name!r} holds rows of other periods than {period}: {sorted(found)}")
        frame = frame.drop(columns="period")
    frame.insert(0, "period", pd.Series([period] * len(frame), dtype="str"))
    return frame


def _sql_type(series: pd.Series) -> sa.types.TypeEngine:
    """The column type for a frame column: from its dtype, or from its values when it is ``object``."""
    if series.name == "period":
        return sa.Text()
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return sa.Boolean()
    if pd.api.types.is_integer_dtype(dtype):
        return sa.BigInteger()
    if pd.api.types.is_float_dtype(dtype):
        return sa.Double()
    if isinstance(dtype, pd.DatetimeTZDtype):
        return sa.DateTime(timezone=True)
    if pd.api.types.is_datetime64_dtype(dtype):
        return sa.DateTime()
    if dtype == object:
        kind = pd.api.types.infer_dtype(series, skipna=True)
        if kind == "boolean":
            return sa.Boolean()
        if kind == "integer":
            return sa.BigInteger()
        if kind in ("floating", "mixed-integer-float", "decimal"):
            return sa.Double()
        if kind in ("datetime", "datetime64"):
            return sa.DateTime()
    return sa.Text()  # strings, categories, empty and mixed columns (written as their text)


def _ensure_table(conn: sa.Connection, name: str, frame: pd.DataFrame,
                  key: Sequence[str] | None) -> sa.Table:
    """The table ``name``: created for ``frame`` when missing, extended by the frame's new columns."""
    if not sa.inspect(conn).has_table(name):
        key = [c for c in (key or ()) if c in frame.columns]
        columns = [sa.Column(c, _sql_type(frame[c]), primary_key=c in key, nullable=c not in key)
                   for c in frame.columns]
        table = sa.Table(name, sa.MetaData(), *columns)
        indexed = _leading(INDEX_COLUMNS, frame.columns)
        if indexed != key:
            sa.Index(f"ix_{name}_{'_'.join(indexed)}", *(table.c[c] for c in indexed))
        table.create(conn)
        return table
    table = sa.Table(name, sa.MetaData(), autoload_with=conn)
    new = [c for c in frame.columns if c not in table.c]
    for c in new:  # schema evolution: a new column is added, nullable (old rows hold NULL)
        column = sa.Column(c, _sql_type(frame[c]))
        ddl = column.type.compile(dialect=conn.dialect)
        prep = conn.dialect.identifier_preparer
        conn.exec_driver_sql(f"ALTER TABLE {prep.quote(name)} ADD COLUMN {prep.quote(c)} {ddl}")
    if new:
        table = sa.Table(name, sa.MetaData(), autoload_with=conn)
    return table


def _leading(wanted: Sequence[str], present) -> list[str]:
    out = []
    for c in wanted:
        if c not in present:
            break
        out.append(c)
    return out


# --- values -------------------------------------------------------------------------------------------

def _records(frame: pd.DataFrame, table: sa.Table) -> list[dict]:
    """The frame's rows as plain Python values (missing -> None) for the table's columns."""
    columns = {}
    for c in frame.columns:
        columns[c] = _python_values(frame[c], table.c[c].type)
    names = list(columns)
    return [dict(zip(names, values)) for values in zip(*columns.values())] if names else []


def _python_values(series: pd.Series, sql_type: sa.types.TypeEngine) -> list:
    missing = series.isna().to_numpy()
    if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(series.dtype):
        values = list(series.dt.to_pydatetime())
    else:
        values = series.astype(object).tolist()
    text = isinstance(sql_type, sa.String)  # Text is a String
    out = []
    for v, gone in zip(values, missing):
        if gone:
            out.append(None)
        elif isinstance(v, np.generic):
            out.append(v.item())
        elif text and not isinstance(v, str):
            out.append(str(v))
        else:
            out.append(v)
    return out


def _column(column: sa.Column, values: list) -> pd.Series:
    """Values read from ``column`` as a pandas column of a sensible dtype."""
    try:
        kind = column.type.python_type
    except NotImplementedError:
        kind = object
    has_null = any(v is None for v in values)
    if kind is bool:
        return pd.Series([None if v is None else bool(v) for v in values], dtype="boolean" if has_null else bool)
    if kind is int:
        return pd.Series(values, dtype="Int64" if has_null else "int64")
    if kind is float:
        return pd.Series([np.nan if v is None else float(v) for v in values], dtype="float64")
    if kind is datetime.datetime:
        return pd.Series(pd.to_datetime(pd.Series(values, dtype=object)))
    if kind is str:
        return pd.Series(values, dtype="str")
    return pd.Series(values, dtype=object)
