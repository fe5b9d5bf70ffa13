"""The printed layout of a table, built once per table spec: what every writer paints and the reader looks for.

A table spec (:mod:`pipeline.specs`) lists its printed rows and columns (:class:`GridLine`), each with
one or two levels of labels, outermost first. From that this module derives, once per spec
(:func:`layout`, cached), the layout every output shares:

* the **labels** of each line, level by level, with the dimension members each label names
  (``GOL I`` names gol I; ``Jumlah`` in a cpns row names ruang JML);
* the **header band** (the column labels) and the **row labels** as spans: an outer label merged over
  its run of lines (``GOL I`` over L and P), a one-level label over every level of the band (``TOTAL``);
* the **row levels**: which dimensions each row-label level names, and the **corner** (the dimensions
  every row names, printed over the row labels);
* the **grid places**: which cell starts at each (row, column) place, which places a merged cell
  covers, and which places hold no cell;
* the **identity block** of a submission (its fields, the sheet it sits on, the labels a reader
  accepts for each field: the printed one in every language, and other spellings).

Its words (a table's name, the identity labels) are the ``layout`` section of ``schemas/text.yaml``.

The template (:mod:`pipeline.template`), the book (:mod:`pipeline.book`: frame, CSV, workbook), the
profile pages (:mod:`pipeline.pages`) and the feedback workbook only paint this layout; the workbook
reader (:mod:`pipeline.read_xlsx`) looks for its labels. Nothing here depends on a writer or a reader:
only on the specs, label matching (:mod:`pipeline.labels`) and the text catalogue (:mod:`pipeline.text`).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from pipeline.labels import matches, variants
from pipeline.specs import GridLine, Key, Member, Placement, TableSpec
from pipeline.submission import IDENTITY_FIELDS
from pipeline.text import DEFAULT, label, languages, say

# -- the identity block -----------------------------------------------------------------------------------
IDENTITY_SHEET = "Identitas"
IDENTITY_FIRST_ROW = 3  # identity fields: label in column A, value in column B

# The identity fields' printed labels are in schemas/text.yaml (layout.identity); these are other spellings
# a reader accepts for each field, keyed by IDENTITY_FIELDS.
IDENTITY_ALIASES: dict[str, tuple[str, ...]] = {
    "opd": ("KODE", "KODE UNIT", "KODE UNIT KERJA", "KODE PERANGKAT DAERAH"),
    "opd_name": ("NAMA UNIT KERJA", "UNIT KERJA", "NAMA PERANGKAT DAERAH", "PERANGKAT DAERAH", "OPD",
                 "NAMA INSTANSI", "INSTANSI"),
    "period": ("PERIODE (TAHUN ATAU TAHUN-BULAN)", "PERIOD (YEAR OR YEAR-MONTH)", "TAHUN", "TAHUN ANGGARAN", "TA",
               "PERIODE DATA", "BULAN/TAHUN"),
    "officer": ("NAMA PETUGAS", "PETUGAS", "NAMA PENGISI", "PENGISI", "PETUGAS PENGISI", "NAMA OPERATOR",
                "OPERATOR", "OFFICER"),
    "contact": ("KONTAK", "TELEPON", "TELEPON/E-MAIL", "NO HP", "NO. HP", "NO TELP", "HP/E-MAIL", "E-MAIL", "EMAIL",
                "CONTACT"),
    "date": ("TANGGAL", "TGL PENGISIAN", "TANGGAL ISI", "DATE"),
}
assert tuple(IDENTITY_ALIASES) == IDENTITY_FIELDS


def identity_label(field: str, lang: str) -> str:
    """The printed label of an identity field (``Kode OPD``)."""
    return say(f"layout.identity.{field}", lang)


def identity_accepts(field: str) -> frozenset[str]:
    """Every normalised form a reader accepts as the label of an identity field: its printed label in each
    language of the catalogue, and its other spellings."""
    return variants(*(identity_label(field, lang) for lang in languages()), *IDENTITY_ALIASES[field])


# -- the table's title ------------------------------------------------------------------------------------
def table_name(spec: TableSpec, lang: str) -> str:
    """``Tabel 2``."""
    return say("layout.table", lang, number=spec.number)


def table_heading(spec: TableSpec, lang: str) -> str:
    """``Tabel 2. Jumlah PNS & CPNS menurut Golongan/Ruang``."""
    return f"{table_name(spec, lang)}. {label(spec.title, lang)}"


# -- lines and their labels -------------------------------------------------------------------------------
def line_members(spec: TableSpec, line: GridLine, level: int) -> tuple[Member, ...]:
    """The dimension members that the printed label ``line.label[level]`` names (may be none).

    ``GOL I`` names gol I, ``Jumlah`` in a cpns row names ruang JML, ``II/a`` names no single member.
    A line whose key has one dimension always names that member.
    """
    text = line.label[level]
    found = []
    for name, code in line.key.items():
        member = spec.dim(name).member(code)
        if matches(text, variants(member.code, *member.label.values(), *member.aliases)):
            found.append(member)
    if not found and len(line.key) == 1 and len(line.label) == 1:
        name, code = next(iter(line.key.items()))
        found.append(spec.dim(name).member(code))
    return tuple(found)


@dataclass(frozen=True)
class Label:
    """One level of a printed line: the spec's text (Indonesian) and the members it names."""

    text: str
    members: tuple[Member, ...]
    dims: frozenset[str]  # the dimensions of those members

    def printed(self, lang: str) -> str:
        """The label as printed in ``lang``: the spec's own text, translated where a member says how."""
        if lang == DEFAULT or not self.members:
            return self.text
        return self.members[0].label.get(lang, self.text)


