"""Error localisation: which cells to change, and to what, so that every rule holds again.

A failing sum says that something is wrong, not what. For a submission with failing linear rules
this module finds the *smallest* set of cells whose change makes all of its linear rules hold at
once (the Fellegi-Holt principle, as in R ``errorlocate``), says what each located cell would have to
be, and explains the change the way a person would recognise it (two digits swapped, a digit
dropped, the value of the next row, ...; see :mod:`pipeline.suggest`).

Generic part (no rekap in it; the reference examples of errorlocate and deductive run through it)
------------------------------------------------------------------------------------------------
A :class:`System` is a list of variables, each with its observed value (NaN: unknown), bounds,
integrality and a weight, and rows ``a . x (== | <= | >=) b``. :func:`locate` solves

    minimise    sum_i w_i z_i
    subject to  every row holds for x
                x_i - v_i <= M_up z_i,  v_i - x_i <= M_down z_i  (x_i may leave v_i only if z_i = 1)
                lower_i <= x_i <= upper_i,  x_i integer where asked,  z_i binary

with ``scipy.optimize.milp`` (HiGHS). ``M`` comes from the data scale: an increase is bounded by the
sum of all absolute observed values plus 10 (no count of a submission can exceed the sum of all
its cells; retried ten times larger if the program is then infeasible), a decrease by the distance
to the lower bound where there is one (counts: by the value itself). A weight of ``inf`` fixes a
variable; an unknown value (NaN) is a free variable that costs nothing. All minimal-weight sets are
enumerated: after each solution a no-good cut ``sum_{i in S} z_i <= |S| - 1`` is added and the
program solved again until the optimum rises or ``limit`` solutions are found (``capped`` says so).
Before the solver, sets of one and two cells are found exactly and fast when no value is unknown
(:func:`_single_changes`, :func:`_pair_changes`: every minimal set then lies among the cells of the
violated rows and their row-neighbours). The solver's work is bounded by a node limit per solve
(deterministic) and a time limit as a safety net. For each located set, the values are checked for
uniqueness: they are *forced* when the equality rows restricted to the located variables have full
column rank, otherwise their range is computed by linear programming (a value that is not forced is
one consistent choice, never presented as the answer).

Rekap adapter
-------------
:func:`rekap_system` builds the system of one submission from all its linear rules of severity
*error*: every sum rule of every table present (inner cells, row totals, column *Jumlah*, *JML*
subtotals, grand totals, both ways) and every cross-table ``==`` and ``<=`` rule whose tables are all
present. Plausibility rules of severity *warning* (PP 13/2002 ranks, CPNS entry ranks, PENGAWAS in
Pertama) do **not** constrain: a real OPD may legitimately violate them, and a localiser that
"repairs" legitimate data would mislead. Percent cells are not in the linear system (a share is not
linear in the counts); they are used to rank tied solutions (below) and get their own suggestion
(:func:`percent_suggestions`). Variables are count cells: integers >= 0.

Weights (documented here, used by :func:`rekap_system`):

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

Evidence ranks the tied minimal sets, never the book order (:data:`EVIDENCE`, likelihood factors):
printed percentages left inconsistent, plausibility rules failing after the change (the warning-level
rules and the OPD's type from the registry: no post above its leader's echelon, one post at it), a
recognised slip, the reference value of a cell (the OPD's previous published period, a staff list),
and a prior that a hand-typed total slips more often than one count (which only orders a tie: see
:data:`EVIDENCE`). The evidence gives each set a probability among the tied ones (:func:`posterior`); :func:`decide` names the best set alone
(*probable*) only when it is more likely than all others together, else reports the tie
(``CELL_CANDIDATE``: one of N, no value asserted). A single minimal set with forced values is
*certain*. How the clerk reads this: :mod:`pipeline.corrections`.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

TOL = 1e-6
LIMIT = 12  # minimal sets enumerated at most by the solver
NODE_LIMIT = 2000  # branch-and-bound nodes per solve: a deterministic bound on the solver's work
QUICK_LIMIT = 200  # minimal sets of one or two cells listed at most without the solver (all are ranked)
SHOWN = 10  # listed in a finding at most


# -- the generic linear system ----------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    """``sum(coef * x[var]) op rhs`` with ``op`` one of ``==``, ``<=``, ``>=``."""

    coefs: tuple[tuple[int, float], ...]
    op: str
    rhs: float = 0.0
    name: str = ""


@dataclass
class System:
    names: list  # one hashable id per variable
    values: list[float]  # observed values; NaN = unknown (a free variable)
    rows: list[Row]
    lower: list[float] = field(default_factory=list)  # default -inf
    upper: list[float] = field(default_factory=list)  # default +inf
    integer: list[bool] = field(default_factory=list)  # default False
    weights: list[float] = field(default_factory=list)  # default 1; inf fixes the variable

    def __post_init__(self):
        n = len(self.names)
        self.lower = list(self.lower) or [-math.inf] * n
        self.upper = list(self.upper) or [math.inf] * n
        self.integer = list(self.integer) or [False] * n
        self.weights = list(self.weights) or [1.0] * n
        if not (len(self.values) == len(self.lower) == len(self.upper) == len(self.integer)
                == len(self.weights) == n):
            raise ValueError("System: one value, bound, integrality and weight per variable")

    @classmethod
    def from_dicts(cls, values: dict, rows: list[tuple[dict, str, float]], **per_var) -> System:
        """Variables by name: ``values={"x": 6}``, ``rows=[({"x": 1, "y": 1, "z": -1}, "==", 0)]``;
        ``per_var`` maps ``lower``/``upper``/``integer``/``weights`` to ``{name: value}`` dicts."""
        names = list(values)
        index = {n: i for i, n in enumerate(names)}
        defaults = {"lower": -math.inf, "upper": math.inf, "integer": False, "weights": 1.0}
        kw = {k: [per_var.get(k, {}).get(n, d) for n in names] for k, d in defaults.items()}
        built = [Row(tuple((index[v], float(a)) for v, a in coefs.items()), op, float(rhs))
                 for coefs, op, rhs in rows]
        return cls(names, [float(values[n]) for n in names], built, **kw)

    def linked(self, i: int) -> bool:
        """Whether variable ``i`` is tied to its observed value (costs ``weights[i]`` to change)."""
        return not math.isnan(self.values[i]) and math.isfinite(self.weights[i]) and self.weights[i] > 0

    def violated(self, x=None) -> list[int]:
        x = self.values if x is None else x
        out = []
        for r, row in enumerate(self.rows):
            terms = [a * x[i] for i, a in row.coefs]
            if any(math.isnan(t) for t in terms):
                continue
            lhs = sum(terms)
            ok = (abs(lhs - row.rhs) <= TOL if row.op == "==" else
                  lhs <= row.rhs + TOL if row.op == "<=" else lhs >= row.rhs - TOL)
            if not ok:
                out.append(r)
        return out


@dataclass(frozen=True)
class Solution:
    changed: tuple[int, ...]  # indices of the located variables, ascending
    values: dict[int, float]  # a consistent value for each located variable
    forced: dict[int, bool]  # whether that value is the only one possible with this set
    weight: float


@dataclass
class Localization:
    solutions: list[Solution]  # every minimal-weight set found (solver order)
    capped: bool = False  # more minimal sets may exist than were enumerated
    feasible: bool = True  # False: no change of the non-fixed variables satisfies the rows
    seconds: float = 0.0
    timed_out: bool = False  # a work limit stopped the solver before the first minimal set was proven
    unresolved: bool = False  # no set within ``max_weight`` exists (the solver was not asked for more)


def _matrix(system: System):
    from scipy.sparse import csr_matrix

    n = len(system.names)
    data, rows, cols, lo, hi = [], [], [], [], []
    for r, row in enumerate(system.rows):
        for i, a in row.coefs:
            rows.append(r)
            cols.append(i)
            data.append(a)
        lo.append(row.rhs if row.op in ("==", ">=") else -np.inf)
        hi.append(row.rhs if row.op in ("==", "<=") else np.inf)
    a = csr_matrix((data, (rows, cols)), shape=(len(system.rows), n))
    return a, np.array(lo, dtype=float), np.array(hi, dtype=float)


def locate(system: System, limit: int = LIMIT, time_limit: float = 10.0, node_limit: int = NODE_LIMIT,
           max_weight: float | None = None) -> Localization:
    """Every minimal-weight set of variables whose change satisfies all rows (up to ``limit``).

    Sets of one or two cells are found without the solver when the system has no unknown value
    (exactly: see :func:`_single_changes`, :func:`_pair_changes`). ``max_weight=2`` stops there: a
    system that needs more is returned ``unresolved`` without calling the solver. The solver's work is
    bounded by ``node_limit`` per solve (deterministic) and ``time_limit`` for the whole enumeration
    (a safety net): when a limit stops it after the first set, the sets found are returned with
    ``capped``; before it, ``timed_out`` (nothing is claimed)."""
    start = time.perf_counter()
    deadline = start + time_limit
    if not system.violated():
        return Localization([], seconds=time.perf_counter() - start)
    v = np.array(system.values, dtype=float)
    if not np.isnan(v).any():
        quick = _single_changes(system, v, QUICK_LIMIT) or _pair_changes(system, v, QUICK_LIMIT)
        if quick is None and max_weight is not None and max_weight <= 2:
            quick = Localization([], unresolved=True)
        if quick is not None:
            quick.seconds = time.perf_counter() - start
            return quick
    finite = np.abs(v[~np.isnan(v)])
    big = float(finite.sum()) + 10.0
    for m in (big, 10 * big):  # the larger bound only if the data scale was too small a bound
        # First with x continuous (only z binary): sum rules with whole data nearly always give
        # whole values, and this is many times faster. If any located value of an integer variable
        # is fractional, the enumeration is repeated with x integer, so the result is exact.
        result = _enumerate(system, v, m, limit, deadline, node_limit, relax=True)
        if any(system.integer[i] and abs(x - round(x)) > TOL for s in result.solutions for i, x in s.values.items()):
            result = _enumerate(system, v, m, limit, deadline, node_limit, relax=False)
        if result.feasible or result.timed_out:
            break
    result.seconds = time.perf_counter() - start
    return result


def _single_changes(system: System, v: np.ndarray, limit: int) -> Localization | None:
    """The exact answer without a solver when one cell of weight 1 can repair every violated row:
    then no set weighs less (a violated row has no free variable, so any repair changes a cell of
    weight >= 1), every minimal set is one such cell, and trying each cell of every violated row is
    the whole enumeration. None when no such cell exists (the solver is needed)."""
    violated = system.violated()
    members = [{i for i, a in system.rows[r].coefs if a} for r in violated]
    common = set.intersection(*members) if members else set()
    found = []
    for i in sorted(common):
        if not system.linked(i) or system.weights[i] != 1.0:
            continue
        row = system.rows[violated[0]]
        a = dict(row.coefs)[i]
        lhs = sum(c * v[j] for j, c in row.coefs)
        x = list(v)
        x[i] = v[i] + (row.rhs - lhs) / a
        if system.integer[i] and abs(x[i] - round(x[i])) > TOL:
            continue
        if system.integer[i]:
            x[i] = float(round(x[i]))
        if not system.lower[i] - TOL <= x[i] <= system.upper[i] + TOL or system.violated(x):
            continue
        found.append(Solution((i,), {i: x[i]}, _forced(system, (i,), v, {i: x[i]}), 1.0))
    if not found:
        return None
    return Localization(found[:limit], capped=len(found) > limit)


def _pair_changes(system: System, v: np.ndarray, limit: int) -> Localization | None:
    """The exact answer without a solver when no single cell of weight 1 repairs every violated row
    (so no set weighs less than 2) and some set of weight 2 does: every minimal set is then one cell of
    weight 2 or two cells of weight 1 that, together, touch every violated row. Each such pair is
    solved from the equality rows through it; None (the solver is needed) when none exists, or when a
    pair's values are not determined by its rows."""
    violated = system.violated()
    if not violated:
        return None
    members = [{i for i, a in system.rows[r].coefs if a} for r in violated]
    through: dict[int, list[int]] = {}
    for r, row in enumerate(system.rows):
        for i, a in row.coefs:
            if a:
                through.setdefault(i, []).append(r)
    found: list[Solution] = []
    heavy = set.intersection(*members)  # single cells of weight 2
    for i in sorted(heavy):
        if system.linked(i) and system.weights[i] == 2.0:
            x = _solve(system, v, (i,), through)
            if x is not None:
                found.append(Solution((i,), {i: x[i]}, _forced(system, (i,), v, {i: x[i]}), 2.0))
    light = {i for i in range(len(v)) if system.linked(i) and system.weights[i] == 1.0}
    cells = sorted({i for m in members for i in m} & light)
    covers = {i: {k for k, m in enumerate(members) if i in m} for i in range(len(v))}
    everything = set(range(len(members)))
    pairs = set()
    for i in cells:  # the other cell is in a violated row too, or repairs a row that i's change breaks
        near = {j for r in through.get(i, []) for j, a in system.rows[r].coefs if a} | set(cells)
        pairs |= {tuple(sorted((i, j))) for j in near & light if j != i}
    for i, j in sorted(pairs):
        if covers[i] | covers[j] != everything:
            continue
        if True:
            x = _solve(system, v, (i, j), through)
            if x is False:
                return None  # not determined by its rows: let the solver find values
            if x is not None:
                found.append(Solution((i, j), {i: x[i], j: x[j]}, _forced(system, (i, j), v, {i: x[i], j: x[j]}), 2.0))
    if not found:
        return None
    return Localization(found[:limit], capped=len(found) > limit)


