"""Publishing frames to SQL: SQLite and a real, throwaway PostgreSQL server (see pgserver.py), same tests."""

from __future__ import annotations


import pandas as pd
import pytest
import sqlalchemy as sa

from conftest import consistent_values
from pgserver import emptied
from pipeline import database
from pipeline.consolidate import Source, consolidate
from pipeline.values import long_cells
from pipeline.database import DatabaseError, publish_frames, read_frame


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    """An empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/out/rekap.sqlite"  # the folder does not exist yet: publish makes it
    return emptied(request.getfixturevalue("pg_url"))


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


def test_a_value_the_column_type_refuses_fails_the_publish_and_leaves_the_previous_rows(url):
    publish_frames(url, "2022", frames("2022"))
    before = database_state(url)
    runs = frames("2022")["rekap_runs"].assign(ok="perhaps")  # a boolean column: not a boolean
    with pytest.raises(DatabaseError, match="nothing changed"):
        publish_frames(url, "2022", {**frames("2022", opds=("DINKES",)), "rekap_runs": runs})
    after = database_state(url)
    for name in before:
        pd.testing.assert_frame_equal(after[name], before[name])


def test_a_driver_of_another_parameter_style_stores_the_same_rows(tmp_path, monkeypatch):
    """Rows are inserted by the driver's own executemany where its parameters are positional (SQLite's,
    psycopg's); a driver of another style gets SQLAlchemy's own insert, and the same rows."""
    ours = f"sqlite:///{tmp_path}/ours.sqlite"
    publish_frames(ours, "2022", frames("2022"))
    publish_frames(ours, "2022", frames("2022", opds=("DINKES", "DINSOS")))
    create = sa.create_engine
    monkeypatch.setattr(sa, "create_engine", lambda url, **kwargs: create(url, paramstyle="named", **kwargs))
    named = f"sqlite:///{tmp_path}/named.sqlite"
    publish_frames(named, "2022", frames("2022"))
    counts = publish_frames(named, "2022", frames("2022", opds=("DINKES", "DINSOS")))
    assert counts["rekap_lineage"]["inserted"] > 0
    with sa.create_engine(named).connect() as conn:
        assert conn.dialect.paramstyle == "named"
    monkeypatch.undo()
    for name, frame in database_state(named).items():
        pd.testing.assert_frame_equal(frame, database_state(ours)[name])


def test_a_crash_in_the_middle_leaves_the_previous_rows(url, monkeypatch):
    publish_frames(url, "2022", frames("2022"))
    before = database_state(url)
    calls = []
    real = database._rows

    def crash_on_third(frame, columns):
        calls.append(columns[0].table.name)
        if len(calls) == 3:
            raise RuntimeError("simulated crash")
        return real(frame, columns)

    monkeypatch.setattr(database, "_rows", crash_on_third)
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


# -- a database shared by agencies ------------------------------------------------------------------------

def tagged(url: str, table: str, period: str, agency: str | None) -> pd.DataFrame:
    frame = read_frame(url, table, period)
    if "instansi" not in frame.columns:
        return frame if agency is None else frame.iloc[0:0]
    return frame[frame["instansi"].isna()] if agency is None else frame[frame["instansi"] == agency]


def test_rows_are_tagged_by_agency_and_each_publish_replaces_only_its_own(url):
    publish_frames(url, "2022", frames("2022"), instansi="KOTA-A")
    publish_frames(url, "2022", frames("2022", opds=("DINKES",), scale=2), instansi="KAB-B")
    kab_b = {name: tagged(url, name, "2022", "KAB-B") for name in frames("2022")}
    publish_frames(url, "2022", frames("2022", opds=("KEC_SERANG",)), instansi="KOTA-A")
    for name, frame in frames("2022", opds=("KEC_SERANG",)).items():
        stored = tagged(url, name, "2022", "KOTA-A").drop(columns="instansi")
        pd.testing.assert_frame_equal(comparable(stored), canonical(frame, "2022"), check_dtype=False)
        pd.testing.assert_frame_equal(tagged(url, name, "2022", "KAB-B"), kab_b[name])
    assert inspect(url)["rekap_cells"]["pk"] == ["period", "instansi", "table", "key"]


def test_one_changed_opd_rewrites_only_its_own_rows(url):
    first = frames("2022")
    assert publish_frames(url, "2022", first, instansi="KOTA-A")["rekap_lineage"] == {
        "deleted": 0, "inserted": len(first["rekap_lineage"])}
    rowids = _row_ids(url, "KOTA-A")
    second = frames("2022")
    lineage = second["rekap_lineage"]
    changed = lineage["opd"] == "DINKES"
    lineage.loc[changed, "value"] = lineage.loc[changed, "value"] * 2
    cells = second["rekap_cells"]
    cells.loc[cells.index[:5], "value"] = cells.loc[cells.index[:5], "value"] + 1
    counts = publish_frames(url, "2022", second, instansi="KOTA-A")
    assert counts["rekap_lineage"] == {"deleted": int(changed.sum()), "inserted": int(changed.sum())}
    assert counts["rekap_cells"] == {"deleted": 5, "inserted": 5}
    assert counts["rekap_coverage"] == {"deleted": 3, "inserted": 3}  # no row key: replaced whole
    for name, frame in second.items():
        stored = tagged(url, name, "2022", "KOTA-A").drop(columns="instansi")
        pd.testing.assert_frame_equal(comparable(stored), canonical(frame, "2022"), check_dtype=False)
    if rowids is not None:  # PostgreSQL: the other OPDs' lineage rows are the very same tuples
        after = _row_ids(url, "KOTA-A")
        kept = {k: v for k, v in rowids.items() if k[2] != "DINKES"}
        assert kept and all(after[k] == v for k, v in kept.items())
    again = publish_frames(url, "2022", second, instansi="KOTA-A")
    assert again["rekap_lineage"] == again["rekap_cells"] == {"deleted": 0, "inserted": 0}


def test_an_agency_with_the_fingerprint_of_its_last_publish_is_left_as_it_is(url, monkeypatch):
    """An agency whose fingerprint is the one recorded with its release row at its last publish of the period:
    its frames are never made, its rows never compared; the other agency's are published. An agency whose
    rows another publisher changed after its fingerprint was read is published after all (checked under its
    lock)."""
    def run(opds, scale, run_id):
        return {**frames("2022", opds=opds, scale=scale), "rekap_release": pd.DataFrame({"run_id": [run_id]})}

    def stored(agency):
        return {name: comparable(tagged(url, name, "2022", agency).drop(columns=["instansi", "fingerprint"],
                                                                         errors="ignore")) for name in a}

    def same(agency, published):
        return all(_same(stored(agency)[name], canonical(frame, "2022")) for name, frame in published.items())

    a, b = run(("DINKES", "DINSOS"), 1, "r1"), run(("DINKES",), 2, "r1")
    database.publish_agencies(url, "2022", {"KOTA-A": a, "KAB-B": b}, fingerprints={"KOTA-A": "fa", "KAB-B": "fb"})
    made = []
    changed = run(("DINSOS",), 3, "r2")
    counts = database.publish_agencies(url, "2022", {"KOTA-A": lambda: made.append("KOTA-A") or a, "KAB-B": changed},
                                       fingerprints={"KOTA-A": "fa", "KAB-B": "fb2"})
    assert counts["KOTA-A"] == {} and made == [] and counts["KAB-B"]["rekap_coverage"] == {"deleted": 1, "inserted": 1}
    assert same("KOTA-A", a) and same("KAB-B", changed)
    recorded = read_frame(url, "rekap_release", "2022").set_index("instansi")
    assert recorded[["run_id", "fingerprint"]].to_dict("index") == {
        "KOTA-A": {"run_id": "r1", "fingerprint": "fa"}, "KAB-B": {"run_id": "r2", "fingerprint": "fb2"}}

    other = run(("DINDIKBUD",), 4, "r3")  # another publisher of KOTA-A, after this one read the fingerprints
    database.publish_frames(url, "2022", other, instansi="KOTA-A")
    stale, unchanged = iter([{"KOTA-A"}]), database._unchanged
    monkeypatch.setattr(database, "_unchanged", lambda conn, period, fingerprints: next(stale, None) or
                        unchanged(conn, period, fingerprints))
    database.publish_agencies(url, "2022", {"KOTA-A": a}, fingerprints={"KOTA-A": "fa"})
    assert same("KOTA-A", a)
    assert read_frame(url, "rekap_release", "2022").set_index("instansi").loc["KOTA-A", "fingerprint"] == "fa"


def test_agencies_are_published_one_at_a_time(url, monkeypatch):
    """A national publish holds one agency's frames at a time: when an agency's frames are made, the frames
    of the agency before it (and what was prepared from them) are gone."""
    import gc
    import weakref

    alive: list = []
    prepare = database._prepare

    def prepared(*args):
        out = prepare(*args)
        alive.append(weakref.ref(out))
        return out

    monkeypatch.setattr(database, "_prepare", prepared)

    def made(opds):
        def make():
            gc.collect()
            assert [r for r in alive if r() is not None] == []
            out = frames("2022", opds=opds)
            alive.extend(weakref.ref(f) for f in out.values())
            return out
        return make

    agencies = {"KAB-B": made(("DINKES",)), "KOTA-A": made(("DINSOS", "DINKES")), "KOTA-C": made(("DINSOS",))}
    counts = database.publish_agencies(url, "2022", agencies)
    assert sorted(counts) == ["KAB-B", "KOTA-A", "KOTA-C"]
    assert all(counts[a]["rekap_coverage"]["inserted"] == n for a, n in (("KAB-B", 1), ("KOTA-A", 2), ("KOTA-C", 1)))


def test_a_publish_that_must_change_the_schema_holds_the_schema_lock_exclusively(pg_url, monkeypatch):
    """PostgreSQL: a publish starts under the shared schema lock; one that must create or extend a table finds
    that out there, changes nothing, and starts again holding it exclusively. One that needs no change to the
    schema never holds it exclusively."""
    url = emptied(pg_url)
    taken, lock = [], database._lock
    monkeypatch.setattr(database, "_lock", lambda conn, name, shared=False: taken.append((name, shared)) or
                        lock(conn, name, shared))

    def schema_locks():
        out = [shared for name, shared in taken if name == database.SCHEMA_LOCK]
        taken.clear()
        return out

    publish_frames(url, "2022", frames("2022"), instansi="KOTA-A")
    assert schema_locks() == [True, False]  # tables to create: shared, then exclusive
    publish_frames(url, "2023", frames("2023"), instansi="KAB-B")
    assert schema_locks() == [True]
    evolved = frames("2024")
    evolved["rekap_coverage"]["days_late"] = [0, 3, 1]
    publish_frames(url, "2024", evolved, instansi="KOTA-A")
    assert schema_locks() == [True, False]  # a column to add
    assert read_frame(url, "rekap_coverage", "2024")["days_late"].tolist() == [0, 3, 1]
    assert sorted(read_frame(url, "rekap_coverage")["period"].unique()) == ["2022", "2023", "2024"]


def _row_ids(url: str, agency: str) -> dict | None:
    """PostgreSQL: each lineage row's physical id (ctid), which an UPDATE or a re-insert changes."""
    if not url.startswith("postgresql"):
        return None
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text('SELECT "table", key, opd, source, ctid::text FROM rekap_lineage '
                                        "WHERE instansi = :a"), {"a": agency}).all()
    finally:
        engine.dispose()
    return {tuple(r[:4]): r[4] for r in rows}


