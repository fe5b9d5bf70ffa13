"""Linear rules: ``sum(lhs) == sum(rhs)`` or ``sum(lhs) <= sum(rhs)`` over cells of one submission.

Every additivity, cross-table and rank rule compiles to this one form, so that checking, error
localisation and reporting share it. A rule's finding sits on its ``anchor`` cell (a total for a
sum rule), with the value the rule implies for it as ``expected``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from pipeline.specs import Key

# Counts are whole numbers: a sum rule holds exactly. The tolerance only absorbs float noise.
EPS = 1e-9


@dataclass(frozen=True)
class Ref:
    table: str
    key: Key


@dataclass(frozen=True)
class LinearRule:
    rule: str  # stable rule name, e.g. "golongan:sum[ruang]"
    code: str  # finding code from the catalogue
    severity: str
    lhs: tuple[Ref, ...]
    rhs: tuple[Ref, ...]
    op: str  # "==" or "<="
    anchor: Ref | None  # the cell the finding is reported on (None: an aggregate of several)
    anchor_cell: dict  # its logical key for the finding, possibly with lists for an aggregate
    tol: float = EPS
    params: dict = field(default_factory=dict, hash=False, compare=False)  # for the message

    @property
    def refs(self) -> tuple[Ref, ...]:
        return self.lhs + self.rhs


@dataclass(frozen=True)
class Outcome:
    """``holds`` is None when the rule could not be evaluated (a cell is missing or unreadable)."""

    holds: bool | None
    actual: float | None = None
    expected: float | None = None
    missing: tuple[Ref, ...] = ()


def evaluate(rule: LinearRule, values: dict[Ref, float]) -> Outcome:
    missing = tuple(r for r in rule.refs if r not in values or values[r] is None or math.isnan(values[r]))
    if missing:
        return Outcome(None, missing=missing)
    left = sum(values[r] for r in rule.lhs)
    right = sum(values[r] for r in rule.rhs)
    holds = abs(left - right) <= rule.tol if rule.op == "==" else left <= right + rule.tol
    if rule.anchor is not None and rule.lhs != (rule.anchor,) and rule.rhs == (rule.anchor,):
        return Outcome(holds, right, left)
    return Outcome(holds, left, right)
