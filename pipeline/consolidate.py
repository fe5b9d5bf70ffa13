"""Consolidation: the accepted submissions of a period summed into city-wide tables.

Only inner cells (what a person counts) are summed; every total and percentage is recomputed with
:func:`pipeline.complete.complete`, so the city tables are consistent whatever the OPDs printed.
Each city cell keeps its contributions (which OPD version gave how much): the lineage of a number.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipeline.complete import complete, inner_cells
from pipeline.specs import TableSpec, load_tables
from pipeline.values import Values, key_text


@dataclass(frozen=True)
class Source:
    """One accepted submission version that goes into the city tables."""

    opd: str
    sha256: str
    values: Values  # table id -> {key: value}, as staged (inner cells are what counts)
    kind: str = "recap"  # where the numbers came from: "recap" (what the OPD typed) or "list" (a staff list)


def consolidate(sources: list[Source], tables: dict[str, TableSpec] | None = None) -> tuple[Values, pd.DataFrame]:
    """City-wide values of every table, and the contributions (lineage) of each inner cell."""
    tables = tables or load_tables()
    city: Values = {}
    rows = []
    for table, spec in tables.items():
        inner = {k: 0.0 for k in inner_cells(spec)}
        for src in sorted(sources, key=lambda s: (s.opd, s.kind)):
            cells = src.values.get(table)
            if not cells:
                continue
            for key in inner:
                value = cells.get(key) or 0.0
                inner[key] += value
                if value:
                    rows.append({"table": table, "key": key_text(spec, key), "opd": src.opd,
                                 "sha256": src.sha256, "source": src.kind, "value": value})
        city[table] = complete(spec, inner)
    lineage = pd.DataFrame(rows, columns=["table", "key", "opd", "sha256", "source", "value"])
    return city, lineage
