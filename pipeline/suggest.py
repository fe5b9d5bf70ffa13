"""Explanations a person recognises for a change the localiser proposes (see :mod:`pipeline.localize`).

Given a cell's value as typed and the value that makes the rules hold, :func:`classify` names the
slip, as R ``deductive::correct_typos`` does for digits (Scholtus 2009), extended to the layout of a
recap table:

=================  ==============================================================================
``transposition``  two adjacent digits swapped (1344 -> 1434)
``digit_wrong``    one digit mistyped (1344 -> 1384), the same number of digits
``digit_dropped``  a digit left out (1344 -> 134)
``digit_doubled``  a digit typed twice (134 -> 1344)
``digit_extra``    one digit too many, not a repeat (1979 -> 19879)
``shifted``        the value of the neighbouring row or column typed here (one row/column off)
``swapped_lp``     the L and P values of one row swapped (both cells located)
``swapped``        the values of two neighbouring cells swapped (both cells located)
``locale_decimal`` a count stored as a decimal by an English-locale Excel (``1.009`` for 1009)
``rounded``        a percentage rounded the wrong way: one unit of its last decimal away from the
                   correct rounding (24.00 printed 23.99), or less than one unit from the exact
                   share but outside the half-unit tolerance
=================  ==============================================================================

Kinds are language-neutral codes; their words are in the text catalogue (``schemas/text.yaml``,
section ``suggest``).
"""

from __future__ import annotations

import math

from pipeline import text

def digit_kind(typed: str, correct: str) -> str | None:
    """The typing slip that turns ``correct`` into ``typed`` (both digit strings), if it is one."""
    if typed == correct:
        return None
    if len(typed) == len(correct):
        diff = [i for i, (a, b) in enumerate(zip(typed, correct)) if a != b]
        if len(diff) == 2 and diff[1] == diff[0] + 1 and typed[diff[0]] == correct[diff[1]] \
                and typed[diff[1]] == correct[diff[0]]:
            return "transposition"
        if len(diff) == 1:
            return "digit_wrong"
        return None
    if len(typed) == len(correct) + 1:  # one digit too many
        for i in range(len(typed)):
            if typed[:i] + typed[i + 1:] == correct:
                repeat = (i > 0 and typed[i - 1] == typed[i]) or (i + 1 < len(typed) and typed[i + 1] == typed[i])
                return "digit_doubled" if repeat else "digit_extra"
        return None
    if len(typed) + 1 == len(correct):  # one digit missing
        for i in range(len(correct)):
            if correct[:i] + correct[i + 1:] == typed:
                return "digit_dropped"
    return None


def count_kind(typed: float, correct: float) -> str | None:
    """The digit slip between two whole counts, if any (``1434`` typed for ``1344``: transposition).
    One digit wrong is named only in numbers of two or more digits (3 for 2 is just a wrong value)."""
    if any(math.isnan(x) or x < 0 or x != round(x) for x in (typed, correct)):
        return None
    kind = digit_kind(str(int(typed)), str(int(correct)))
    return None if kind == "digit_wrong" and max(typed, correct) < 10 else kind


def percent_kind(typed: float, exact: float, decimals: int = 2) -> str | None:
    """Why a printed share differs from the exact one: rounded the wrong way, or a digit slip."""
    unit = 10.0 ** -decimals
    if abs(typed - exact) < unit - 1e-9 or abs(abs(typed - round(exact, decimals)) - unit) < 1e-9:
        return "rounded"
    fmt = f"{{:.{decimals}f}}"
    return digit_kind(fmt.format(typed).replace(".", ""), fmt.format(round(exact, decimals)).replace(".", ""))


def slip_text(kind: str | None, other: str = "", lang: str = "id") -> str | None:
    """The words for a kind of slip in ``lang`` (``other``: the neighbouring cell's name), or None."""
    if kind not in text.entry("suggest"):
        return None
    return text.say(f"suggest.{kind}", lang, other=other)
