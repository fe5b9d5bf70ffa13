"""Publishing: a period's frames written into SQL tables (SQLite file or PostgreSQL), one period at a time.

:func:`publish_frames` replaces the rows of one period in each named table, in ONE transaction: either
every table holds the new rows of that period, or (after any failure, even a crash) every table still
holds the previous ones. Running it twice with the same frames leaves identical table contents. Rows of
other periods are never touched, nor are tables not named in ``frames``. Only the rows that changed are
written where a table's rows have a key (:data:`ROW_KEYS`): one OPD's new version rewrites its own lineage
rows and the city cells that changed, nothing else. An agency published with a fingerprint (a hash of what
its frames are made of, recorded in :data:`FINGERPRINTS`) whose fingerprint is unchanged is not compared
at all (:func:`publish_agencies`).

A database may be shared by many agencies (a province, the national agency): each publishes its rows
tagged with its code (column ``instansi``, second after ``period``), and a publish replaces only its own
agency's rows (:func:`publish_agencies` publishes several agencies of one workspace in one transaction).
Untagged rows (a city on its own database) are the rows whose ``instansi`` is NULL, if the column exists.

Tables are created when missing, with column types derived from the frame's dtypes (text, bigint,
double, boolean, timestamp) and a ``period`` column always first. Every table gets an index on the
columns it has among ``(period, instansi, table, key)``; ``rekap_cells`` gets a primary key on them
instead (see :data:`PRIMARY_KEYS`, extensible through ``primary_keys=``). A frame with a column the table
lacks adds that column (nullable) in the same transaction; a column the table has but the frame lacks is
written as NULL. Column types of an existing table are never changed: a value the database cannot
store in it (PostgreSQL is strict, SQLite is not) fails the publish with a :class:`DatabaseError`.

Concurrent publishes are safe. SQLite: ``BEGIN IMMEDIATE`` serialises them. PostgreSQL: each holds a
transaction-scoped advisory lock per agency it publishes (``pg_advisory_xact_lock``), so two runs of one
agency never interleave their rows while different agencies publish side by side; one that must create
or extend a table (in the same transaction) holds a schema lock exclusively, the others hold it shared
(a publish finds that out under the shared lock, and starts again holding it exclusively).
(A table created untagged keeps its primary key without ``instansi``: a shared database starts empty.)

Any problem with the database (bad URL, missing driver, unreachable server, failed statement) is raised
as :class:`DatabaseError` with a one-line message naming the database, password hidden.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event, exc

# Key columns of the known tables (period first; ``instansi`` where the rows are tagged), beyond which a
# frame's rows must be unique.
TAG = "instansi"  # the column naming the agency whose rows they are (a database shared by agencies)
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {"rekap_cells": ("period", TAG, "table", "key")}
# Within one period and agency, what identifies a row of the known tables: a publish deletes and inserts only
# the rows whose values changed (one OPD's new file rewrites its own lineage rows, not everyone's). Other
# tables are replaced whole within the period and agency.
ROW_KEYS: dict[str, tuple[str, ...]] = {"rekap_cells": ("table", "key"),
                                        "rekap_lineage": ("table", "key", "opd", "source")}
INDEX_COLUMNS = ("period", TAG, "table", "key")  # indexed where a table has them (the leading ones present)
FINGERPRINTS = "rekap_release"  # the table whose row per period and agency records its publish's fingerprint
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CONNECT_TIMEOUT = 10  # seconds, PostgreSQL: an unreachable server fails fast instead of hanging
SCHEMA_LOCK = "rekap.schema"  # PostgreSQL advisory locks: tables created or extended (exclusive) or used
PUBLISH_LOCK = "rekap.publish:{}"  # ... and one per agency ("" for untagged rows)


Frames = Mapping[str, pd.DataFrame] | Callable[[], Mapping[str, pd.DataFrame]]  # or a function making them


class DatabaseError(Exception):
    """The database could not be reached or refused the work: the message says which and why."""


class _NoDatabase(DatabaseError):
    """The SQLite file to read does not exist."""


def publish_frames(url: str, period: str, frames: Mapping[str, pd.DataFrame],
                   primary_keys: Mapping[str, Sequence[str]] | None = None,
                   instansi: str | None = None) -> dict[str, dict[str, int]]:
    """Replace the rows of ``period`` in each table ``frames`` names with that frame's rows, atomically.

    A frame without a ``period`` column gets one; a frame with one must hold ``period`` only.
    ``primary_keys`` adds to :data:`PRIMARY_KEYS` (table -> key columns, used when a table is created).
    ``instansi``: the agency the rows are tagged with (column ``instansi``): only that agency's rows of
    the period are replaced. Untagged rows (``None``) replace only the untagged rows of the period.
    Returns, per table, the rows ``deleted`` and ``inserted`` (see :data:`ROW_KEYS`).
    """
    return publish_agencies(url, period, {instansi: frames}, primary_keys)[instansi]


def publish_agencies(url: str, period: str, by_agency: Mapping[str | None, Frames],
                     primary_keys: Mapping[str, Sequence[str]] | None = None,
                     fingerprints: Mapping[str | None, str] | None = None) -> dict:
    """:func:`publish_frames` for several agencies at once (agency -> its frames), in ONE transaction.

    PostgreSQL: the transaction holds a transaction-scoped advisory lock per agency
    (``pg_advisory_xact_lock``, taken in agency order), so publishers of different agencies run side by
    side and two publishers of one agency wait for each other; a publish that must create or extend a table
    holds a schema lock exclusively (others hold it shared), so DDL never races. SQLite: ``BEGIN
    IMMEDIATE`` serialises every publisher. Returns agency -> table -> counts.

    ``fingerprints`` (agency -> a hash of what its frames are made of) are recorded with each agency's row of
    :data:`FINGERPRINTS`: an agency whose fingerprint is the one recorded at its last publish of the period
    is left as it is (no row compared; counts ``{}``), and its frames, which may be given as a function
    that makes them, are never made.
    """
    period = str(period)
    keys = {**PRIMARY_KEYS, **(primary_keys or {})}
    fingerprints = fingerprints or {}
    with _engine(url, create=True) as engine:
        where = _where(engine)
        try:
            with engine.connect() as conn:
                unchanged = _unchanged(conn, period, fingerprints)
            schema = False
            while True:  # each of the two causes to start again can occur once
                try:
                    return _publish(engine, period, by_agency, keys, fingerprints, unchanged, schema)
                except _Moved:  # another publisher changed an agency's rows meanwhile: publish every agency
                    unchanged = set()
                except _NeedSchema:  # a table to create or extend: again, holding the schema lock exclusively
                    schema = True
        except exc.SQLAlchemyError as e:
            raise DatabaseError(f"publishing period {period} to {where} failed, nothing changed: "
                                f"{_reason(e)}") from e


class _Moved(Exception):
    """An agency's rows left as they were changed since their fingerprint was read: publish it after all."""


