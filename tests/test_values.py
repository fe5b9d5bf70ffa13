"""Cell values: one shape through the pipeline, key text only where they are stored, parsed by one function."""

from __future__ import annotations

import dataclasses
import json

import pytest

from pipeline.catalog import Catalog, Version
from pipeline.rules.linear import Ref
from pipeline.specs import load_tables
from pipeline.values import (Cells, decode, encode, from_long_cells, from_refs, key_text, loads, long_cells,
                             parse_key, refs, row)

TABLES = load_tables()
GOL = TABLES["golongan"]
TOTAL = GOL.key({"ruang": "JML", "gol": "JML", "sex": "JML"})


def test_key_text_round_trip_and_bad_keys():
    assert key_text(GOL, TOTAL) == "ruang=JML|gol=JML|sex=JML"
    assert all(parse_key(GOL, key_text(GOL, k)) == k for k in GOL.cells)
    assert parse_key(GOL, "sex=JML|gol=JML|ruang=JML") == TOTAL  # by name, whatever the order
    for bad in ("ruang=JML|gol=JML", "ruang=JML|gol=JML|sex=JML|pendidikan=S1", "nonsense", ""):
        with pytest.raises(ValueError, match="golongan"):
            parse_key(GOL, bad)


def stored_and_back(values):
    """``values`` through the catalog's form (:func:`encode`, JSON, :func:`decode`)."""
    stored, orders = encode(values)
    return decode(json.loads(json.dumps(stored)), orders=orders)


def test_catalog_form_round_trip_keeps_unreadable_cells():
    values = {"golongan": {TOTAL: 214.0, GOL.cells[0]: None}}
    stored, orders = encode(values)
    order, numbers = stored["golongan"]
    assert numbers == [214.0, None] and orders == {order: ("ruang=JML|gol=JML|sex=JML", key_text(GOL, GOL.cells[0]))}
    assert stored_and_back(values) == values
    nan, _ = encode({"golongan": {TOTAL: float("nan")}})
    assert nan == {"golongan": [encode({"golongan": {TOTAL: 1.0}})[0]["golongan"][0], [None]]}


def test_versions_of_one_table_share_their_order_and_each_order_is_placed_as_it_was_written():
    """Every version with the same cells names one order (kept once by the catalog); cells written in another
    order, or only some of them, come back in their places."""
    full = {"golongan": {k: float(i) for i, k in enumerate(GOL.cells)}}
    other = {"golongan": {k: float(i + 1) for i, k in enumerate(GOL.cells)}}
    assert encode(full)[0]["golongan"][0] == encode(other)[0]["golongan"][0]
    backwards = {"golongan": dict(reversed(list(full["golongan"].items())))}
    assert encode(backwards)[0]["golongan"][0] != encode(full)[0]["golongan"][0]
    assert stored_and_back(backwards) == full and list(stored_and_back(backwards)["golongan"]) == list(GOL.cells)
    some = {"golongan": {GOL.cells[3]: 1.0, TOTAL: 2.0}}
    assert stored_and_back(some) == some and GOL.cells[0] not in stored_and_back(some)["golongan"]


def test_the_stored_text_loads_as_decode_reads_it_with_one_float_per_small_count():
    import math

    cells = [GOL.cells[i] for i in range(6)]
    values = {"golongan": dict(zip(cells, [214.0, 0.0, -0.0, 2.5, 1e16, None]))}
    stored, orders = encode(values)
    text = json.dumps(stored)
    one, two = loads(text, orders), loads(text, orders)
    assert one == two == decode(json.loads(text), orders=orders) == values
    assert math.copysign(1.0, one["golongan"][cells[2]]) == -1.0  # -0.0 stays itself: the text decides
    shared = [one["golongan"][k] is two["golongan"][k] for k in cells[:5]]
    assert shared == [True, True, False, False, False]  # 214 and 0 are the counts every version shares


