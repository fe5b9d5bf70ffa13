"""Percentages, once: a share of a part in a whole, the decimals a table prints, the rounding tolerance.

Owns the percentage arithmetic every other module uses (the percent rules, consolidation, the
localiser, the publish gate, the sample generator): :func:`share`, the one :func:`decimals` lookup,
:func:`tolerance`, and which count cells a percent cell is the share of (:func:`share_terms`,
:func:`is_part_share`). It sits at the bottom of the house: it imports the specs and nothing else.
"""

from __future__ import annotations

from pipeline.specs import Key, TableSpec

EPS = 1e-9  # float noise: counts are whole numbers, so a sum rule holds exactly up to this
DEFAULT_DECIMALS = 2  # a percent column that names no decimals prints two


def share(part: float, whole: float) -> float | None:
    """``100 x part / whole``; None when the whole is 0 (no share can be taken of nothing)."""
    return 100.0 * part / whole if whole else None


def decimals(spec: TableSpec) -> int:
    """How many decimals the table prints its percentages with (the spec's ``percent.decimals``)."""
    return int((spec.percent or {}).get("decimals", DEFAULT_DECIMALS))


def tolerance(spec: TableSpec, n: int = 1) -> float:
    """How far n printed shares may be from their exact sum: n half-units of the last printed
    decimal (0.005 for 2 decimals) plus float noise."""
    return n * 0.5 * 10.0 ** -decimals(spec) + EPS


def share_terms(spec: TableSpec, key: Key) -> tuple[tuple[Key, ...], tuple[Key, ...]]:
    """The count cells whose sums are the numerator and denominator of a percent cell."""
    dim = next(d for d in spec.dims if any(m.percent for m in d.members))
    base = {**spec.key_dict(key), dim.name: next(m.code for m in dim.members if not m.percent)}
    part = spec.select(base)
    whole = spec.select({**base, **spec.percent["of"]})
    if part is None or whole is None:
        raise ValueError(f"{spec.id}: percent cell {key} cannot be computed from counts")
    return part, whole


def is_part_share(spec: TableSpec, key: Key) -> bool:
    """A share of one part (not of the whole the shares are taken of)."""
    d = spec.key_dict(key)
    return spec.is_percent(key) and not any(spec.dim(n).member(d[n]).is_total for n in spec.percent["of"])
