"""Sum rules derived from a table spec: every total equals the sum of its parts, in every direction.

For each cell whose key holds total members, each smallest set of those dimensions whose parts are
all printed cells (or impossible cells, counted as zero) gives one rule. A row total, a column
*Jumlah*, a subtotal and a grand total (both ways) all fall out of this; no table has its own code.
"""

from __future__ import annotations

import itertools
from functools import cache

from pipeline.rules.linear import LinearRule, Ref
from pipeline.specs import Key, TableSpec


def _parts(spec: TableSpec, key: Key, dims: tuple[int, ...]) -> tuple[Key, ...] | None:
    choices = []
    for i, (name, code) in enumerate(zip(spec.dim_names, key)):
        choices.append(spec.dim(name).member(code).total_of if i in dims else (code,))
    parts = []
    for combo in itertools.product(*choices):
        if spec.has_cell(combo):
            parts.append(combo)
        elif not spec.is_impossible(combo):
            return None
    return tuple(parts)


@cache
def sum_rules(spec: TableSpec) -> tuple[LinearRule, ...]:
    rules = []
    for key in spec.cells:
        if spec.is_percent(key):
            continue  # shares do not add up exactly; see pipeline.rules.percent
        totals = [i for i, (n, c) in enumerate(zip(spec.dim_names, key)) if spec.dim(n).member(c).is_total]
        found: list[set[int]] = []
        for size in range(1, len(totals) + 1):
            for dims in itertools.combinations(totals, size):
                if any(f <= set(dims) for f in found):
                    continue
                parts = _parts(spec, key, dims)
                if parts is None:
                    continue
                found.append(set(dims))
                anchor = Ref(spec.id, key)
                names = "+".join(spec.dim_names[i] for i in dims)
                rules.append(LinearRule(
                    rule=f"{spec.id}:sum[{names}]", code="SUM_MISMATCH", severity="error",
                    lhs=(anchor,), rhs=tuple(Ref(spec.id, p) for p in parts), op="==",
                    anchor=anchor, anchor_cell=spec.key_dict(key)))
    return tuple(rules)
