"""Specs are data: loading, grids, and sum rules derived with no per-table code."""

from __future__ import annotations

import yaml

from pipeline.rules.sums import sum_rules
from pipeline.specs import SCHEMAS, build_table, load_tables

DIMENSIONS = yaml.safe_load((SCHEMAS / "dimensions.yaml").read_text(encoding="utf-8"))

TOY = """
id: toy
number: 99
title: {id: Mainan, en: Toy}
sheet: Toy
dimensions: {unit: all, sex: all}
cells:
  - {}
rows:
  - {key: {unit: X}, label: [X]}
  - {key: {unit: Y}, label: [Y]}
  - {key: {unit: Z}, label: [Z]}
  - {key: {unit: T}, label: [Total]}
columns:
  - {key: {sex: L}, label: [L]}
  - {key: {sex: P}, label: [P]}
  - {key: {sex: JML}, label: [Jumlah]}
"""


def test_a_new_toy_spec_gets_its_sum_rules_with_no_code_change():
    dims = dict(DIMENSIONS, unit={"members": ["X", "Y", "Z", {"code": "T", "total_of": ["X", "Y", "Z"]}]})
    spec = build_table(yaml.safe_load(TOY), dims)
    rules = {(r.rule, r.anchor.key, tuple(sorted(p.key for p in r.rhs))) for r in sum_rules(spec)}
    expected = set()
    for unit in "XYZT":  # each row: L + P = Jumlah
        expected.add(("toy:sum[sex]", (unit, "JML"), tuple(sorted([(unit, "L"), (unit, "P")]))))
    for sex in ("L", "P", "JML"):  # each column: X + Y + Z = Total
        expected.add(("toy:sum[unit]", ("T", sex), tuple(sorted([("X", sex), ("Y", sex), ("Z", sex)]))))
    assert rules == expected


def test_every_table_of_the_brief_is_specified():
    tables = load_tables()
    assert list(tables) == ["eselon", "golongan", "cpns", "pendidikan", "fungsional", "guru"]
    assert [t.number for t in tables.values()] == [1, 2, 3, 4, 5, 6]


def test_impossible_cells_are_not_cells_but_are_printed_blank():
    g = load_tables()["golongan"]
    for gol in ("I", "II", "III"):
        key = g.key({"ruang": "E", "gol": gol, "sex": "L"})
        assert g.is_impossible(key) and not g.has_cell(key) and key in g.placements()
    assert g.has_cell(g.key({"ruang": "E", "gol": "IV", "sex": "L"}))


def test_every_total_cell_has_a_rule_and_sums_go_both_ways():
    for spec in load_tables().values():
        anchors = {r.anchor.key for r in sum_rules(spec)}
        for key in spec.cells:
            if not spec.is_leaf(key) and not spec.is_percent(key) and spec.select(spec.key_dict(key)) != (key,):
                assert key in anchors, (spec.id, key)
    g = load_tables()["golongan"]
    grand = g.key({"ruang": "JML", "gol": "JML", "sex": "JML"})
    assert {r.rule for r in sum_rules(g) if r.anchor.key == grand} == {"golongan:sum[ruang]", "golongan:sum[gol+sex]"}


def test_merged_cells_in_the_grid():
    e = load_tables()["eselon"]
    place = e.placements()[e.key({"status": "terisi", "eselon": "II.A", "sex": "JML"})]
    assert place.col_last == place.col_first + 1  # the Jumlah row spans the L and P columns
