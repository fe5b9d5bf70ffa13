"""Staff lists in: one row per employee (a SIASN export or an OPD's own list), read and mapped.

A list is a workbook (xlsx; xls and ods through python-calamine) or a CSV with a header row; its columns and values are mapped to fields
and codes by the spec ``schemas/staff.yaml``, never by code. The unit column is matched to the
registry (an OPD's code, name or ``aliases``; the longest name found in the unit text wins, so
``SD Negeri 3 Serang`` is DINDIKBUD's and ``Bidang Anggaran BPKAD`` is BPKAD's). Reading never
raises on bad input: what cannot be read or mapped is a finding.

Rows are held in a polars frame (chosen by measurement: ``bench/staff_engines.py``). Texts are mapped
once per distinct value, so a national list of millions of rows maps in the time of its few hundred
distinct spellings.

Personal data: a list's names, NIPs and birth dates stay in the frame, the archived list and the
owner-only people file (:func:`write_people`); findings carry the row and a masked NIP only.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.findings import Finding
from pipeline.labels import normalize
from pipeline.limits import LIMITS, check_xlsx
from pipeline.sheets import workbook_sheets
from pipeline.specs import Opd, load_registry, load_tables, read_yaml, spec_file

if TYPE_CHECKING:  # polars is imported where a list is read: asking whether a file is one needs none of it
    import polars as pl

FIELDS_OUT = ("row", "nip", "name", "sex", "status", "gol", "ruang", "rank", "grade", "education", "position",
              "eselon", "post", "jenjang", "school", "opd", "unit")
PRIVATE = 0o600  # archived lists and the people file: owner only


@cache
def staff_spec(path: Path | None = None) -> dict:
    """The staff-list mapping spec (``staff.yaml``), default: the one in force (a workspace may override it).
    Parsed once per file and process (every row of every file sniffed asks for it): read it, never change it."""
    return _spec_at(str(path or spec_file("staff.yaml")))


@cache
def _spec_at(path: str) -> dict:
    return read_yaml(Path(path))


def mask_nip(nip) -> str:
    """A NIP as findings show it outside the OPD's own feedback: only the last four digits."""
    text = str(nip or "")
    return "*" * max(len(text) - 4, 0) + text[-4:] if text else "-"


@dataclass
class StaffList:
    """A staff list as read: the rows (canonical field names, text), and what could not be read."""

    file: str
    kind: str  # "xlsx" or "csv"
    rows: pl.DataFrame  # row (the sheet row or CSV line), then one text column per field found
    findings: list[Finding] = field(default_factory=list)
    sheet: str | None = None


# -- recognising and reading ---------------------------------------------------------------------
_ALIASES: list = [None, None, 0]  # the staff spec last asked for, its aliases, and the texts a header holds at least


def _aliases() -> dict[str, tuple[str, ...]]:
    """field -> its aliases, normalised (built once per staff spec: every row of every sniffed file asks)."""
    spec = staff_spec()
    if _ALIASES[0] is not spec:
        aliases = {name: tuple(normalize(a).replace(" ", "") for a in col["aliases"])
                   for name, col in spec["columns"].items()}
        # a text is one alias: a header holds a text per recognised field when no two share an alias
        recognised = [set(aliases[name]) for name in spec["recognise"]]
        disjoint = len(set().union(*recognised)) == sum(map(len, recognised))
        _ALIASES[:] = [spec, aliases, len(recognised) if disjoint else min(1, len(recognised))]
        _header_cells.cache_clear()  # its answers were the former spec's
    return _ALIASES[1]


def header_fields(header: list) -> dict[str, int]:
    """field -> index of the column holding it (first alias found, in the spec's order). A column is named
    by a text: a number, date or empty cell names none."""
    found = {normalize(h).replace(" ", ""): i for i, h in reversed(list(enumerate(header)))
             if isinstance(h, str) and h}
    out = {}
    for name, aliases in _aliases().items():
        for alias in aliases:
            if alias in found:
                out[name] = found[alias]
                break
    return out


