"""Numbers as Indonesian spreadsheets hold them.

``1.009`` is one thousand and nine, ``0,07`` is a decimal, ``-`` means zero, ``68,04 %`` and
``0.07 %`` both occur, and some sources use English commas (``1,741``). In a count, a separator
followed by exactly three digits is a thousands separator; anything else that is not a whole number
is returned as the decimal it reads as, so that the schema rejects it instead of rounding silently.

Published tables add two habits: a count written with a unit word (``54 orang``, ``12 org.``,
``7 jiwa``) is the number, with the word noted (``Parsed.unit``); ``n/a``, ``..``, ``...`` and ``x``
mark a value that is *not available* (``Parsed.not_available``, value NaN): whether a cell may be so
is the table spec's to say (:meth:`pipeline.specs.TableSpec.may_be_unavailable`), not this module's.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

DASHES = {"-", "–", "—", "--"}
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}([.,])\d{3}(\1\d{3})*$")
_PLAIN = re.compile(r"^[+-]?\d+$")
_DECIMAL = re.compile(r"^[+-]?\d*[.,]\d+$")
_MIXED_ID = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+,\d+$")  # 1.234,5
_MIXED_EN = re.compile(r"^[+-]?\d{1,3}(,\d{3})+\.\d+$")  # 1,234.5
# a count followed by a word for people: "54 orang", "12 org.", "7 jiwa", "3 pegawai"
_UNIT = re.compile(r"^(?P<number>.*?\d)\s*(?P<unit>orang|org\.?|jiwa|pegawai)$", re.IGNORECASE)
NOT_AVAILABLE = frozenset({"n/a", "na", "..", "...", "\u2026", "x"})  # compared in lower case, spaces removed


@dataclass(frozen=True)
class Parsed:
    """``value`` is None for an empty cell and NaN for text that is no number."""

    value: float | None
    as_text: bool = False  # a number typed as text
    unit: str | None = None  # the unit word written after the count ("orang"), dropped
    not_available: bool = False  # marked not available (n/a, .., x): value is NaN


def _clean(text: str) -> str:
    """Without spaces, and without the one leading ``'`` that neutralised text carries (pipeline.safe)."""
    text = re.sub(r"[\s\u00a0\u202f]", "", text)
    return text[1:] if text.startswith("'") else text


def _marked(text: str) -> Parsed | None:
    """A cleaned text that is no number but a mark: empty, a dash (zero) or not available; else None."""
    if text == "":
        return Parsed(None)
    if text in DASHES:
        return Parsed(0.0)
    if text.lower() in NOT_AVAILABLE:
        return Parsed(math.nan, as_text=True, not_available=True)
    return None


CACHED_LENGTH = 40  # a count's text: short, and the same few texts recur in every submission


def parse_count(raw) -> Parsed:
    if raw is None:
        return Parsed(None)
    if isinstance(raw, bool):
        return Parsed(math.nan)
    if isinstance(raw, (int, float)):
        return Parsed(float(raw) if math.isfinite(raw) else math.nan)
    text = str(raw)
    return _count_text(text) if len(text) <= CACHED_LENGTH else _parse_count_text(text)


def _parse_count_text(raw: str) -> Parsed:
    unit = _UNIT.match(raw.strip())
    if unit:
        number = parse_count(unit.group("number"))
        if number.value is not None and not math.isnan(number.value):
            return Parsed(number.value, as_text=True, unit=unit.group("unit"))
    text = _clean(raw)
    if (marked := _marked(text)) is not None:
        return marked
    if _PLAIN.match(text):
        return Parsed(float(text), as_text=True)
    if _THOUSANDS.match(text):
        return Parsed(float(re.sub(r"[.,]", "", text)), as_text=True)
    return Parsed(_decimal(text), as_text=True)


# bounded: at most 65,536 texts of at most CACHED_LENGTH characters; a Parsed is immutable, so shared
_count_text = lru_cache(maxsize=1 << 16)(_parse_count_text)


def parse_percent(raw, fraction: bool = False) -> Parsed:
    """A percentage. ``fraction`` says the cell is formatted as % in Excel (0.6804 shows as 68,04 %)."""
    if raw is None:
        return Parsed(None)
    if isinstance(raw, bool):
        return Parsed(math.nan)
    if isinstance(raw, (int, float)):
        if not math.isfinite(raw):
            return Parsed(math.nan)
        return Parsed(float(raw) * 100 if fraction else float(raw))
    text = _clean(str(raw))
    if (marked := _marked(text)) is not None:
        return marked
    text = text.rstrip("%")
    if _PLAIN.match(text):
        return Parsed(float(text), as_text=True)
    return Parsed(_decimal(text), as_text=True)


def _decimal(text: str) -> float:
    if _MIXED_ID.match(text):
        return float(text.replace(".", "").replace(",", "."))
    if _MIXED_EN.match(text):
        return float(text.replace(",", ""))
    if _DECIMAL.match(text):
        return float(text.replace(",", "."))
    return math.nan


def thousands_hint(value: float) -> int | None:
    """The whole number a clerk most likely meant by a decimal count such as 1.009 (Excel's 1.009)."""
    if value is None or math.isnan(value) or value.is_integer():
        return None
    scaled, hundredths = value * 1000, value * 100
    # exactly three decimals (1.009, not 2.5): an Indonesian thousands point that Excel took as decimal
    if abs(scaled - round(scaled)) < 1e-6 and abs(hundredths - round(hundredths)) > 1e-6 and 1 <= value < 1000:
        return int(round(scaled))
    return None
