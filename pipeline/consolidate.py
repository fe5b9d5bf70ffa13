"""Consolidation: the accepted submissions of a period summed into city-wide tables.

Only inner cells (what a person counts) are summed; every total and percentage is recomputed with
:func:`pipeline.complete.complete`, so the city tables are consistent whatever the OPDs printed.
Each city cell keeps its contributions (which OPD version gave how much): the lineage of a number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.complete import complete, inner_cells
from pipeline.specs import TableSpec, load_tables
from pipeline.values import Values, key_text, row

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Source:
    """One accepted submission version that goes into the city tables."""

    opd: str
    sha256: str
    values: Values  # table id -> {key: value}, as staged (inner cells are what counts)
    kind: str = "recap"  # where the numbers came from: "recap" (what the OPD typed) or "list" (a staff list)


def consolidate(sources: list[Source], tables: dict[str, TableSpec] | None = None) -> tuple[Values, pd.DataFrame]:
    """City-wide values of every table, and the contributions (lineage) of each inner cell.

    Vectorised: per table, one matrix of the sources' inner cells (a row per source, in OPD order),
    summed by column; the lineage is its non-zero entries in row order, its texts as categories. Counts
    are whole numbers, so the sums are exact in any order."""
    import numpy as np  # here: a run that sums nothing (nothing changed) imports neither
    import pandas as pd

    tables = tables or load_tables()
    ordered = sorted(sources, key=lambda s: (s.opd, s.kind))
    opds = np.array([s.opd for s in ordered], dtype=object)
    shas = np.array([s.sha256 for s in ordered], dtype=object)
    kinds = np.array([s.kind for s in ordered], dtype=object)
    city: Values = {}
    parts = []
    for table, spec in tables.items():
        keys = inner_cells(spec)
        rows = [(i, s.values[table]) for i, s in enumerate(ordered) if s.values.get(table)]
        matrix = np.array([[v or 0.0 for v in row(cells, keys)] for _, cells in rows], dtype=float).reshape(
            len(rows), len(keys))
        city[table] = complete(spec, dict(zip(keys, matrix.sum(axis=0).tolist())))
        which, where = np.nonzero(matrix)
        if not len(which):
            continue
        texts = np.array([key_text(spec, k) for k in keys], dtype=object)
        parts.append((table, texts, where, np.array([i for i, _ in rows], dtype=int)[which], matrix[which, where]))
    if not parts:
        return city, pd.DataFrame(columns=["table", "key", "opd", "sha256", "source", "value"])
    source = np.concatenate([p[3] for p in parts])
    # the keys' texts of every table end to end: a row's key is its table's offset plus its key's place
    offsets = np.cumsum([0] + [len(p[1]) for p in parts[:-1]])
    lineage = pd.DataFrame({
        "table": _categorical(np.array([p[0] for p in parts], dtype=object),
                              np.repeat(np.arange(len(parts)), [len(p[2]) for p in parts])),
        "key": _categorical(np.concatenate([p[1] for p in parts]),
                            np.concatenate([p[2] + offset for p, offset in zip(parts, offsets)])),
        "opd": _categorical(opds, source), "sha256": _categorical(shas, source),
        "source": _categorical(kinds, source), "value": np.concatenate([p[4] for p in parts])})
    return city, lineage


def _categorical(labels, index):
    """``labels[index]`` as a categorical column, its categories sorted (as ``pd.Categorical`` infers them).

    Made from codes: the lineage's text columns hold a few thousand texts over up to a million rows, so
    only the labels are compared. No column of a text per row is built (an Arrow string, ~170 bytes a row,
    in Arrow's memory pool, which keeps what it frees: 40 MB more peak memory at 3,400 submissions)."""
    import numpy as np
    import pandas as pd

    categories = sorted(set(labels[np.unique(index)].tolist()))
    place = {text: i for i, text in enumerate(categories)}
    codes = np.array([place.get(text, -1) for text in labels.tolist()], dtype=np.int32)
    return pd.Categorical.from_codes(codes[index], categories=categories)