def _solve(system: System, v: np.ndarray, cells: tuple[int, ...], through: dict):
    """Values for ``cells`` (the others as observed) from the equality rows through them: the values
    when they exist, are whole where asked, within bounds and make every row hold; None when there are
    none; False when the rows leave them undetermined."""
    rows = sorted({r for i in cells for r in through.get(i, [])})
    eq = [system.rows[r] for r in rows if system.rows[r].op == "=="]
    pos = {i: k for k, i in enumerate(cells)}
    a = np.zeros((len(eq), len(cells)))
    b = np.zeros(len(eq))
    for k, row in enumerate(eq):
        rest = row.rhs
        for i, c in row.coefs:
            if i in pos:
                a[k, pos[i]] += c
            else:
                rest -= c * v[i]
        b[k] = rest
    if not len(eq) or np.linalg.matrix_rank(a) < len(cells):
        return False
    sol, *_ = np.linalg.lstsq(a, b, rcond=None)
    x = v.copy()
    for i, k in pos.items():
        value = float(sol[k])
        if system.integer[i]:
            if abs(value - round(value)) > 1e-6:
                return None
            value = float(round(value))
        if not system.lower[i] - TOL <= value <= system.upper[i] + TOL or abs(value - v[i]) <= TOL:
            return None
        x[i] = value
    return None if system.violated(list(x)) else x