def _is_header(row: list) -> bool:
    """Whether a row holds the columns of the spec's ``recognise`` fields. A row with fewer texts than a
    header needs is none; the others are asked by their texts (all :func:`header_fields` reads), remembered:
    the same label rows recur in every workbook made from a template."""
    cells = tuple(v for v in row if isinstance(v, str) and v)
    _aliases()  # the spec in force (a new one forgets the answers of the former)
    return len(cells) >= _ALIASES[2] and _header_cells(cells)


@lru_cache(maxsize=1 << 12)  # bounded: label rows recur, a list's or a recap's data rows do not
def _header_cells(cells: tuple[str, ...]) -> bool:
    return set(staff_spec()["recognise"]) <= set(header_fields(list(cells)))


SHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
CFB = bytes.fromhex("D0CF11E0A1B11AE1")  # the old binary Excel format (.xls)


def _sheets(path: Path, limit: int | None):
    """(title, rows) of each visible sheet: python-calamine for xls and ods; openpyxl, streaming, for xlsx
    (a list may be far beyond the recap limits)."""
    if path.suffix.lower() in (".xls", ".ods") or _head(path, 8) == CFB:
        from python_calamine import CalamineWorkbook

        wb = CalamineWorkbook.from_path(str(path))
        for meta in wb.sheets_metadata:
            if str(meta.visible).endswith(".Visible"):  # SheetVisibleEnum.Visible, not Hidden / VeryHidden
                rows = wb.get_sheet_by_name(meta.name).iter_rows()
                yield meta.name, (r for n, r in enumerate(rows) if limit is None or n < limit)
        return
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        for ws in wb.worksheets:
            if ws.sheet_state != "visible":
                continue
            yield ws.title, ws.iter_rows(values_only=True, max_row=limit)
    finally:
        wb.close()


def _head(path: Path, n: int) -> bytes:
    with open(path, "rb") as f:
        return f.read(n)


def _is_sheet(path: Path) -> bool:
    """A workbook (xlsx, xls, ods) rather than a text file, by content first."""
    head = _head(path, 8)
    return head.startswith(b"PK\x03\x04") or head == CFB or path.suffix.lower() in SHEET_SUFFIXES


def _csv_head(path: Path, limit: int) -> tuple[list[str], str]:
    """The first lines of a CSV and its delimiter (comma, or semicolon when the header has more)."""
    with open(path, encoding="utf-8-sig", errors="replace") as f:
        lines = [line for _, line in zip(range(limit), f)]
    return lines, ";" if lines and lines[0].count(";") > lines[0].count(",") else ","


def is_staff_list(path) -> bool:
    """Whether a file is a staff list (by its content: a header row with the spec's columns)."""
    path = Path(path)
    limit = int(staff_spec()["header_rows"])
    try:
        if _is_sheet(path):
            # every recap is within the limits (checked before anything parses it) and is asked this: read
            # it fast; a bigger list is streamed, its first rows only
            data = path.read_bytes() if path.stat().st_size <= LIMITS["file_bytes"].value else None
            if data is not None and data[:4] == b"PK\x03\x04" and check_xlsx(path, len(data), data) is None:
                # parsed whole, once: the recap reader reads the same sheets (pipeline.sheets)
                return any(_is_header(row) for sheet in workbook_sheets(data) if sheet.visible
                           for row in sheet.head(limit))
            return any(any(_is_header(list(r)) for r in rows) for _, rows in _sheets(path, limit))
        if path.suffix.lower() not in (".csv", ".txt", ".tsv"):
            return False
        lines, delimiter = _csv_head(path, limit)
        return any(_is_header(r) for r in csv.reader(lines, delimiter=delimiter))
    except Exception:  # not readable as a list: the recap reader will say why
        return False


def _cell_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        return f"{value:.0f}" if value.is_integer() else repr(value)
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d")
    text = str(value).strip()
    return text or None


def _frame(header: list, body: list[list], first_row: int) -> pl.DataFrame:
    import polars as pl

    fields = header_fields(header)
    data = {"row": list(range(first_row, first_row + len(body)))}
    for name, idx in fields.items():
        data[name] = [_cell_text(r[idx]) if idx < len(r) else None for r in body]
    frame = pl.DataFrame(data, schema={"row": pl.Int64, **{n: pl.String for n in fields}})
    text_cols = [c for c in frame.columns if c != "row"]
    return frame.filter(~pl.all_horizontal(pl.col(c).is_null() for c in text_cols)) if text_cols else frame


