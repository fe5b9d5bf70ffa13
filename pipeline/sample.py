"""Realistic sample submissions: one consistent workbook per registry OPD, a few with a known defect.

The data is generated person by person (sex, rank, education, CPNS, functional or structural post)
and counted into every table the OPD must submit, so every relation across the tables holds by
construction; :func:`pipeline.complete.complete` adds the totals and percentages. The book's tables
count people by a recipe each (:data:`RECIPES`); any other table the specs define (a workspace's own,
a collection) spreads the same headcount over its inner cells at random, so the sample works from the
specs alone (rules that equate grand totals hold; other rules across such tables may not). A fixed
handful of OPDs then carries one realistic defect each (:data:`DEFECT_PLAN`, where the defect's table
exists), and :func:`write_sample` writes the workbooks with a manifest of the finding codes the
validator must raise for each OPD.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from pipeline.complete import complete, inner_cells
from pipeline.shares import is_part_share, share, share_terms, tolerance
from pipeline.files import atomic_write, atomic_write_text, save_workbook
from pipeline.rules.percent import percent_group
from pipeline.specs import Key, Opd, TableSpec, load_registry, load_tables
from pipeline.text import say

Values = dict[str, dict[Key, float]]

# -- ranks --------------------------------------------------------------------------------------
RANKS: tuple[tuple[str, str], ...] = tuple(
    [("I", r) for r in "ABCD"] + [("II", r) for r in "ABCD"] + [("III", r) for r in "ABCD"]
    + [("IV", r) for r in "ABCDE"])
_RANK_INDEX = {f"{g}/{r.lower()}": i for i, (g, r) in enumerate(RANKS)}


def _ranks(weights: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    idx = np.array([_RANK_INDEX[k] for k in weights])
    p = np.array(list(weights.values()), dtype=float)
    return idx, p / p.sum()


# Rank of ordinary staff (pelaksana, non-CPNS), of CPNS (entry ranks only), of functional posts and
# of each echelon's holders (never below the PP 13/2002 lowest rank of the echelon).
STAFF_RANKS = _ranks({"I/a": 0.3, "I/b": 0.5, "I/c": 0.7, "I/d": 1.0, "II/a": 3, "II/b": 4, "II/c": 6,
                      "II/d": 6, "III/a": 17, "III/b": 17, "III/c": 16, "III/d": 15, "IV/a": 9, "IV/b": 3})
CPNS_RANKS = _ranks({"II/a": 25, "II/c": 4, "III/a": 63, "III/b": 8})
FUNCTIONAL_RANKS = {
    "GURU": _ranks({"III/a": 8, "III/b": 12, "III/c": 13, "III/d": 17, "IV/a": 36, "IV/b": 11,
                    "IV/c": 2.5, "IV/d": 0.4, "IV/e": 0.1}),
    "PENGAWAS": _ranks({"III/d": 5, "IV/a": 45, "IV/b": 32, "IV/c": 15, "IV/d": 3}),  # never Pertama
    "PENILIK": _ranks({"III/b": 15, "III/c": 20, "III/d": 25, "IV/a": 30, "IV/b": 10}),
    "PAMONG": _ranks({"III/a": 20, "III/b": 25, "III/c": 20, "III/d": 20, "IV/a": 15}),
}
ESELON_RANKS = {
    "II.A": _ranks({"IV/c": 20, "IV/d": 50, "IV/e": 30}),
    "II.B": _ranks({"IV/b": 20, "IV/c": 60, "IV/d": 20}),
    "III.A": _ranks({"IV/a": 30, "IV/b": 50, "IV/c": 20}),
    "III.B": _ranks({"III/d": 40, "IV/a": 45, "IV/b": 15}),
    "IV.A": _ranks({"III/c": 30, "III/d": 45, "IV/a": 25}),
    "IV.B": _ranks({"III/b": 35, "III/c": 35, "III/d": 30}),
}
ESELONS = ("II.A", "II.B", "III.A", "III.B", "IV.A", "IV.B")
JENJANG = {("III", "A"): "Pertama", ("III", "B"): "Pertama", ("III", "C"): "Muda", ("III", "D"): "Muda",
           ("IV", "A"): "Madya", ("IV", "B"): "Madya", ("IV", "C"): "Madya",
           ("IV", "D"): "Utama", ("IV", "E"): "Utama"}

# -- education, by rank group -------------------------------------------------------------------
EDUCATION = ("SD", "SLTP", "SLTA", "SLTA_KEJURUAN", "D1", "D2", "D3", "D4", "S1", "S2", "S3")


def _edu(weights: dict[str, float]) -> np.ndarray:
    p = np.array([weights.get(e, 0.0) for e in EDUCATION], dtype=float)
    return p / p.sum()


EDU_STAFF = {
    "I": _edu({"SD": 35, "SLTP": 35, "SLTA": 30}),
    "II": _edu({"SLTA": 42, "SLTA_KEJURUAN": 14, "D1": 4, "D2": 3, "D3": 37}),
    "III": _edu({"SLTA": 1, "D3": 10, "D4": 4, "S1": 69, "S2": 16}),
    "IV": _edu({"D4": 2, "S1": 44, "S2": 49, "S3": 5}),
}
EDU_HEALTH = {**EDU_STAFF, "III": _edu({"D3": 30, "D4": 7, "S1": 50, "S2": 13})}  # nurses, midwives
EDU_TEACHER = {
    "III": _edu({"D2": 1, "D3": 1, "D4": 2, "S1": 86, "S2": 10}),
    "IV": _edu({"S1": 79, "S2": 20, "S3": 1}),
}

# -- staff size and share of men, by OPD ---------------------------------------------------------
SIZE = {  # nominal PNS & CPNS (without DINDIKBUD's functional staff)
    "SETDA": 122, "SETWAN": 52, "INSP": 48, "BAPPEDA": 46, "BPKAD": 66, "BAPENDA": 58, "BKPSDM": 45,
    "BPBD": 42, "KESBANGPOL": 40, "DINDIKBUD": 75, "DINKES": 205, "RSUD": 265, "DPUPR": 80,
    "DISPERKIM": 44, "SATPOLPP": 100, "DINSOS": 46, "DISNAKER": 40, "DP3AKB": 42, "DLH": 62,
    "DISDUKCAPIL": 52, "DISHUB": 64, "DISKOMINFO": 42, "DISKOPUMKMPERINDAG": 48, "DPMPTSP": 44,
    "DISPARPORA": 40, "DISPERPUSIP": 40, "DISTAN": 56, "DKP": 40,
}
KECAMATAN_SIZE = 30
OTHER_SIZE = 45  # an OPD added to the registry later
MEN = {"SATPOLPP": 0.8, "DISHUB": 0.7, "DPUPR": 0.65, "BPBD": 0.7, "DINKES": 0.25, "RSUD": 0.22,
       "DP3AKB": 0.3}
MEN_DEFAULT, MEN_STRUCTURAL, MEN_TEACHER = 0.42, 0.55, 0.25
FUNCTIONAL_DINDIKBUD = {"GURU": 2150, "PENGAWAS": 42, "PENILIK": 16, "PAMONG": 10}
CPNS_RATE = 0.12  # of the non-structural, non-functional staff
VACANCY = 0.06  # share of non-leading structural posts left unfilled
HEALTH = {"DINKES", "RSUD"}


@dataclass(frozen=True)
class _Person:
    sex: str  # L / P
    rank: int  # index into RANKS
    edu: str
    cpns: bool = False
    jabatan: str | None = None  # functional post
    eselon: str | None = None  # structural post held


def _formation(opd: Opd, size: int, rng: np.random.Generator) -> dict[str, int]:
    """Structural posts available (disiapkan) per echelon."""
    f = dict.fromkeys(ESELONS, 0)
    if opd.type == "kecamatan":
        f.update({"III.A": 1, "III.B": 1, "IV.A": int(rng.integers(5, 8)), "IV.B": int(rng.integers(6, 10))})
        return f
    if opd.code == "SETDA" or opd.leader == "II.A":
        f.update({"II.A": 1, "II.B": 6, "III.A": int(rng.integers(9, 12)), "IV.A": int(rng.integers(28, 34))})
        return f
    f[opd.leader] = 1
    posts = int(np.clip(round(0.56 * size * rng.uniform(0.9, 1.1)), 18, 48))
    f["III.A"] += 2 if opd.type == "rsud" else 1
    f["III.B"] = int(rng.integers(3, 6)) + (2 if opd.type == "rsud" else 0)
    rest = max(posts - sum(f.values()), 6)
    f["IV.A"] = min(int(round(rest * rng.uniform(0.5, 0.65))), 3 * f["III.B"] + 4)
    f["IV.B"] = rest - f["IV.A"]
    return f


def _people(opd: Opd, rng: np.random.Generator) -> tuple[list[_Person], dict[str, int]]:
    if opd.type == "kecamatan":
        size = int(round(KECAMATAN_SIZE * rng.uniform(0.85, 1.2)))
    else:
        size = max(40, int(round(SIZE.get(opd.code, OTHER_SIZE) * rng.uniform(0.9, 1.1))))
    men = MEN.get(opd.code, MEN_DEFAULT)
    edu_table = EDU_HEALTH if opd.code in HEALTH else EDU_STAFF

    def sex(p_men: float) -> str:
        return "L" if rng.random() < p_men else "P"

    def rank(dist) -> int:
        return int(rng.choice(dist[0], p=dist[1]))

    def edu(r: int, table) -> str:
        return EDUCATION[int(rng.choice(len(EDUCATION), p=table[RANKS[r][0]]))]

    people: list[_Person] = []
    formation = _formation(opd, size, rng)
    for es in ESELONS:
        available = formation[es]
        leading = es == opd.leader or es == "II.A"
        filled = available if leading else available - int(rng.binomial(available, VACANCY))
        for i in range(filled):
            r = rank(ESELON_RANKS[es])
            s = "L" if es == "II.A" and i == 0 and rng.random() < 0.85 else sex(MEN_STRUCTURAL)
            people.append(_Person(s, r, edu(r, EDU_STAFF), eselon=es))
    if opd.code == "DINDIKBUD":
        for jabatan, nominal in FUNCTIONAL_DINDIKBUD.items():
            for _ in range(int(round(nominal * rng.uniform(0.96, 1.04)))):
                r = rank(FUNCTIONAL_RANKS[jabatan])
                p_men = MEN_TEACHER if jabatan == "GURU" else 0.55
                people.append(_Person(sex(p_men), r, edu(r, EDU_TEACHER), jabatan=jabatan))
    for _ in range(max(size - len(people), 4)):
        cpns = rng.random() < CPNS_RATE
        r = rank(CPNS_RANKS if cpns else STAFF_RANKS)
        people.append(_Person(sex(men), r, edu(r, edu_table), cpns=cpns))
    return people, formation


def _counts(spec: TableSpec, keys) -> dict[Key, int]:
    out = dict.fromkeys(inner_cells(spec), 0)
    for key, n in Counter(keys).items():
        if key not in out:
            raise AssertionError(f"{spec.id}: generated a count for {key}, which is no inner cell")
        out[key] += n
    return out


def _complete(spec: TableSpec, inner: dict[Key, int]) -> dict[Key, float]:
    return {k: (float(v) if spec.is_percent(k) else int(v)) for k, v in complete(spec, inner).items()}


# How the book's tables count one person: the cell's members, or None where the person is not counted.
RECIPES: dict[str, Callable[[_Person], dict | None]] = {
    "golongan": lambda p: {"ruang": RANKS[p.rank][1], "gol": RANKS[p.rank][0], "sex": p.sex},
    "cpns": lambda p: {"gol": RANKS[p.rank][0], "ruang": RANKS[p.rank][1], "sex": p.sex} if p.cpns else None,
    "pendidikan": lambda p: {"pendidikan": p.edu, "sex": p.sex, "measure": "count"},
    "fungsional": lambda p: {"jenjang": JENJANG[RANKS[p.rank]], "gol": RANKS[p.rank][0], "ruang": RANKS[p.rank][1],
                             "jabatan": p.jabatan, "sex": p.sex} if p.jabatan else None,
    "eselon": lambda p: {"status": "terisi", "eselon": p.eselon, "sex": p.sex} if p.eselon else None,
    "guru": lambda p: None,  # by school level, drawn below from the teachers
}


def _fits(spec: TableSpec, recipe, people: list[_Person]) -> bool:
    """Whether a recipe's keys are this spec's cells (a workspace may redefine a book table)."""
    cells = set(inner_cells(spec))
    try:
        return all(spec.key(k) in cells for p in people[:50] if (k := recipe(p)) is not None)
    except KeyError:
        return False


def _traits(p: _Person) -> dict[str, str]:
    """What a table no recipe knows may count a person by: the dimensions shared with the book's."""
    return {"sex": p.sex, "gol": RANKS[p.rank][0], "ruang": RANKS[p.rank][1], "pendidikan": p.edu}