def test_decode_leaves_out_what_todays_tables_cannot_hold():
    stored = {"golongan": {"ruang=JML|gol=JML|sex=JML": 5, "ruang=JML|gol=JML": 1}, "gone": {"x=1": 2}}
    assert decode(stored) == {"golongan": {TOTAL: 5}}
    orders = {"o": ["ruang=JML|gol=JML|sex=JML", "ruang=JML|gol=JML"], "x": ["x=1"]}
    assert decode({"golongan": ["o", [5, 1]], "gone": ["x", [2]]}, orders=orders) == {"golongan": {TOTAL: 5}}


def test_a_catalog_keeps_each_order_of_keys_once_and_loads_rows_stored_as_key_texts(tmp_path):
    """A version's values are stored as numbers in an order the catalog keeps once; a version written as key
    texts (as earlier versions of rekap did) loads as Values, and so does one stored by another process."""
    catalog = Catalog(tmp_path / "catalog.sqlite")
    try:
        full = {"golongan": {k: float(i % 5) for i, k in enumerate(GOL.cells)}}
        for sha in "ab":
            catalog.save_version(Version(sha * 64, "2022", "DINKES", "DINKES.xlsx", "xlsx", None, "t", "t",
                                         "accepted", "x", [], full))
        assert catalog.db.execute("SELECT COUNT(*) FROM cell_orders").fetchone()[0] == 1
        raw = catalog.db.execute("SELECT cell_values FROM versions WHERE sha256=?", ("a" * 64,)).fetchone()[0]
        assert json.loads(raw)["golongan"][1] == list(full["golongan"].values())
        assert len(raw) < len(json.dumps({key_text(GOL, k): v for k, v in full["golongan"].items()})) / 4
        catalog.db.execute("INSERT INTO versions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           ("c" * 64, "2022", "DINKES", "old.xlsx", "xlsx", None, "t", "t", "accepted", "x", 0, 0, 0,
                            "[]", json.dumps({"golongan": {"ruang=JML|gol=JML|sex=JML": 7.0}})))
        catalog.db.commit()
        assert catalog.version("c" * 64, "2022").values == {"golongan": {TOTAL: 7.0}}
        assert catalog.version("a" * 64, "2022").values == full
        other = Catalog(tmp_path / "catalog.sqlite")  # a second process stores a new order: read when named
        try:
            other.save_version(Version("d" * 64, "2022", "DINKES", "d.xlsx", "xlsx", None, "t", "t", "accepted",
                                       "x", [], {"golongan": {TOTAL: 9.0}}))
        finally:
            other.close()
        assert dict(catalog.values(["d" * 64], "2022")) == {"d" * 64: {"golongan": {TOTAL: 9.0}}}
    finally:
        catalog.close()


def test_an_older_catalogs_lineage_moves_to_the_releases_versions_and_outputs(tmp_path):
    """Catalogs before 0.2 kept a row per output and version; opened now, that becomes each published
    run's versions and outputs (outputs + versions rows, not their product), once."""
    import sqlite3

    old = sqlite3.connect(tmp_path / "catalog.sqlite")
    old.executescript("CREATE TABLE lineage (run_id TEXT NOT NULL, period TEXT NOT NULL, output TEXT NOT NULL, "
                      "opd TEXT NOT NULL, sha256 TEXT NOT NULL, PRIMARY KEY (run_id, output, opd));")
    old.executemany("INSERT INTO lineage VALUES (?,?,?,?,?)",
                    [("r1", "2022", out, opd, sha) for out in ("cells.csv", "lineage.csv")
                     for opd, sha in (("DINKES", "a" * 64), ("DINSOS", "b" * 64))])
    old.commit()
    old.close()
    for _ in range(2):  # opened again: nothing left to move
        catalog = Catalog(tmp_path / "catalog.sqlite")
        try:
            assert catalog.release_versions("r1") == {"DINKES": "a" * 64, "DINSOS": "b" * 64}
            assert catalog.release_outputs("r1") == ["cells.csv", "lineage.csv"]
            assert catalog.db.execute("SELECT name FROM sqlite_master WHERE name='lineage'").fetchone() is None
        finally:
            catalog.close()


