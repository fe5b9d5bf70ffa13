"""Error localisation for a submission: which cells to change, and to what, so that every rule holds.

A failing sum says that something is wrong, not what. This module is the rekap adapter around the
generic solver (:mod:`pipeline.solver`, which knows no tables): it turns a submission's rules into a
:class:`~pipeline.solver.System`, weighs the minimal sets the solver returns with the evidence of the
submission, decides what the clerk is told, and writes that as findings (codes and structured
parameters only; :mod:`pipeline.corrections` and the text catalogue say it in words). It owns the
evidence (:data:`EVIDENCE`), the priors, the posterior, :func:`decide` and the localisation findings.

The rules are not chosen here: :mod:`pipeline.validate` builds the linear rules of a submission once
and evaluates them once, and passes both to :func:`localization_findings`.

The system
----------
:func:`rekap_system` builds the system of one submission from its linear rules of severity *error*:
every sum rule of every table present (inner cells, row totals, column *Jumlah*, *JML* subtotals,
grand totals, both ways) and every cross-table ``==`` and ``<=`` rule whose tables are all present.
Plausibility rules of severity *warning* (PP 13/2002 ranks, CPNS entry ranks, PENGAWAS in Pertama) do
**not** constrain: a real OPD may legitimately violate them, and a localiser that "repairs" legitimate
data would mislead. Percent cells are not in the linear system (a share is not linear in the counts);
they are used to rank tied solutions (below) and get their own suggestion (:func:`_percent_suggestions`).
Variables are count cells: integers >= 0.

Weights (used by :func:`rekap_system`):

* every count cell: **1** -- inner cells, row totals, column *Jumlah*, subtotals and grand totals
  alike, so the minimal set is the minimal *number* of cells (a wrong total is located at the
  total, because changing the total alone is one cell while changing parts is at least two);
* a total equal to what two or more independent decompositions imply (two or more of its sum rules
  hold, e.g. a grand total equal both to the sum of the row totals and to the sum of the *Jumlah*
  row): **2**, it is beyond reasonable doubt and changes only when nothing cheaper explains the data;
* a cell whose value is unknown (unreadable, missing): **0**, a free variable, never reported.

A submission whose every value is readable and that needs more than two changed cells is not
localised (``LOCALIZE_UNRESOLVED``): such "explanations" are guesses, and finding them all is slow;
one with more than :data:`MAX_BROKEN` broken rules neither (``LOCALIZE_TOO_MANY``).

Evidence and decision
---------------------
Evidence ranks the tied minimal sets, never the book order (:data:`EVIDENCE`, likelihood factors):
printed percentages left inconsistent, plausibility rules failing after the change (the warning-level
rules and the OPD's type from the registry: no post above its leader's echelon, one post at it), a
recognised slip (:mod:`pipeline.suggest`), the reference value of a cell (the OPD's previous published
period, a staff list), and a prior that a hand-typed total slips more often than one count (which only
orders a tie: see :data:`EVIDENCE`). The evidence gives each set a probability among the tied ones
(:func:`posterior`); :func:`decide` names the best set alone (*probable*) only when it is more likely
than all others together, else reports the tie (``CELL_CANDIDATE``: one of N, no value asserted). A
single minimal set with forced values is *certain*.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from pipeline.findings import Finding
from pipeline.rules.linear import Ref, evaluate, severity
from pipeline.rules.percent import percent_findings
from pipeline.shares import decimals, share, share_terms, tolerance
from pipeline.solver import Localization, Row, Solution, System, forced, locate
from pipeline.suggest import count_kind, percent_kind

SHOWN = 10  # listed in a finding at most


# -- a submission's linear rules as a System ------------------------------------------------------
RULE = "localize:fellegi_holt"
PERCENT_RULE = "localize:percent"
BEYOND_DOUBT = 2.0


def error_rules(rules) -> list:
    """The rules of severity error among ``rules`` (the ones a localisation must make hold), in order."""
    return [r for r in rules if severity(r) == "error"]


def rekap_system(values: dict, rules: tuple, holds: list, tables) -> System:
    """The linear system of one submission: one integer variable >= 0 per count cell in ``rules``,
    weighted as the module docstring says (``holds``: whether each rule holds on ``values``); variable
    names are the cells' ``Ref``."""
    shape = _shape(rules, tables)
    holding: dict = {}
    for rule, held in zip(rules, holds):
        if rule.code == "SUM_MISMATCH" and rule.anchor is not None and held:
            holding[rule.anchor] = holding.get(rule.anchor, 0) + 1
    refs = shape.refs
    vals = [float(values.get(r, math.nan)) if values.get(r) is not None else math.nan for r in refs]
    weights = [BEYOND_DOUBT if holding.get(r, 0) >= 2 else 1.0 for r in refs]
    n = len(refs)
    return System(list(refs), vals, list(shape.rows), [0.0] * n, [math.inf] * n, [True] * n, weights)


