"""Publishing frames to SQL: SQLite and a real, throwaway PostgreSQL server (see pgserver.py), same tests."""

from __future__ import annotations


import pandas as pd
import pytest
import sqlalchemy as sa

from conftest import consistent_values
from pipeline import database
from pipeline.consolidate import Source, consolidate
from pipeline.values import long_cells
from pipeline.database import DatabaseError, publish_frames, read_frame


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    """An empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/out/rekap.sqlite"  # the folder does not exist yet: publish makes it
    url = request.getfixturevalue("pg_url")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    return url


def frames(period: str, opds=("DINDIKBUD", "DINKES", "KEC_SERANG"), scale: float = 1.0) -> dict[str, pd.DataFrame]:
    """The frames of one run, as the pipeline makes them (cells and lineage from real consolidation)."""
    sources = []
    for i, opd in enumerate(opds):
        values = {t: {k: v * scale * (i + 1) for k, v in cells.items()} for t, cells in consistent_values().items()}
        sources.append(Source(opd=opd, sha256=f"{i:064x}", values=values))
    city, lineage = consolidate(sources)
    coverage = pd.DataFrame({
        "period": period, "opd": list(opds), "name": [f"Dinas {o.title()}" for o in opds],
        "status": ["accepted"] * len(opds), "sha256": [s.sha256 for s in sources],
        "staff": pd.array([34 * (i + 1) for i in range(len(opds))], dtype="int64"),
        "errors": [0] * len(opds), "late": [False] * len(opds),
        "note": [None] * (len(opds) - 1) + ["dikirim ulang"],
    })
    runs = pd.DataFrame({"period": [period], "started": [pd.Timestamp("2023-01-31 08:00:00")],
                         "files": [len(opds)], "ok": [True], "version": ["0.1.0"]})
    return {"rekap_cells": long_cells(city, period), "rekap_lineage": lineage,
            "rekap_coverage": coverage, "rekap_runs": runs}


def canonical(frame: pd.DataFrame, period: str) -> pd.DataFrame:
    """A frame as it is stored: ``period`` first, rows in a fixed order, comparable values."""
    frame = frame.copy()
    if "period" in frame.columns:
        frame = frame.drop(columns="period")
    frame.insert(0, "period", period)
    return comparable(frame)


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype(object).where(frame.notna(), None)
    return frame.sort_values(list(frame.columns), key=lambda s: s.map(repr)).reset_index(drop=True)


def inspect(url: str):
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            return {name: {"columns": [c["name"] for c in inspector.get_columns(name)],
                           "pk": inspector.get_pk_constraint(name)["constrained_columns"],
                           "indexes": [i["column_names"] for i in inspector.get_indexes(name)]}
                    for name in inspector.get_table_names()}
    finally:
        engine.dispose()


def database_state(url: str) -> dict[str, pd.DataFrame]:
    return {name: comparable(read_frame(url, name)) for name in frames("2022")}


def test_publish_and_read_back(url):
    published = frames("2022")
    publish_frames(url, "2022", published)
    for name, frame in published.items():
        back = read_frame(url, name, "2022")
        assert list(back.columns) == ["period", *[c for c in frame.columns if c != "period"]]
        pd.testing.assert_frame_equal(comparable(back), canonical(frame, "2022"), check_dtype=False)
    cells = read_frame(url, "rekap_cells")
    assert len(cells) == len(published["rekap_cells"]) > 100
    assert cells["value"].dtype == "float64" and cells["is_total"].dtype == bool
    assert cells["period"].dtype == "str" and cells["table"].dtype == "str"
    coverage = read_frame(url, "rekap_coverage")
    assert coverage["staff"].dtype == "int64" and coverage["late"].dtype == bool
    assert coverage["note"].dtype == "str" and coverage["note"].isna().sum() == 2
    runs = read_frame(url, "rekap_runs")
    assert runs["started"].dtype.kind == "M" and runs["started"][0] == pd.Timestamp("2023-01-31 08:00:00")


def test_publish_twice_is_identical(url):
    publish_frames(url, "2022", frames("2022"))
    first = database_state(url)
    publish_frames(url, "2022", frames("2022"))
    second = database_state(url)
    for name in first:
        pd.testing.assert_frame_equal(first[name], second[name])


def test_another_period_leaves_the_first_untouched(url):
    publish_frames(url, "2022", frames("2022"))
    before = {name: comparable(read_frame(url, name, "2022")) for name in frames("2022")}
    publish_frames(url, "2023", frames("2023", opds=("DINKES",), scale=2))
    for name, frame in before.items():
        pd.testing.assert_frame_equal(comparable(read_frame(url, name, "2022")), frame)
    assert set(read_frame(url, "rekap_coverage")["period"]) == {"2022", "2023"}
    assert read_frame(url, "rekap_coverage", "2023")["opd"].tolist() == ["DINKES"]


def test_republish_with_fewer_rows_replaces_them(url):
    publish_frames(url, "2022", frames("2022"))
    publish_frames(url, "2023", frames("2023"))
    fewer = frames("2022", opds=("DINKES",))
    fewer["rekap_cells"] = fewer["rekap_cells"].head(10)
    fewer["rekap_lineage"] = fewer["rekap_lineage"].iloc[0:0]  # an empty frame empties the period
    publish_frames(url, "2022", fewer)
    for name, frame in fewer.items():
        pd.testing.assert_frame_equal(comparable(read_frame(url, name, "2022")), canonical(frame, "2022"),
                                      check_dtype=False)
    assert len(read_frame(url, "rekap_lineage", "2023")) == len(frames("2023")["rekap_lineage"])


def test_a_failing_insert_leaves_the_previous_rows(url):
    publish_frames(url, "2022", frames("2022"))
    before = database_state(url)
    good = frames("2022", opds=("DINKES",))
    good["rekap_coverage"]["remark"] = "new column"
    bad = {"rekap_new": pd.DataFrame({"x": [1]}),  # first, before any insert: a new table, a new column
           "rekap_coverage": good["rekap_coverage"],
           "rekap_lineage": good["rekap_lineage"], "rekap_runs": good["rekap_runs"],
           "rekap_cells": pd.concat([good["rekap_cells"], good["rekap_cells"].head(1)])}  # last: duplicate key
    with pytest.raises(DatabaseError, match="rekap_cells|UNIQUE|duplicate|nothing changed"):
        publish_frames(url, "2022", bad)
    after = database_state(url)
    for name in before:
        pd.testing.assert_frame_equal(after[name], before[name])
    schema = inspect(url)
    assert "rekap_new" not in schema and "remark" not in schema["rekap_coverage"]["columns"]


def test_a_crash_in_the_middle_leaves_the_previous_rows(url, monkeypatch):
    publish_frames(url, "2022", frames("2022"))
    before = database_state(url)
    calls = []
    real = database._records

    def crash_on_third(frame, table):
        calls.append(table.name)
        if len(calls) == 3:
            raise RuntimeError("simulated crash")
        return real(frame, table)

    monkeypatch.setattr(database, "_records", crash_on_third)
    with pytest.raises(RuntimeError, match="simulated crash"):
        publish_frames(url, "2022", frames("2022", opds=("DINKES",)))
    assert len(calls) == 3
    after = database_state(url)
    for name in before:
        pd.testing.assert_frame_equal(after[name], before[name])


def test_a_new_column_is_added(url):
    publish_frames(url, "2022", frames("2022"))
    evolved = frames("2023")
    evolved["rekap_coverage"]["days_late"] = [0, 3, 1]
    publish_frames(url, "2023", evolved)
    coverage = read_frame(url, "rekap_coverage")
    assert coverage.columns[-1] == "days_late" and str(coverage["days_late"].dtype) == "Int64"
    assert coverage.loc[coverage["period"] == "2022", "days_late"].isna().all()
    assert coverage.loc[coverage["period"] == "2023", "days_late"].tolist() == [0, 3, 1]
    # and a frame lacking a column the table has writes NULL there
    publish_frames(url, "2024", {"rekap_coverage": frames("2024")["rekap_coverage"].drop(columns="note")})
    assert read_frame(url, "rekap_coverage", "2024")["note"].isna().all()


def test_keys_and_indexes(url):
    publish_frames(url, "2022", frames("2022"))
    schema = inspect(url)
    assert schema["rekap_cells"]["pk"] == ["period", "table", "key"]
    indexes = {name: schema[name]["indexes"] for name in ("rekap_lineage", "rekap_coverage", "rekap_runs")}
    assert indexes == {"rekap_lineage": [["period", "table", "key"]], "rekap_coverage": [["period"]],
                       "rekap_runs": [["period"]]}


def test_frames_of_the_wrong_period_are_refused(url):
    with pytest.raises(ValueError, match="other periods"):
        publish_frames(url, "2023", {"rekap_coverage": frames("2022")["rekap_coverage"]})


def test_read_a_missing_table(url):
    publish_frames(url, "2022", {"rekap_runs": frames("2022")["rekap_runs"]})
    with pytest.raises(DatabaseError, match="no table 'rekap_cells'"):
        read_frame(url, "rekap_cells")
    assert read_frame(url, "rekap_cells", missing_ok=True).empty


@pytest.mark.parametrize("bad_url, message", [
    ("not a url", "not a database URL"),
    ("nosuchdb://x/y", "cannot use database URL"),
    ("postgresql+psycopg://rekap:secret@127.0.0.1:1/rekap", "127.0.0.1:1"),  # nothing listens on port 1
])
def test_bad_or_unreachable_database(bad_url, message):
    with pytest.raises(DatabaseError, match=message) as caught:
        publish_frames(bad_url, "2022", {"rekap_runs": frames("2022")["rekap_runs"]})
    assert "secret" not in str(caught.value)


def test_an_unusable_sqlite_path(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(DatabaseError, match="cannot create the folder"):
        publish_frames(f"sqlite:///{tmp_path}/file/rekap.sqlite", "2022", {"rekap_runs": frames("2022")["rekap_runs"]})
    with pytest.raises(DatabaseError, match="no SQLite database"):
        read_frame(f"sqlite:///{tmp_path}/none.sqlite", "rekap_runs")
    assert read_frame(f"sqlite:///{tmp_path}/none.sqlite", "rekap_runs", missing_ok=True).empty
    assert not (tmp_path / "none.sqlite").exists()  # reading never creates a database
    with pytest.raises(DatabaseError, match="failed"):  # a folder where the file should be
        publish_frames(f"sqlite:///{tmp_path}", "2022", {"rekap_runs": frames("2022")["rekap_runs"]})
