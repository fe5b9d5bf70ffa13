"""A generic error localiser: linear rules in, the minimal sets of variables to change out.

Owns the solver and nothing else: it knows no tables, cells, findings or languages, and imports no
module of this project (the adapter, :mod:`pipeline.localize`, turns a submission into a
:class:`System` and the :class:`Solution` objects back into findings). The reference examples of R
``errorlocate`` and ``deductive`` run through it unchanged (``tests/test_solver.py``).

A :class:`System` is a list of variables, each with its observed value (NaN: unknown), bounds,
integrality and a weight, and rows ``a . x (== | <= | >=) b``. :func:`locate` solves

    minimise    sum_i w_i z_i
    subject to  every row holds for x
                x_i - v_i <= M_up z_i,  v_i - x_i <= M_down z_i  (x_i may leave v_i only if z_i = 1)
                lower_i <= x_i <= upper_i,  x_i integer where asked,  z_i binary

with ``scipy.optimize.milp`` (HiGHS). ``M`` comes from the data scale: an increase is bounded by the
sum of all absolute observed values plus 10 (no value can exceed the sum of all of them; retried ten
times larger if the program is then infeasible), a decrease by the distance to the lower bound where
there is one. A weight of ``inf`` fixes a variable; an unknown value (NaN) is a free variable that
costs nothing. All minimal-weight sets are enumerated: after each solution a no-good cut
``sum_{i in S} z_i <= |S| - 1`` is added and the program solved again until the optimum rises or
``limit`` solutions are found (``capped`` says so).

Before the solver, sets of one and two variables are found exactly and fast when no value is unknown
(:func:`_single_changes`, :func:`_pair_changes`: every minimal set then lies among the variables of
the violated rows and their row-neighbours); ``max_weight=2`` stops there. The solver's work is
bounded by a node limit per solve (deterministic) and a time limit as a safety net. HiGHS is silenced
through its own options (``output_flag`` off), never by redirecting the process's output. For each
located set, the values are checked for uniqueness (:func:`forced`): they are *forced* when the
equality rows restricted to the located variables have full column rank, otherwise their range is
computed by linear programming (a value that is not forced is one consistent choice, never an answer).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

TOL = 1e-6
LIMIT = 12  # minimal sets enumerated at most by the solver
NODE_LIMIT = 2000  # branch-and-bound nodes per solve: a deterministic bound on the solver's work
NODE_BUDGET = 20_000  # nodes for one enumeration, every solve counting at least one: the whole work bound.
#                       A count, not a clock, so the advice is the same on a busy machine as on an idle one
QUICK_LIMIT = 200  # minimal sets of one or two variables listed at most without the solver
# HiGHS writes nothing when its output flag is off; scipy's milp passes that option through verbatim
# (with a warning that it does not know it, silenced here: the option is HiGHS's own).
HIGHS_QUIET = {"disp": False, "output_flag": False}


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

    def violated(self, x=None, rows=None) -> list[int]:
        """The rows ``x`` (default: the observed values) breaks, among ``rows`` (default: every row)."""
        x = self.values if x is None else x
        out = []
        for r in range(len(self.rows)) if rows is None else rows:
            row = self.rows[r]
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
    from scipy.sparse import csr_matrix  # scipy is imported only where a system is solved

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


def locate(system: System, limit: int = LIMIT, node_limit: int = NODE_LIMIT, node_budget: int = NODE_BUDGET,
           max_weight: float | None = None) -> Localization:
    """Every minimal-weight set of variables whose change satisfies all rows (up to ``limit``).

    Sets of one or two variables are found without the solver when the system has no unknown value
    (exactly: see :func:`_single_changes`, :func:`_pair_changes`). ``max_weight=2`` stops there: a
    system that needs more is returned ``unresolved`` without calling the solver. The solver's work is
    bounded by ``node_limit`` per solve and ``node_budget`` for the whole enumeration (both counts of
    branch-and-bound nodes, so the result never depends on the machine's speed or load): when a limit
    stops it after the first set, the sets found are returned with ``capped``; before it, ``timed_out``
    (nothing is claimed)."""
    start = time.perf_counter()
    budget = [node_budget]  # nodes left, shared by every enumeration below
    violated = system.violated()
    if not violated:
        return Localization([], seconds=time.perf_counter() - start)
    v = np.array(system.values, dtype=float)
    if not np.isnan(v).any():
        quick = _single_changes(system, v, QUICK_LIMIT, violated) or _pair_changes(system, v, QUICK_LIMIT, violated)
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
        result = _enumerate(system, v, m, limit, budget, node_limit, relax=True)
        if any(system.integer[i] and abs(x - round(x)) > TOL for s in result.solutions for i, x in s.values.items()):
            result = _enumerate(system, v, m, limit, budget, node_limit, relax=False)
        if result.feasible or result.timed_out:
            break
    result.seconds = time.perf_counter() - start
    return result


def _mentions(system: System) -> dict[int, list[int]]:
    """The rows each variable appears in (with any coefficient)."""
    out: dict[int, list[int]] = {}
    for r, row in enumerate(system.rows):
        for i in dict.fromkeys(i for i, _ in row.coefs):
            out.setdefault(i, []).append(r)
    return out


def _still_violated(system: System, x, cells, mentions: dict) -> bool:
    """Whether ``x`` (the observed values but at ``cells``) breaks a row, for ``cells`` that every
    violated row goes through: the other rows read the observed values only, and hold."""
    return bool(system.violated(x, sorted({r for i in cells for r in mentions.get(i, [])})))


def _single_changes(system: System, v: np.ndarray, limit: int, violated: list[int]) -> Localization | None:
    """The exact answer without a solver when one variable of weight 1 can repair every violated row:
    then no set weighs less (a violated row has no free variable, so any repair changes a variable of
    weight >= 1), every minimal set is one such variable, and trying each variable of every violated
    row is the whole enumeration. None when no such variable exists (the solver is needed)."""
    mentions = _mentions(system)
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
        if not system.lower[i] - TOL <= x[i] <= system.upper[i] + TOL or _still_violated(system, x, (i,), mentions):
            continue
        found.append(Solution((i,), {i: x[i]}, forced(system, (i,)), 1.0))
    if not found:
        return None
    return Localization(found[:limit], capped=len(found) > limit)


def _pair_changes(system: System, v: np.ndarray, limit: int, violated: list[int]) -> Localization | None:
    """The exact answer without a solver when no single variable of weight 1 repairs every violated row
    (so no set weighs less than 2) and some set of weight 2 does: every minimal set is then one variable
    of weight 2 or two variables of weight 1 that, together, touch every violated row. Each such pair is
    solved from the equality rows through it; None (the solver is needed) when none exists, or when a
    pair's values are not determined by its rows."""
    if not violated:
        return None
    mentions = _mentions(system)
    members = [{i for i, a in system.rows[r].coefs if a} for r in violated]
    through: dict[int, list[int]] = {}
    for r, row in enumerate(system.rows):
        for i, a in row.coefs:
            if a:
                through.setdefault(i, []).append(r)
    found: list[Solution] = []
    heavy = set.intersection(*members)  # single variables of weight 2
    for i in sorted(heavy):
        if system.linked(i) and system.weights[i] == 2.0:
            x = _solve(system, v, (i,), through, mentions)
            if x is not None:
                found.append(Solution((i,), {i: x[i]}, forced(system, (i,)), 2.0))
    light = {i for i in range(len(v)) if system.linked(i) and system.weights[i] == 1.0}
    cells = sorted({i for m in members for i in m} & light)
    covers = {i: {k for k, m in enumerate(members) if i in m} for i in range(len(v))}
    everything = set(range(len(members)))
    pairs = set()
    for i in cells:  # the other variable is in a violated row too, or repairs a row that i's change breaks
        near = {j for r in through.get(i, []) for j, a in system.rows[r].coefs if a} | set(cells)
        pairs |= {tuple(sorted((i, j))) for j in near & light if j != i}
    for i, j in sorted(pairs):
        if covers[i] | covers[j] != everything:
            continue
        x = _solve(system, v, (i, j), through, mentions)
        if x is False:
            return None  # not determined by its rows: let the solver find values
        if x is not None:
            found.append(Solution((i, j), {i: x[i], j: x[j]}, forced(system, (i, j)), 2.0))
    if not found:
        return None
    return Localization(found[:limit], capped=len(found) > limit)


def _solve(system: System, v: np.ndarray, cells: tuple[int, ...], through: dict, mentions: dict):
    """Values for ``cells`` (the others as observed) from the equality rows through them: the values
    when they exist, are whole where asked, within bounds and make every row hold; None when there are
    none; False when the rows leave them undetermined. Every violated row goes through ``cells``."""
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
    return None if _still_violated(system, list(x), cells, mentions) else x


def _enumerate(system: System, v: np.ndarray, m: float, limit: int, budget: list[int], node_limit: int,
               relax: bool = False) -> Localization:
    from scipy.optimize import Bounds, LinearConstraint
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
    # M_up is the data scale; M_down is v_i - lower_i when the variable is bounded below (a value
    # bounded by 0 cannot fall below it), the tightest bound and the one that keeps the relaxation strong.
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
        if budget[0] <= 0:
            if best is None:
                return Localization([], timed_out=True)
            capped = True
            break
        res = _milp(c, constraints, integrality, bounds, {"node_limit": min(node_limit, budget[0])})
        budget[0] -= max(int(getattr(res, "mip_node_count", 0) or 0), 1)
        if res.status == 1:  # the node limit: what it found is not proven minimal
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
        solutions.append(Solution(changed, values, forced(system, changed), weight))
        if len(solutions) >= limit:
            capped = True
            break
        cut = np.zeros(2 * n)
        cut[[n + i for i in changed]] = 1.0
        cuts.append(cut)
    return Localization(solutions, capped=capped)



def _milp(c, constraints, integrality, bounds, options: dict):
    """``scipy.optimize.milp`` with HiGHS's own output off (see :data:`HIGHS_QUIET`)."""
    from scipy.optimize import milp

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Unrecognized options detected", RuntimeWarning)
        return milp(c, constraints=constraints, integrality=integrality, bounds=bounds,
                    options={**options, **HIGHS_QUIET})


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


def forced(system: System, changed: tuple[int, ...]) -> dict[int, bool]:
    """Whether each located value is the only one possible with the other variables as observed."""
    v = np.array(system.values, dtype=float)
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

