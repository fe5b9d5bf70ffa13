"""What a reader hands to the rest of the pipeline: the raw cells of one submission, as found."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from pipeline.findings import Finding
from pipeline.specs import Key

IDENTITY_FIELDS = ("opd", "opd_name", "period", "officer", "contact", "date")


class RawCell(NamedTuple):
    """One value as the submission holds it, before any parsing.

    ``value`` is what the cell holds (int, float, str or None); ``fraction`` says Excel formats it
    as a percentage, so 0.6804 means 68.04 %. A named tuple: a reader makes one per cell of every
    submission, and a tuple is made in C (a frozen dataclass, in Python, four times slower).
    """

    table: str
    key: Key
    value: object
    sheet: str | None = None
    address: str | None = None
    fraction: bool = False


@dataclass
class Extract:
    """A reader's result. Readers never raise on bad input: what they cannot read is a finding."""

    file: str
    kind: str  # "xlsx" or "csv"
    identity: dict[str, str] = field(default_factory=dict)  # IDENTITY_FIELDS, as written
    cells: list[RawCell] = field(default_factory=list)
    tables: set[str] = field(default_factory=set)  # tables found (possibly with missing labels)
    findings: list[Finding] = field(default_factory=list)