def read_staff(path) -> StaffList:
    import polars as pl

    path = Path(path)
    limit = int(staff_spec()["header_rows"])
    try:
        if _is_sheet(path):
            kind = path.suffix.lower().lstrip(".") if path.suffix.lower() in (".xls", ".ods") else "xlsx"
            for title, rows in _sheets(path, None):
                rows = iter(rows)
                for n, row in enumerate(rows, start=1):
                    if n > limit:
                        break
                    if _is_header(list(row)):
                        body = [list(r) for r in rows]
                        return _checked(StaffList(str(path), kind, _frame(list(row), body, n + 1), sheet=title))
            return _no_header(path, kind)
        head_lines, delimiter = _csv_head(path, limit)
        for n, row in enumerate(csv.reader(head_lines, delimiter=delimiter), start=1):
            if _is_header(row):
                # the body straight from the file (no copy through Python strings: a national list is large)
                frame = pl.read_csv(path, separator=delimiter, skip_rows=n - 1, infer_schema=False,
                                    truncate_ragged_lines=True, encoding="utf8-lossy")
                fields = header_fields([c.lstrip("\ufeff") for c in frame.columns])
                frame = frame.select([pl.col(frame.columns[i]).str.strip_chars().replace("", None).alias(f)
                                      for f, i in fields.items()])
                frame = frame.with_row_index("row", offset=n + 1).with_columns(pl.col("row").cast(pl.Int64))
                return _checked(StaffList(str(path), "csv", frame))
        return _no_header(path, "csv")
    except Exception as err:  # an unreadable file is a finding, never a stop
        out = StaffList(str(path), "unknown", pl.DataFrame({"row": []}, schema={"row": pl.Int64}))
        out.findings.append(Finding("FILE_CORRUPT", "staff:read", params={"file": path.name,
                                                                           "detail": type(err).__name__}))
        return out


def _no_header(path: Path, kind: str) -> StaffList:
    import polars as pl

    out = StaffList(str(path), kind, pl.DataFrame({"row": []}, schema={"row": pl.Int64}))
    out.findings.append(Finding("STAFF_COLUMN_MISSING", "staff:columns", params={
        "file": path.name, "column": ", ".join(staff_spec()["recognise"]).upper()}))
    return out


def _checked(found: StaffList) -> StaffList:
    for name, col in staff_spec()["columns"].items():
        if col.get("required") and name not in found.rows.columns:
            found.findings.append(Finding("STAFF_COLUMN_MISSING", "staff:columns", params={
                "file": Path(found.file).name, "column": col["aliases"][0]}))
    if found.rows.height == 0:
        found.findings.append(Finding("STAFF_EMPTY", "staff:rows", params={"file": Path(found.file).name}))
    return found


# -- mapping values to codes --------------------------------------------------------------------
@cache
def _value_table(name: str) -> dict[str, str]:
    """Normalised spelling -> code for one field (with the dimension's own spellings where one exists)."""
    out: dict[str, str] = {}
    dims = {"education": "pendidikan", "eselon": "eselon", "sex": "sex"}
    if name in dims:
        for spec in load_tables().values():
            if dims[name] in spec.dim_names:
                for m in spec.dim(dims[name]).members:
                    if not m.is_total:
                        for text in (m.code, *m.aliases, *m.label.values()):
                            out.setdefault(normalize(text).replace(" ", ""), m.code)
    for code, spellings in staff_spec()["values"].get(name, {}).items():
        for text in (code, *spellings):
            out[normalize(text).replace(" ", "")] = str(code)
    return out


def map_value(name: str, text) -> str | None:
    if text is None:
        return None
    return _value_table(name).get(normalize(text).replace(" ", ""))


def _contains(name: str, text) -> str | None:
    """The code of the first spelling found as whole words in ``text`` (posts, schools)."""
    if text is None:
        return None
    padded = f" {normalize(text)} "
    for code, spellings in staff_spec()["values"][name].items():
        if any(f" {normalize(s)} " in padded for s in spellings):
            return str(code)
    return None