def _enumerate(system: System, v: np.ndarray, m: float, limit: int, deadline: float, node_limit: int,
               relax: bool = False) -> Localization:
    from scipy.optimize import Bounds, LinearConstraint, milp  # imported here: only a failing submission needs it
    from scipy.sparse import csr_matrix, hstack

    n = len(system.names)
    a, lo, hi = _matrix(system)
    linked = np.array([system.linked(i) for i in range(n)])
    fixed = np.array([not math.isnan(system.values[i]) and math.isinf(system.weights[i]) for i in range(n)])
    w = np.where(linked, np.array(system.weights, dtype=float), 0.0)
    c = np.concatenate([np.zeros(n), w])
    xl = np.where(fixed, v, np.array(system.lower, dtype=float))
    xu = np.where(fixed, v, np.array(system.upper, dtype=float))
    bounds = Bounds(np.concatenate([xl, np.zeros(n)]), np.concatenate([xu, np.where(linked, 1.0, 0.0)]))
    integrality = np.concatenate([np.zeros(n, dtype=int) if relax else np.array(system.integer, dtype=int),
                                  np.ones(n, dtype=int)])
    # link rows: x_i - v_i <= M_up z_i and v_i - x_i <= M_down z_i, for linked variables only.
    # M_up is the data scale; M_down is v_i - lower_i when the variable is bounded below (a count
    # cannot fall below 0), the tightest bound and the one that keeps the relaxation strong.
    idx = np.flatnonzero(linked)
    k = len(idx)
    lower = np.array(system.lower, dtype=float)[idx]
    m_down = np.where(np.isfinite(lower), np.maximum(v[idx] - lower, 0.0), m)
    m_up = np.full(k, m)
    rows = np.arange(k)
    eye = csr_matrix((np.ones(k), (rows, idx)), shape=(k, n))
    link_lo = hstack([eye, csr_matrix((-m_up, (rows, idx)), shape=(k, n))])
    link_hi = hstack([eye, csr_matrix((m_down, (rows, idx)), shape=(k, n))])
    rules = hstack([a, csr_matrix((a.shape[0], n))])
    base = [LinearConstraint(rules, lo, hi),
            LinearConstraint(link_lo, -np.inf, v[idx]),
            LinearConstraint(link_hi, v[idx], np.inf)]
    cover = _cover_rows(system, linked, n)
    if cover is not None:
        base.append(cover)
    cuts: list[np.ndarray] = []
    solutions: list[Solution] = []
    best = None
    capped = False
    while True:
        constraints = list(base)
        if cuts:  # no-good cuts: sum of z over a set found before <= its size - 1
            constraints.append(LinearConstraint(csr_matrix(np.vstack(cuts)), -np.inf,
                                                np.array([cut.sum() - 1.0 for cut in cuts])))
        left = deadline - time.perf_counter()
        if left <= 0:
            if best is None:
                return Localization([], timed_out=True)
            capped = True
            break
        with _quiet():
            res = milp(c, constraints=constraints, integrality=integrality, bounds=bounds,
                       options={"time_limit": left, "node_limit": node_limit, "disp": False})
        if res.status == 1:  # the time limit: what it found is not proven minimal
            if best is None:
                return Localization([], timed_out=True)
            capped = True
            break
        if res.x is None:
            if best is None:
                return Localization([], feasible=False)
            break
        x = res.x[:n]
        changed = tuple(int(i) for i in idx if abs(x[i] - v[i]) > TOL * max(1.0, abs(v[i])))
        weight = float(sum(w[i] for i in changed))
        if best is None:
            best = weight
        elif weight > best + 1e-6:
            break
        if not changed:  # consistent already (only free variables had to move)
            break
        values = {i: (float(round(x[i])) if system.integer[i] and abs(x[i] - round(x[i])) <= TOL else float(x[i]))
                  for i in changed}
        solutions.append(Solution(changed, values, _forced(system, changed, v, values), weight))
        if len(solutions) >= limit:
            capped = True
            break
        cut = np.zeros(2 * n)
        cut[[n + i for i in changed]] = 1.0
        cuts.append(cut)
    return Localization(solutions, capped=capped)