def _spread(spec: TableSpec, people: list[_Person], rng: np.random.Generator) -> dict[Key, int]:
    """The people over the inner cells of a table no recipe knows: each in a cell that agrees with its
    sex, rank and education where the table has those dimensions, the rest at random (random shares per
    table), so that tables counting the same people agree on their totals by sex, rank, ..."""
    cells = inner_cells(spec)
    weights = rng.dirichlet(np.full(len(cells), 2.0)) if cells else np.zeros(0)
    known = [i for i, n in enumerate(spec.dim_names) if n in _traits(people[0])] if people else []
    groups: dict[tuple, list[int]] = {}
    for j, k in enumerate(cells):
        groups.setdefault(tuple(k[i] for i in known), []).append(j)
    counts = np.zeros(len(cells), dtype=int)
    kinds = Counter(tuple(_traits(p)[spec.dim_names[i]] for i in known) for p in people)
    for kind, n in sorted(kinds.items()):
        idx = groups.get(kind)
        if idx:  # a person the table has no cell for is not counted in it
            counts[idx] += rng.multinomial(n, weights[idx] / weights[idx].sum())
    return {k: int(c) for k, c in zip(cells, counts)}


def consistent_submission(opd: Opd, rng: np.random.Generator) -> Values:
    """One OPD's tables (table id -> every cell's value), free of every error and warning: every table
    it must submit (:meth:`pipeline.specs.TableSpec.is_required`).

    Counts are ints, percentages floats with two decimals.
    """
    tables = {t: s for t, s in load_tables().items() if s.is_required(opd.code)}
    people, formation = _people(opd, rng)
    inner: dict[str, dict[Key, int]] = {}
    for t, recipe in RECIPES.items():
        if t in tables and _fits(tables[t], recipe, people):
            spec = tables[t]
            inner[t] = _counts(spec, (spec.key(k) for p in people if (k := recipe(p)) is not None))
    if "eselon" in inner:
        es = tables["eselon"]
        for e, n in formation.items():
            inner["eselon"][es.key({"status": "disiapkan", "eselon": e, "sex": "JML"})] = n
    if "guru" in inner:
        guru = tables["guru"]
        teachers = sum(1 for p in people if p.jabatan == "GURU")
        sd = int(rng.binomial(teachers, 0.7))
        smp = int(rng.binomial(teachers - sd, 0.75))
        inner["guru"] = {guru.key({"sekolah": "SD"}): sd, guru.key({"sekolah": "SMP"}): smp}
    for t, spec in tables.items():  # the tables no recipe knows, after the book's (their draws come last)
        if t not in inner:
            inner[t] = _spread(spec, people, rng)
    return {t: _complete(tables[t], inner[t]) for t in tables if t in inner}


