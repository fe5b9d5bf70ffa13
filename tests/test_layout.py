"""The layout model of a table: spans of the header band and row labels, row levels, grid places, identity."""

from __future__ import annotations

import subprocess
import sys

import yaml

from pipeline.labels import normalize
from pipeline.layout import IDENTITY_ALIASES, Span, identity_accepts, identity_label, layout
from pipeline.specs import SCHEMAS, build_table, load_tables
from pipeline.submission import IDENTITY_FIELDS

SPECS = load_tables()

# A toy table with two-level rows and columns, a one-level row and column, and a merged cell.
TOY = """
id: toy
number: 9
title: {id: Mainan, en: Toy}
sheet: Mainan
dimensions: {gol: [III, IV, JML], ruang: all, sex: all}
cells:
  - {gol: [III, IV], sex: [L, P]}
  - {gol: JML, sex: JML}
impossible:
  - {gol: III, ruang: E}
rows:
  - {key: {gol: III, ruang: A}, label: [GOL III, A]}
  - {key: {gol: III, ruang: B}, label: [GOL III, B]}
  - {key: {gol: IV, ruang: A}, label: [GOL IV, A]}
  - {key: {gol: JML, ruang: JML}, label: [Jumlah]}
columns:
  - {key: {sex: L}, label: [Jenis kelamin, L]}
  - {key: {sex: P}, label: [Jenis kelamin, P]}
  - {key: {sex: JML}, label: [TOTAL]}
"""


def toy():
    dims = yaml.safe_load((SCHEMAS / "dimensions.yaml").read_text(encoding="utf-8"))
    return build_table(yaml.safe_load(TOY), dims)


def spans(found):
    return [(s.first, s.last, s.level, s.last_level, s.label.text) for s in found]


def test_header_band_spans_of_a_two_level_table():
    lay = layout(SPECS["golongan"])
    assert lay.column_levels == 2 and lay.row_levels == 1
    # GOL I over its L and P, each sub-label right after its group; TOTAL over both header rows
    assert spans(lay.header)[:3] == [(0, 1, 0, 0, "GOL I"), (0, 0, 1, 1, "L"), (1, 1, 1, 1, "P")]
    assert spans(lay.header)[-1] == (8, 8, 0, 1, "TOTAL")
    assert [s.label.text for s in lay.header if s.level == 0] == ["GOL I", "GOL II", "GOL III", "GOL IV", "TOTAL"]
    assert spans(lay.row_labels) == [(i, i, 0, 0, t) for i, t in enumerate(["A", "B", "C", "D", "E", "Jumlah"])]
    # printed in English from the members' labels
    assert lay.labels("columns", "en")[:3] == [("GROUP I", "M"), ("GROUP I", "F"), ("GROUP II", "M")]
    assert lay.corner("id") == "Ruang"


def test_row_groups_and_row_levels():
    lay = layout(SPECS["fungsional"])
    assert lay.row_levels == 2
    outer = [(s.first, s.last, s.label.text) for s in lay.row_labels if s.level == 0 and s.last_level == 0]
    assert outer == [(0, 2, "Pertama"), (3, 5, "Muda"), (6, 9, "Madya"), (10, 12, "Utama")]
    assert spans(lay.row_labels)[-1] == (13, 13, 0, 1, "JUMLAH")  # one level: across both label columns
    assert lay.level_dims == (("jenjang",), ("gol", "ruang"))
    assert lay.level_names("id") == ["Jenjang jabatan", "Golongan / Ruang"]
    assert lay.corner_dims == ("jenjang", "gol", "ruang")
    assert lay.total_rows == {2, 5, 9, 12, 13}


def test_a_new_spec_gets_its_layout():
    spec = toy()
    lay = layout(spec)
    assert (lay.row_levels, lay.column_levels) == (2, 2)
    assert spans(lay.header) == [(0, 1, 0, 0, "Jenis kelamin"), (0, 0, 1, 1, "L"), (1, 1, 1, 1, "P"),
                                 (2, 2, 0, 1, "TOTAL")]
    assert spans(lay.row_labels) == [(0, 1, 0, 0, "GOL III"), (0, 0, 1, 1, "A"), (1, 1, 1, 1, "B"),
                                     (2, 2, 0, 0, "GOL IV"), (2, 2, 1, 1, "A"), (3, 3, 0, 1, "Jumlah")]
    assert lay.level_dims == (("gol",), ("ruang",))
    # the members each label names, and the labels as printed in English
    assert [m.code for m in lay.rows[0][0].members] == ["III"] and lay.rows[0][0].dims == {"gol"}
    assert lay.labels("rows", "id") == [("GOL III", "A"), ("GOL III", "B"), ("GOL IV", "A"), ("Jumlah", "")]
    # grid places: only the grand total sits under TOTAL, and the total row has nothing under L and P
    assert set(lay.empty) == {(0, 2), (1, 2), (2, 2), (3, 0), (3, 1)}
    assert lay.starts[(3, 2)][0] == ("JML", "JML", "JML")
    assert lay.total_rows == {3}


def test_merged_cells_cover_their_places():
    lay = layout(SPECS["eselon"])
    wide = {(r, c) for (r, c) in lay.starts if lay.starts[(r, c)][1].col_last > c}
    assert wide, "the echelon table prints its row totals over the L and P columns"
    for r, c in wide:
        p = lay.starts[(r, c)][1]
        assert {(r, j) for j in range(c + 1, p.col_last + 1)} <= lay.covered
    every = set(lay.starts) | lay.covered | set(lay.empty)
    assert every == {(r, c) for r in range(len(lay.rows)) for c in range(len(lay.columns))}
    assert not set(lay.starts) & lay.covered and not set(lay.empty) & (set(lay.starts) | lay.covered)


def test_built_once_per_spec():
    spec = SPECS["cpns"]
    assert layout(spec) is layout(spec)
    assert layout(toy()) is not layout(toy())  # another spec object, another layout


def test_identity_block():
    assert tuple(IDENTITY_ALIASES) == IDENTITY_FIELDS
    assert identity_label("opd", "id") == "Kode OPD" and identity_label("opd", "en") == "OPD code"
    opd = identity_accepts("opd")
    assert {normalize("Kode OPD"), normalize("OPD code"), normalize("Kode unit kerja")} <= opd
    assert normalize("Periode") not in opd and normalize("Periode") in identity_accepts("period")


def test_the_reader_does_not_import_the_template_writer():
    code = "import sys, pipeline.read_xlsx; print('pipeline.template' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_span_is_plain_data():
    s = Span(0, 1, 0, 0, layout(SPECS["golongan"]).header[0].label)
    assert s == layout(SPECS["golongan"]).header[0]
