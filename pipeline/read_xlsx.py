"""Read a filled workbook: find each table by its labels and hand its cells on raw (see ``submission``).

Nothing here depends on where the template put things: the labels looked for are those of each table's
layout (:mod:`pipeline.layout`), the identity block's too. For each table spec, every sheet row that holds
some of the table's column-group labels is tried as its header; the sub-labels (L/P) are looked up
under each group; the table's row labels are then aligned, in order, with the rows below (gaps
allowed, so repeated labels such as ``Jumlah`` are told apart by their order). The candidate matching
the most labels wins, visible sheets first. Labels are compared after ``labels.normalize`` and may be
the spec's print label, the line's aliases, or the label (id/en) or an alias of the member it names.

Representation decisions:

* A cell whose row or column label is missing is left out (``LABEL_MISSING`` names the label);
  a missing *optional* row (``GridLine.optional``) is left out silently: staging reads it as 0.
* A formula whose cached value is missing yields ``FORMULA_NO_VALUE`` and the cell is left out, so
  the rules that need it are "not evaluable" rather than fed a guess.
* Empty cells are handed on with value None; impossible cells only when they hold something.

How a workbook is read: its values and merged ranges come from python-calamine (for .xlsx as for .xls
and .ods); calamine gives neither number formats nor formula text, so those are looked up in the
sheet's XML (:class:`SheetXml`) only for the cells that need them: a percent cell holding a number
(is it formatted as %?) and a cell without a value (is it a formula without a cached value?). A
workbook whose styles hold no percent format, or whose sheet holds no formula, is never scanned.
Values are made to look as openpyxl reads them (a whole number as int, a date as a datetime).
"""

from __future__ import annotations

import datetime as dt
import html
import io
import math
import posixpath
import re
import weakref
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from xml.etree import ElementTree

from pipeline.findings import Finding
from pipeline.labels import normalize, variants
from pipeline.layout import IDENTITY_SHEET, Label, identity_accepts, layout
from pipeline.limits import LIMITS, check_xlsx, column_number
from pipeline.sheets import workbook_sheets
from pipeline.specs import GridLine, TableSpec, load_tables
from pipeline.submission import IDENTITY_FIELDS, Extract, RawCell

RULE = "read"
CFB_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
ENCRYPTION_INFO = "EncryptionInfo".encode("utf-16-le")
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
SUB_LABEL_DEPTH = 3  # how many rows under a column group its sub-labels (L/P) may sit
MAX_MERGE_FILL = 5000  # merged ranges larger than this are not copied cell by cell
SEEN_TEXTS = 4096  # texts whose weight one label remembers


# -- sheets as plain grids ------------------------------------------------------------------------------
@dataclass
class Grid:
    """One sheet: values (merged ranges filled from their top-left cell), text by row, and where to look up
    what the values do not say (``xml``: number formats and formula text, for .xlsx only)."""

    title: str
    hidden: bool
    values: dict = field(default_factory=dict)  # (row, col) -> value, as stored (top-left cells only)
    origin: dict = field(default_factory=dict)  # (row, col) of a merged cell -> its top-left
    bounds: dict = field(default_factory=dict)  # top-left -> (min_row, min_col, max_row, max_col)
    text: dict = field(default_factory=dict)  # row -> ((col, normalized text), ...) by column, merged text filled
    xml: SheetXml | None = None
    merges: tuple = ()  # the merged ranges as given to _merge, in order: what origin and bounds are made of

    def top_left(self, r: int, c: int) -> tuple[int, int]:
        return self.origin.get((r, c), (r, c))

    def value(self, r: int, c: int):
        return self.values.get(self.top_left(r, c))

    def span(self, r: int, c: int) -> tuple[int, int]:
        """First and last column of the merged range holding (r, c), or (c, c)."""
        b = self.bounds.get(self.top_left(r, c))
        return (b[1], b[3]) if b else (c, c)

    def formula(self, pos: tuple[int, int]) -> str | None:
        """The formula text of an empty cell (a formula without a cached value), else None."""
        return self.xml.formula(pos) if self.xml is not None else None

    def percent(self, pos: tuple[int, int]) -> bool:
        """Whether the cell is formatted as a percentage (0.6804 shows as 68,04 %)."""
        return self.xml.percent(pos) if self.xml is not None else False


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _merge(g: Grid, min_row: int, min_col: int, max_row: int, max_col: int) -> None:
    top = (min_row, min_col)
    g.bounds[top] = (min_row, min_col, max_row, max_col)
    if (max_row - min_row + 1) * (max_col - min_col + 1) > MAX_MERGE_FILL:
        return
    for r in range(min_row, max_row + 1):
        for c in range(min_col, max_col + 1):
            if (r, c) != top:
                g.origin[(r, c)] = top


