"""The generic solver (pipeline/solver.py) on its own: linear rules in, minimal sets out.

No rekap object appears here: the solver must work, and be importable, without the rest of the house.
The reference examples are those of R ``errorlocate`` and ``deductive``.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.solver import Row, System, forced, locate

SOLVER = Path(__file__).resolve().parent.parent / "pipeline" / "solver.py"


def names(system, solution):
    return {system.names[i] for i in solution.changed}


def test_errorlocate_profit_cost_turnover():
    """Source: R package errorlocate (data-cleaning/errorlocate), tests/testthat/test-locate_errors.R,
    "works with linear rules": rules profit + cost == turnover, cost - 0.6*turnover >= 0, cost >= 0,
    profit >= 0; data profit 755, cost 125, turnover 200; expected errors profit TRUE, cost FALSE,
    turnover FALSE."""
    system = System.from_dicts(
        {"profit": 755, "cost": 125, "turnover": 200},
        [({"profit": 1, "cost": 1, "turnover": -1}, "==", 0), ({"cost": 1, "turnover": -0.6}, ">=", 0),
         ({"cost": 1}, ">=", 0), ({"profit": 1}, ">=", 0)])
    loc = locate(system)
    assert [names(system, s) for s in loc.solutions] == [{"profit"}]
    assert loc.solutions[0].values == {0: 75.0} and loc.solutions[0].forced == {0: True}


def test_errorlocate_infinite_weight_fixes_a_variable():
    """Source: errorlocate, tests/testthat/test-locate_errors.R, "handles inf weights": rules
    x + y == z, x >= 0, y >= 0; data x 6, y 6, z 5; weight z Inf; expected errors x TRUE, y TRUE,
    z FALSE."""
    system = System.from_dicts({"x": 6, "y": 6, "z": 5},
                               [({"x": 1, "y": 1, "z": -1}, "==", 0), ({"x": 1}, ">=", 0), ({"y": 1}, ">=", 0)],
                               weights={"z": math.inf})
    loc = locate(system)
    assert [names(system, s) for s in loc.solutions] == [{"x", "y"}]
    assert not any(loc.solutions[0].forced.values())  # x + y = 5 does not pin either down


SCHOLTUS_RULES = [({"x1": 1, "x2": 1, "x3": -1}, "==", 0), ({"x2": 1, "x4": -1}, "==", 0),
                  ({"x5": 1, "x6": 1, "x7": 1, "x8": -1}, "==", 0), ({"x3": 1, "x8": 1, "x9": -1}, "==", 0),
                  ({"x9": 1, "x10": -1, "x11": -1}, "==", 0)]
SCHOLTUS = dict(zip([f"x{i}" for i in range(1, 12)], [1452, 116, 1568, 116, 323, 76, 12, 411, 1979, 1842, 137]))


def _scholtus(**typed):
    values = {**SCHOLTUS, **typed}
    system = System.from_dicts(values, SCHOLTUS_RULES, lower=dict.fromkeys(values, 0),
                               integer=dict.fromkeys(values, True))
    return system, locate(system)


def test_deductive_correct_typos_one_swap():
    """Source: R package deductive (data-cleaning/deductive), tests/testthat/test_correct_typos.R,
    after Scholtus (2009), record 4.1: x4 = 161 instead of 116 is corrected back to the consistent
    record 4 (two digits swapped)."""
    system, loc = _scholtus(x4=161)
    assert [names(system, s) for s in loc.solutions] == [{"x4"}]
    assert loc.solutions[0].values == {3: 116.0}


def test_deductive_correct_typos_swap_and_extra_digit():
    """Source: deductive, tests/testthat/test_correct_typos.R (Scholtus 2009), record 4.2: x4 = 161
    and x9 = 19979 are corrected back to record 4 (a swap plus an extra digit)."""
    system, loc = _scholtus(x4=161, x9=19979)
    assert [names(system, s) for s in loc.solutions] == [{"x4", "x9"}]
    assert loc.solutions[0].values == {3: 116.0, 8: 1979.0}


# -- the exact fast paths, the solver and its bounds ----------------------------------------------
def _chain(**typed):
    """a + b == s, c + d == t, s + t == g (all whole, >= 0): a small two-level sum."""
    values = {"a": 3, "b": 4, "s": 7, "c": 5, "d": 6, "t": 11, "g": 18, **typed}
    rows = [({"a": 1, "b": 1, "s": -1}, "==", 0), ({"c": 1, "d": 1, "t": -1}, "==", 0),
            ({"s": 1, "t": 1, "g": -1}, "==", 0)]
    return System.from_dicts(values, rows, lower=dict.fromkeys(values, 0), integer=dict.fromkeys(values, True))


def test_consistent_system_has_nothing_to_locate():
    loc = locate(_chain())
    assert loc.solutions == [] and loc.feasible and not loc.capped


def test_one_wrong_part_is_the_only_single_change():
    system = _chain(a=30)  # a + b == s breaks: b would have to be negative, s would break s + t == g
    loc = locate(system)
    assert [names(system, s) for s in loc.solutions] == [{"a"}]
    assert loc.solutions[0].values == {0: 3.0} and loc.solutions[0].forced == {0: True}


def test_a_wrong_total_is_one_change_at_the_total():
    system = _chain(g=19)
    loc = locate(system)
    assert [names(system, s) for s in loc.solutions] == [{"g"}]
    assert loc.solutions[0].values == {6: 18.0} and loc.solutions[0].forced == {6: True}


def test_a_cell_in_two_broken_rows_is_the_one_change():
    system = _chain(s=8)  # both a + b == s and s + t == g break: only s is in both
    loc = locate(system)
    assert [names(system, s) for s in loc.solutions] == [{"s"}] and loc.solutions[0].values == {2: 7.0}


def test_two_cells_are_found_without_the_solver():
    system = _chain(a=30, c=50)
    loc = locate(system)
    assert [names(system, s) for s in loc.solutions] == [{"a", "c"}]
    assert loc.solutions[0].values == {0: 3.0, 3: 5.0} and loc.solutions[0].weight == 2.0


def test_more_than_two_cells_only_with_the_solver():
    system = _chain(a=30, c=50, g=99)  # every row broken, no one or two cells repair all three
    assert locate(system, max_weight=2).unresolved
    loc = locate(system, limit=50)
    # each row needs a change, and a change in s or t is absorbed by a part or by g: twelve sets of three
    assert len(loc.solutions) == 12 and not loc.capped and all(s.weight == 3.0 for s in loc.solutions)
    assert len({frozenset(names(system, s)) for s in loc.solutions}) == 12
    assert locate(system, limit=12).capped  # the limit reached: more may exist
    (acg,) = [s for s in loc.solutions if names(system, s) == {"a", "c", "g"}]
    assert acg.values == {0: 3.0, 3: 5.0, 6: 18.0}


def test_an_unknown_value_is_a_free_variable():
    system = _chain(b=math.nan, g=99)  # b is free: it absorbs a change of s at no cost
    loc = locate(system)
    assert {frozenset(names(system, s)) for s in loc.solutions} == {frozenset({"g"}), frozenset({"s"})}
    (g,) = [s for s in loc.solutions if names(system, s) == {"g"}]
    assert g.values == {6: 18.0}


def test_fixed_variables_can_make_a_system_infeasible():
    system = System.from_dicts({"x": 1, "y": 1, "z": 5}, [({"x": 1, "y": 1, "z": -1}, "==", 0)],
                               weights={"x": math.inf, "y": math.inf, "z": math.inf})
    loc = locate(system)
    assert not loc.feasible and loc.solutions == []


def _one_too_many(n: int, **extra):
    values = {f"x{i}": 1 for i in range(n)} | {"t": n + 1} | extra  # the total one too many: any part, or t
    rows = [({**{f"x{i}": 1 for i in range(n)}, "t": -1}, "==", 0)] + [({x: 1}, ">=", 0) for x in extra]
    return System.from_dicts(values, rows, lower=dict.fromkeys(values, 0))


def test_every_single_change_is_listed_without_the_solver():
    loc = locate(_one_too_many(20), limit=5)  # the exact path lists them all: the limit is the solver's
    assert len(loc.solutions) == 21 and not loc.capped
    assert all(len(s.changed) == 1 and s.weight == 1.0 for s in loc.solutions)


def test_the_solver_enumeration_is_capped():
    loc = locate(_one_too_many(20, u=math.nan), limit=5)  # an unknown value: the solver enumerates
    assert len(loc.solutions) == 5 and loc.capped
    assert all(len(s.changed) == 1 and s.weight == 1.0 for s in loc.solutions)


def test_the_solver_work_is_bounded_by_a_count_not_a_clock(monkeypatch):
    """The same system gives the same sets on a machine a thousand times slower: the bound is the
    node budget, never the time the solver took."""
    system = _chain(a=30, c=50, g=99)
    quick = locate(system, limit=50)
    clock = iter(range(0, 10**9, 1000))  # every reading of the clock 1000 s after the previous one
    monkeypatch.setattr("pipeline.solver.time.perf_counter", lambda: float(next(clock)))
    slow = locate(system, limit=50)
    assert not slow.timed_out and not slow.capped
    assert [(s.changed, s.values) for s in slow.solutions] == [(s.changed, s.values) for s in quick.solutions]
    starved = locate(system, limit=50, node_budget=1)  # one solve allowed: one proven set, the rest capped
    assert starved.capped and [s.changed for s in starved.solutions] == [quick.solutions[0].changed]


def test_a_value_that_is_not_forced_is_said_so():
    # x + y == z with z fixed and both x and y changed: any split of z works
    system = System.from_dicts({"x": 6, "y": 6, "z": 5}, [({"x": 1, "y": 1, "z": -1}, "==", 0)],
                               lower={"x": 0, "y": 0}, weights={"z": math.inf})
    assert forced(system, (0, 1)) == {0: False, 1: False}
    assert forced(system, (2,)) == {2: True}  # z alone is pinned by x + y


def test_rows_report_what_they_break():
    system = System(["x", "y"], [1.0, 2.0], [Row(((0, 1.0), (1, 1.0)), "<=", 2.0, "cap")])
    assert system.violated() == [0] and system.violated([1.0, 1.0]) == []


def test_the_solver_imports_nothing_of_the_project():
    """Loaded from its file alone, in a fresh interpreter that cannot see the project, it still solves."""
    code = (
        "import importlib.util, sys\n"
        f"sys.path = [p for p in sys.path if p not in ('', {str(SOLVER.parent.parent)!r})]\n"
        f"spec = importlib.util.spec_from_file_location('solver', {str(SOLVER)!r})\n"
        "solver = sys.modules['solver'] = importlib.util.module_from_spec(spec); spec.loader.exec_module(solver)\n"
        "assert not [m for m in sys.modules if m == 'pipeline' or m.startswith('pipeline.')], 'imports the project'\n"
        "s = solver.System.from_dicts({'x': 6, 'y': 6, 'z': 5}, [({'x': 1, 'y': 1, 'z': -1}, '==', 0)])\n"
        "print(len(solver.locate(s).solutions))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "3"


def test_the_solver_writes_nothing_to_the_process_output():
    """HiGHS is silenced by its options: a solve that goes through the MILP leaves stdout empty at the
    file-descriptor level (``rekap validate --format json`` must stay valid JSON)."""
    code = (
        "import math\n"
        "from pipeline.solver import System, locate\n"
        "values = {f'x{i}': float(i + 1) for i in range(30)}\n"
        "values['t'] = sum(values.values()) + 5\n"
        "values['u'] = math.nan\n"
        "rows = [({**{f'x{i}': 1 for i in range(30)}, 't': -1}, '==', 0), ({'x0': 1, 'x1': 1, 'u': -1}, '==', 0)]\n"
        "system = System.from_dicts(values, rows, lower=dict.fromkeys(values, 0), integer=dict.fromkeys(values, True))\n"
        "loc = locate(system, node_limit=1)\n"
        "import sys; sys.stderr.write(f'{len(loc.solutions)} sets')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=SOLVER.parent.parent)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "" and out.stderr.endswith(" sets") and not out.stderr.startswith("0 ")