@dataclass
class _Shape:
    """What localisation derives from a tuple of rules alone, the same for every submission with the
    same tables (:func:`pipeline.validate.submission_rules` gives them the same tuple): worked out once."""

    errors: tuple  # the rules of severity error (the ones a localisation must make hold), in order
    positions: tuple  # where they are among the rules
    soft: tuple  # the plausibility rules (:func:`plausibility_rules`)
    totals: frozenset  # cells printed as a sum of others
    refs: tuple  # every cell of the rules, in book order: the variables of :func:`rekap_system`
    rows: list  # each rule as a row of the system
    member: dict  # Ref -> the rules through it


def _shape(rules: tuple, tables) -> _Shape:
    key = (id(rules), id(tables))
    hit = _SHAPES.get(key)
    if hit is None or hit[0] is not rules or hit[1] is not tables:
        if len(_SHAPES) >= 64:
            _SHAPES.clear()
        hit = _SHAPES[key] = (rules, tables, _make_shape(rules, tables))
    return hit[2]


_SHAPES: dict[tuple, tuple] = {}  # (id(rules), id(tables)) -> (rules, tables, shape): kept, so the ids stay theirs


def _make_shape(rules: tuple, tables) -> _Shape:
    positions = tuple(k for k, rule in enumerate(rules) if severity(rule) == "error")
    refs = sorted({r for rule in rules for r in rule.refs}, key=lambda r: _order(r, tables))
    index = {r: i for i, r in enumerate(refs)}
    rows, member = [], {}
    for rule in rules:
        coefs: dict[int, float] = {}
        for r in rule.lhs:
            coefs[index[r]] = coefs.get(index[r], 0.0) + 1.0
        for r in rule.rhs:
            coefs[index[r]] = coefs.get(index[r], 0.0) - 1.0
        rows.append(Row(tuple((i, a) for i, a in coefs.items() if a), rule.op, rule.const, rule.rule))
        for r in rule.refs:
            member.setdefault(r, []).append(rule)
    return _Shape(tuple(rules[k] for k in positions), positions, tuple(plausibility_rules(rules)),
                  frozenset(r.anchor for r in rules if r.code == "SUM_MISMATCH"), tuple(refs), rows, member)


def _order(ref, tables) -> tuple:
    spec = tables[ref.table]
    return (spec.number, _grid(spec)[2].get(ref.key, len(spec.cells)), ref.key)


@functools.lru_cache(maxsize=64)
def _grid(spec) -> tuple[dict, dict, dict]:
    """A table's printed grid ``{(row, column): key}``, its placements and its print order ``{key: i}``:
    computed once per spec (specs are hashed by identity, so an overridden spec gets its own)."""
    grid = {}
    for k, p in spec.placements().items():
        if spec.has_cell(k):
            for c in range(p.col_first, p.col_last + 1):
                grid[(p.row, c)] = k
    return grid, spec.placements(), {k: i for i, k in enumerate(spec.cells)}