def test_versions_without_their_values_and_values_read_alone(tmp_path):
    """The run and the reports ask for versions without cell values and read the values of the few they need."""
    catalog = Catalog(tmp_path / "catalog.sqlite")
    try:
        for sha, n in (("a", 7.0), ("b", 9.0)):
            catalog.save_version(Version(sha * 64, "2022", "DINKES", "DINKES.xlsx", "xlsx", None, "t", "t", "accepted",
                                         "x", [], {"golongan": {TOTAL: n, GOL.cells[0]: None}}))
        light = catalog.known(["a" * 64, "b" * 64, "c" * 64], "2022", values=False)
        assert set(light) == {"a" * 64, "b" * 64} and all(v.values == {} for v in light.values())
        assert light["a" * 64] == dataclasses.replace(catalog.version("a" * 64, "2022"), values={})
        assert dict(catalog.values(["b" * 64, "c" * 64], "2022")) == {"b" * 64: {"golongan": {TOTAL: 9.0, GOL.cells[0]: None}}}
    finally:
        catalog.close()


def test_decode_parses_each_key_text_once_and_still_refuses_bad_ones():
    stored = {"golongan": {"ruang=JML|gol=JML|sex=JML": 5, "ruang=JML|gol=JML": 1}}
    first, again = decode(stored), decode(stored)
    assert first == again == {"golongan": {TOTAL: 5}}
    assert next(iter(first["golongan"])) is next(iter(again["golongan"]))  # one key tuple, remembered


def test_a_stored_versions_cells_are_a_compact_read_only_mapping():
    """Decoded cells hold a tuple in the spec's order (a run holds every chosen version's), and read as the
    dict they were: lookups, absent cells, None for an unreadable one, the spec's order, pickling."""
    import pickle
    import sys

    first, unreadable, total = GOL.cells[0], GOL.cells[1], TOTAL
    cells = stored_and_back({"golongan": {total: 214.0, unreadable: None, first: 3.0}})["golongan"]
    assert isinstance(cells, Cells)
    assert cells == {first: 3.0, unreadable: None, total: 214.0} and len(cells) == 3
    assert list(cells) == [first, unreadable, total] == [k for k in GOL.cells if k in cells]  # the spec's order
    assert list(cells.items()) == [(first, 3.0), (unreadable, None), (total, 214.0)]
    absent = GOL.cells[2]
    assert absent not in cells and ("no", "such") not in cells and unreadable in cells
    assert cells.get(absent) is None and cells.get(absent, 0.0) == 0.0 and cells.get(unreadable, 0.0) is None
    with pytest.raises(KeyError):
        cells[absent]
    with pytest.raises(TypeError):
        cells[first] = 1.0  # read-only: a version's values are never changed in place
    assert pickle.loads(pickle.dumps(cells)) == cells
    assert absent not in pickle.loads(pickle.dumps(cells))  # the absent mark stays one object
    keys = (total, absent, first, ("no", "such"))
    assert row(cells, keys) == row(dict(cells), keys) == [214.0, None, 3.0, None]
    assert row(cells, (first,)) == [3.0] and row(cells, ()) == []
    full = {"golongan": {k: float(i % 7) for i, k in enumerate(GOL.cells)}}
    compact = stored_and_back(full)["golongan"]
    assert compact == full["golongan"]
    assert sys.getsizeof(compact) + sys.getsizeof(compact._values) < sys.getsizeof(full["golongan"]) / 3


def test_rule_engine_view():
    values = {"golongan": {TOTAL: 3.0, GOL.cells[0]: None}}
    assert refs(values) == {Ref("golongan", TOTAL): 3.0}
    assert from_refs({Ref("golongan", TOTAL): 3.0, Ref("golongan", GOL.cells[0]): float("nan")}) == values


def test_long_cells_round_trip():
    values = {"golongan": {k: float(i) for i, k in enumerate(GOL.cells)}}
    frame = long_cells(values, "2022")
    assert list(frame["key"])[:1] == [key_text(GOL, GOL.cells[0])]
    back = from_long_cells(frame)
    assert back["golongan"] == values["golongan"] and set(back) == set(TABLES)
    with pytest.raises(ValueError, match="not in the specs"):
        from_long_cells(frame.assign(table="gone"))