class _NeedSchema(Exception):
    """A table must be created or extended, and the schema lock is held shared: publish again, exclusively."""


def _publish(engine: sa.Engine, period: str, by_agency: Mapping[str | None, Frames], keys: Mapping,
             fingerprints: Mapping[str | None, str], unchanged: set, schema: bool) -> dict:
    """One transaction of :func:`publish_agencies`: every agency but the ``unchanged`` ones replaced, one
    agency's frames made at a time (a national workspace's frames together would not fit in memory).

    PostgreSQL: ``schema`` holds the schema lock exclusively (tables may be created or extended); without it
    the lock is shared, and a table to create or extend raises :class:`_NeedSchema` (nothing is changed)."""
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        if postgres:  # creating or extending a table excludes every other publisher; else shared
            _lock(conn, SCHEMA_LOCK, shared=not schema)
            for agency in sorted(by_agency, key=lambda a: a or ""):
                _lock(conn, PUBLISH_LOCK.format(agency or ""))
        if not unchanged <= _unchanged(conn, period, fingerprints):
            raise _Moved
        tables = {}
        counts = {agency: {} for agency in unchanged}
        for agency in sorted((a for a in by_agency if a not in unchanged), key=lambda a: a or ""):
            counts[agency] = _replace_all(conn, period, agency, _frames(period, agency, by_agency[agency],
                                                                        fingerprints.get(agency)),
                                          keys, tables, alter=schema or not postgres)
    return counts