# -- defects ------------------------------------------------------------------------------------
# A defect takes a consistent submission and returns the defective version with the finding codes a
# correct validator raises for it. Defects on values run before the workbook is built; defects on
# the workbook change the built workbook in place. Every choice is derived from the values, so a
# seed gives one outcome.

def _copy(values: Values) -> Values:
    return {t: dict(cells) for t, cells in values.items()}


def _inner_of(spec: TableSpec, cells: dict[Key, float]) -> dict[Key, float]:
    return {k: cells[k] for k in inner_cells(spec)}


def wrong_total(values: Values) -> tuple[Values, frozenset[str]]:
    """The golongan row TOTAL of the busiest grade is off by three (parts and grand total as they were).

    No cross rule reads a row total (they read the grand total or inner cells), so only the two
    sums through that cell break.
    """
    spec = load_tables()["golongan"]
    out = _copy(values)
    rows = [spec.key({"ruang": r, "gol": "JML", "sex": "JML"}) for r in "ABCD"]
    key = max(rows, key=lambda k: (out["golongan"][k], k))
    out["golongan"][key] += 3
    return out, frozenset({"SUM_MISMATCH"}), [Planted("golongan", key, out["golongan"][key], values["golongan"][key])]


def _transposed_up(n: int) -> int | None:
    """``n`` with the first pair of adjacent digits swapped that makes it larger (134 -> 143)."""
    s = str(int(n))
    for i in range(len(s) - 1):
        if s[i] < s[i + 1]:
            return int(s[:i] + s[i + 1] + s[i] + s[i + 2:])
    return None