@contextlib.contextmanager
def _quiet():
    """Silence the solver's own prints (HiGHS may write debug lines to file descriptor 1 even with
    ``disp`` off), so that ``rekap validate --format json`` stays valid JSON."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no real stdout (embedded use): nothing to protect
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _cover_rows(system: System, linked: np.ndarray, n: int):
    """Valid inequalities that tighten the relaxation (they cut off no integer solution):
    a violated row needs a change in one of its variables (``sum z >= 1``); a satisfied equality
    whose variables are all linked cannot absorb a single change (``z_i <= sum_{j != i} z_j``)."""
    from scipy.optimize import LinearConstraint
    from scipy.sparse import csr_matrix

    violated = set(system.violated())
    data, rows, cols, lo = [], [], [], []
    r = 0
    for k, row in enumerate(system.rows):
        members = [i for i, a in row.coefs if a]
        if any(not linked[i] for i in members):
            continue  # a free variable can absorb anything
        if k in violated:
            for i in members:
                rows.append(r); cols.append(n + i); data.append(1.0)
            lo.append(1.0)
            r += 1
        elif row.op == "==" and len(members) > 1:
            for i in members:
                for j in members:
                    rows.append(r); cols.append(n + j); data.append(-1.0 if j == i else 1.0)
                lo.append(0.0)
                r += 1
    if not r:
        return None
    return LinearConstraint(csr_matrix((data, (rows, cols)), shape=(r, 2 * n)), np.array(lo), np.inf)


def _forced(system: System, changed: tuple[int, ...], v: np.ndarray, values: dict[int, float]) -> dict[int, bool]:
    """Whether each located value is the only one possible with the other variables as observed."""
    free = set(changed) | {i for i in range(len(v)) if math.isnan(v[i])}
    eq = [row for row in system.rows if row.op == "==" and any(i in free for i, _ in row.coefs)]
    cols = sorted(free)
    pos = {i: j for j, i in enumerate(cols)}
    if eq:
        mat = np.zeros((len(eq), len(cols)))
        for r, row in enumerate(eq):
            for i, a in row.coefs:
                if i in pos:
                    mat[r, pos[i]] += a
        if np.linalg.matrix_rank(mat) == len(cols):
            return {i: True for i in changed}
    # some freedom is left: the range of each located variable, by linear programming
    out = {}
    for i in changed:
        lo, hi = _range(system, free, v, i)
        if system.integer[i] and lo is not None and hi is not None:
            lo, hi = math.ceil(lo - TOL), math.floor(hi + TOL)
        out[i] = lo is not None and hi is not None and hi - lo <= TOL
    return out


def _range(system: System, free: set[int], v: np.ndarray, target: int):
    from scipy.optimize import linprog

    n = len(v)
    a, lo, hi = _matrix(system)
    lb = np.array([system.lower[i] if i in free else v[i] for i in range(n)], dtype=float)
    ub = np.array([system.upper[i] if i in free else v[i] for i in range(n)], dtype=float)
    a_ub, b_ub, a_eq, b_eq = [], [], [], []
    dense = a.toarray()
    for r, row in enumerate(system.rows):
        if row.op == "==":
            a_eq.append(dense[r])
            b_eq.append(row.rhs)
        elif row.op == "<=":
            a_ub.append(dense[r])
            b_ub.append(row.rhs)
        else:
            a_ub.append(-dense[r])
            b_ub.append(-row.rhs)
    bounds = list(zip([None if math.isinf(x) else x for x in lb], [None if math.isinf(x) else x for x in ub]))
    out = []
    for sign in (1.0, -1.0):
        c = np.zeros(n)
        c[target] = sign
        res = linprog(c, A_ub=np.array(a_ub) if a_ub else None, b_ub=b_ub or None,
                      A_eq=np.array(a_eq) if a_eq else None, b_eq=b_eq or None, bounds=bounds, method="highs")
        out.append(sign * res.fun if res.status == 0 else None)
    return out[0], out[1]


# -- rekap: a submission's linear rules as a System ----------------------------------------------
RULE = "localize:fellegi_holt"
PERCENT_RULE = "localize:percent"
BEYOND_DOUBT = 2.0


def _severity(rule) -> str:
    from pipeline.rules.linear import severity

    return severity(rule)


def error_rules(present: set[str], tables) -> list:
    """Every linear rule of severity error over the tables present: sums of each table, then cross rules."""
    from pipeline.rules.cross import cross_rules
    from pipeline.rules.sums import sum_rules

    ordered = sorted(present, key=lambda t: tables[t].number)
    rules = [r for t in ordered for r in sum_rules(tables[t])]
    rules += [r for r in cross_rules() if {x.table for x in r.refs} <= set(present)]
    return [r for r in rules if _severity(r) == "error"]


def rekap_system(values: dict, rules: list, tables) -> System:
    """The linear system of one submission: one integer variable >= 0 per count cell in ``rules``,
    weighted as the module docstring says; variable names are the cells' ``Ref``."""
    from pipeline.rules.linear import evaluate

    refs = sorted({r for rule in rules for r in rule.refs}, key=lambda r: _order(r, tables))
    index = {r: i for i, r in enumerate(refs)}
    holding: dict = {}
    for rule in rules:
        if rule.code == "SUM_MISMATCH" and rule.anchor is not None and evaluate(rule, values).holds:
            holding[rule.anchor] = holding.get(rule.anchor, 0) + 1
    rows = []
    for rule in rules:
        coefs: dict[int, float] = {}
        for r in rule.lhs:
            coefs[index[r]] = coefs.get(index[r], 0.0) + 1.0
        for r in rule.rhs:
            coefs[index[r]] = coefs.get(index[r], 0.0) - 1.0
        rows.append(Row(tuple((i, a) for i, a in coefs.items() if a), rule.op, rule.const, rule.rule))
    vals = [float(values.get(r, math.nan)) if values.get(r) is not None else math.nan for r in refs]
    weights = [BEYOND_DOUBT if holding.get(r, 0) >= 2 else 1.0 for r in refs]
    n = len(refs)
    return System(refs, vals, rows, [0.0] * n, [math.inf] * n, [True] * n, weights)


