"""The tidy CSV submission format: one line per cell, totals included.

Columns: ``opd``, ``period``, ``table``, one column per dimension (``ruang``, ``gol``, ``sex``, ...;
left empty where the table has no such dimension) and ``value``. Optional: ``opd_name``, ``officer``,
``contact``, ``date``. Members are the codes of ``schemas/dimensions.yaml`` (labels and aliases are
accepted too); a table id is matched like a label (``staf_umur`` = ``STAF UMUR``). Values follow the
same number rules as a workbook. A table missing from the file is an error only where its spec or
the registry asks it of the OPD. See README, "CSV format".
"""

from __future__ import annotations

import csv
import io
import weakref
from collections.abc import Callable
from functools import lru_cache
from operator import itemgetter
from pathlib import Path

from pipeline.findings import Finding
from pipeline.labels import normalize
from pipeline.limits import LIMITS, check_csv, too_large
from pipeline.period import normalize_period
from pipeline.specs import TableSpec, load_tables
from pipeline.submission import IDENTITY_FIELDS, Extract, RawCell

REQUIRED = ("opd", "period", "table", "value")


def dimension_columns(tables: dict[str, TableSpec]) -> list[str]:
    names: list[str] = []
    for spec in tables.values():
        names += [n for n in spec.dim_names if n not in names]
    return names


def write_csv(path, opd: str, period: str, values: dict[str, dict], identity: dict | None = None) -> None:
    """Write ``values`` (table id -> {key: value}) in the tidy format (used by tests and other tools)."""
    tables = load_tables()
    dims = dimension_columns(tables)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["opd", "period", "table", *dims, "value"])
        for table, cells in values.items():
            spec = tables[table]
            for key, value in cells.items():
                d = spec.key_dict(key)
                w.writerow([opd, period, table, *(d.get(n, "") for n in dims), value])


_lookups: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _member_lookup(spec: TableSpec) -> dict[str, dict[str, str]]:
    """Per dimension, the member code of each normalised code, label and alias; built once per spec."""
    found = _lookups.get(spec)
    if found is None:
        found = _lookups[spec] = _build_member_lookup(spec)
    return found


def _build_member_lookup(spec: TableSpec) -> dict[str, dict[str, str]]:
    out = {}
    for dim in spec.dims:
        names = {}
        for m in dim.members:
            for text in (m.code, *m.label.values(), *m.aliases):
                names.setdefault(normalize(text), m.code)
        out[dim.name] = names
    return out


_resolved: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # per spec: {texts: (key, detail)}
RESOLVED = 1 << 16  # texts remembered per spec at most (a submission's lines: a few hundred, alike across OPDs)


def _memo(spec: TableSpec) -> dict:
    """What :func:`_resolve` remembers of ``spec``: {texts: (key, detail)}."""
    memo = _resolved.get(spec)
    if memo is None:
        memo = _resolved[spec] = {}
    return memo