def transposed_digit(values: Values) -> tuple[Values, frozenset[str]]:
    """Two digits of a golongan inner cell swapped (e.g. 34 -> 43); its totals left as they were.

    The swap always goes up: golongan cells are only ever the upper bound of the at-most rules
    (CPNS, functional staff, ranks), so raising one cannot trip them; the grand total, which the
    equality rule with the pendidikan table reads, is unchanged.
    """
    spec = load_tables()["golongan"]
    out = _copy(values)
    for key in sorted(inner_cells(spec), key=lambda k: (-out["golongan"][k], k)):
        new = _transposed_up(out["golongan"][key])
        if new is not None:
            out["golongan"][key] = new
            return out, frozenset({"SUM_MISMATCH"}), [Planted("golongan", key, new, values["golongan"][key])]
    raise ValueError("transposed_digit: no golongan cell has two digits to swap")


PCT_MARGIN = 0.02  # keep a defective % sum at least this far from the PCT_TOTAL tolerance


def percent_codes(spec: TableSpec, cells: dict[Key, float]) -> frozenset[str]:
    """PCT_SHARE / PCT_TOTAL as the brief defines them (a share within 0.005, the n leaf shares
    summing to 100 within n x 0.005), computed from the counts of ``cells``."""
    codes, groups = set(), {}
    for key in spec.cells:
        if not spec.is_percent(key):
            continue
        part, whole = share_terms(spec, key)
        exact = share(sum(cells[k] for k in part), sum(cells[k] for k in whole)) or 0.0
        if abs(cells[key] - exact) > tolerance(spec):
            codes.add("PCT_SHARE")
        if is_part_share(spec, key):
            groups.setdefault(percent_group(spec, key), []).append(cells[key])
    if any(abs(sum(leaves) - 100.0) > tolerance(spec, len(leaves)) for leaves in groups.values()):
        codes.add("PCT_TOTAL")
    return frozenset(codes)