def test_concurrent_publishers_of_one_and_of_two_agencies(pg_url):
    """Four publishers start together on an empty database: two of agency KOTA-A (different frames),
    two of KAB-B, each publishing again and again. None fails, and each agency ends with
    exactly one publisher's frames, never a mix."""
    import threading

    emptied(pg_url)
    variants = {("KOTA-A", 0): frames("2022", opds=("DINKES", "DINSOS")),
                ("KOTA-A", 1): frames("2022", opds=("DINDIKBUD", "DINKES", "KEC_SERANG"), scale=3),
                ("KAB-B", 0): frames("2022", scale=2), ("KAB-B", 1): frames("2022", opds=("DINSOS",))}
    start = threading.Barrier(len(variants))
    errors = []

    def publisher(agency, variant):
        try:
            start.wait()
            for _ in range(8):
                publish_frames(pg_url, "2022", variants[(agency, variant)], instansi=agency)
        except Exception as err:  # noqa: BLE001 - collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=publisher, args=key) for key in variants]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for agency in ("KOTA-A", "KAB-B"):
        stored = {name: comparable(tagged(pg_url, name, "2022", agency).drop(columns="instansi"))
                  for name in frames("2022")}
        matches = [v for v in (0, 1) if all(_same(stored[name], canonical(frame, "2022"))
                                           for name, frame in variants[(agency, v)].items())]
        assert len(matches) == 1, agency