def neighbours(spec, key) -> list:
    """The cells printed next to ``key`` (row above and below, column left and right) and its L/P twin."""
    grid, places, _ = _grid(spec)
    p = places[key]
    out = []
    for c in range(p.col_first, p.col_last + 1):
        out += [grid.get((p.row - 1, c)), grid.get((p.row + 1, c))]
    out += [grid.get((p.row, p.col_first - 1)), grid.get((p.row, p.col_last + 1))]
    twin = _twin(spec, key)
    if twin is not None:
        out.append(twin)
    seen, result = set(), []
    for k in out:
        if k is not None and k != key and k not in seen:
            seen.add(k)
            result.append(k)
    return result


def _twin(spec, key):
    """The same cell for the other sex (L <-> P), if the table has it."""
    if "sex" not in spec.dim_names:
        return None
    i = spec.dim_names.index("sex")
    other = {"L": "P", "P": "L"}.get(key[i])
    if other is None:
        return None
    twin = key[:i] + (other,) + key[i + 1:]
    return twin if spec.has_cell(twin) else None


@dataclass
class Candidate:
    """One minimal set, with the evidence that ranks it (see the module docstring)."""

    solution: Solution
    cells: tuple  # the located Refs, in book order
    original: dict  # Ref -> value as typed
    suggested: dict  # Ref -> value that makes the rules hold
    forced: dict  # Ref -> bool
    kinds: dict  # Ref -> (kind or None, the other cell's Ref or None)
    percent_left: int  # printed percentages still inconsistent after the change
    implausible: int = 0  # plausibility rules (warnings, registry) failing after the change
    score: float = 0.0  # log-likelihood of the set from the evidence (:data:`EVIDENCE`), which decides
    prior: float = 0.0  # log prior of the set (totals slip more often), which only orders a tie
    order: tuple = ()

    def key(self) -> tuple:
        return (-round(self.score, 9), -round(self.prior, 9), self.order)


# The evidence that ranks tied minimal sets, as likelihood factors (a set's score is the sum of the logs
# of the factors of its cells, plus those of the whole set). Calibrated with ``bench/quality.py``.
# The prior that a hand-typed total slips more often than one count orders the cells of a tie (totals
# first) but decides nothing: as evidence, every prior above 1 put a correct cell first in the
# benchmark's rows of seven (prior 2: 1 of 136 one-cell slips; 4: 7; 8: 11), and a wrong suggestion
# is worse than an honest tie.
EVIDENCE = {
    "total": 2.0,  # prior per total cell: orders a tie, never decides it
    "strong_slip": 20.0,  # a recognised slip (digits swapped, dropped, doubled, one off, L/P swapped, ...)
    "weak_slip": 1.0,  # one digit of a number of two or more digits mistyped: any small change is one, no evidence
    "percent_left": 0.01,  # per printed percentage the change leaves inconsistent
    "implausible": 0.05,  # per plausibility rule (warning level, OPD type) failing after the change
    "reference_match": 10.0,  # the suggested value is the reference (previous period, staff list)
    "reference_typed": 0.1,  # the typed value is the reference: it is probably right
}
PROBABLE = 0.5  # the best set is named alone ("kemungkinan") when more likely than all others together
# Slips that a random change rarely looks like. A neighbour's value ("shifted") is not among them: equal
# neighbours are common (posts filled = posts available), so it is named but weighs nothing.
STRONG = frozenset({"transposition", "digit_dropped", "digit_doubled", "digit_extra", "swapped", "swapped_lp",
                    "locale_decimal"})


SHIFTED_MIN = 10  # a single digit that a neighbour holds too is a coincidence, not a slip