def percent_off(values: Values) -> tuple[Values, frozenset[str]]:
    """Two digits of one pendidikan % cell swapped (68.04 -> 68.40 or 86.04), counts unchanged.

    PCT_SHARE always; PCT_TOTAL if the column now misses 100 by more than 11 x 0.005. A swap whose
    column sum lands near that tolerance is skipped, so the expected codes never hinge on float noise.
    """
    spec = load_tables()["pendidikan"]
    cells = values["pendidikan"]
    half = 0.005
    leaves = [k for k in spec.cells if spec.is_percent(k) and spec.key_dict(k)["pendidikan"] != "JML"]
    total = sum(cells[k] for k in leaves)
    for key in sorted(leaves, key=lambda k: (-cells[k], k)):
        digits = f"{cells[key]:.2f}".replace(".", "")
        for i in reversed(range(len(digits) - 1)):  # the decimals first: the likeliest slip
            if digits[i] == digits[i + 1]:
                continue
            d = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2:]
            new = round(float(d[:-2] + "." + d[-2:]), 2)
            if not 0 <= new <= 100 or abs(new - cells[key]) <= 0.05:
                continue
            miss = abs(total - cells[key] + new - 100.0)
            if abs(miss - len(leaves) * half) < PCT_MARGIN:
                continue
            out = _copy(values)
            out["pendidikan"][key] = new
            return out, percent_codes(spec, out["pendidikan"]), [Planted("pendidikan", key, new, cells[key])]
    raise ValueError("percent_off: no % cell has two digits to swap")