def _index_text(g: Grid, rows: dict[int, list]) -> Grid:
    """``g.text``: the sheet's texts by row (``rows``: those of its cells, in the values' order), and each
    merged cell's copy of its top-left text."""
    for (r, c), top in g.origin.items():
        v = g.values.get(top)
        if isinstance(v, str) and v.strip():
            rows.setdefault(r, []).append((c, normalize(v)))
    g.text = {r: tuple(sorted(cells)) for r, cells in rows.items()}
    return g


def _calamine_grids(data: bytes, xlsx: bool = False, parts: dict | None = None) -> list[Grid]:
    """The worksheets of a workbook (python-calamine, :func:`pipeline.sheets.workbook_sheets`): values and
    merged ranges (chart sheets are no grid).

    A formula's value is read as its cached result. A whole number stored as a float is read as an int.
    For an .xlsx, each grid can look up number formats and formula text in the sheet's XML (:class:`SheetXml`).
    """
    parts = XlsxParts(data, parts) if xlsx else None
    grids = []
    for sheet in workbook_sheets(data, xlsx):
        g = Grid(sheet.name, not sheet.visible)
        values, text = g.values, {}
        for r, row in enumerate(sheet.rows, start=1):
            for c, v in enumerate(row, start=1):
                t = type(v)
                if t is float:
                    if v.is_integer() and abs(v) < 2 ** 53:
                        v = int(v)
                elif v is None or v == "":
                    continue
                elif t is str:
                    if v.strip():
                        text.setdefault(r, []).append((c, normalize(v)))
                elif t is dt.date and xlsx:  # as openpyxl reads it: a datetime, never a bare date
                    v = dt.datetime(v.year, v.month, v.day)
                values[(r, c)] = v
        g.merges = tuple((r0 + 1, c0 + 1, r1 + 1, c1 + 1) for (r0, c0), (r1, c1) in sheet.merged)
        for merge in g.merges:
            _merge(g, *merge)
        if parts is not None:
            g.xml = SheetXml(parts, sheet.name)
        grids.append(_index_text(g, text))
    return grids


# -- what calamine does not give: number formats and formula text, from the sheet's XML ------------------
PERCENT_BUILTIN = frozenset({9, 10})  # Excel's built-in number formats 0% and 0.00% (the only ones with %)
CUSTOM_FORMATS_FROM = 164  # ids below are built-in formats whatever numFmts says (as openpyxl reads them)
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])([^>]*)>")
_ATTR = re.compile(rb"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_CELL_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?c\s*>")
_FORMULA = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f(?=[\s/>])([^>]*?)(/>|>(.*?)</(?:[A-Za-z_][\w.-]*:)?f\s*>)", re.S)
_VALUE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?v(?=[\s/>])[^>]*?(?:/>|>(.*?)</(?:[A-Za-z_][\w.-]*:)?v\s*>)", re.S)
_ANY_FORMULA = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s/>]")
_A1 = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")
NS_R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _attrs(raw: bytes) -> dict[bytes, bytes]:
    return {m.group(1).rsplit(b":", 1)[-1]: m.group(2) if m.group(2) is not None else m.group(3)
            for m in _ATTR.finditer(raw)}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class XlsxParts:
    """The few XML parts of an .xlsx needed beyond calamine's values, each read at most once, on demand:
    the workbook's sheet paths, the styles' percent formats, and a sheet's XML."""

    def __init__(self, data: bytes, entries: dict | None = None):
        self._data = data
        self._entries = entries  # every entry's bytes, by name, when read already
        self._zip: zipfile.ZipFile | None = None
        self._paths: dict[str, str] | None = None
        self._percent: frozenset | None = None

    def _read(self, name: str) -> bytes | None:
        if self._entries is not None:
            return self._entries.get(name)
        try:
            if self._zip is None:
                self._zip = zipfile.ZipFile(io.BytesIO(self._data))
            return self._zip.read(name)
        except (KeyError, zipfile.BadZipFile, OSError, EOFError, NotImplementedError):
            return None  # calamine read the values: a part it did not need may be missing, nothing more

    def sheet(self, title: str) -> bytes | None:
        """The XML of the worksheet named ``title``."""
        if self._paths is None:
            self._paths = _sheet_paths(self._read("xl/workbook.xml"), self._read("xl/_rels/workbook.xml.rels"))
        path = self._paths.get(title)
        return self._read(path) if path else None

    def percent_styles(self) -> frozenset:
        """The cell style ids (``s=``) whose number format holds ``%``."""
        if self._percent is None:
            self._percent = _percent_styles(self._read("xl/styles.xml"))
        return self._percent


REMEMBERED_PART = 256 * 1024  # parts up to this size (alike across workbooks of one template) are remembered


def _by_bytes(fn):
    """``fn`` (a pure function of parts' bytes) remembering its answers for small parts (LRU)."""
    remembered = lru_cache(maxsize=64)(fn)
    return lambda *parts: (remembered if all(p is None or len(p) <= REMEMBERED_PART for p in parts) else fn)(*parts)


