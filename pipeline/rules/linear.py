"""Linear rules: ``sum(lhs) == sum(rhs) + const`` or ``sum(lhs) <= sum(rhs) + const`` over cells.

Every additivity, cross-table, rank and city-wide rule compiles to this one form, so that checking,
error localisation, the run's city rules and the publish gate share it. A rule has a ``scope``
(``submission``: the cells of one submission; ``city``: the same cells summed over the OPDs whose
versions the city tables use), a severity (its own, or its finding code's) and a constant term
(``II.A <= 1`` is ``lhs = (II.A,), rhs = (), const = 1``). A rule's finding sits on its ``anchor``
cell (a total for a sum rule), with the value the rule implies for it as ``expected``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

from pipeline.shares import EPS  # counts are whole numbers: a sum rule holds exactly, up to float noise
from pipeline.specs import Key


class Ref(NamedTuple):
    """A cell of a table. A named tuple: rules and staging look cells up by it in every dict, and a
    tuple hashes and compares in C (a frozen dataclass does it in Python, ten times slower)."""

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
    const: float = 0.0  # the constant term, on the right: sum(lhs) op sum(rhs) + const
    scope: str = "submission"  # or "city": summed over the OPDs the city tables use

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
    left, right = sides(rule, values.__getitem__)
    holds = abs(left - right) <= rule.tol if rule.op == "==" else left <= right + rule.tol
    if rule.anchor is not None and rule.lhs != (rule.anchor,) and rule.rhs == (rule.anchor,):
        return Outcome(holds, right, left)
    return Outcome(holds, left, right)


def sides(rule: LinearRule, value) -> tuple[float, float]:
    """The two sides of ``rule`` with ``value(ref)`` for each cell, the constant term on the right."""
    return sum((value(r) for r in rule.lhs), 0.0), sum((value(r) for r in rule.rhs), 0.0) + rule.const


def severity(rule) -> str:
    """A rule's severity: its own, else its finding code's (``schemas/findings.yaml``)."""
    from pipeline.findings import catalogue

    return rule.severity or catalogue()[rule.code]["severity"]