def cross_table(values: Values) -> tuple[Values, frozenset[str]]:
    """Two women counted twice in the pendidikan table (S1, P + 2), totals and % recomputed, so the
    table is consistent in itself and only disagrees with the golongan table's total."""
    spec = load_tables()["pendidikan"]
    out = _copy(values)
    inner = _inner_of(spec, out["pendidikan"])
    key = spec.key({"pendidikan": "S1", "sex": "P", "measure": "count"})
    inner[key] += 2
    out["pendidikan"] = _complete(spec, inner)
    # not a one-cell slip: the totals and percentages were recomputed with it
    return out, frozenset({"CROSS_TOTAL_MISMATCH"}), [Planted("pendidikan", key, inner[key], values["pendidikan"][key],
                                                              single=False)]


IMPOSSIBLE_KEY = {"ruang": "E", "gol": "III", "sex": "L"}


def impossible_cell(values: Values) -> tuple[Values, frozenset[str]]:
    """Two men typed into golongan III/E, a grade that does not exist; no total counts them.

    Impossible cells are printed (grey) and written by the template, so the value goes into the
    values like any other; sums skip impossible cells, so only IMPOSSIBLE_CELL is raised.
    """
    spec = load_tables()["golongan"]
    key = spec.key(IMPOSSIBLE_KEY)
    assert spec.is_impossible(key)
    out = _copy(values)
    out["golongan"][key] = 2
    return out, frozenset({"IMPOSSIBLE_CELL"}), [Planted("golongan", key, 2, 0)]


def _thousands_id(n: int) -> str:
    return f"{int(n):,}".replace(",", ".")


def text_number(wb, values: Values) -> tuple[frozenset[str], list]:
    """Numbers typed as text, values unchanged: the largest count as Indonesian thousands ('1.512')
    when it has four digits, and one golongan inner cell as plain digits ('37')."""
    from pipeline.template import locate

    tables = load_tables()
    counts = [(v, t, k) for t, cells in values.items() for k, v in cells.items()
              if not tables[t].is_percent(k) and not tables[t].is_impossible(k)]
    preferred = [c for c in counts if c[1] == "guru"] or counts
    v, t, k = max(preferred, key=lambda c: (c[0], c[1], c[2]))
    edits = []
    if v >= 1000:
        edits.append((t, k, _thousands_id(v)))
    gol = tables["golongan"]
    v, k = max((values["golongan"][k], k) for k in inner_cells(gol))
    edits.append(("golongan", k, str(int(v))))
    for t, k, text in edits:
        sheet, a1 = locate(tables[t], k)
        wb[sheet][a1].value = text
    # the values are right, only typed as text: nothing to correct
    return frozenset({"VALUE_AS_TEXT"}), [Planted(t, k, text, values[t][k], single=False) for t, k, text in edits]


MOVED_SHEET, MOVED_ROWS, MOVED_COLS = "golongan", 3, 2