def _resolve(spec: TableSpec, lookup: dict[str, dict[str, str]], given: tuple) -> tuple[tuple | None, str]:
    """The cell a line names by its dimension texts as typed (in ``spec.dim_names`` order), or None and
    what was not understood. Remembered per spec: every submission's lines name the same cells."""
    memo = _memo(spec)
    found = memo.get(given)
    if found is None:
        mapping, unknown = {}, []
        for dim, text in zip(spec.dims, given):
            code = lookup[dim.name].get(normalize(text))
            if code is None:
                unknown.append(f"{dim.name}={text or '?'}")
            mapping[dim.name] = code
        key = spec.key(mapping) if not unknown else None
        if key is None or not (spec.has_cell(key) or spec.is_impossible(key)):
            found = (None, ", ".join(unknown) or ", ".join(f"{k}={v}" for k, v in mapping.items()))
        else:
            found = (key, "")
        if len(memo) < RESOLVED:
            memo[given] = found
    return found


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with its BOM (Excel's "Unicode text"), else Windows-1252.

    Text with NUL bytes and no UTF-16 BOM is not a CSV: UnicodeDecodeError."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data:
        raise UnicodeDecodeError("utf-8", data[:1], 0, 1, "NUL bytes: binary data, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def _mixed_identity(rows: dict[str, set], ex: Extract) -> None:
    """One file is one OPD for one period: lines naming several are an error (the first one is not
    simply taken)."""
    for name, seen in rows.items():
        if len(seen) > 1:  # params: which field (opd or period, a part of the message) and the values seen
            ex.findings.append(Finding("CSV_MIXED_IDENTITY", "csv:identity", params={
                name: True, "detail": ", ".join(sorted(seen))}))


def _columns(header: list[str], names) -> Callable[[list], tuple]:
    """What a line holds under ``names``, as a tuple (None where the header has no such column or the line
    stops short); a name the header gives twice: its last column. For lines :func:`_padded` to the header."""
    where = {name: i for i, name in enumerate(header)}
    indices = [where.get(name, len(header)) for name in names]  # past the header: the padding's None
    if len(indices) == 1:
        return lambda line, i=indices[0]: (line[i],)
    return itemgetter(*indices) if indices else lambda line: ()


def _padded(line: list, width: int) -> list:
    """A line as long as the header plus one None (what an absent column reads as); text beyond the header
    is not read."""
    if len(line) == width:
        line.append(None)
        return line
    return line[:width] + [None] * (width + 1 - min(len(line), width))


def _rows(reader, header: list[str], tables, lookups, named: dict, seen: dict, ex: Extract) -> None:
    """Every line of the CSV into ``ex``: cells, identity, what each line names. Blank lines are skipped
    and not counted (a line's number is its place among the others, the header being line 1)."""
    ids = {normalize(t): t for t in tables}
    width = len(header)
    fields = tuple(name for name in IDENTITY_FIELDS if name in header)  # asked until each has been given
    identity, table_of, value_of = _columns(header, fields), _columns(header, ("table",)), _columns(header, ("value",))
    named_of = _columns(header, tuple(named))
    named_items = tuple(named.items())
    dims_of = {t: _columns(header, spec.dim_names) for t, spec in tables.items()}
    given_tables: dict = {}  # a table as typed -> its id (a file names a few tables on every line)
    memos = {t: _memo(spec) for t, spec in tables.items()}
    texts = {name: set() for name in named}  # what each line named, as typed (one file repeats it)
    cells, found = ex.cells, ex.tables
    for line, row in enumerate((r for r in reader if r), start=2):
        row = _padded(row, width)
        if len(ex.identity) < len(fields):
            for name, text in zip(fields, identity(row)):
                if text and name not in ex.identity:
                    ex.identity[name] = text.strip()
        for (name, names), text in zip(named_items, named_of(row)):
            if text and text not in texts[name]:
                texts[name].add(text)
                text = text.strip()
                if text:
                    names.add(text.upper() if name == "opd" else normalize_period(text) or text)
        given = table_of(row)[0]
        table = given_tables.get(given)
        if table is None:  # `staf_umur`, `STAF UMUR`, `staf-umur`: one table
            table = given_tables[given] = ids.get(normalize(given), "")
        spec = tables.get(table)
        if spec is None:
            ex.findings.append(Finding("CELL_UNKNOWN", "csv:cell", params={
                "line": line, "detail": f"table={given}", "table": given}))
            continue
        given = dims_of[table](row)
        key, detail = memos[table].get(given) or _resolve(spec, lookups[table], given)
        if key is None:
            ex.findings.append(Finding("CELL_UNKNOWN", "csv:cell", table, params={"line": line, "detail": detail}))
            continue
        if (table, key) in seen:
            ex.findings.append(Finding("CELL_DUPLICATE", "csv:cell", table, spec.key_dict(key), params={"line": line}))
            continue
        seen[(table, key)] = line
        found.add(table)
        cells.append(RawCell(table, key, value_of(row)[0], None, None))


@lru_cache(maxsize=256)  # a pure function of the header line; every OPD's file has one of a few headers
def _dialect(first_line: str):
    """The CSV dialect of a file, by its header line (comma, semicolon or tab)."""
    try:
        return csv.Sniffer().sniff(first_line, delimiters=",;\t")
    except csv.Error:
        return csv.excel


def read_csv(path) -> Extract:
    path = Path(path)
    ex = Extract(file=str(path), kind="csv")
    beyond = check_csv(path)  # limits before parsing
    if beyond is not None:
        ex.findings.append(beyond)
        return ex
    data = path.read_bytes()
    try:
        text = _decode(data)
    except UnicodeDecodeError as err:
        ex.findings.append(Finding("FILE_CORRUPT", "file:read", params={"file": path.name, "detail": str(err)}))
        return ex
    if not text.strip():
        ex.findings.append(Finding("FILE_EMPTY", "file:read", params={"file": path.name}))
        return ex
    reader = csv.reader(io.StringIO(text), dialect=_dialect(text.splitlines()[0]))
    header = [normalize(h).lower().replace(" ", "_") for h in next(reader, [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        ex.findings.append(Finding("CSV_HEADER", "csv:header", params={"detail": ", ".join(missing)}))
        return ex
    tables = load_tables()
    lookups = {t: _member_lookup(s) for t, s in tables.items()}
    seen: dict[tuple, int] = {}
    named: dict[str, set] = {"opd": set(), "period": set()}
    csv.field_size_limit(LIMITS["csv_line_length"].value)  # a quoted field over many lines is bounded too
    try:
        _rows(reader, header, tables, lookups, named, seen, ex)
    except csv.Error as err:
        ex.findings.append(too_large(str(path), "csv_line_length", LIMITS["csv_line_length"].value + 1)
                           if "field larger" in str(err) else
                           Finding("FILE_CORRUPT", "file:read", params={"file": path.name, "detail": str(err)}))
        return ex
    _mixed_identity(named, ex)
    for table in sorted(ex.tables):
        spec = tables[table]
        for key in spec.cells:
            if (table, key) not in seen and not spec.rows[spec.placements()[key].row].optional:
                ex.findings.append(Finding("CELL_MISSING", "csv:cell", table, spec.key_dict(key)))
    for table, spec in tables.items():
        if table not in ex.tables and spec.is_required(ex.identity.get("opd")):
            ex.findings.append(Finding("TABLE_MISSING", "file:table", table, params={"sheet": spec.sheet}))
    return ex