def explain(cells, original: dict, corrected: dict, tables) -> dict:
    """Kind of slip for each located cell: swaps of two located cells first, then digit slips, then
    a neighbour's value. A kind is named only where it really matches (``digit_wrong`` needs two or
    more digits; ``shifted`` a value of two or more digits that the neighbour holds)."""
    kinds: dict = {}
    cells = list(cells)
    for a in cells:
        for b in cells:
            if a == b or a in kinds or a.table != b.table:
                continue
            if original[a] == corrected[b] and original[b] == corrected[a] and original[a] != original[b]:
                spec = tables[a.table]
                if b.key == _twin(spec, a.key):
                    kinds[a], kinds[b] = ("swapped_lp", b), ("swapped_lp", a)
                elif b.key in neighbours(spec, a.key):
                    kinds[a], kinds[b] = ("swapped", b), ("swapped", a)
    for a in cells:
        if a in kinds:
            continue
        kind = count_kind(original[a], corrected[a])
        if kind not in (None, "digit_wrong"):
            kinds[a] = (kind, None)
            continue
        spec = tables[a.table]
        shifted = next((Ref(a.table, k) for k in neighbours(spec, a.key)
                        if original[a] >= SHIFTED_MIN and corrected.get(Ref(a.table, k)) == original[a]
                        and Ref(a.table, k) not in cells), None)
        kinds[a] = ("shifted", shifted) if shifted is not None else (kind, None)
    return kinds


def _percent_left(values: dict, present, tables) -> int:
    return sum(len(percent_findings(tables[t], values)[0]) for t in present if tables[t].percent)


def plausibility_rules(rules) -> list:
    """The warning-level rules among ``rules`` (rank, CPNS entry, PENGAWAS in Pertama)."""
    return [r for r in rules if severity(r) == "warning"]


def implausible(values: dict, soft: list, opd, tables) -> int:
    """How many plausibility rules fail on ``values``: the warning-level rules, and the OPD's type from
    the registry: no post above the echelon of its leader, at most one post at that echelon."""
    count = sum(1 for r in soft if evaluate(r, values).holds is False)
    spec = tables.get("eselon")
    leader = getattr(opd, "leader", None)
    if spec is None or not leader or "eselon" not in spec.dim_names:
        return count
    levels = [m.code for m in spec.dim("eselon").members if not m.is_total]
    if leader not in levels:
        return count
    rank = levels.index(leader)
    for key in spec.cells:  # posts per level: filled (L + P) and available
        cell = spec.key_dict(key)
        if cell["eselon"] not in levels or spec.is_percent(key) or any(
                not spec.dim(n).member(cell[n]).is_total for n in spec.dim_names if n not in ("eselon", "status")):
            continue
        value = values.get(Ref("eselon", key))
        if value is None or math.isnan(value):
            continue
        position = levels.index(cell["eselon"])
        if (position < rank and value > 0) or (position == rank and value > 1):
            count += 1
    return count


def _score(cand: Candidate, totals: set, reference: dict) -> tuple[float, float]:
    """(evidence, prior) of a set, as sums of log factors."""
    e = EVIDENCE
    score = cand.percent_left * math.log(e["percent_left"]) + cand.implausible * math.log(e["implausible"])
    prior = sum(math.log(e["total"]) for r in cand.cells if r in totals)
    for r in cand.cells:
        kind = cand.kinds[r][0]
        if kind in STRONG:
            score += math.log(e["strong_slip"])
        elif kind == "digit_wrong":
            score += math.log(e["weak_slip"])
        if r in reference:
            if reference[r] == cand.suggested[r]:
                score += math.log(e["reference_match"])
            elif reference[r] == cand.original[r]:
                score += math.log(e["reference_typed"])
    return score, prior


def candidates(loc: Localization, system: System, values: dict, present, tables, rules: list, opd=None,
               reference: dict | None = None) -> list[Candidate]:
    """The minimal sets of a localisation, ranked by their evidence, best first (ties: book order).
    ``rules``: every linear rule of the submission (its warning-level ones are plausibility evidence)."""
    shape = _shape(rules, tables)
    soft, totals = shape.soft, shape.totals
    out = []
    for sol in loc.solutions:
        cells = tuple(system.names[i] for i in sol.changed)
        corrected = dict(values)
        corrected.update({system.names[i]: v for i, v in sol.values.items()})
        original = {r: values[r] for r in cells}
        cand = Candidate(sol, cells, original, {system.names[i]: v for i, v in sol.values.items()},
                         {system.names[i]: f for i, f in sol.forced.items()},
                         explain(cells, original, corrected, tables), _percent_left(corrected, present, tables),
                         implausible(corrected, soft, opd, tables), order=tuple(_order(r, tables) for r in cells))
        cand.score, cand.prior = _score(cand, totals, reference or {})
        out.append(cand)
    return sorted(out, key=Candidate.key)


def posterior(ranked: list[Candidate]) -> list[float]:
    """Each set's probability among the tied sets, from the scores."""
    if not ranked:
        return []
    top = max(c.score for c in ranked)
    weights = [math.exp(c.score - top) for c in ranked]
    return [w / sum(weights) for w in weights]


@dataclass
class Decision:
    """What the clerk is told: one set to change (``certain`` or ``probable``) or a tie (``one_of``)."""

    certainty: str | None  # "certain", "probable", "one_of", or None (nothing located)
    chosen: list[Candidate]  # one set, or the tied sets (best first)
    total: int = 0  # how many minimal sets there were (with ``capped``: at least)
    capped: bool = False


def decide(ranked: list[Candidate], capped: bool) -> Decision:
    if not ranked:
        return Decision(None, [])
    n = len(ranked)
    if n == 1 and not capped:
        top = ranked[0]
        return Decision("certain" if all(top.forced.values()) else "probable", [top], 1)
    p = posterior(ranked)
    if not capped and p[0] > PROBABLE:
        return Decision("probable", [ranked[0]], n)
    return Decision("one_of", ranked[:SHOWN], n, capped)


# -- findings -------------------------------------------------------------------------------------
def _plain(v):
    return int(v) if isinstance(v, float) and v.is_integer() else v


def _place(ref, staged, tables) -> dict:
    """Where a cell is, as a finding would say it: table, logical cell, sheet and A1."""
    sheet, address = staged.sources.get(ref, (None, None))
    return {"table": ref.table, "cell": tables[ref.table].key_dict(ref.key), "sheet": sheet, "address": address}


def localization_findings(findings: list, staged, present: set[str], tables, rules: list, outcomes: list,
                          opd=None, reference: dict | None = None) -> list:
    """``findings`` with the localisation added (see :mod:`pipeline.corrections` for how they read):

    * ``CELL_SUSPECT`` on each cell of the one set to change (``params.certainty``: certain/probable);
    * ``CELL_CANDIDATE`` on each cell of tied sets (``params.option``: which set; no value asserted);
    * ``params.affected`` on the broken rules' findings whose anchor is not a cell to change;
    * ``LOCALIZE_TOO_MANY`` instead, when too many rules are broken to localise;
    * ``LOCALIZE_UNRESOLVED`` instead, when no change of one or two cells repairs every rule.

    ``rules`` are every linear rule over the tables ``present`` and ``outcomes`` their evaluation on
    ``staged.values`` (an ``Outcome``, or the exception evaluating it raised), as checking built and
    evaluated them (:func:`pipeline.validate.check_rules`). ``opd`` (a registry entry) and
    ``reference`` (``{Ref: value}``: the previous period, a staff list) are evidence for ranking.
    Never raises: a fault here is a ``RULE_NOT_EVALUABLE`` note."""
    try:
        return _localization_findings(list(findings), staged, present, tables, tuple(rules), list(outcomes), opd,
                                      reference or {})
    except Exception as err:  # a bug in the helper must not cost the OPD its other findings
        return list(findings) + [Finding("RULE_NOT_EVALUABLE", f"{RULE} ({type(err).__name__}: {err})",
                                         params={"count": 1})]


MAX_BROKEN = 40  # broken rules beyond which a submission is not localised (LOCALIZE_TOO_MANY)
MAX_WEIGHT = 2  # a submission that needs more than two changed cells (with every value readable) is not
#                 localised (LOCALIZE_UNRESOLVED): such "explanations" are guesses, and finding them is slow


def _localization_findings(findings: list, staged, present: set[str], tables, every: tuple, outcomes: list,
                           opd, reference: dict) -> list:
    shape = _shape(every, tables)
    rules, checked = shape.errors, [outcomes[k] for k in shape.positions]
    for outcome in checked:
        if isinstance(outcome, Exception):  # checking recorded it; localising without that rule would mislead
            raise outcome
    locale = _locale_values(findings, staged, rules, tables)
    values = {**staged.values, **{r: v for r, (_, v, _, _) in locale.items()}}
    # the outcomes of checking, unless a count that could not be read was read from its rules
    holds = [evaluate(r, values).holds for r in rules] if locale else [o.holds for o in checked]
    broken = [r for r, held in zip(rules, holds) if held is False]
    ranked: list[Candidate] = []
    capped = False
    if len(broken) > MAX_BROKEN:
        return findings + [Finding("LOCALIZE_TOO_MANY", RULE, params={"count": len(broken), "limit": MAX_BROKEN})]
    if broken:
        system = rekap_system(values, rules, holds, tables)
        loc = locate(system, max_weight=MAX_WEIGHT)
        if loc.timed_out or loc.unresolved:
            return findings + [Finding("LOCALIZE_UNRESOLVED", RULE, params={"count": len(broken)})]
        capped = loc.capped
        if loc.solutions:
            best = loc.solutions[0].weight
            known = {s.changed for s in loc.solutions}
            loc.solutions += [s for s in swap_solutions(system, rules, holds, values, present, tables)
                              if abs(s.weight - best) <= 1e-6 and s.changed not in known]
        ranked = candidates(loc, system, values, present, tables, every, opd, reference)
    elif any(f.code in ("PCT_SHARE", "PCT_TOTAL") for f in findings):
        # the sums hold but the shares do not: two counts swapped within a column keep every sum
        system = rekap_system(values, rules, holds, tables)
        swaps = swap_solutions(system, rules, holds, values, present, tables, percent_only=True)
        ranked = candidates(Localization(swaps), system, values, present, tables, every, opd, reference)
    decision = decide(ranked, capped)
    new = _locale_findings(locale, staged, tables)
    corrected, targets = values, set()
    if decision.certainty in ("certain", "probable"):
        top = decision.chosen[0]
        corrected = {**values, **top.suggested}
        targets = set(top.cells)
        for r in top.cells:
            new.append(_suspect(r, top, decision, broken, staged, tables, values))
    elif decision.certainty == "one_of":
        for i, cand in enumerate(decision.chosen, start=1):
            targets |= set(cand.cells)
            for r in cand.cells:
                new.append(Finding(
                    "CELL_CANDIDATE", RULE, r.table, tables[r.table].key_dict(r.key),
                    *staged.sources.get(r, (None, None)), expected=None, actual=_plain(cand.original[r]),
                    params={"option": i, "options": decision.total, "capped": decision.capped,
                            "if_this": _plain(cand.suggested[r]),
                            "repairs": sorted({b.rule for b in broken if r in b.refs})}))
    new += _percent_suggestions(findings, staged, corrected, present, tables)
    if targets:
        findings = [_mark_affected(f, broken, targets, decision, staged, tables) for f in findings]
    return findings + new


def _suspect(r, top: Candidate, decision: Decision, broken: list, staged, tables, values):
    kind, other = top.kinds[r]
    certainty = decision.certainty if decision.certainty == "probable" or top.forced.get(r) else "probable"
    params = {"certainty": certainty, "kind": kind, "alternatives": max(0, decision.total - 1),
              "repairs": sorted({b.rule for b in broken if r in b.refs})}
    if other is not None:
        params["other"] = _place(other, staged, tables)
    return Finding("CELL_SUSPECT", RULE, r.table, tables[r.table].key_dict(r.key),
                   *staged.sources.get(r, (None, None)), expected=_plain(top.suggested[r]),
                   actual=_plain(top.original[r]), params=params)


def _mark_affected(finding, broken: list, targets: set, decision: Decision, staged, tables):
    """A broken rule's finding whose anchor is not a cell to change: shown as *affected* (it will hold
    once the cells to change are corrected), with the cells that repair it."""
    rule = next((b for b in broken if b.rule == finding.rule and finding.severity == "error"
                 and (b.anchor is None or b.anchor_cell == finding.cell)), None)
    if rule is None or (rule.anchor is not None and rule.anchor in targets):
        return finding
    by = [r for r in rule.refs if r in targets]
    if not by:
        return finding
    params = {**finding.params, "affected": True, "by": [_place(r, staged, tables) for r in sorted(
        by, key=lambda r: _order(r, tables))]}
    return Finding(finding.code, finding.rule, finding.table, finding.cell, finding.sheet, finding.address,
                   finding.expected, finding.actual, params, finding.severity)


def swap_solutions(system: System, rules: list, holds: list, values: dict, present, tables,
                   percent_only: bool = False) -> list[Solution]:
    """Two neighbouring count cells (grid neighbours or the L/P twin) swapped back, where that makes
    every linear error rule hold (``holds``: whether each of ``rules`` holds on ``values``;
    ``percent_only``: where the sums hold and some share fails, the
    swaps of the counts those shares are made of that leave no printed share wrong). Added to the tied minimal sets, so that a
    recognisable swap is never lost to the cap on enumeration."""
    index = {r: i for i, r in enumerate(system.names)}
    member = _shape(rules, tables).member
    if percent_only:
        cells = []
        for t in sorted(present):
            spec = tables[t]
            for f in percent_findings(spec, values)[0]:
                if f.code == "PCT_SHARE":
                    part, _ = share_terms(spec, spec.key(f.cell))
                    cells += [Ref(t, k) for k in part]
    failing = [rule for rule, held in zip(rules, holds) if held is False]
    if not percent_only:
        cells = [r for rule in failing for r in rule.refs]
    out, seen = [], set()
    for a in dict.fromkeys(cells):
        spec = tables[a.table]
        for k in neighbours(spec, a.key):
            b = Ref(a.table, k)
            pair = tuple(sorted((index.get(a, -1), index.get(b, -1))))
            if spec.is_percent(k) or b not in index or a not in index or pair in seen:
                continue
            seen.add(pair)
            va, vb = values.get(a), values.get(b)
            if va is None or vb is None or math.isnan(va) or math.isnan(vb) or va == vb:
                continue
            # only the rules through a or b can change: every failing one must be among them
            touched = {id(rule): rule for rule in member.get(a, []) + member.get(b, [])}
            if any(id(rule) not in touched for rule in failing):
                continue
            trial = dict(values)
            trial[a], trial[b] = vb, va
            if any(evaluate(rule, trial).holds is False for rule in touched.values()):
                continue
            if percent_only and _percent_left(trial, present, tables):
                continue  # a swap that leaves a printed share wrong explains nothing
            weight = system.weights[index[a]] + system.weights[index[b]]
            out.append(Solution(pair, {index[a]: vb, index[b]: va}, forced(system, pair), weight))
    return out


UNREADABLE = frozenset({"VALUE_NOT_WHOLE", "VALUE_NOT_NUMBER"})


def _locale_values(findings, staged, rules: list, tables) -> dict:
    """The value of each count that could not be read as a whole number, where the rules tell it:
    ``{Ref: (typed, value, kind, agreeing rules)}``. An equality rule in which that cell is the only
    unknown implies its value; rules that disagree, or a value that is not a whole count, leave it
    unknown. A decimal (``1.009``, ``2.37``, ``12.5``: up to three decimals) whose value times 1000 is
    the implied one is the slip of an English-locale Excel (``locale_decimal``). ``rules``: the error
    rules of the submission."""
    rules = [r for r in rules if r.op == "=="]
    values = staged.values
    found: dict = {}
    for f in findings:
        if f.code not in UNREADABLE or f.table not in tables or not f.cell:
            continue
        try:
            ref = Ref(f.table, tables[f.table].key(f.cell))
        except (KeyError, TypeError):
            continue
        implied = set()
        for r in rules:
            if ref not in r.refs:
                continue
            others = [x for x in r.refs if x != ref]
            if any(values.get(x) is None or math.isnan(values[x]) for x in others):
                continue
            coef = r.lhs.count(ref) - r.rhs.count(ref)
            if coef:
                rest = sum(values[x] for x in r.lhs if x != ref) - sum(values[x] for x in r.rhs if x != ref)
                implied.add(round(-rest / coef, 6))
        if len(implied) != 1:
            continue
        (value,) = implied
        if value < 0 or value != round(value):
            continue
        typed = f.actual
        decimal = isinstance(typed, (int, float)) and not isinstance(typed, bool) and typed > 0
        kind = "locale_decimal" if decimal and abs(typed * 1000 - value) < 1e-6 else None
        agreeing = sum(1 for r in rules if ref in r.refs)
        found[ref] = (typed, float(value), kind, agreeing)
    return found


def _locale_findings(locale: dict, staged, tables) -> list:
    """A ``CELL_SUSPECT`` for each unreadable count whose value the rules tell (:func:`_locale_values`):
    certain when two or more rules agree on it, probable when one does."""
    return [Finding("CELL_SUSPECT", RULE, r.table, tables[r.table].key_dict(r.key),
                    *staged.sources.get(r, (None, None)), expected=_plain(value), actual=typed,
                    params={"certainty": "certain" if agreeing >= 2 else "probable", "kind": kind,
                            "alternatives": 0, "repairs": []})
            for r, (typed, value, kind, agreeing) in locale.items()]


def _percent_suggestions(findings, staged, corrected: dict, present, tables) -> list:
    """For each % cell whose PCT_SHARE fails: the share the (corrected) counts give, and the slip."""
    out = []
    failing = {(f.table, tuple(sorted(f.cell.items()))) for f in findings if f.code == "PCT_SHARE" and f.cell}
    for (table, items) in sorted(failing):
        spec = tables[table]
        key = spec.key(dict(items))
        ref = Ref(table, key)
        printed = staged.values.get(ref)
        part, whole = share_terms(spec, key)
        counts = [corrected.get(Ref(table, k)) for k in part + whole]
        if printed is None or math.isnan(printed) or any(c is None or math.isnan(c) for c in counts):
            continue
        exact = share(sum(corrected[Ref(table, k)] for k in part), sum(corrected[Ref(table, k)] for k in whole)) or 0.0
        if abs(printed - exact) <= tolerance(spec):
            continue  # the corrected counts explain this % (the located counts were the slip)
        value = round(exact, decimals(spec))
        sheet, address = staged.sources.get(ref, (None, None))
        out.append(Finding(
            "CELL_SUSPECT", PERCENT_RULE, table, spec.key_dict(key), sheet, address, expected=value, actual=printed,
            params={"certainty": "probable", "kind": percent_kind(printed, exact, decimals(spec)), "alternatives": 0,
                    "repairs": [f"{table}:percent_share"]}))
    return out