@dataclass(frozen=True)
class Span:
    """One printed label cell of the header band or the row labels.

    It covers lines ``first``..``last`` (columns for the header band, rows for the row labels) and label
    levels ``level``..``last_level``: an outer label spans its group of lines at one level; a line's last
    label spans the remaining levels of the band (``TOTAL`` over both header rows).
    """

    first: int
    last: int
    level: int
    last_level: int
    label: Label


def _spans(lines: tuple[tuple[Label, ...], ...], depth: int) -> tuple[Span, ...]:
    """The band's spans in painting order: each outer label, then the labels under it; a one-level line's
    label over every level."""
    out: list[Span] = []
    i = 0
    while i < len(lines):
        labels = lines[i]
        if len(labels) == 1:
            out.append(Span(i, i, 0, depth - 1, labels[0]))
            i += 1
            continue
        last = i
        while last + 1 < len(lines) and len(lines[last + 1]) > 1 and lines[last + 1][0].text == labels[0].text:
            last += 1
        out.append(Span(i, last, 0, 0, labels[0]))
        out += [Span(j, j, 1, depth - 1, lines[j][1]) for j in range(i, last + 1)]
        i = last + 1
    return tuple(out)


# -- the layout of one table ------------------------------------------------------------------------------
@dataclass(frozen=True)
class TableLayout:
    spec: TableSpec
    rows: tuple[tuple[Label, ...], ...]  # each printed row's labels, outermost first
    columns: tuple[tuple[Label, ...], ...]  # each printed column's labels, outermost first
    row_levels: int  # how many label columns the rows take
    column_levels: int  # how many header rows the columns take
    header: tuple[Span, ...]  # the header band, in painting order
    row_labels: tuple[Span, ...]  # the row labels, in painting order
    corner_dims: tuple[str, ...]  # the dimensions every row names (printed over the row labels)
    level_dims: tuple[tuple[str, ...], ...]  # per row-label level, the dimensions its labels name
    starts: dict[tuple[int, int], tuple[Key, Placement]]  # (row, column) where a cell starts
    covered: frozenset[tuple[int, int]]  # places inside a merged cell, after its first column
    empty: tuple[tuple[int, int], ...]  # places that hold no cell (printed blank)
    total_rows: frozenset[int]  # rows that print totals only

    @property
    def placements(self) -> dict[Key, Placement]:
        return self.spec.placements()

    def corner(self, lang: str) -> str:
        """The text over the row labels: the names of the dimensions every row names (``Ruang``)."""
        return self._dims_text(self.corner_dims, lang)

    def level_names(self, lang: str) -> list[str]:
        """A name for each row-label level: the dimensions its labels name (one level: the corner)."""
        return [self._dims_text(dims, lang) for dims in self.level_dims]

    def _dims_text(self, dims, lang: str) -> str:
        return " / ".join(label(self.spec.dim(n).label, lang) for n in dims)

    def labels(self, axis: str, lang: str) -> list[tuple[str, ...]]:
        """Each row's (``axis="rows"``) or column's printed labels, padded with "" to the band's depth."""
        lines, depth = (self.rows, self.row_levels) if axis == "rows" else (self.columns, self.column_levels)
        return [tuple(label.printed(lang) for label in line) + ("",) * (depth - len(line)) for line in lines]

    def groups(self) -> list[tuple[Span, tuple[Span, ...] | None]]:
        """The header band as groups of columns: each outer label with the labels under it, or a one-level
        column alone (``None``)."""
        out: list = []
        for span in self.header:
            if span.level == 0:
                out.append((span, [] if span.last_level == 0 and self.column_levels > 1 else None))
            else:
                out[-1][1].append(span)
        return [(outer, tuple(subs) if subs is not None else None) for outer, subs in out]