@cache
def _rank_names() -> dict[str, str]:
    return {normalize(k): v for k, v in staff_spec()["rank"]["names"].items()}


def parse_rank(text) -> tuple[str | None, str | None, str | None]:
    """(golongan, ruang, PPPK grade) of a rank text; ``III/a``, ``III-a``, ``Penata Muda`` -> (III, A, None)."""
    if text is None:
        return None, None, None
    n = normalize(text)
    m = re.search(staff_spec()["rank"]["pattern"], n)
    if m:
        return m.group(1), m.group(2), None
    name = re.sub(r"\bTK\b", "TINGKAT", re.sub(r",.*$", "", n)).strip()
    if name in _rank_names():
        gol, ruang = _rank_names()[name].split("/")
        return gol, ruang.upper(), None
    p = re.match(staff_spec()["rank"]["pppk_pattern"], n)
    if p:
        return None, None, p.group(1)
    return None, None, None


def _words(text) -> str:
    """A unit's name as words: normalised, punctuation as spaces (``Dinas Komunikasi, Informatika``)."""
    return re.sub(r"\s+", " ", re.sub(r"[,;()\"']", " ", normalize(text))).strip()


@cache
def _unit_names(registry_items: tuple) -> tuple[tuple[str, str], ...]:
    names = []
    for code, opd in registry_items:  # an agency's registry knows its OPD by its own code too: the id is named
        for text in (code, opd.name, *opd.aliases):
            n = _words(text)
            if n:
                names.append((n, opd.code))
    return tuple(sorted(names, key=lambda x: -len(x[0])))


def match_unit(text, registry: dict[str, Opd]) -> str | None:
    """The registry OPD a unit text names: the longest code, name or alias found in it as whole words."""
    if text is None:
        return None
    padded = f" {_words(text)} "
    for name, code in _unit_names(tuple(registry.items())):
        if f" {name} " in padded:
            return code
    return None


def _mapped(frame: pl.DataFrame, column: str, fn) -> pl.Expr:
    """``fn`` applied once per distinct value of a column (a list has few distinct spellings)."""
    import polars as pl

    if column not in frame.columns:
        return pl.lit(None, dtype=pl.String)
    table = {v: fn(v) for v in frame[column].unique().to_list() if v is not None}
    return pl.col(column).replace_strict(table, default=None, return_dtype=pl.String)


def map_rows(staff: StaffList, registry: dict[str, Opd] | None = None) -> tuple[pl.DataFrame, list[Finding]]:
    """The list's rows with codes (sex, status, gol, ruang, education, position, eselon, post,
    jenjang, school, opd), and a finding for every value that maps to nothing.

    A row whose value cannot be mapped is left out of every count (its ``ok`` is false).
    """
    import polars as pl

    registry = registry or load_registry()
    f = staff.rows
    name = Path(staff.file).name
    ranks = {v: parse_rank(v) for v in f["rank"].unique().to_list()} if "rank" in f.columns else {}
    jenjang = staff_spec()["jenjang"]
    workplace = "workplace" if "workplace" in f.columns else "unit"
    out = f.select(
        pl.col("row"),
        (pl.col("nip") if "nip" in f.columns else pl.lit(None, dtype=pl.String)).alias("nip"),
        (pl.col("name") if "name" in f.columns else pl.lit(None, dtype=pl.String)).alias("name"),
        _mapped(f, "sex", lambda v: map_value("sex", v)).alias("sex"),
        _mapped(f, "status", lambda v: map_value("status", v)).alias("status"),
        _mapped(f, "rank", lambda v: ranks[v][0]).alias("gol"),
        _mapped(f, "rank", lambda v: ranks[v][1]).alias("ruang"),
        _mapped(f, "rank", lambda v: ranks[v][2]).alias("grade"),
        (pl.col("rank") if "rank" in f.columns else pl.lit(None, dtype=pl.String)).alias("rank"),
        _mapped(f, "education", lambda v: map_value("education", v)).alias("education"),
        _mapped(f, "position", lambda v: map_value("position", v)).alias("position"),
        _mapped(f, "eselon", lambda v: map_value("eselon", v)).alias("eselon"),
        _mapped(f, "post", lambda v: _contains("post", v)).alias("post"),
        _mapped(f, workplace, lambda v: _contains("school", v)).alias("school"),
        _mapped(f, "unit", lambda v: match_unit(v, registry)).alias("opd"),
        (pl.col("unit") if "unit" in f.columns else pl.lit(None, dtype=pl.String)).alias("unit"),
    )
    out = out.with_columns(
        pl.concat_str([pl.col("gol"), pl.lit("/"), pl.col("ruang").str.to_lowercase()])
        .replace_strict(jenjang, default=None, return_dtype=pl.String).alias("jenjang"))
    findings: list[Finding] = []
    # values that map to nothing: one finding per row (capped), the text and the column named
    checks = [("sex", "sex"), ("status", "status"), ("education", "education"), ("position", "position")]
    bad = pl.lit(False)
    for column, mapped in checks:
        if column not in f.columns:
            continue
        unknown = pl.col(mapped).is_null()
        bad = bad | unknown
        rows = out.with_columns(f[column].alias("_raw")).filter(unknown)
        findings += row_findings(rows, "STAFF_VALUE_UNKNOWN", "staff:values", name, lambda r, c=column: {
            "column": staff_spec()["columns"][c]["aliases"][0], "value": r["_raw"] or "-"})
    structural_without = (pl.col("position") == "struktural") & pl.col("eselon").is_null()
    rows = out.filter(structural_without)
    findings += row_findings(rows, "STAFF_VALUE_UNKNOWN", "staff:values", name, lambda r: {
        "column": "ESELON", "value": "-"})
    bad = bad | structural_without.fill_null(False)
    # units that match no registry OPD: one finding per unit text, with its row count
    if "unit" in f.columns:
        unmatched = (out.filter(pl.col("opd").is_null())
                     .group_by("unit").agg(pl.len().alias("n"), pl.col("row").min().alias("first"))
                     .sort("first"))
        for r in unmatched.iter_rows(named=True):
            findings.append(Finding("STAFF_UNIT_UNKNOWN", "staff:unit", actual=r["unit"] or "-", params={
                "file": name, "unit": r["unit"] or "-", "count": r["n"], "row": str(r["first"]), "opd": "-"}))
    out = out.with_columns(ok=~bad.fill_null(True) & pl.col("opd").is_not_null())
    return out, findings


def row_findings(rows: pl.DataFrame, code: str, rule: str, file: str, params, *, actual=None,
                 expected=None, limit: int | None = None) -> list[Finding]:
    """One finding per row (row number and masked NIP), at most ``max_rows_per_code``; the rest counted."""
    limit = int(staff_spec()["checks"]["max_rows_per_code"]) if limit is None else limit
    out = []
    for r in rows.head(limit).iter_rows(named=True):
        p = {"file": file, "row": str(r["row"]), "nip": mask_nip(r.get("nip")), "opd": r.get("opd") or "-",
             **params(r)}
        out.append(Finding(code, rule, actual=actual(r) if callable(actual) else actual,
                           expected=expected(r) if callable(expected) else expected, params=p))
    if rows.height > limit:
        out.append(Finding("STAFF_ROWS_MORE", rule, params={"file": file, "count": rows.height - limit,
                                                            "code": code}))
    return out


# -- the people file: who is behind a count (owner-only) ----------------------------------------
def write_people(path, rows: pl.DataFrame) -> Path:
    """The mapped rows (with NIP and name) as a parquet file only the owner can read."""
    from pipeline.files import atomic_write

    path = Path(path)
    atomic_write(path, lambda tmp: rows.select([c for c in FIELDS_OUT if c in rows.columns] + ["ok"])
                 .write_parquet(tmp), mode=PRIVATE)
    return path


def read_people(path) -> pl.DataFrame | None:
    import polars as pl

    path = Path(path)
    return pl.read_parquet(path) if path.is_file() else None


def copy_private(source, target) -> Path:
    """An archived copy of a list, owner-only (it holds personal data)."""
    import shutil

    from pipeline.files import atomic_write

    return atomic_write(target, lambda tmp: shutil.copyfile(source, tmp), mode=PRIVATE)


def owner_only(path) -> bool:
    return (os.stat(path).st_mode & 0o077) == 0