def _same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    try:
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
        return True
    except AssertionError:
        return False


def test_national_tables_are_the_sums_of_the_agencies_published_cells(url):
    from pipeline.national import NoNationalData, consolidate_national

    with pytest.raises(NoNationalData):
        consolidate_national(url, "2022")
    a, b = frames("2022", opds=("DINKES",)), frames("2022", opds=("DINKES", "DINSOS"), scale=2)
    release = pd.DataFrame([{"status": "final", "run_id": "r", "opds_required": 1, "opds_included": 1}])
    publish_frames(url, "2022", {**a, "rekap_release": release}, instansi="KOTA-A")
    publish_frames(url, "2022", {**b, "rekap_release": release.assign(status="sementara")}, instansi="KAB-B")
    publish_frames(url, "2021", frames("2021", scale=100), instansi="KOTA-A")  # another period: not summed
    national = consolidate_national(url, "2022")
    expected = (a["rekap_cells"].set_index(["table", "key"])["value"]
                + b["rekap_cells"].set_index(["table", "key"])["value"])
    counted = expected[~a["rekap_cells"].set_index(["table", "key"])["percent"]]
    for (table, key), total in counted.items():
        spec_key = tuple(part.split("=", 1)[1] for part in key.split("|"))
        assert national.values[table][spec_key] == pytest.approx(total), (table, key)
    assert list(national.agencies["instansi"]) == ["KAB-B", "KOTA-A"]
    assert set(national.lineage["instansi"]) == {"KAB-B", "KOTA-A"}