def _replace_all(conn: sa.Connection, period: str, agency: str | None, frames: dict[str, pd.DataFrame],
                 keys: Mapping, tables: dict[str, sa.Table], alter: bool) -> dict:
    """:func:`_replace` for each of an agency's frames (which are gone once it returns)."""
    return {name: _replace(conn, _table_for(conn, name, frame, keys.get(name), tables, alter, agency is not None),
                           period, agency, frame, ROW_KEYS.get(name))
            for name, frame in frames.items()}


def _frames(period: str, agency: str | None, frames: Frames, fingerprint: str | None) -> dict[str, pd.DataFrame]:
    """An agency's frames prepared (:func:`_prepare`), its fingerprint in its row of :data:`FINGERPRINTS`."""
    frames = dict(frames() if callable(frames) else frames)
    if fingerprint is not None:
        frames[FINGERPRINTS] = frames[FINGERPRINTS].assign(fingerprint=fingerprint)
    return {name: _prepare(name, period, frame, agency) for name, frame in frames.items()}


def _unchanged(conn: sa.Connection, period: str, fingerprints: Mapping[str | None, str]) -> set:
    """The agencies whose fingerprint is the one recorded with their row of :data:`FINGERPRINTS`."""
    if not fingerprints:
        return set()
    inspector = sa.inspect(conn)
    if not inspector.has_table(FINGERPRINTS) or \
            "fingerprint" not in {c["name"] for c in inspector.get_columns(FINGERPRINTS)}:
        return set()
    table = sa.Table(FINGERPRINTS, sa.MetaData(), autoload_with=conn)
    tag = table.c[TAG] if TAG in table.c else sa.null()
    recorded = dict(conn.execute(sa.select(tag, table.c.fingerprint).where(table.c.period == period)).all())
    return {agency for agency, fingerprint in fingerprints.items() if recorded.get(agency) == fingerprint}


def _lock(conn: sa.Connection, name: str, shared: bool = False) -> None:
    fn = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    conn.execute(sa.text(f"SELECT {fn}(hashtext(:name))"), {"name": name})


def _table_for(conn: sa.Connection, name: str, frame: pd.DataFrame, key, tables: dict[str, sa.Table],
               alter: bool = True, tagged: bool = False) -> sa.Table:
    """The table ``name`` for ``frame`` (created or extended when needed and ``alter``, else
    :class:`_NeedSchema`), reflected once per transaction. ``tagged``: the rows are an agency's."""
    known = tables.get(name)
    if known is None or any(c not in known.c for c in _names(frame, tagged)):
        tables[name] = _ensure_table(conn, name, frame, key, alter, tagged)
    return tables[name]