def _order(ref, tables) -> tuple:
    spec = tables[ref.table]
    return (spec.number, _cell_index(spec).get(ref.key, len(spec.cells)), ref.key)


_INDEX: dict = {}


def _cell_index(spec) -> dict:
    if spec.id not in _INDEX:
        _INDEX[spec.id] = {k: i for i, k in enumerate(spec.cells)}
    return _INDEX[spec.id]


_NEIGHBOURS: dict = {}


def neighbours(spec, key) -> list:
    """The cells printed next to ``key`` (row above and below, column left and right) and its L/P twin."""
    if spec.id not in _NEIGHBOURS:
        grid = {}
        for k, p in spec.placements().items():
            if spec.has_cell(k):
                for c in range(p.col_first, p.col_last + 1):
                    grid[(p.row, c)] = k
        _NEIGHBOURS[spec.id] = (grid, spec.placements())
    grid, places = _NEIGHBOURS[spec.id]
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
    from pipeline.rules.linear import Ref
    from pipeline.suggest import count_kind

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
    from pipeline.rules.percent import percent_findings

    return sum(len(percent_findings(tables[t], values)[0]) for t in present if tables[t].percent)


def plausibility_rules(present, tables) -> list:
    """The warning-level linear rules over the tables present (rank, CPNS entry, PENGAWAS in Pertama)."""
    from pipeline.rules.cross import cross_rules

    return [r for r in cross_rules() if {x.table for x in r.refs} <= set(present) and _severity(r) == "warning"]