def _tree(data: bytes | None):
    try:
        return ElementTree.fromstring(data) if data else None  # small parts, within the limits, no DTD
    except ElementTree.ParseError:
        return None


@_by_bytes
def _sheet_paths(workbook: bytes | None, rels: bytes | None) -> dict[str, str]:
    """Each sheet's part, by sheet name (the answer is shared: never changed)."""
    book, rels = _tree(workbook), _tree(rels)
    targets = {r.get("Id"): r.get("Target", "") for r in (rels.iter() if rels is not None else ())
               if _local(r.tag) == "Relationship"}
    paths = {}
    for s in book.iter() if book is not None else ():
        if _local(s.tag) == "sheet" and s.get(NS_R) in targets:
            target = targets[s.get(NS_R)]
            paths[s.get("name")] = target.lstrip("/") if target.startswith("/") else posixpath.normpath("xl/" + target)
    return paths


@_by_bytes
def _percent_styles(styles: bytes | None) -> frozenset:
    """The cell style ids (``s=``) whose number format holds ``%``."""
    styles = _tree(styles)
    custom, out = {}, set()
    if styles is not None:
        for e in styles.iter():
            if _local(e.tag) == "numFmt":
                custom[e.get("numFmtId")] = e.get("formatCode") or ""
        xfs = next((e for e in styles.iter() if _local(e.tag) == "cellXfs"), None)
        for i, xf in enumerate(x for x in (xfs if xfs is not None else ()) if _local(x.tag) == "xf"):
            fid = xf.get("numFmtId") or "0"
            n = int(fid) if fid.isdigit() else 0
            if n in PERCENT_BUILTIN or (n >= CUSTOM_FORMATS_FROM and "%" in custom.get(fid, "")):
                out.add(i)
    return frozenset(out)


class SheetXml:
    """Number formats and formula text of one worksheet's cells, looked up in its XML on first need."""

    def __init__(self, parts: XlsxParts, title: str):
        self.parts, self.title = parts, title
        self._xml: bytes | None = None
        self._styles: dict | None = None  # (row, col) -> style id, for percent-styled cells only
        self._formulas: dict | None = None  # (row, col) -> formula text, for formulas without a value

    def _sheet(self) -> bytes:
        if self._xml is None:
            self._xml = self.parts.sheet(self.title) or b""
        return self._xml

    def percent(self, pos: tuple[int, int]) -> bool:
        if self._styles is None:
            wanted = self.parts.percent_styles()
            self._styles = {}
            if wanted:
                for pos_, attrs, _ in _cells_of(self._sheet()):
                    s = attrs.get(b"s")
                    if s and s.isdigit() and int(s) in wanted:
                        self._styles[pos_] = int(s)
        return pos in self._styles

    def formula(self, pos: tuple[int, int]) -> str | None:
        if self._formulas is None:
            self._formulas = _formulas_without_value(self._sheet())
        return self._formulas.get(pos)


def _cells_of(xml: bytes):
    """Each ``<c>`` of a sheet's XML: ((row, col), attributes, end of its start tag), in document order.
    A cell or row without ``r=`` follows its neighbour (as the limits' count and every reader do)."""
    row = col = 0
    for m in _TAG.finditer(xml):
        attrs = _attrs(m.group(2))
        ref = attrs.get(b"r", b"").decode("ascii", "replace")
        if m.group(1) == b"row":
            row = int(ref) if ref.isdigit() else row + 1
            col = 0
            continue
        a1 = _A1.match(ref)
        if a1:
            row, col = int(a1.group(2)), column_number(a1.group(1))
        else:
            col += 1
        yield (row, col), attrs, m.end()


def _formulas_without_value(xml: bytes) -> dict:
    """(row, col) -> formula text (``=SUM(B2:B3)``, as openpyxl gives it, shared formulas translated to the
    cell) of every formula cell with no cached value; {} at once for a sheet without formulas."""
    if not _ANY_FORMULA.search(xml):
        return {}
    out, shared = {}, {}
    for pos, attrs, end in _cells_of(xml):
        if xml[end - 2:end] == b"/>":
            continue
        stop = _CELL_END.search(xml, end)
        body = xml[end:stop.start() if stop else len(xml)]
        f = _FORMULA.search(body)
        if f is None:
            continue
        fattrs = _attrs(f.group(1))
        text = "=" + html.unescape((f.group(3) or b"").decode("utf-8", "replace"))
        if fattrs.get(b"t") == b"shared":
            si = fattrs.get(b"si")
            if si in shared:
                text = _translate(*shared[si], pos)
            elif text != "=":
                shared[si] = (text, pos)
        v = _VALUE.search(body)
        if v is None or not (v.group(1) or b"").strip():
            out[pos] = text
    return out


def _translate(formula: str, origin: tuple[int, int], pos: tuple[int, int]) -> str:
    """A shared formula moved from its first cell to another (as openpyxl reads it)."""
    from openpyxl.formula.translate import Translator  # rare: only for a shared formula without a value

    return Translator(formula, _a1(*origin)).translate_formula(_a1(*pos))


def _column_letter(n: int) -> str:
    out = ""
    while n > 0:
        n, rest = divmod(n - 1, 26)
        out = chr(65 + rest) + out
    return out


def _a1(row: int, col: int) -> str:
    return f"{_column_letter(col)}{row}"


# -- what a label may look like ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Accept:
    """The accepted forms of one printed label: the spec's own (weight 2) and the others (weight 1)."""

    own: frozenset
    other: frozenset
    seen: dict = field(default_factory=dict, compare=False, hash=False, repr=False)  # text -> weight, bounded

    def weight(self, norm: str) -> int:
        found = self.seen.get(norm)
        if found is None:
            found = self._weight(norm)
            if len(self.seen) < SEEN_TEXTS:  # labels repeat across workbooks; odd text is not kept forever
                self.seen[norm] = found
        return found

    def _weight(self, norm: str) -> int:
        if not norm:
            return 0
        bare = norm.replace(" ", "")
        if norm in self.own or bare in self.own:
            return 2
        if norm in self.other or bare in self.other:
            return 1
        return 0


def _accept(labels: tuple[Label, ...], line: GridLine, level: int) -> Accept:
    """The forms of one label: the spec's text, and the members it names (and, at the line's last level,
    the line's aliases)."""
    others = []
    for m in labels[level].members:
        others += [m.code, *m.label.values(), *m.aliases]
    if level == len(labels) - 1:
        others += line.aliases
    return Accept(variants(labels[level].text), variants(*others))


def _union(accepts) -> Accept:
    accepts = list(accepts)
    return Accept(frozenset().union(*(a.own for a in accepts)), frozenset().union(*(a.other for a in accepts)))


def _align(accepts: list, items: list, weight=None) -> list:
    """Order-preserving alignment of labels with items maximising the total weight; earliest wins ties.

    Returns, for each accept, the index of its item or None.
    """
    weight = weight or (lambda a, i, item: a.weight(item))
    n, m = len(accepts), len(items)
    w = [[weight(a, j, items[j]) for j in range(m)] for a in accepts]
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            take = w[i][j] + best[i + 1][j + 1] if w[i][j] else 0
            best[i][j] = max(take, best[i][j + 1], best[i + 1][j])
    out: list = [None] * n
    i = j = 0
    while i < n and j < m:
        if w[i][j] and w[i][j] + best[i + 1][j + 1] == best[i][j]:
            out[i] = j
            i, j = i + 1, j + 1
        elif best[i][j + 1] == best[i][j]:
            j += 1
        else:
            i += 1
    return out


# -- what to look for: one table's labels, from its layout (pipeline.layout) --------------------------------
@dataclass(eq=False)  # compared (and hashed) by identity: one per spec object
class Wanted:
    spec: TableSpec
    groups: list  # [(outer Accept, [column indices], [sub Accept per column] or None)]
    rows: list  # [(inner Accept, outer Accept or None)]
    headerish: int  # how many group labels make a row look like this table's header
    seen: dict = field(default_factory=dict, compare=False, repr=False)  # text -> groups it names, bounded

    def group_hits(self, norm: str) -> frozenset:
        """The column groups whose outer label ``norm`` is (indices into ``groups``)."""
        found = self.seen.get(norm)
        if found is None:
            found = frozenset(k for k, g in enumerate(self.groups) if g[0].weight(norm))
            if len(self.seen) < SEEN_TEXTS:
                self.seen[norm] = found
        return found


_wanted: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def wanted(spec: TableSpec) -> Wanted:
    """What to look for to find one table, built once per spec (as its layout)."""
    found = _wanted.get(spec)
    if found is None:
        found = _wanted[spec] = _build_wanted(spec)
    return found


def _build_wanted(spec: TableSpec) -> Wanted:
    lay = layout(spec)
    groups = []
    for outer, subs in lay.groups():
        members = list(range(outer.first, outer.last + 1))
        groups.append((_union(_accept(lay.columns[j], spec.columns[j], 0) for j in members), members,
                       [_accept(lay.columns[j], spec.columns[j], 1) for j in members] if subs is not None else None))
    rows = [(_accept(labels, line, len(labels) - 1), _accept(labels, line, 0) if len(labels) > 1 else None)
            for labels, line in zip(lay.rows, spec.rows)]
    return Wanted(spec, groups, rows, min(2, len(groups)))


@dataclass
class Match:
    grid: Grid
    header: int
    cols: list  # per grid column: [sheet columns] or None
    rows: list  # per grid row: sheet row or None
    missing: list  # labels not found (required ones)
    score: int
    n_cols: int
    n_rows: int
    plan: tuple = ()  # the cells to read (see _plan), for a match memoised by its sheet's fingerprint


def _header_rows(grid: Grid, lay: Wanted) -> list[int]:
    """Rows holding at least one of the table's column-group labels."""
    return [r for r, cells in grid.text.items() if any(lay.group_hits(t) for _, t in cells)]


def _is_headerish(cells, lay: Wanted) -> bool:
    return len(frozenset().union(*(lay.group_hits(t) for _, t in cells))) >= lay.headerish


def _boundaries(grid: Grid, layouts: tuple[Wanted, ...], titles: list[int]) -> set[int]:
    """Rows that start another table (or another copy): a table title or a header-like row."""
    out = set(titles)
    for r, cells in grid.text.items():
        if any(_is_headerish(cells, lay) for lay in layouts):
            out.add(r)
    return out


def _columns(grid: Grid, lay: Wanted, header: int) -> tuple[list, list, int, int]:
    """Sheet columns of each grid column under a candidate header row.

    Returns (columns per grid column or None, labels not found, last header row, header score).
    """
    spec = lay.spec
    cells = grid.text.get(header, [])
    picks = _align([g[0] for g in lay.groups], [t for _, t in cells])
    cols: list = [None] * len(spec.columns)
    missing: list = []
    band_end = header
    found = [(k, cells[i][0]) for k, i in enumerate(picks) if i is not None]
    for n, (k, c) in enumerate(found):
        outer, members, subs = lay.groups[k]
        first, last = grid.span(header, c)
        if subs is None:
            cols[members[0]] = list(range(first, last + 1))
            continue
        if first == last:  # not merged: the group runs up to the next group's label
            last = found[n + 1][1] - 1 if n + 1 < len(found) else c + 4 * len(members)
        for r in range(header + 1, header + 1 + SUB_LABEL_DEPTH):
            row = [(cc, t) for cc, t in grid.text.get(r, []) if first <= cc <= last]
            sub_picks = _align(subs, [t for _, t in row])
            if any(p is not None for p in sub_picks):
                for j, p in zip(members, sub_picks):
                    if p is not None:
                        a, b = grid.span(r, row[p][0])
                        cols[j] = list(range(max(a, first), min(b, last) + 1))
                band_end = max(band_end, r)
                break
    # A one-level label (TOTAL) may sit in a lower header row, between its neighbours' columns.
    for k, i in enumerate(picks):
        outer, members, subs = lay.groups[k]
        if i is not None or subs is not None:
            continue
        lo = max((max(cols[j] or [0]) for kk, _ in found if kk < k for j in lay.groups[kk][1]), default=0)
        hi = min((c for kk, c in found if kk > k), default=math.inf)
        for r in range(header + 1, header + 1 + SUB_LABEL_DEPTH):
            hit = next((cc for cc, t in grid.text.get(r, []) if lo < cc < hi and outer.weight(t)), None)
            if hit is not None:
                a, b = grid.span(r, hit)
                cols[members[0]] = list(range(a, b + 1))
                band_end = max(band_end, r)
                break
    for k, i in enumerate(picks):
        outer, members, subs = lay.groups[k]
        lost = [j for j in members if cols[j] is None]
        if lost and (i is None or subs is None):  # the whole group: name its outer label once
            missing.append(spec.columns[members[0]].label[0])
        else:
            missing.extend(" / ".join(spec.columns[j].label) for j in lost)
    score = sum(lay.groups[k][0].weight(cells[i][1]) for k, i in enumerate(picks) if i is not None)
    return cols, missing, band_end, score


def _rows(grid: Grid, lay: Wanted, first: int, end: int, data_col: int) -> tuple[list, int]:
    """Sheet row of each grid row, looking at rows ``first`` to ``end`` (excluded); and the row score.

    A row's label is its last text left of the data; an outer label (``Pertama``) seen there, on this
    row or above, must agree with the grid row's outer label.
    """
    outers = _union(o for _, o in lay.rows if o is not None) if any(o for _, o in lay.rows) else None
    sheet_rows, labels, contexts = [], [], []
    context = None
    for r in range(first, end):
        texts = [t for c, t in grid.text.get(r, []) if c < data_col]
        if not texts:
            continue
        if outers is not None:
            for t in texts:
                if outers.weight(t):
                    context = t
        sheet_rows.append(r)
        labels.append(texts[-1])
        contexts.append(context)

    def weight(accept, j, label):
        inner, outer = accept
        if outer is not None and contexts[j] is not None and not outer.weight(contexts[j]):
            return 0
        return inner.weight(label)

    picks = _align(lay.rows, labels, weight)
    score = sum(weight(lay.rows[i], p, labels[p]) for i, p in enumerate(picks) if p is not None)
    return [sheet_rows[p] if p is not None else None for p in picks], score


def _best(grid: Grid, lay: Wanted, boundaries: set[int]) -> Match | None:
    """The plausible match of the highest score on one sheet (the first candidate header row among equals).

    Each header row's columns are found first; a row's score is at most its columns' score plus 2 per table
    row, so the rows are aligned only under headers that could still win (the result is the same as trying
    every header row in turn). Headers with too few of the table's columns are not tried at all."""
    heads = []
    for order, header in enumerate(_header_rows(grid, lay)):
        columns = _columns(grid, lay, header)
        n_cols = sum(1 for c in columns[0] if c)
        if n_cols and 2 * n_cols >= len(lay.spec.columns):  # else never plausible, whatever its rows
            bound = columns[3] + n_cols + 2 * len(lay.rows)
            heads.append((-bound, order, header, columns))
    mine, mine_order = None, None
    for minus_bound, order, header, columns in sorted(heads, key=lambda h: h[:2]):
        if mine is not None and (-minus_bound, -order) < (mine.score, -mine_order):
            break  # sorted by bound: no later candidate can beat (or tie earlier than) the one found
        m = _try(grid, lay, header, boundaries, columns)
        if m is not None and _plausible(m, lay.spec) and (
                mine is None or (m.score, -order) > (mine.score, -mine_order)):
            mine, mine_order = m, order
    return mine


def _try(grid: Grid, lay: Wanted, header: int, boundaries: set[int], columns=None) -> Match | None:
    """The table read with ``header`` as its (top) column-header row; rows end at the next boundary."""
    cols, missing, band_end, col_score = columns or _columns(grid, lay, header)
    missing = list(missing)
    got = [c for cs in cols if cs for c in cs]
    if not got:
        return None
    end = min((b for b in boundaries if b > band_end), default=max(grid.text, default=band_end) + 1)
    rows, row_score = _rows(grid, lay, band_end + 1, end, min(got))
    missing += [" / ".join(line.label) for line, r in zip(lay.spec.rows, rows) if r is None and not line.optional]
    n_cols = sum(1 for c in cols if c)
    n_rows = sum(1 for r in rows if r is not None)
    return Match(grid, header, cols, rows, missing, col_score + row_score + n_cols, n_cols, n_rows)


def _plausible(m: Match, spec: TableSpec) -> bool:
    return 2 * m.n_cols >= len(spec.columns) and 2 * m.n_rows >= len(spec.rows) and m.n_rows > 0


def _titles(grid: Grid, specs) -> list[int]:
    """Rows of a sheet that hold a table title (containing a full title, or exactly an alias)."""
    full = [v for s in specs for v in variants(*s.title.values()) if " " in v]
    exact = variants(*(a for s in specs for a in s.aliases))
    return [r for r, cells in grid.text.items() if any(t in exact or any(v in t for v in full) for _, t in cells)]


# -- what was found on a sheet, remembered by what the finder looks at ----------------------------------------
# The finder (_titles, _boundaries, _best and what they call) reads a sheet's text by row (``Grid.text``, in
# its order) and its merged ranges (``Grid.span``: ``origin`` and ``bounds``, made of ``Grid.merges`` alone),
# nothing else: not the values, the title or the XML. Two sheets alike in those get the same answer, so
# it is remembered per sheet by exactly them (and by the tables looked for): a workbook made from the
# template skips label matching. (Two sheets of one workbook never share a title with different text: a
# grid is read by its name, so equal names give equal grids, and each sheet's title rows are its own.)
FOUND_SHEETS = 256  # sheets whose found tables one process remembers (least recently used first out)
_found: OrderedDict = OrderedDict()


class _Found:
    """One sheet's table boundaries, and per table (its :class:`Wanted`) the best match, cells planned."""

    def __init__(self, boundaries: set[int]):
        self.boundaries = boundaries
        self.best: dict = {}


def _found_on(grid: Grid, specs, layouts: tuple[Wanted, ...]) -> _Found:
    key = (layouts, tuple(grid.text.items()), grid.merges)
    found = _found.get(key)
    if found is None:
        found = _found[key] = _Found(_boundaries(grid, layouts, _titles(grid, specs)))
        if len(_found) > FOUND_SHEETS:
            _found.popitem(last=False)
    else:
        _found.move_to_end(key)
    return found


def _best_on(grid: Grid, lay: Wanted, found: _Found) -> Match | None:
    """:func:`_best` on ``grid``, remembered in ``found`` (``grid`` is one of the sheets it was found for)."""
    if lay not in found.best:
        m = _best(grid, lay, found.boundaries)
        found.best[lay] = None if m is None else replace(m, plan=_plan(lay.spec, m), grid=None)
    m = found.best[lay]
    return None if m is None else replace(m, grid=grid)


# -- reading -------------------------------------------------------------------------------------------------
def _fail(ex: Extract, code: str, detail: str = "") -> Extract:
    ex.findings.append(Finding(code, RULE, params={"file": Path(ex.file).name, "detail": detail}))
    return ex


def _load(data: bytes, ex: Extract, parts: dict | None = None) -> list[Grid] | None:
    """The workbook's sheets as grids, or None after adding a finding. ``parts``: every zip entry's bytes,
    each read with its CRC checked (by the limits' quick proof), when known."""
    if not data:
        _fail(ex, "FILE_EMPTY")
        return None
    if data[:8] == CFB_MAGIC:
        if ENCRYPTION_INFO in data:
            _fail(ex, "FILE_ENCRYPTED")
            return None
        ex.kind = "xls"
        return _load_calamine(data, ex)
    if not data.startswith(b"PK"):
        _fail(ex, "FILE_UNSUPPORTED")
        return None
    if parts:
        return _load_calamine(data, ex, parts) if _zip_kind(ex, set(parts), parts.get) else None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            if not _zip_kind(ex, set(z.namelist()), z.read):
                return None
            bad = z.testzip()
            if bad:
                _fail(ex, "FILE_CORRUPT", f"CRC {bad}")
                return None
    except zipfile.BadZipFile as e:
        _fail(ex, "FILE_CORRUPT", str(e))
        return None
    return _load_calamine(data, ex)


def _zip_kind(ex: Extract, names: set, read) -> bool:
    """Whether a zip is a workbook (an .ods sets the extract's kind), else False after adding a finding."""
    if "mimetype" in names and read("mimetype").strip() == ODS_MIMETYPE:
        ex.kind = "ods"
    elif not any(n.startswith("xl/workbook") for n in names):
        _fail(ex, "FILE_UNSUPPORTED", "zip")
        return False
    elif "xl/workbook.xml" not in names:  # a binary workbook (.xlsb) under another name, as before
        _fail(ex, "FILE_CORRUPT", "no xl/workbook.xml")
        return False
    return True


def _load_calamine(data: bytes, ex: Extract, parts: dict | None = None) -> list[Grid] | None:
    try:
        return _calamine_grids(data, xlsx=ex.kind == "xlsx", parts=parts)
    except Exception as e:  # noqa: BLE001 - a damaged or password-protected file is a finding
        locked = ex.kind != "xlsx" and ("password" in str(e).lower() or "encrypt" in str(e).lower())
        code = "FILE_ENCRYPTED" if locked else "FILE_CORRUPT"
        _fail(ex, code, f"{type(e).__name__}: {e}"[:200])
        return None


def _plain(value):
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return str(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


_accepts: list = [None, {}]  # the text catalogue, and the identity labels it gives (see _identity)


def _identity(grids: list[Grid]) -> dict[str, str]:
    from pipeline.text import catalogue

    if _accepts[0] is not catalogue():  # the accepted labels are the catalogue's (and fixed spellings)
        _accepts[:] = [catalogue(), {f: identity_accepts(f) for f in IDENTITY_FIELDS}]
    accepts = _accepts[1]
    named = [g for g in grids if normalize(g.title) in {normalize(IDENTITY_SHEET), "IDENTITY"}]
    out: dict[str, str] = {}
    for g in named or grids:
        for r in sorted(g.text):
            for c, t in g.text[r]:
                field_ = next((f for f, acc in accepts.items() if t in acc or t.replace(" ", "") in acc), None)
                if field_ is None or field_ in out:
                    continue
                value = _right_of(g, r, c)
                if value is not None:
                    out[field_] = _identity_value(field_, value)
        if named:
            break
    return {k: v for k, v in out.items() if v}


def _right_of(g: Grid, r: int, c: int):
    own = g.top_left(r, c)
    last = max((cc for (rr, cc) in g.values if rr == r), default=c)
    for cc in range(c + 1, last + 1):
        if g.top_left(r, cc) == own:
            continue
        v = g.value(r, cc)
        if not _blank(v):
            return v
    return None


def _identity_value(name: str, value) -> str:
    if name == "period":
        if isinstance(value, (dt.datetime, dt.date)):
            return f"{value.year:04d}-{value.month:02d}"
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value).strip()
    if name == "date" and isinstance(value, (dt.datetime, dt.date)):
        return value.date().isoformat() if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _plan(spec: TableSpec, m: Match) -> tuple:
    """The cells a match reads, in the spec's order: (key, the places its merged columns cover, their
    addresses, impossible?, percent?) for each placement whose row and columns were found."""
    out = []
    for key, p in spec.placements().items():
        r = m.rows[p.row]
        cols = [c for j in range(p.col_first, p.col_last + 1) for c in (m.cols[j] or [])]
        if r is None or not cols:
            continue
        places = tuple(dict.fromkeys(m.grid.top_left(r, c) for c in cols))
        out.append((key, places, tuple(_a1(*q) for q in places), spec.is_impossible(key), spec.is_percent(key)))
    return tuple(out)


def _cells(spec: TableSpec, m: Match, ex: Extract) -> None:
    g, values = m.grid, m.grid.values
    for key, places, addresses, impossible, percent in m.plan:
        i = 0  # the first place holding something, else the first
        if len(places) > 1:
            i = next((i for i, q in enumerate(places) if not _blank(values.get(q))), 0)
        pos, value = places[i], values.get(places[i])
        formula = g.formula(pos) if value is None else None
        if formula is not None:
            ex.findings.append(Finding("FORMULA_NO_VALUE", RULE, table=spec.id, cell=spec.key_dict(key),
                                       sheet=g.title, address=addresses[i], params={"detail": formula}))
            continue
        if impossible and _blank(value):
            continue
        # the number format matters only to a percentage held as a number (0.6804 formatted as %)
        fraction = isinstance(value, (int, float)) and percent and g.percent(pos)
        ex.cells.append(RawCell(spec.id, key, _plain(value), g.title, addresses[i], fraction))


COPY_SHARE = 0.9  # a second visible sheet matching this share of the best score holds the table too


def _preferred(spec: TableSpec, copies: list[Match]) -> Match:
    """Of several visible sheets holding one table: the one the template names, else the one whose totals
    hold (fewest broken sums), else the first in the workbook."""
    named = [m for m in copies if m.grid.title.strip().lower() == spec.sheet.strip().lower()]
    if named:
        return named[0]
    return min(copies, key=lambda m: _broken_sums(spec, m))


def _broken_sums(spec: TableSpec, m: Match) -> int:
    from pipeline.numbers import parse_count
    from pipeline.rules.linear import Ref, evaluate
    from pipeline.rules.sums import sum_rules

    probe = Extract(file="", kind="xlsx")
    _cells(spec, m, probe)
    values = {}
    for c in probe.cells:
        parsed = parse_count(c.value)
        values[Ref(spec.id, c.key)] = 0.0 if parsed.value is None else parsed.value
    return sum(1 for r in sum_rules(spec) if evaluate(r, values).holds is False)


def _bytes(path: Path, size: int) -> bytes | None:
    """The file's bytes when within the size limit and readable; else None (the limits' check says why)."""
    if size > LIMITS["file_bytes"].value:
        return None
    try:
        return path.read_bytes()
    except OSError:
        return None


def read_xlsx(path) -> Extract:
    """Read a workbook (.xlsx, .xlsm; .xls and .ods through python-calamine) into an :class:`Extract`.

    Never raises on bad input; problems become findings. The extract's kind is the format found
    in the bytes ("xlsx", "xls", "ods"), whatever the file's name."""
    path = Path(path)
    ex = Extract(file=str(path), kind="xlsx")
    parts: dict = {}  # the zip's entries, read once by the limits' check
    try:
        size = path.stat().st_size
        data = _bytes(path, size)
        beyond = check_xlsx(path, size, data, parts)  # limits before parsing: a file beyond one is never parsed
        if beyond is not None:
            ex.findings.append(beyond)
            return ex
        data = path.read_bytes() if data is None else data
    except FileNotFoundError:
        return _fail(ex, "FILE_NOT_FOUND")
    except OSError as e:
        return _fail(ex, "FILE_CORRUPT", str(e))
    grids = _load(data, ex, parts or None)
    if grids is None:
        return ex
    ex.identity = _identity(grids)

    specs = list(load_tables().values())
    layouts = tuple(wanted(s) for s in specs)
    found = {id(g): _found_on(g, specs, layouts) for g in grids}
    opd = ex.identity.get("opd", "").strip().upper()
    for spec, lay in zip(specs, layouts):
        per_grid: list[Match] = []  # the best match of each sheet
        for g in sorted(grids, key=lambda g: g.hidden):  # visible sheets first, workbook order kept
            if per_grid and g.hidden and not per_grid[0].grid.hidden:
                break
            mine = _best_on(g, lay, found[id(g)])
            if mine is not None:
                per_grid.append(mine)
        best = max(per_grid, key=lambda m: m.score) if per_grid else None
        copies = [m for m in per_grid if not m.grid.hidden and best is not None and m.score >= COPY_SHARE * best.score]
        if len(copies) > 1:
            best = _preferred(spec, copies)
            other = next(m for m in copies if m is not best)
            ex.findings.append(Finding("TABLE_DUPLICATE_SHEET", RULE, table=spec.id, sheet=best.grid.title,
                                       params={"sheet": best.grid.title, "other": other.grid.title,
                                               "count": len(copies)}))
        if best is None:
            if spec.is_required(opd):
                ex.findings.append(Finding("TABLE_MISSING", RULE, table=spec.id, params={"sheet": spec.sheet}))
            continue
        ex.tables.add(spec.id)
        if best.grid.hidden:
            ex.findings.append(Finding("SHEET_HIDDEN", RULE, table=spec.id, sheet=best.grid.title,
                                       params={"sheet": best.grid.title}))
        for label in best.missing:
            ex.findings.append(Finding("LABEL_MISSING", RULE, table=spec.id, sheet=best.grid.title,
                                       params={"label": label}))
        _cells(spec, best, ex)
    return ex
