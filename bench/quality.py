"""Benchmark: how well localisation finds the cells a clerk mistyped (prints JSON).

Consistent synthetic submissions (``pipeline.sample.consistent_submission``, every registry OPD,
``--seeds`` seeds) get realistic defects, one kind at a time, and are validated in memory
(``check_extract``, the same path as ``rekap validate``):

single-cell  ``offset`` (a count off by 1, 2, 3, 5 or 10), ``transposition`` (two adjacent digits
             swapped), ``extra_digit`` (a digit typed twice or one too many), ``missing_digit``,
             ``shift_row`` (the value of the next row typed here), ``into_total`` (a part's value
             typed into its total), ``pct_rounded`` (a % rounded the wrong way: off by 0.01)
double-cell  ``lp_swap`` (L and P of one row swapped), ``row_swap`` (a cell swapped with the next
             row), ``two_slips`` (two independent offsets/transpositions)

Cells are drawn from every kind of cell (inner cells, row totals, column *Jumlah*, subtotals, grand
totals, % cells for ``pct_rounded``). Reported:

* ``recall``: of the defects that break at least one rule (checked by evaluating the rules on the
  defective values), the share that is rejected *and* gets at least one located cell
  (``CELL_SUSPECT``); ``cell_recall``: the share whose defective cells are all among the reported
  minimal sets;
* ``false_positives``: findings of any kind on the unmutated submissions (must be 0);
* ``top1``: on single-cell defects that are *uniquely identifiable* -- no other single cell can be
  changed so that every error rule (linear and percent) holds, checked by brute force, independent
  of the solver -- the share whose first located set is exactly the defective cell with its
  original value;
* ``first_correction``: on every single-cell defect, whether the first correction shown to the clerk
  is that cell with its true value (``right``), an honest tie that includes it (``honest_tie``), or
  puts another cell or value first (``wrong``); ``right_or_tie`` is the share of the first two;
* ``scratch_copy``: a visible copy of the golongan sheet with a slip in it, placed before the real
  sheet (one per OPD and seed): ``right`` when the real sheet is read, with a warning naming both;
* ``validate_ms``: wall time to validate one defective submission (mean, 99th percentile, max);
  ``localize_cpu_ms``: CPU time of the localisation alone, per submission.

Defect kinds added for the advice issue: ``total_offset`` (a total typed wrong), ``seven_way`` (one of
the seven cells of the posts-available row off by one: six echelons and their TOTAL),
``locale_decimal`` (a count stored as a decimal, 1009 as 1.009), ``subtotal_slip`` (an inner cell of
the functional table, which also feeds a JML subtotal).

    .venv/bin/python bench/quality.py [--seeds 2] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.corrections import corrections  # noqa: E402
from pipeline.localize import EVIDENCE, _twin, error_rules, neighbours  # noqa: E402
from pipeline.rules.linear import Ref, evaluate  # noqa: E402
from pipeline.rules.percent import percent_findings  # noqa: E402
from pipeline.rules.sums import sum_rules  # noqa: E402
from pipeline.sample import consistent_submission, opd_rng  # noqa: E402
from pipeline.specs import load_registry, load_tables  # noqa: E402
from pipeline.submission import Extract, RawCell  # noqa: E402
from pipeline.validate import check_extract, submission_rules  # noqa: E402

TABLES = load_tables()
SINGLE = ("offset", "transposition", "extra_digit", "missing_digit", "shift_row", "into_total", "pct_rounded",
          "total_offset", "seven_way", "locale_decimal", "subtotal_slip")
DOUBLE = ("lp_swap", "row_swap", "two_slips")


def extract(opd: str, values: dict) -> Extract:
    ex = Extract(file=f"{opd}.csv", kind="csv", identity={"opd": opd, "period": "2022"})
    for table, cells in values.items():
        ex.tables.add(table)
        ex.cells += [RawCell(table, key, value) for key, value in cells.items()]
    return ex


def flat(values: dict) -> dict:
    return {Ref(t, k): float(v) for t, cells in values.items() for k, v in cells.items()}


def count_cells(values: dict) -> list[Ref]:
    return [Ref(t, k) for t, cells in values.items() for k in cells
            if not TABLES[t].is_percent(k) and not TABLES[t].is_impossible(k)]


# -- defects ------------------------------------------------------------------------------------
def _digits_swapped(n: int, rng) -> int | None:
    s = str(n)
    spots = [i for i in range(len(s) - 1) if s[i] != s[i + 1] and not (i == 0 and s[1] == "0")]
    if not spots:
        return None
    i = spots[int(rng.integers(len(spots)))]
    return int(s[:i] + s[i + 1] + s[i] + s[i + 2:])


def _digit_added(n: int, rng) -> int | None:
    s = str(n)
    if n == 0:
        return None
    i = int(rng.integers(len(s) + 1))
    d = s[min(i, len(s) - 1)] if rng.random() < 0.6 else str(int(rng.integers(10)))
    if i == 0 and d == "0":
        d = "1"
    return int(s[:i] + d + s[i:])


def _digit_removed(n: int, rng) -> int | None:
    s = str(n)
    if len(s) < 2:
        return None
    i = int(rng.integers(len(s)))
    return int(s[:i] + s[i + 1:])


def _offset(n: int, rng) -> int | None:
    k = int(rng.choice([1, 2, 3, 5, 10, -1, -2, -3]))
    return n + k if n + k >= 0 else n + abs(k)


def mutate(kind: str, values: dict, rng) -> tuple[dict, dict[Ref, float]] | None:
    """The defective values and the original value of each cell changed; None if the kind does not fit."""
    v = flat(values)
    cells = count_cells(values)
    order = [cells[i] for i in rng.permutation(len(cells))]

    def done(changes: dict[Ref, float]):
        out = {t: dict(c) for t, c in values.items()}
        original = {}
        for ref, new in changes.items():
            if new == v[ref]:
                return None
            original[ref] = v[ref]
            out[ref.table][ref.key] = new
        return out, original

    simple = {"offset": _offset, "transposition": _digits_swapped, "extra_digit": _digit_added,
              "missing_digit": _digit_removed}
    totals = {rule.anchor for t in values for rule in sum_rules(TABLES[t])}
    if kind == "total_offset":  # a total typed wrong
        for ref in order:
            if ref in totals:
                new = _offset(int(v[ref]), rng)
                return done({ref: float(new)})
        return None
    if kind == "seven_way":  # posts available: one number per echelon and their TOTAL, one of the seven off by one
        row = [r for r in cells if r.table == "eselon" and r.key[0] == "disiapkan"]
        ref = row[int(rng.integers(len(row)))] if row else None
        if ref is None:
            return None
        new = v[ref] + 1 if v[ref] == 0 or rng.random() < 0.5 else v[ref] - 1
        return done({ref: new})
    if kind == "locale_decimal":  # 1009 stored as 1.009 (an English-locale Excel); any count of 10 or more
        for ref in order:
            if v[ref] >= 10 and ref not in totals:
                return done({ref: v[ref] / 1000})
        return None
    if kind == "subtotal_slip":  # an inner cell that also feeds a JML subtotal (functional staff by jenjang)
        for ref in order:
            if ref.table == "fungsional" and ref not in totals:
                new = _offset(int(v[ref]), rng)
                return done({ref: float(new)})
        return None
    if kind in simple:
        for ref in order:
            new = simple[kind](int(v[ref]), rng)
            if new is not None and new != v[ref]:
                return done({ref: float(new)})
        return None
    if kind == "shift_row":
        for ref in order:
            spec = TABLES[ref.table]
            p = spec.placements()
            below = [k for k in neighbours(spec, ref.key) if k in p and p[k].row == p[ref.key].row - 1]
            for k in below:  # the value of the row above typed one row too low
                if v[Ref(ref.table, k)] != v[ref]:
                    return done({ref: v[Ref(ref.table, k)]})
        return None
    if kind == "into_total":
        totals = [r for r in order if any(rule.anchor == r for rule in sum_rules(TABLES[r.table]))]
        for ref in totals:
            rule = next(rule for rule in sum_rules(TABLES[ref.table]) if rule.anchor == ref)
            parts = [p for p in rule.rhs if v[p] != v[ref]]
            if parts:
                return done({ref: v[parts[int(rng.integers(len(parts)))]]})
        return None
    if kind == "pct_rounded":
        pcts = [Ref(t, k) for t, c in values.items() for k in c if TABLES[t].is_percent(k)]
        for i in rng.permutation(len(pcts)):
            ref = pcts[i]
            new = round(v[ref] + float(rng.choice([0.01, -0.01])), 2)
            if 0 <= new <= 100:
                return done({ref: new})
        return None
    if kind in ("lp_swap", "row_swap"):
        for ref in order:
            spec = TABLES[ref.table]
            if kind == "lp_swap":
                others = [_twin(spec, ref.key)] if spec.dim_names and "sex" in spec.dim_names else []
            else:
                p = spec.placements()
                others = [k for k in neighbours(spec, ref.key) if k in p and p[k].row == p[ref.key].row + 1]
            for k in others:
                if k is None:
                    continue
                other = Ref(ref.table, k)
                if v[other] != v[ref]:
                    return done({ref: v[other], other: v[ref]})
        return None
    if kind == "two_slips":
        changes = {}
        for ref in order:
            new = (_digits_swapped if rng.random() < 0.5 else _offset)(int(v[ref]), rng)
            if new is not None and new != v[ref]:
                changes[ref] = float(new)
            if len(changes) == 2:
                return done(changes)
        return None
    raise ValueError(kind)


# -- ground truth, independent of the solver ------------------------------------------------------
def breaks(values: dict, present) -> bool:
    v = flat(values)
    if any(evaluate(r, v).holds is False for r in error_rules(submission_rules(present, TABLES))):
        return True
    return any(percent_findings(TABLES[t], v)[0] for t in present if TABLES[t].percent)


def consistent(v: dict, rules, present) -> bool:
    if any(evaluate(r, v).holds is False for r in rules):
        return False
    return not any(percent_findings(TABLES[t], v)[0] for t in present if TABLES[t].percent)


def single_fixes(values: dict, present) -> list[Ref]:
    """Every cell whose change alone makes all error rules (linear and percent) hold."""
    v = flat(values)
    rules = error_rules(submission_rules(present, TABLES))
    failing = [r for r in rules if evaluate(r, v).holds is False]
    pct = [f for t in present if TABLES[t].percent for f in percent_findings(TABLES[t], v)[0]]
    out = []
    if not failing:  # only percent rules fail: a % cell set to its share, one at a time
        for f in pct:
            if f.code == "PCT_SHARE":
                ref = Ref(f.table, TABLES[f.table].key(f.cell))
                trial = dict(v)
                trial[ref] = f.expected
                if consistent(trial, rules, present):
                    out.append(ref)
        return out
    eq = next((r for r in failing if r.op == "=="), None)
    if eq is None:
        return out  # only inequalities: no single value is implied
    member = defaultdict(set)
    for i, r in enumerate(rules):
        for ref in r.refs:
            member[ref].add(i)
    need = {rules.index(r) for r in failing}
    imbalance = sum(v[r] for r in eq.lhs) - sum(v[r] for r in eq.rhs)
    for ref, rs in member.items():
        if not need <= rs:
            continue
        coef = eq.lhs.count(ref) - eq.rhs.count(ref)
        if coef == 0:
            continue
        new = v[ref] - imbalance / coef
        if new < 0 or new != round(new):
            continue
        trial = dict(v)
        trial[ref] = new
        if consistent(trial, rules, present):
            out.append(ref)
    return out


# -- the run --------------------------------------------------------------------------------------
def located(result) -> tuple[dict, list[set]]:
    """The cells the first correction changes (Ref -> suggested value) and every reported set of cells."""
    items = corrections(result.findings)
    top: dict = {}
    sets: list[set] = []
    for c in items:
        if c.type == "change" and c.finding.code == "CELL_SUSPECT":
            f = c.finding
            top[Ref(f.table, TABLES[f.table].key(f.cell))] = f.expected
    if top:
        sets.append(set(top))
    for c in items:
        if c.type == "one_of":
            options: dict = {}
            for f in c.cells:
                options.setdefault(f.params.get("option"), set()).add(Ref(f.table, TABLES[f.table].key(f.cell)))
            sets += list(options.values())
    return top, sets


def first_right(result, ref: Ref, value) -> str:
    """How the first correction treats a one-cell slip: ``right`` (that cell, that value), ``tie`` (an
    honest tie that includes it with that value), ``wrong`` (another cell or value put first), ``none``."""
    items = corrections(result.findings)
    if not items:
        return "none"
    first = items[0]
    want = int(value) if float(value).is_integer() else value
    for f in first.cells:
        if f.table == ref.table and f.cell and TABLES[f.table].key(f.cell) == ref.key:
            if first.type == "change" and f.expected == want:
                return "right"
            if first.type == "one_of" and f.params.get("if_this") == want:
                return "tie"
    return "wrong"


def scratch_copy(code: str, values: dict, rng) -> str:
    """A visible scratch copy of the golongan sheet, with a slip in it, placed before the real sheet:
    ``right`` when the real sheet is read (TABLE_DUPLICATE_SHEET, no error), else ``wrong``."""
    import tempfile

    from pipeline.template import build_workbook, locate
    from pipeline.validate import validate_file

    registry = load_registry()
    wb = build_workbook(registry[code], "2022", values, "id")
    spec = TABLES["golongan"]
    real = wb[spec.sheet]
    copy = wb.copy_worksheet(real)
    copy.title = f"{spec.sheet} (2)"
    wb.move_sheet(copy, offset=wb.sheetnames.index(spec.sheet) - wb.sheetnames.index(copy.title))
    inner = [k for k in spec.cells if spec.is_leaf(k) and not spec.is_impossible(k)]
    sheet, a1 = locate(spec, inner[int(rng.integers(len(inner)))])
    copy[a1] = (copy[a1].value or 0) + 7
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "2022" / f"{code}.xlsx"
        path.parent.mkdir()
        wb.save(path)
        result = validate_file(path)
    codes = {f.code for f in result.findings}
    return "right" if result.status == "accepted" and "TABLE_DUPLICATE_SHEET" in codes else "wrong"


def run(seeds: int, seed: int, kinds=SINGLE + DOUBLE, opds=None, scratch: bool = True) -> dict:
    registry = load_registry()
    firsts = Counter()
    scratch_outcomes = Counter()
    wrong_first: list[dict] = []
    localize_cpu: list[float] = []
    import pipeline.validate as validate_module

    inner = validate_module.localization_findings

    def timed(*args, **kwargs):  # CPU time of the localisation alone, robust to a loaded machine
        start = time.process_time()
        try:
            return inner(*args, **kwargs)
        finally:
            localize_cpu.append(time.process_time() - start)
    validate_module.localization_findings = timed
    codes = opds or list(registry)
    rng = np.random.default_rng(seed)
    stats = Counter()
    by_kind: dict[str, Counter] = defaultdict(Counter)
    times: list[float] = []
    misses: list[dict] = []
    fp_findings = Counter()
    for s in range(seeds):
        for code in codes:
            values = consistent_submission(registry[code], opd_rng(seed * 1000 + s, code))
            present = set(values)
            clean = check_extract(extract(code, values), "2022")
            stats["clean_submissions"] += 1
            if clean.findings:
                stats["false_positive_submissions"] += 1
                fp_findings.update(f.code for f in clean.findings)
            for kind in kinds:
                made = mutate(kind, values, rng)
                if made is None:
                    continue
                bad, original = made
                k = by_kind[kind]
                k["defects"] += 1
                if not breaks(bad, present):
                    k["not_breaking"] += 1
                    continue
                k["breaking"] += 1
                start = time.perf_counter()
                result = check_extract(extract(code, bad), "2022")
                times.append(time.perf_counter() - start)
                top, sets = located(result)
                found = result.status == "rejected" and bool(sets)
                k["recalled"] += found
                k["cells_recalled"] += any(set(original) <= s_ for s_ in sets)
                k["ambiguous"] += any(f.code == "CELL_CANDIDATE" for f in result.findings)
                if len(original) == 1:
                    (ref, value), = original.items()
                    outcome = first_right(result, ref, value)
                    k[f"first_{outcome}"] += 1
                    firsts[outcome] += 1
                    if outcome == "wrong" and len(wrong_first) < 10:
                        first = corrections(result.findings)[0]
                        wrong_first.append({"kind": kind, "opd": code, "cell": [ref.table, list(ref.key)],
                                            "true": value, "typed": flat(bad)[ref], "first": first.text("en")})
                    fixes = single_fixes(bad, present)
                    if fixes == [ref]:
                        k["identifiable"] += 1
                        hit = set(top) == {ref} and top[ref] == (int(value) if value.is_integer() else value)
                        k["top1"] += hit
                        if not hit and len(misses) < 20:
                            misses.append({"kind": kind, "opd": code, "cell": [ref.table, list(ref.key)],
                                           "original": value, "typed": flat(bad)[ref],
                                           "located": {f"{r.table}:{'/'.join(r.key)}": x for r, x in top.items()}})
            if scratch:
                scratch_outcomes[scratch_copy(code, values, rng)] += 1
    total = Counter()
    for k in by_kind.values():
        total.update(k)
    singles = Counter()
    for kind in SINGLE:
        singles.update(by_kind.get(kind, Counter()))

    def ratio(a, b):
        return round(a / b, 4) if b else None

    validate_module.localization_findings = inner
    return {
        "seed": seed, "seeds": seeds, "opds": len(codes),
        "defects": total["defects"], "breaking": total["breaking"], "not_breaking": total["not_breaking"],
        "recall": ratio(total["recalled"], total["breaking"]),
        "cell_recall": ratio(total["cells_recalled"], total["breaking"]),
        "false_positives": stats["false_positive_submissions"],
        "false_positive_codes": dict(fp_findings),
        "clean_submissions": stats["clean_submissions"],
        "single_identifiable": singles["identifiable"],
        "top1": ratio(singles["top1"], singles["identifiable"]),
        "top1_hits": singles["top1"],
        "ambiguous_share": ratio(total["ambiguous"], total["breaking"]),
        "first_correction": {"right": firsts["right"], "honest_tie": firsts["tie"], "wrong": firsts["wrong"],
                             "none": firsts["none"],
                             "right_or_tie": ratio(firsts["right"] + firsts["tie"], sum(firsts.values()))},
        "scratch_copy": {"right": scratch_outcomes["right"], "wrong": scratch_outcomes["wrong"]},
        "total_prior": EVIDENCE["total"],
        "validate_ms": {"mean": round(1000 * sum(times) / len(times), 1) if times else None,
                        "p99": round(1000 * float(np.percentile(times, 99)), 1) if times else None,
                        "max": round(1000 * max(times), 1) if times else None},
        "localize_cpu_ms": {"mean": round(1000 * sum(localize_cpu) / len(localize_cpu), 1) if localize_cpu else None,
                            "p99": round(1000 * float(np.percentile(localize_cpu, 99)), 1) if localize_cpu else None,
                            "max": round(1000 * max(localize_cpu), 1) if localize_cpu else None},
        "by_kind": {kind: dict(c) for kind, c in by_kind.items()},
        "top1_misses": misses,
        "first_correction_wrong": wrong_first,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=2, help="consistent submissions per OPD")
    parser.add_argument("--seed", type=int, default=7, help="random seed (same seed, same figures)")
    parser.add_argument("--total-prior", type=float, default=None,
                        help="try another prior for totals (pipeline.localize.EVIDENCE['total']) to calibrate it")
    args = parser.parse_args()
    if args.total_prior is not None:
        EVIDENCE["total"] = args.total_prior
    start = time.perf_counter()
    report = run(args.seeds, args.seed)
    report["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