def _lines(spec: TableSpec, lines: tuple[GridLine, ...]) -> tuple[tuple[Label, ...], ...]:
    out = []
    for line in lines:
        labels = []
        for level, text in enumerate(line.label):
            members = line_members(spec, line, level)
            dims = frozenset(n for n, code in line.key.items() if any(m is spec.dim(n).member(code) for m in members))
            labels.append(Label(text, members, dims))
        out.append(tuple(labels))
    return tuple(out)


def _level_dims(spec: TableSpec, rows: tuple[tuple[Label, ...], ...], depth: int,
                corner: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """Per row-label level, the corner dimensions its labels name; the last level takes the rest."""
    if depth == 1:
        return (corner,)
    out, used = [], set()
    for level in range(depth - 1):
        named = {d for line in rows if len(line) == depth for d in line[level].dims} - used
        dims = tuple(n for n in corner if n in named)
        used.update(dims)
        out.append(dims)
    out.append(tuple(n for n in corner if n not in used))
    return tuple(out)


def build_layout(spec: TableSpec) -> TableLayout:
    """The layout of one table (use :func:`layout`, which builds it once per spec)."""
    rows, columns = _lines(spec, spec.rows), _lines(spec, spec.columns)
    row_levels, column_levels = max(len(r) for r in rows), max(len(c) for c in columns)
    corner = tuple(n for n in spec.dim_names if all(n in line.key for line in spec.rows))
    placements = spec.placements()
    starts = {(p.row, p.col_first): (key, p) for key, p in placements.items()}
    covered = frozenset((p.row, c) for p in placements.values() for c in range(p.col_first + 1, p.col_last + 1))
    empty = tuple((r, c) for r in range(len(rows)) for c in range(len(columns))
                  if (r, c) not in starts and (r, c) not in covered)
    total_rows = frozenset(r for r in range(len(rows))
                           if any(p.row == r for p in placements.values())
                           and all(not spec.is_leaf(k) for k, p in placements.items() if p.row == r))
    return TableLayout(spec, rows, columns, row_levels, column_levels, _spans(columns, column_levels),
                       _spans(rows, row_levels), corner, _level_dims(spec, rows, row_levels, corner),
                       starts, covered, empty, total_rows)


_built: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def layout(spec: TableSpec) -> TableLayout:
    """The layout of a table, built once per spec (specs are loaded once; a reloaded spec gets its own)."""
    found = _built.get(spec)
    if found is None:
        found = _built[spec] = build_layout(spec)
    return found