def moved_table(wb, values: Values, table: str = MOVED_SHEET, rows: int = MOVED_ROWS,
                cols: int = MOVED_COLS) -> tuple[frozenset[str], list]:
    """The grid of one sheet (headers, labels, data) moved ``rows`` down and ``cols`` right, as in an
    older template with blank rows above the table; title and note stay put. Merged cells, data
    validation, widths and frozen panes move with it. A reader that finds tables by their labels
    reads it as it was: no finding."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.cell_range import CellRange

    from pipeline.template import ORIGIN_ROW

    ws = wb[load_tables()[table].sheet]
    top, last_row, last_col = ORIGIN_ROW, ws.max_row, ws.max_column
    merged = [CellRange(r.coord) for r in ws.merged_cells.ranges if r.min_row >= top]
    for r in merged:
        ws.unmerge_cells(r.coord)
    ws.move_range(f"A{top}:{get_column_letter(last_col)}{last_row}", rows=rows, cols=cols)
    for r in merged:
        r.shift(col_shift=cols, row_shift=rows)
        ws.merge_cells(r.coord)
    for dv in ws.data_validations.dataValidation:
        for r in dv.sqref.ranges:
            r.shift(col_shift=cols, row_shift=rows)
    widths = {c: ws.column_dimensions[get_column_letter(c)].width for c in range(1, last_col + 1)}
    for c, w in sorted(widths.items(), reverse=True):
        ws.column_dimensions[get_column_letter(c + cols)].width = w
    for c in range(1, cols + 1):
        ws.column_dimensions[get_column_letter(c)].width = 4
    heights = {r: ws.row_dimensions[r].height for r in range(top, last_row + 1)}
    for r in range(top, top + rows):
        ws.row_dimensions[r].height = None
    for r, h in heights.items():
        ws.row_dimensions[r + rows].height = h
    if ws.freeze_panes:
        frozen = CellRange(ws.freeze_panes)
        frozen.shift(col_shift=cols, row_shift=rows)
        ws.freeze_panes = frozen.coord
    if ws.print_title_rows:
        first, last = (int(x) for x in ws.print_title_rows.replace("$", "").split(":"))
        ws.print_title_rows = f"{first + rows}:{last + rows}"
    return frozenset(), []


@dataclass(frozen=True)
class Planted:
    """What a defect changed: a cell, the value typed there and the true one. ``single``: a one-cell slip,
    so the first correction must name this cell with the true value (or a tie that includes it)."""

    table: str
    key: Key
    typed: object
    true: object
    single: bool = True

    def record(self) -> dict:
        from pipeline.template import locate

        sheet, address = locate(load_tables()[self.table], self.key)
        plain = lambda v: int(v) if isinstance(v, float) and v.is_integer() else v  # noqa: E731
        return {"table": self.table, "cell": load_tables()[self.table].key_dict(self.key), "sheet": sheet,
                "address": address, "typed": plain(self.typed), "true": plain(self.true), "single": self.single}


@dataclass(frozen=True)
class Defect:
    kind: str
    description: str
    on_values: Callable[[Values], tuple[Values, frozenset[str], list[Planted]]] | None = None
    on_workbook: Callable[[object, Values], tuple[frozenset[str], list[Planted]]] | None = None
    tables: tuple[str, ...] = ("golongan",)  # the book's tables it needs (planted only where they are submitted)

    def applies(self, values: Values) -> bool:
        return all(t in values for t in self.tables)


DEFECTS: dict[str, Defect] = {d.kind: d for d in (
    Defect("wrong_total", "a golongan row TOTAL off by three", on_values=wrong_total),
    Defect("transposed_digit", "two digits of a golongan inner cell swapped (34 -> 43), totals kept",
           on_values=transposed_digit),
    Defect("percent_off", "two digits of a pendidikan % cell swapped", on_values=percent_off,
           tables=("pendidikan",)),
    Defect("cross_table", "pendidikan counts two people twice, consistent in itself", on_values=cross_table,
           tables=("pendidikan", "golongan")),
    Defect("impossible_cell", "a value in golongan III/E, totals untouched", on_values=impossible_cell),
    Defect("text_number", "counts typed as text ('1.512', '37'), values unchanged", on_workbook=text_number),
    Defect("moved_table", "the golongan grid moved 3 rows down and 2 columns right", on_workbook=moved_table),
)}

# Which OPD carries which defect: a fixed choice, one defect each; every other OPD is clean.
DEFECT_PLAN: dict[str, str] = {
    "BPKAD": "wrong_total",
    "RSUD": "transposed_digit",
    "DINKES": "percent_off",
    "DISHUB": "cross_table",
    "KEC-KASEMEN": "impossible_cell",
    "DINDIKBUD": "text_number",
    "SATPOLPP": "moved_table",
}


# -- writing --------------------------------------------------------------------------------------
def opd_rng(seed: int, code: str) -> np.random.Generator:
    """The generator for one OPD: depends on the seed and the OPD code only (not on registry order)."""
    return np.random.default_rng([int(seed), zlib.crc32(code.encode("utf-8"))])


def sample_values(opd: Opd, seed: int = 2022) -> tuple[Values, Defect | None, frozenset[str], list[Planted]]:
    """One OPD's values as the sample writes them (the value-level defect applied, if it has one), its
    defect, the expected finding codes and the planted cells so far (a workbook defect adds its own)."""
    values = consistent_submission(opd, opd_rng(seed, opd.code))
    defect = DEFECTS[DEFECT_PLAN[opd.code]] if opd.code in DEFECT_PLAN else None
    if defect and not defect.applies(values):  # a collection without the defect's table: a clean OPD
        defect = None
    codes: frozenset[str] = frozenset()
    planted: list[Planted] = []
    if defect and defect.on_values:
        values, codes, planted = defect.on_values(values)
    return values, defect, codes, planted


def sample_workbook(opd: Opd, period: str, seed: int = 2022, lang: str = "id"):
    """The workbook written for one OPD, the finding codes a correct validator raises for it and the
    cells its defect planted."""
    from pipeline.template import build_workbook

    values, defect, codes, planted = sample_values(opd, seed)
    wb = build_workbook(opd, period, values, lang)
    if defect and defect.on_workbook:
        more, cells = defect.on_workbook(wb, values)
        codes, planted = codes | more, planted + cells
    return wb, codes, planted


def write_sample(raw_dir, period: str, seed: int = 2022, manifest_path=None, lang: str = "id",
                 log: Callable[[str], None] | None = print) -> dict[str, dict]:
    """Write ``raw_dir/period/<OPD>.xlsx`` for every registry OPD and return the manifest
    ``{OPD: {"codes": sorted expected finding codes, "defect": kind or None, "planted": [cells]}}``
    (clean OPDs have no codes and nothing planted). A planted cell gives its sheet and address, the
    value typed there and the true value, and whether it is a one-cell slip (``single``).

    Files that already exist are skipped, never overwritten (raw data is never modified); they are
    still in the manifest, which describes what this seed writes. ``manifest_path``, if given, gets the
    manifest as JSON. ``log`` (default ``print``) is told which files were skipped.
    """
    folder = Path(raw_dir) / str(period)
    folder.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, dict] = {}
    skipped: list[str] = []
    for code, opd in load_registry().items():
        path = folder / f"{code}.xlsx"
        wb, codes, planted = sample_workbook(opd, str(period), seed, lang)
        if path.exists():
            skipped.append(path.name)
        else:
            atomic_write(path, lambda tmp: save_workbook(wb, tmp))
        defect = sample_values(opd, seed)[1] if code in DEFECT_PLAN else None
        defect = defect.kind if defect else None
        manifest[code] = {"codes": sorted(codes), "defect": defect,
                          "planted": [p.record() | {"opd": code} for p in planted]}
    if skipped and log:
        log(say("sample.skipped", lang, n=len(skipped), folder=folder, files=", ".join(skipped)))
    if manifest_path is not None:
        atomic_write_text(manifest_path, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest
