"""Consolidation: the city tables are the sums of the sources' inner cells, and the lineage names each
non-zero contribution, its texts held as categories."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import consistent_values
from pipeline.complete import inner_cells
from pipeline.consolidate import Source, consolidate
from pipeline.publish import _csv, integer_values
from pipeline.specs import load_tables
from pipeline.values import key_text


def sources(n: int) -> list[Source]:
    base = consistent_values()
    return [Source(f"OPD{i:04d}", f"{i:064x}", {t: {k: v * (i % 3 + 1) for k, v in cells.items()}
                                                for t, cells in base.items()}) for i in range(n)]


def test_the_city_is_the_sum_and_the_lineage_each_nonzero_contribution():
    given = sources(3)
    city, lineage = consolidate(given)
    tables = load_tables()
    expected = []
    for table, spec in tables.items():
        for key in inner_cells(spec):
            assert city[table][key] == sum(s.values[table][key] for s in given)
            expected += [(table, key_text(spec, key), s.opd, s.sha256, "recap", s.values[table][key])
                         for s in given if s.values[table][key]]
    got = list(lineage.itertuples(index=False, name=None))
    assert sorted(got) == sorted(expected) and len(got) == len(expected)


def test_the_lineage_texts_are_categories_written_as_their_text(tmp_path):
    hostile = Source("=HYPERLINK(\"http://x\")", "f" * 64, consistent_values())  # neutralised like any text
    listed = Source("OPD0001", "e" * 64, {"golongan": consistent_values()["golongan"]}, kind="list")
    _, lineage = consolidate([*sources(40), hostile, listed])
    texts = ["table", "key", "opd", "sha256", "source"]
    assert all(isinstance(lineage[c].dtype, pd.CategoricalDtype) for c in texts)
    as_str = lineage.astype({c: "str" for c in texts})
    # each column's categories are the texts it holds, sorted: what pd.Categorical infers from the rows
    assert all(lineage[c].dtype == pd.Categorical(as_str[c]).dtype for c in texts)
    assert set(as_str["source"]) == {"recap", "list"}
    assert lineage.memory_usage(deep=True).sum() * 4 < as_str.memory_usage(deep=True).sum()
    _csv(integer_values(lineage), tmp_path / "categories.csv")
    _csv(integer_values(as_str), tmp_path / "texts.csv")
    written = (tmp_path / "categories.csv").read_bytes()
    assert written == (tmp_path / "texts.csv").read_bytes()
    assert b"'=HYPERLINK" in written and b",=HYPERLINK" not in written and b'"=HYPERLINK' not in written


def test_lineage_csv_has_the_bytes_pandas_writes(tmp_path, monkeypatch):
    """lineage.csv is written by Arrow where no text needs quotes (pandas is not called), by pandas where
    one does (a neutralised formula holds quotes): the bytes of :func:`_csv` either way, empty or not."""
    from pipeline import publish

    hostile = Source("=HYPERLINK(\"http://x\"),x", "f" * 64, consistent_values())
    frames = {"clean": consolidate(sources(40))[1], "empty": consolidate([])[1],
              "hostile": consolidate([*sources(3), hostile])[1]}
    for name, lineage in frames.items():
        _csv(integer_values(lineage), tmp_path / f"{name}.pandas.csv")
    with monkeypatch.context() as m:
        m.setattr(publish, "_csv", lambda *_: pytest.fail("a lineage without quotes is Arrow's to write"))
        for name in ("clean", "empty"):
            publish._lineage_csv(integer_values(frames[name]), tmp_path / f"{name}.csv")
    publish._lineage_csv(integer_values(frames["hostile"]), tmp_path / "hostile.csv")
    for name in frames:
        assert (tmp_path / f"{name}.csv").read_bytes() == (tmp_path / f"{name}.pandas.csv").read_bytes(), name
    assert b'"\'=HYPERLINK(""http://x""),x"' in (tmp_path / "hostile.csv").read_bytes()
    assert not list(tmp_path.glob(".*.tmp"))  # Arrow's refusal leaves no temporary file


def test_no_source_gives_an_empty_lineage():
    city, lineage = consolidate([])
    assert list(lineage.columns) == ["table", "key", "opd", "sha256", "source", "value"] and lineage.empty
    assert all(not any(cells.get(k) for k in inner_cells(spec)) for spec, cells in
               ((spec, city[t]) for t, spec in load_tables().items()))
