"""Resource limits, checked before a submission is parsed: a file beyond them is one finding, never a parse.

A workbook (.xlsx) is a zip of XML parts. :func:`check_xlsx` reads the zip's directory, then tries a
quick proof that the workbook is within every limit (expat checks each part is well-formed, with no
Python callback; C-speed bytes patterns bound the counts: the usual workbook passes here). When the
proof cannot vouch, the walk decides: it streams every XML part through expat, counting as it goes
(nothing is built in memory, a merged range's area is arithmetic, a long text is measured, not kept),
and stops at the first limit passed. The verdict, and its wording, is always the walk's.
The sizes the zip's directory declares bound what is inflated: Python's zipfile never returns more
than an entry's declared size (a lying entry fails its CRC), so those sizes are checked first.
:func:`check_csv` looks at the size, the number of lines and the longest line.

The limits are far above any real recap (the template's workbook is about 40 KB with some 3,000 cells)
and low enough that every input within them is read in seconds and well under 1 GiB. They are
documented in the README ("Limits"); a file beyond one gets ``FILE_TOO_LARGE`` with the limit and
the figure found. The sheets' used area (last row times last column, summed) bounds what the reader's
grid costs however sparse the sheet: python-calamine fills each sheet from A1 to its last cell.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from xml.parsers import expat

from pipeline.findings import Finding

RULE = "file:limits"
MiB = 1 << 20


@dataclass(frozen=True)
class Limit:
    name: str  # what is measured (in the clerk's words: FILE_TOO_LARGE's texts, by this name)
    value: int


LIMITS = {limit.name: limit for limit in (
    Limit("file_bytes", 10 * MiB),
    Limit("zip_entries", 2_000),
    Limit("unpacked_bytes", 50 * MiB),
    Limit("ratio", 200),
    Limit("sheets", 50),
    Limit("cells", 200_000),
    Limit("rows", 10_000),
    Limit("columns", 500),
    Limit("sheet_area", 2_000_000),  # last row x last column, summed over the sheets: what a grid reader fills
    Limit("merged_ranges", 2_000),
    Limit("merged_area", 100_000),
    Limit("shared_strings", 100_000),
    Limit("text_length", 32_767),
    Limit("csv_bytes", 5 * MiB),
    Limit("csv_lines", 20_000),
    Limit("csv_line_length", 4_000),
)}
RATIO_FROM = 1 * MiB  # the ratio is judged only on parts that unpack to more than this
CHUNK = 64 * 1024
COUNTED = frozenset({"row", "c", "mergeCell", "si", "sheet"})  # the elements whose number or place is limited


class _Over(Exception):
    def __init__(self, name: str, actual: int):
        self.name, self.actual = name, actual


class _Unsafe(Exception):
    """XML that no workbook needs and that only serves tricks (a DTD, entities)."""


def too_large(file: str, name: str, actual: int) -> Finding:
    limit = LIMITS[name]
    return Finding("FILE_TOO_LARGE", RULE, actual=actual, expected=limit.value, params={
        "file": Path(file).name, "what": name, "limit": limit.value,
        "detail": f"{name}: {actual} > {limit.value}"})


def corrupt(file: str, detail: str) -> Finding:
    return Finding("FILE_CORRUPT", RULE, params={"file": Path(file).name, "detail": detail})


def _check(name: str, actual: int) -> None:
    if actual > LIMITS[name].value:
        raise _Over(name, actual)


# -- CSV ------------------------------------------------------------------------------------------------------
def check_csv(path, size: int | None = None) -> Finding | None:
    """``FILE_TOO_LARGE`` when a CSV is too big, too long or has a line too long; else None."""
    path = Path(path)
    size = path.stat().st_size if size is None else size
    if size > LIMITS["csv_bytes"].value:
        return too_large(str(path), "csv_bytes", size)
    lines, longest = 0, 0
    with open(path, "rb") as f:
        for line in f:  # at most csv_bytes in all
            lines += 1
            longest = max(longest, len(line))
    if lines > LIMITS["csv_lines"].value:
        return too_large(str(path), "csv_lines", lines)
    if longest > LIMITS["csv_line_length"].value:
        return too_large(str(path), "csv_line_length", longest)
    return None


# -- workbooks ------------------------------------------------------------------------------------------------
_CELL_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d{1,7})$")


def column_number(letters: str) -> int:
    """``A`` is 1, ``AA`` is 27."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def _ref(text: str | None) -> tuple[int, int] | None:
    m = _CELL_REF.match(text or "")
    return (int(m.group(2)), column_number(m.group(1))) if m else None


class _Part:
    """The counts of one XML part, updated by expat's callbacks."""

    def __init__(self, totals: dict):
        self.totals = totals
        self.max_row = self.max_col = 0
        self.row = 0  # the current row (a <c> without r= follows its neighbour)
        self.col = 0
        self.text = 0  # the length of the current text run
        self.string = 0  # the length of the current shared string (<si>, possibly in several runs)
        self.in_string = False

    def start(self, name: str, attrs: dict) -> None:
        self.text = 0
        if ":" in name:
            name = name.rsplit(":", 1)[-1]
        if name not in COUNTED:  # most elements (<v>, <t>, <f>, formats) are only read through
            return
        if name == "row":
            r = attrs.get("r")
            self.row = int(r) if r and r.isdigit() else self.row + 1
            self.col = 0
            self._used(self.row, 0)
        elif name == "c":
            self.totals["cells"] += 1
            _check("cells", self.totals["cells"])
            ref = _ref(attrs.get("r"))
            if ref:
                self.row, self.col = ref
            else:
                self.col += 1
            self._used(self.row, self.col)
        elif name == "mergeCell":
            ref = (attrs.get("ref") or "").split(":")
            a, b = _ref(ref[0]), _ref(ref[-1])
            self.totals["merged_ranges"] += 1
            _check("merged_ranges", self.totals["merged_ranges"])
            if a and b:
                area = (abs(b[0] - a[0]) + 1) * (abs(b[1] - a[1]) + 1)  # arithmetic, never materialised
                self.totals["merged_area"] += area
                _check("merged_area", self.totals["merged_area"])
                self._used(max(a[0], b[0]), max(a[1], b[1]))
        elif name == "si":
            self.totals["shared_strings"] += 1
            _check("shared_strings", self.totals["shared_strings"])
            self.string, self.in_string = 0, True
        elif name == "sheet":
            self.totals["sheets"] += 1
            _check("sheets", self.totals["sheets"])

    def end(self, name: str) -> None:
        self.text = 0
        if self.in_string and name.rsplit(":", 1)[-1] == "si":
            self.in_string = False

    def chars(self, data: str) -> None:
        self.text += len(data)
        _check("text_length", self.text)
        if self.in_string:
            self.string += len(data)
            _check("text_length", self.string)

    def _used(self, row: int, col: int) -> None:
        if row > self.max_row:
            self.max_row = row
            _check("rows", row)
        if col > self.max_col:
            self.max_col = col
            _check("columns", col)


def _refuse(*_args):
    raise _Unsafe()


def _scan(z: zipfile.ZipFile, info: zipfile.ZipInfo, totals: dict) -> None:
    """Stream one part through expat if it is XML (whatever its name); other parts are only counted."""
    part = _Part(totals)
    parser = expat.ParserCreate()
    parser.StartElementHandler = part.start
    parser.EndElementHandler = part.end
    parser.CharacterDataHandler = part.chars
    parser.buffer_text, parser.buffer_size = True, CHUNK  # a text run in one call, not one per line or entity
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    with z.open(info) as stream:  # zipfile never inflates more than the declared size (checked before)
        chunk = stream.read(CHUNK)
        if not chunk.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
            return  # an image, a printer setting, a macro project: not XML, never parsed here
        while chunk:
            parser.Parse(chunk, False)
            chunk = stream.read(CHUNK)
        parser.Parse(b"", True)
    totals["sheet_area"] += part.max_row * part.max_col  # a sheet's grid from A1 to its last cell


# -- the quick proof ------------------------------------------------------------------------------------------
# Most workbooks are far within every limit. The quick proof reads each part whole and shows that with
# C-speed work only: expat checks it is well-formed XML with no DTD (no Python callback per element), and
# bytes patterns bound what the walk counts. Where the patterns cannot vouch for a count (a cell without
# its reference first, a prefixed element, a comment or a CDATA section that hides text, another encoding,
# any error), the proof gives up and the walk decides: the verdict is always the walk's.
_DECLARATION = re.compile(rb"<\?xml[^>]*\?>")
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_COUNTED_START = re.compile(rb"<(?:[^\s<>/!?=]*:)?(c|row|mergeCell|si|sheet)[\s/>]")  # a counted element
_CELL = re.compile(rb'<c r="\$?([A-Za-z]{1,3})\$?(\d{1,7})"')
_ROW = re.compile(rb'<row r="(\d+)"')
_MERGE = re.compile(rb'<mergeCell ref="([A-Za-z0-9$:]*)"')
_STRING = re.compile(rb"<(?:[^\s<>/!?=]*:)?si[\s>].*?</(?:[^\s<>/!?=]*:)?si\s*>", re.DOTALL)
_LONG_TEXT = re.compile(rb"[^<]{%d}" % (LIMITS["text_length"].value + 1))


class _Doubt(Exception):
    """The quick proof cannot vouch for this workbook: the walk decides."""


PROVED = ("cells", "merged_ranges", "shared_strings", "sheets", "merged_area", "sheet_area", "rows", "columns")
PROVED_PART = 64 * 1024  # parts up to this size (styles, themes, relations: alike across workbooks) are remembered


def _vouch(data: bytes) -> tuple[int, ...]:
    """Bounds of what the walk would count in one part, in the order of ``PROVED`` (exact where the walk's
    limits depend on places: rows, columns, merged areas; rows and columns are the part's largest), or raise
    :class:`_Doubt`."""
    if not data[:CHUNK].lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return (0,) * len(PROVED)  # not XML, as the walk sees it
    body = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    declaration = _DECLARATION.match(body)
    if declaration:
        encoding = _ENCODING.search(declaration.group())
        if encoding and encoding.group(1).lower() not in (b"utf-8", b"utf8"):
            raise _Doubt()
        body = body[declaration.end():]
    if b"<!" in body or b"<?" in body or b"\x00" in body:
        raise _Doubt()  # comments, CDATA, DTDs and instructions hide text from the patterns
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    parser.Parse(data, True)  # well-formed (else the walk says how it is not)
    names = _COUNTED_START.findall(body)
    if not names:
        if len(body) > LIMITS["text_length"].value and _LONG_TEXT.search(body):
            raise _Doubt()
        return (0,) * len(PROVED)
    cells, rows, merges = _CELL.findall(body), _ROW.findall(body), _MERGE.findall(body)
    if (len(cells), len(rows), len(merges)) != (names.count(b"c"), names.count(b"row"), names.count(b"mergeCell")):
        raise _Doubt()  # an element without its reference first (or a prefixed one): the walk follows it
    max_row = max(map(int, set(rows)), default=0)
    max_col = merged_area = 0
    if cells:
        letters, numbers = zip(*cells)
        max_row = max(max_row, max(map(int, set(numbers))))
        max_col = max(column_number(x.decode()) for x in set(letters))
    if merges:
        merged_area, merged_rows, merged_cols = _merged_bounds(tuple(merges))
        max_row, max_col = max(max_row, merged_rows), max(max_col, merged_cols)
    if len(body) > LIMITS["text_length"].value:
        if _LONG_TEXT.search(body):  # a text run is at most the bytes between two tags
            raise _Doubt()
        if b"si" in names and any(m.end() - m.start() > LIMITS["text_length"].value for m in _STRING.finditer(body)):
            raise _Doubt()  # a shared string (several runs) is at most the bytes of its <si>
    return (len(cells), len(merges), names.count(b"si"), names.count(b"sheet"), merged_area, max_row * max_col,
            max_row, max_col)


@lru_cache(maxsize=256)  # a pure function of the references; workbooks made from one template share them
def _merged_bounds(merges: tuple[bytes, ...]) -> tuple[int, int, int]:
    """The area the merged ranges ``merges`` (``b"A1:C2"``) cover, and the last row and column they reach."""
    area = max_row = max_col = 0
    for ref in merges:
        ends = ref.decode().split(":")
        a, b = _ref(ends[0]), _ref(ends[-1])
        if a and b:
            area += (abs(b[0] - a[0]) + 1) * (abs(b[1] - a[1]) + 1)
            max_row, max_col = max(max_row, a[0], b[0]), max(max_col, a[1], b[1])
    return area, max_row, max_col


def _vouched(data: bytes) -> tuple[int, ...] | None:
    """:func:`_vouch`, or None where it has a doubt (or meets any error: the walk judges and words it)."""
    try:
        return _vouch(data)
    except Exception:  # noqa: BLE001
        return None


_vouched_small = lru_cache(maxsize=256)(_vouched)  # a pure function of the part's bytes


def _within(z: zipfile.ZipFile, infos: list, parts: dict | None = None) -> bool:
    """True when the quick proof shows the workbook within every limit the walk checks. Every entry is read
    (inflated and its CRC checked) once; ``parts`` gets them, by name, when given."""
    totals = dict.fromkeys(PROVED, 0)
    try:
        for info in infos:
            data = z.read(info)  # zipfile never inflates more than the declared size
            if parts is not None:
                parts[info.filename] = data
            if info.is_dir():
                continue
            counts = (_vouched_small if len(data) <= PROVED_PART else _vouched)(data)
            if counts is None:
                return False
            for name, n in zip(PROVED, counts):
                totals[name] = max(totals[name], n) if name in ("rows", "columns") else totals[name] + n
    except Exception:  # noqa: BLE001 - any doubt (or error) is the walk's to judge and to word
        return False
    return all(actual <= LIMITS[name].value for name, actual in totals.items())


def _walk(z: zipfile.ZipFile, infos: list) -> None:
    """Stream every part through expat, counting; raises at the first limit passed (or unsafe XML)."""
    totals = dict.fromkeys(("cells", "merged_ranges", "merged_area", "shared_strings", "sheets", "sheet_area"), 0)
    for info in infos:
        if not info.is_dir():
            _scan(z, info, totals)
            _check("sheet_area", totals["sheet_area"])


# the workbook last found within the limits in this process (its bytes' digest, and its parts when the quick
# proof read them): a file asked twice in a row (whether it is a staff list, then read as a recap) is proved once
_last: list = [b"", {}]
LAST_PARTS = 4 * MiB  # its parts are kept only up to this many bytes (a recap's are about 200 KB)


def check_xlsx(path, size: int | None = None, data: bytes | None = None,
               parts: dict | None = None) -> Finding | None:
    """``FILE_TOO_LARGE`` (or ``FILE_CORRUPT`` for XML no workbook holds) when a workbook is beyond a
    limit; None when it is within every limit, or is not a zip at all (the reader says what it is).

    ``data``: the file's bytes, when read already (the same bytes as the last workbook found within the
    limits in this process are not proved again). ``parts``: filled with every entry's inflated bytes (CRC
    checked) when the quick proof vouches for the workbook; left empty otherwise."""
    path = Path(path)
    size = path.stat().st_size if size is None else size
    if size > LIMITS["file_bytes"].value:
        return too_large(str(path), "file_bytes", size)
    digest = hashlib.blake2b(data, digest_size=16).digest() if data is not None else b""
    if digest and digest == _last[0]:
        if parts is not None:
            parts.update(_last[1])
        return None
    source = path if data is None else io.BytesIO(data)
    read = {} if parts is not None or digest else None
    try:
        with zipfile.ZipFile(source) as z:
            infos = z.infolist()
            if len(infos) > LIMITS["zip_entries"].value:
                return too_large(str(path), "zip_entries", len(infos))
            declared = sum(i.file_size for i in infos)
            if declared > LIMITS["unpacked_bytes"].value:
                return too_large(str(path), "unpacked_bytes", declared)
            for info in infos:
                if info.file_size > RATIO_FROM:
                    _check("ratio", info.file_size // max(1, info.compress_size))
            if not _within(z, infos, read):
                if read is not None:
                    read.clear()
                _walk(z, infos)
    except _Over as over:
        return too_large(str(path), over.name, over.actual)
    except _Unsafe:
        return corrupt(str(path), "XML with a DTD or entities")
    except expat.ExpatError as err:
        return corrupt(str(path), f"XML: {err}")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, RuntimeError,
            ValueError) as err:  # not a zip, or one the reader will call corrupt (encrypted, bad CRC, method)
        if isinstance(err, (zipfile.BadZipFile,)) and not zipfile.is_zipfile(source):
            return None
        return corrupt(str(path), f"{type(err).__name__}: {err}"[:200])
    if digest:
        _last[:] = [digest, read if sum(map(len, read.values())) <= LAST_PARTS else {}]
    if parts is not None and read:
        parts.update(read)
    return None