def implausible(values: dict, soft: list, opd, tables) -> int:
    """How many plausibility rules fail on ``values``: the warning-level rules, and the OPD's type from
    the registry: no post above the echelon of its leader, at most one post at that echelon."""
    from pipeline.rules.linear import Ref, evaluate

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


def candidates(loc: Localization, system: System, values: dict, present, tables, opd=None,
               reference: dict | None = None) -> list[Candidate]:
    """The minimal sets of a localisation, ranked by their evidence, best first (ties: book order)."""
    from pipeline.rules.sums import sum_rules

    soft = plausibility_rules(present, tables)
    totals = {r.anchor for t in present for r in sum_rules(tables[t])}  # cells printed as a sum of others
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


def localization_findings(findings: list, staged, present: set[str], tables, opd=None,
                          reference: dict | None = None) -> list:
    """``findings`` with the localisation added (see :mod:`pipeline.corrections` for how they read):

    * ``CELL_SUSPECT`` on each cell of the one set to change (``params.certainty``: certain/probable);
    * ``CELL_CANDIDATE`` on each cell of tied sets (``params.option``: which set; no value asserted);
    * ``params.affected`` on the broken rules' findings whose anchor is not a cell to change;
    * ``LOCALIZE_TOO_MANY`` instead, when too many rules are broken to localise;
    * ``LOCALIZE_UNRESOLVED`` instead, when no change of one or two cells repairs every rule.

    ``opd`` (a registry entry) and ``reference`` (``{Ref: value}``: the previous period, a staff list)
    are evidence for ranking. Never raises: a fault here is a ``RULE_NOT_EVALUABLE`` note."""
    from pipeline.findings import Finding

    try:
        return _localization_findings(list(findings), staged, present, tables, opd, reference or {})
    except Exception as err:  # a bug in the helper must not cost the OPD its other findings
        return list(findings) + [Finding("RULE_NOT_EVALUABLE", f"{RULE} ({type(err).__name__}: {err})",
                                         params={"count": 1})]