def _replace(conn: sa.Connection, table: sa.Table, period: str, agency: str | None, frame: pd.DataFrame,
             row_key: Sequence[str] | None) -> dict[str, int]:
    """Make the rows of ``period`` and ``agency`` in ``table`` those of ``frame``: by difference when rows
    have a key (:data:`ROW_KEYS`) and the frame's rows are unique on it, else delete and insert."""
    scope = [table.c.period == period]
    if agency is not None:
        scope.append(table.c[TAG] == agency)
    elif TAG in table.c:  # untagged rows never touch an agency's
        scope.append(table.c[TAG].is_(None))
    columns = [c for c in table.columns if c.name not in ("period", TAG)]
    rows = _rows(frame, columns)  # a tuple per row, in the order of ``columns`` (None where the frame has none)
    if row_key and all(k in frame.columns for k in row_key):
        index = [columns.index(table.c[k]) for k in row_key]
        key = itemgetter(*index) if len(index) > 1 else lambda row: (row[index[0]],)
        new = {key(row): row for row in rows}
        if len(new) == len(rows):
            old = {key(row): row for row in map(tuple, conn.execute(sa.select(*columns).where(*scope)))}
            gone = [k for k, values in old.items() if new.get(k) != values]
            fresh = [row for k, row in new.items() if old.get(k) != row]
            if gone:
                match = [table.c[k] == sa.bindparam(f"key_{i}") for i, k in enumerate(row_key)]
                conn.execute(sa.delete(table).where(*scope, *match),
                             [{f"key_{i}": v for i, v in enumerate(k)} for k in gone])
            _insert(conn, table, period, agency, columns, fresh)
            return {"deleted": len(gone), "inserted": len(fresh)}
    deleted = conn.execute(sa.delete(table).where(*scope)).rowcount
    _insert(conn, table, period, agency, columns, rows)
    return {"deleted": deleted, "inserted": len(rows)}


def _insert(conn: sa.Connection, table: sa.Table, period: str, agency: str | None, columns: list[sa.Column],
            rows: list[tuple]) -> None:
    """Insert ``rows`` (values of ``columns``) as rows of ``period`` and ``agency``: one prepared statement
    executed for every row by the driver itself, each value through its column type's own bind processor
    (what SQLAlchemy's executemany does, without its work per row and parameter)."""
    if not rows:
        return
    scope = [table.c.period] + ([table.c[TAG]] if TAG in table.c else [])
    targets = scope + columns
    processors = [c.type.bind_processor(conn.dialect) for c in targets]
    marker = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(conn.dialect.paramstyle)
    if marker is None:  # a driver of another parameter style: SQLAlchemy's own way
        names = [c.name for c in targets]
        conn.execute(sa.insert(table), [dict(zip(names, (period, agency)[:len(scope)] + row)) for row in rows])
        return
    prep = conn.dialect.identifier_preparer
    sql = (f"INSERT INTO {prep.format_table(table)} ({', '.join(prep.quote(c.name) for c in targets)}) "
           f"VALUES ({', '.join([marker] * len(targets))})")
    head = (period, agency)[:len(scope)]
    converters = [(i, f) for i, f in enumerate(processors[len(scope):]) if f is not None]  # (scope: text)
    if converters:
        try:
            rows = [tuple(_converted(row, converters)) for row in rows]
        except (TypeError, ValueError) as err:  # a value the column's type refuses (SQLAlchemy's own error)
            raise exc.StatementError(str(err), sql, None, err) from err
    conn.exec_driver_sql(sql, [head + row for row in rows])


def _converted(row: tuple, converters: list) -> list:
    out = list(row)
    for i, f in converters:
        if out[i] is not None:
            out[i] = f(out[i])
    return out


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
        raise DatabaseError(f"not a database URL ({e})") from e  # not echoed: it may hold a password
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


def _prepare(name: str, period: str, frame: pd.DataFrame, agency: str | None = None) -> pd.DataFrame:
    """The frame to write, with string column names; a ``period`` column it has must hold ``period`` only.
    Its rows are written with ``period`` (first column) and, for an agency's rows, ``agency`` (column
    ``instansi``, second) whatever columns of those names it holds (:func:`_names`, :func:`_insert`)."""
    _check_name(name)
    if not all(isinstance(c, str) for c in frame.columns):
        frame = frame.rename(columns=str)
    if frame.columns.duplicated().any():
        raise ValueError(f"frame {name!r} has duplicate columns: {list(frame.columns[frame.columns.duplicated()])}")
    for column in frame.columns:
        _check_name(column)
    if "period" in frame.columns:
        found = {str(v) for v in frame["period"].dropna().unique()} - {period}
        if found or frame["period"].isna().any():
            raise ValueError(f"frame {name!r} holds rows of other periods than {period}: {sorted(found)}")
    return frame.reset_index(drop=True)


def _names(frame: pd.DataFrame, tagged: bool) -> list[str]:
    """The columns a frame's rows are written to: ``period`` first, ``instansi`` second for an agency's rows
    (``tagged``), then the frame's own."""
    scope = ["period"] + ([TAG] if tagged or TAG in frame.columns else [])
    return scope + [c for c in frame.columns if c not in scope]


def _column_type(frame: pd.DataFrame, name: str) -> sa.types.TypeEngine:
    return sa.Text() if name in ("period", TAG) else _sql_type(frame[name])


def _sql_type(series: pd.Series) -> sa.types.TypeEngine:
    """The column type for a frame column: from its dtype, or from its values when it is ``object``."""
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
                  key: Sequence[str] | None, alter: bool = True, tagged: bool = False) -> sa.Table:
    """The table ``name``: created for ``frame`` when missing, extended by the frame's new columns (where
    that is needed and not ``alter``: :class:`_NeedSchema`). ``tagged``: the rows are an agency's."""
    names = _names(frame, tagged)
    if not sa.inspect(conn).has_table(name):
        if not alter:
            raise _NeedSchema
        key = [c for c in (key or ()) if c in names]
        columns = [sa.Column(c, _column_type(frame, c), primary_key=c in key, nullable=c not in key)
                   for c in names]
        table = sa.Table(name, sa.MetaData(), *columns)
        indexed = _leading(INDEX_COLUMNS, names)
        if indexed != key:
            sa.Index(f"ix_{name}_{'_'.join(indexed)}", *(table.c[c] for c in indexed))
        table.create(conn)
        return table
    table = sa.Table(name, sa.MetaData(), autoload_with=conn)
    new = [c for c in names if c not in table.c]
    if new and not alter:
        raise _NeedSchema
    for c in new:  # schema evolution: a new column is added, nullable (old rows hold NULL)
        column = sa.Column(c, _column_type(frame, c))
        ddl = column.type.compile(dialect=conn.dialect)
        prep = conn.dialect.identifier_preparer
        conn.exec_driver_sql(f"ALTER TABLE {prep.quote(name)} ADD COLUMN {prep.quote(c)} {ddl}")
    if new:
        table = sa.Table(name, sa.MetaData(), autoload_with=conn)
    return table


def _leading(wanted: Sequence[str], present) -> list[str]:
    out = []
    for c in wanted:
        if c == TAG and c not in present:  # untagged rows: the same index as ever
            continue
        if c not in present:
            break
        out.append(c)
    return out


# --- values -------------------------------------------------------------------------------------------

def _rows(frame: pd.DataFrame, columns: list[sa.Column]) -> list[tuple]:
    """The frame's rows as tuples of plain Python values (missing -> None) for ``columns`` (None for a column
    the frame lacks)."""
    n = len(frame)
    values = [_python_values(frame[c.name], c.type) if c.name in frame.columns else [None] * n for c in columns]
    return list(zip(*values)) if values else [()] * n


def _python_values(series: pd.Series, sql_type: sa.types.TypeEngine) -> list:
    """A column's values as plain Python values (missing -> None; for a text column, text)."""
    dtype = series.dtype
    text = isinstance(sql_type, sa.String)  # Text is a String
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype):
        missing = series.isna().to_numpy()
        return [None if gone else str(v) if text else v for v, gone in zip(series.dt.to_pydatetime(), missing)]
    if dtype == object:  # anything at all: value by value
        values = series.tolist()
        missing = series.isna().to_numpy()
        out = []
        for v, gone in zip(values, missing):
            if isinstance(v, np.generic):
                v = v.item()
            out.append(None if gone else str(v) if text and not isinstance(v, str) else v)
        return out
    # numbers, booleans, text and categories: numpy and Arrow give Python values (None where missing)
    values = series.to_numpy(dtype=object, na_value=None).tolist()
    held = dtype.categories.dtype if isinstance(dtype, pd.CategoricalDtype) else dtype
    if text and not (pd.api.types.is_string_dtype(held) and held != object):  # not text already
        values = [v if v is None or isinstance(v, str) else str(v) for v in values]
    return values


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