MAX_BROKEN = 40  # broken rules beyond which a submission is not localised (LOCALIZE_TOO_MANY)
MAX_WEIGHT = 2  # a submission that needs more than two changed cells (with every value readable) is not
#                 localised (LOCALIZE_UNRESOLVED): such "explanations" are guesses, and finding them is slow
BUDGET = 5.0  # seconds for one submission's enumeration by the solver (a safety net; nodes bound it first)


def _localization_findings(findings: list, staged, present: set[str], tables, opd, reference: dict) -> list:
    from pipeline.findings import Finding
    from pipeline.rules.linear import evaluate

    locale = _locale_values(findings, staged, present, tables)
    values = {**staged.values, **{r: v for r, (_, v, _, _) in locale.items()}}
    rules = error_rules(present, tables)
    broken = [r for r in rules if evaluate(r, values).holds is False]
    ranked: list[Candidate] = []
    capped = False
    if len(broken) > MAX_BROKEN:
        return findings + [Finding("LOCALIZE_TOO_MANY", RULE, params={"count": len(broken), "limit": MAX_BROKEN})]
    if broken:
        system = rekap_system(values, rules, tables)
        loc = locate(system, time_limit=BUDGET, max_weight=MAX_WEIGHT)
        if loc.timed_out or loc.unresolved:
            return findings + [Finding("LOCALIZE_UNRESOLVED", RULE, params={"count": len(broken)})]
        capped = loc.capped
        if loc.solutions:
            best = loc.solutions[0].weight
            known = {s.changed for s in loc.solutions}
            loc.solutions += [s for s in swap_solutions(system, rules, values, present, tables)
                              if abs(s.weight - best) <= 1e-6 and s.changed not in known]
        ranked = candidates(loc, system, values, present, tables, opd, reference)
    elif any(f.code in ("PCT_SHARE", "PCT_TOTAL") for f in findings):
        # the sums hold but the shares do not: two counts swapped within a column keep every sum
        system = rekap_system(values, rules, tables)
        swaps = swap_solutions(system, rules, values, present, tables, percent_only=True)
        ranked = [c for c in candidates(Localization(swaps), system, values, present, tables, opd, reference)
                  if c.percent_left == 0]
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
    from pipeline.findings import Finding

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
    from pipeline.findings import Finding

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


def swap_solutions(system: System, rules: list, values: dict, present, tables,
                   percent_only: bool = False) -> list[Solution]:
    """Two neighbouring count cells (grid neighbours or the L/P twin) swapped back, where that makes
    every linear error rule hold (``percent_only``: where the sums hold and some share fails, the
    swaps of the counts those shares are made of). Added to the tied minimal sets, so that a
    recognisable swap is never lost to the cap on enumeration."""
    from pipeline.shares import share_terms
    from pipeline.rules.linear import Ref, evaluate
    from pipeline.rules.percent import percent_findings

    index = {r: i for i, r in enumerate(system.names)}
    member: dict = {}
    for rule in rules:
        for r in rule.refs:
            member.setdefault(r, []).append(rule)
    if percent_only:
        cells = []
        for t in sorted(present):
            spec = tables[t]
            for f in percent_findings(spec, values)[0]:
                if f.code == "PCT_SHARE":
                    part, _ = share_terms(spec, spec.key(f.cell))
                    cells += [Ref(t, k) for k in part]
    else:
        cells = [r for rule in rules if evaluate(rule, values).holds is False for r in rule.refs]
    failing = [rule for rule in rules if evaluate(rule, values).holds is False]
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
            weight = system.weights[index[a]] + system.weights[index[b]]
            sol = Solution(pair, {index[a]: vb, index[b]: va}, {}, weight)
            out.append(Solution(pair, sol.values, _forced(system, pair, np.array(system.values), sol.values), weight))
    return out


UNREADABLE = frozenset({"VALUE_NOT_WHOLE", "VALUE_NOT_NUMBER"})


def _locale_values(findings, staged, present, tables) -> dict:
    """The value of each count that could not be read as a whole number, where the rules tell it:
    ``{Ref: (typed, value, kind, agreeing rules)}``. An equality rule in which that cell is the only
    unknown implies its value; rules that disagree, or a value that is not a whole count, leave it
    unknown. A decimal (``1.009``, ``2.37``, ``12.5``: up to three decimals) whose value times 1000 is
    the implied one is the slip of an English-locale Excel (``locale_decimal``)."""
    from pipeline.rules.linear import Ref

    rules = [r for r in error_rules(present, tables) if r.op == "=="]
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
    from pipeline.findings import Finding

    return [Finding("CELL_SUSPECT", RULE, r.table, tables[r.table].key_dict(r.key),
                    *staged.sources.get(r, (None, None)), expected=_plain(value), actual=typed,
                    params={"certainty": "certain" if agreeing >= 2 else "probable", "kind": kind,
                            "alternatives": 0, "repairs": []})
            for r, (typed, value, kind, agreeing) in locale.items()]


def _percent_suggestions(findings, staged, corrected: dict, present, tables) -> list:
    """For each % cell whose PCT_SHARE fails: the share the (corrected) counts give, and the slip."""
    from pipeline.findings import Finding
    from pipeline.rules.linear import Ref
    from pipeline.shares import decimals, share, share_terms, tolerance
    from pipeline.suggest import percent_kind

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
