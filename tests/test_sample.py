"""The sample generator: consistent data for every OPD, realistic city totals, and defects whose
expected finding codes are exactly what the rules of the domain brief give.

The rules are evaluated here with small independent code written from the brief (``brief_codes``),
not with the validator, so that the sample can be trusted to test the validator.
"""

from __future__ import annotations

import io
import json
from collections import Counter, defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

from pipeline import sample
from pipeline.complete import complete, inner_cells
from pipeline.specs import load_registry, load_tables
from pipeline.template import ORIGIN_ROW, build_workbook, locate

T = load_tables()
REGISTRY = load_registry()
GOLS = ("I", "II", "III", "IV")
RUANGS = ("A", "B", "C", "D", "E")
ESELONS = ("II.A", "II.B", "III.A", "III.B", "IV.A", "IV.B")
LOWEST_RANK = {"II.A": ("IV", "C"), "II.B": ("IV", "B"), "III.A": ("IV", "A"), "III.B": ("III", "D"),
               "IV.A": ("III", "C"), "IV.B": ("III", "B")}
CPNS_ENTRY = {("II", "A"), ("II", "C"), ("III", "A"), ("III", "B")}
PCT_TOL = 0.005 + 1e-9


def submission(code: str, seed: int = 2022) -> dict:
    return sample.consistent_submission(REGISTRY[code], np.random.default_rng(seed))


# -- the rules of the brief, evaluated independently -----------------------------------------------
def _gol(v, ruang, gol, sex):
    return v["golongan"].get((ruang, gol, sex), 0)


def brief_codes(v: dict) -> set[str]:
    """Finding codes the brief's rules give for one submission's values (table -> {key: value})."""
    codes = set()
    for tid, cells in v.items():
        spec = T[tid]
        for key, value in cells.items():
            if spec.is_impossible(key):
                if value:
                    codes.add("IMPOSSIBLE_CELL")
                continue
            assert spec.has_cell(key), (tid, key)
        real = {k: x for k, x in cells.items() if spec.has_cell(k)}
        assert set(real) == set(spec.cells), tid
        counts = {k: x for k, x in real.items() if not spec.is_percent(k)}
        assert all(isinstance(x, int) and x >= 0 for x in counts.values()), tid
        expected = complete(spec, {k: counts[k] for k in inner_cells(spec)})
        if any(counts[k] != expected[k] for k in counts):
            codes.add("SUM_MISMATCH")
    p = v["pendidikan"]
    levels = [m.code for m in T["pendidikan"].dim("pendidikan").members if not m.is_total]
    total = p[("JML", "L", "count")] + p[("JML", "P", "count")]
    shares = []
    for level in levels:
        share = p[(level, "JML", "pct")]
        assert isinstance(share, float)
        shares.append(share)
        exact = 100 * (p[(level, "L", "count")] + p[(level, "P", "count")]) / total
        if abs(share - exact) > PCT_TOL:
            codes.add("PCT_SHARE")
    if abs(p[("JML", "JML", "pct")] - 100) > PCT_TOL:
        codes.add("PCT_SHARE")
    if abs(sum(shares) - 100) > len(shares) * 0.005 + 1e-9:
        codes.add("PCT_TOTAL")
    # golongan total = pendidikan total, for L, P and overall
    for sex in ("L", "P"):
        if sum(_gol(v, "JML", g, sex) for g in GOLS) != p[("JML", sex, "count")]:
            codes.add("CROSS_TOTAL_MISMATCH")
    if _gol(v, "JML", "JML", "JML") != total:
        codes.add("CROSS_TOTAL_MISMATCH")
    # CPNS within golongan, and only at entry ranks
    for (gol, ruang, sex), n in v["cpns"].items():
        if "JML" in (gol, ruang, sex):
            continue
        if n > _gol(v, ruang, gol, sex):
            codes.add("CPNS_EXCEEDS_PNS")
        if ruang == "D" and n:
            codes.add("CPNS_ENTRY_RANK")
    # functional staff, summed over posts and levels, within golongan; no PENGAWAS in Pertama
    fung = Counter()
    for (jenjang, gol, ruang, jabatan, sex), n in v["fungsional"].items():
        if "JML" in (jenjang, gol, ruang, jabatan, sex):
            continue
        fung[(gol, ruang, sex)] += n
        if jenjang == "Pertama" and jabatan == "PENGAWAS" and n:
            codes.add("PENGAWAS_PERTAMA")
    if any(n > _gol(v, ruang, gol, sex) for (gol, ruang, sex), n in fung.items()):
        codes.add("FUNGSIONAL_EXCEEDS_PNS")
    # posts
    e = v["eselon"]
    filled = {es: e[("terisi", es, "L")] + e[("terisi", es, "P")] for es in ESELONS}
    for es in ESELONS + ("JML",):
        if e[("terisi", es, "JML")] > e[("disiapkan", es, "JML")]:
            codes.add("FILLED_EXCEEDS_AVAILABLE")
    if e[("terisi", "JML", "JML")] > _gol(v, "JML", "JML", "JML"):
        codes.add("FILLED_EXCEEDS_PNS")
    for i, es in enumerate(ESELONS):
        gol, ruang = LOWEST_RANK[es]
        above = sum(n for (r, g, s), n in v["golongan"].items()
                    if "JML" not in (r, g, s) and (GOLS.index(g), RUANGS.index(r)) >= (GOLS.index(gol), RUANGS.index(ruang)))
        if sum(filled[x] for x in ESELONS[:i + 1]) > above:
            codes.add("RANK_IMPLAUSIBLE")
    return codes


# -- consistent submissions ----------------------------------------------------------------------------
@pytest.mark.parametrize("code", list(REGISTRY))
def test_every_opd_is_consistent(code):
    opd = REGISTRY[code]
    v = submission(code)
    assert brief_codes(v) == set()
    assert ("guru" in v) == (code == "DINDIKBUD")
    # the brief's stricter expectations than the warnings
    for (gol, ruang, sex), n in v["cpns"].items():
        if n and "JML" not in (gol, ruang, sex):
            assert (gol, ruang) in CPNS_ENTRY
    e = v["eselon"]
    assert e[("terisi", "II.A", "JML")] == (1 if code == "SETDA" else 0)
    assert e[("disiapkan", "II.A", "JML")] == (1 if code == "SETDA" else 0)
    if opd.type == "kecamatan":
        assert e[("terisi", "II.B", "JML")] == e[("disiapkan", "II.B", "JML")] == 0
        assert e[("terisi", "III.A", "JML")] == 1
    elif code != "SETDA":
        assert e[("terisi", "II.B", "JML")] == e[("disiapkan", "II.B", "JML")] == 1
    staff = v["golongan"][("JML", "JML", "JML")]
    if opd.type == "kecamatan":
        assert 20 <= staff <= 45
    elif code == "DINDIKBUD":
        assert staff > 2000
        fung = v["fungsional"]
        teachers = fung[("JML", "JML", "JML", "GURU", "L")] + fung[("JML", "JML", "JML", "GURU", "P")]
        assert v["guru"][("JML",)] <= teachers
    elif code in ("RSUD", "DINKES"):
        assert 150 <= staff <= 500
    else:
        assert 40 <= staff <= 160
    if code != "DINDIKBUD":
        assert v["fungsional"][("JML", "JML", "JML", "JML", "JML")] == 0


@settings(max_examples=20, deadline=None)
@given(code=st.sampled_from(sorted(REGISTRY)), seed=st.integers(0, 2**32 - 1))
def test_any_seed_is_consistent(code, seed):
    assert brief_codes(submission(code, seed)) == set()


def test_deterministic_for_a_seed():
    assert submission("DPUPR", 7) == submission("DPUPR", 7)
    assert submission("DPUPR", 7) != submission("DPUPR", 8)
    assert sample.sample_values(REGISTRY["BPKAD"], 5)[0] == sample.sample_values(REGISTRY["BPKAD"], 5)[0]


def city(seed: int) -> dict:
    agg = Counter()
    for code, opd in REGISTRY.items():
        v = sample.consistent_submission(opd, sample.opd_rng(seed, code))
        g, p, f, e = v["golongan"], v["pendidikan"], v["fungsional"], v["eselon"]
        agg["staff"] += g[("JML", "JML", "JML")]
        for gol in GOLS:
            agg["men"] += g[("JML", gol, "L")]
            agg[gol] += g[("JML", gol, "L")] + g[("JML", gol, "P")]
        for level in ("S1", "S2", "D3"):
            agg[level] += p[(level, "L", "count")] + p[(level, "P", "count")]
        agg["cpns"] += v["cpns"][("II", "JML", "JML")] + v["cpns"][("III", "JML", "JML")]
        agg["filled"] += e[("terisi", "JML", "JML")]
        agg["available"] += e[("disiapkan", "JML", "JML")]
        agg["teachers"] += f[("JML", "JML", "JML", "GURU", "L")] + f[("JML", "JML", "JML", "GURU", "P")]
        agg["women teachers"] += f[("JML", "JML", "JML", "GURU", "P")]
        if "guru" in v:
            agg["SD"] += v["guru"][("SD",)]
            agg["SMP"] += v["guru"][("SMP",)]
    return agg


@pytest.mark.parametrize("seed", [2022, 11])
def test_city_totals_match_the_brief(seed):
    c = city(seed)
    share = lambda k: 100 * c[k] / c["staff"]  # noqa: E731
    assert 3800 <= c["staff"] <= 4600
    assert 30 <= share("men") <= 40
    assert 55 <= share("III") <= 65 and 31 <= share("IV") <= 41
    assert 63 <= share("S1") <= 73 and 12 <= share("S2") <= 20 and 4 <= share("D3") <= 8
    assert 100 <= c["cpns"] <= 200
    assert 820 <= c["filled"] <= 1020 and 880 <= c["available"] <= 1080
    assert 2000 <= c["teachers"] <= 2600 and 0.7 <= c["women teachers"] / c["teachers"] <= 0.8
    assert 1300 <= c["SD"] <= 1700 and 400 <= c["SMP"] <= 600


# -- defects ---------------------------------------------------------------------------------------------
VALUE_DEFECTS = [k for k, d in sample.DEFECTS.items() if d.on_values]
WORKBOOK_DEFECTS = [k for k, d in sample.DEFECTS.items() if d.on_workbook]


def test_plan_covers_every_defect_kind_once():
    assert sorted(sample.DEFECT_PLAN.values()) == sorted(sample.DEFECTS)
    assert set(sample.DEFECT_PLAN) <= set(REGISTRY)
    assert {"wrong_total", "transposed_digit", "percent_off", "cross_table", "impossible_cell",
            "text_number", "moved_table"} <= set(sample.DEFECTS)


@pytest.mark.parametrize("seed", [2022, 3, 99])
@pytest.mark.parametrize("kind", VALUE_DEFECTS)
def test_value_defect_gives_exactly_its_codes(kind, seed):
    planned = next(code for code, k in sample.DEFECT_PLAN.items() if k == kind)
    for code in (planned, "DPUPR", "SETDA"):
        clean = submission(code, seed)
        broken, codes, planted = sample.DEFECTS[kind].on_values(clean)
        assert brief_codes(clean) == set()  # the defect did not change its input
        assert broken != clean
        assert brief_codes(broken) == set(codes), (kind, code)
        assert codes
        # the planted cells are the cells that changed, with the values typed and the true ones
        for p in planted:  # an impossible cell is not among the clean values: it is empty (0)
            assert broken[p.table][p.key] == p.typed and clean[p.table].get(p.key, 0) == p.true != p.typed
        if all(p.single for p in planted):
            changed = {(t, k) for t in broken for k in broken[t] if clean[t].get(k, 0) != broken[t][k]}
            assert changed == {(p.table, p.key) for p in planted}


def test_expected_codes_of_the_plan():
    expected = {"wrong_total": {"SUM_MISMATCH"}, "transposed_digit": {"SUM_MISMATCH"},
                "cross_table": {"CROSS_TOTAL_MISMATCH"}, "impossible_cell": {"IMPOSSIBLE_CELL"},
                "text_number": {"VALUE_AS_TEXT"}, "moved_table": set()}
    for code, kind in sample.DEFECT_PLAN.items():
        values, defect, codes, _ = sample.sample_values(REGISTRY[code])
        if kind == "percent_off":
            assert "PCT_SHARE" in codes and codes <= {"PCT_SHARE", "PCT_TOTAL"}
        elif defect.on_values:
            assert set(codes) == expected[kind]


def test_transposed_digit_swaps_two_digits_upward():
    clean = submission("RSUD")
    broken, _, _ = sample.transposed_digit(clean)
    (key,) = [k for k in clean["golongan"] if clean["golongan"][k] != broken["golongan"][k]]
    old, new = str(clean["golongan"][key]), str(broken["golongan"][key])
    assert sorted(old) == sorted(new) and int(new) > int(old) and len(old) >= 2


def test_percent_off_is_clear_of_the_tolerance():
    for seed in range(6):
        clean = submission("DINKES", seed)
        broken, codes, _ = sample.percent_off(clean)
        changed = [k for k in clean["pendidikan"] if clean["pendidikan"][k] != broken["pendidikan"][k]]
        assert len(changed) == 1 and abs(broken["pendidikan"][changed[0]] - clean["pendidikan"][changed[0]]) > 0.01
        leaves = [x for (lvl, s, m), x in broken["pendidikan"].items() if m == "pct" and lvl != "JML"]
        assert abs(abs(sum(leaves) - 100) - 11 * 0.005) >= sample.PCT_MARGIN
        assert ("PCT_TOTAL" in codes) == (abs(sum(leaves) - 100) > 11 * 0.005)


def _reload(wb):
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return load_workbook(buf)


def _cell(wb, tid, key, rows=0, cols=0):
    sheet, a1 = locate(T[tid], key)
    col, row = coordinate_from_string(a1)
    return wb[sheet].cell(row + rows, column_index_from_string(col) + cols).value


def test_workbook_holds_the_defective_values():
    for code, kind in sample.DEFECT_PLAN.items():
        if not sample.DEFECTS[kind].on_values:
            continue
        values, _, _, _ = sample.sample_values(REGISTRY[code])
        wb = _reload(sample.sample_workbook(REGISTRY[code], "2022")[0])
        for tid, cells in values.items():
            for key, value in cells.items():
                assert _cell(wb, tid, key) == value, (code, tid, key)


def test_text_number_keeps_values():
    values, _, _, _ = sample.sample_values(REGISTRY["DINDIKBUD"])
    wb, codes, planted = sample.sample_workbook(REGISTRY["DINDIKBUD"], "2022")
    assert {(p.typed, p.true, p.single) for p in planted} == {
        (t, int(t.replace(".", "")), False) for t in (p.typed for p in planted)}
    assert codes == {"VALUE_AS_TEXT"}
    wb = _reload(wb)
    texts = []
    for tid, cells in values.items():
        for key, value in cells.items():
            got = _cell(wb, tid, key)
            if isinstance(got, str):
                texts.append(got)
                assert int(got.replace(".", "")) == value
                assert "." not in got or (value >= 1000 and got.count(".") == len(str(value)[:-1]) // 3)
            else:
                assert got == value
    assert len(texts) == 2 and any("." in t for t in texts)


def test_moved_table_is_the_same_grid_elsewhere():
    code = next(c for c, k in sample.DEFECT_PLAN.items() if k == "moved_table")
    values, _, _, _ = sample.sample_values(REGISTRY[code])
    wb, codes, planted = sample.sample_workbook(REGISTRY[code], "2022")
    assert codes == frozenset() and planted == []
    wb = _reload(wb)
    tid, dr, dc = sample.MOVED_SHEET, sample.MOVED_ROWS, sample.MOVED_COLS
    for key, value in values[tid].items():
        assert _cell(wb, tid, key, dr, dc) == value
    ws = wb[T[tid].sheet]
    for row in ws.iter_rows(min_row=ORIGIN_ROW, max_row=ORIGIN_ROW + dr - 1):
        assert all(c.value is None for c in row)  # blank rows above the grid
    clean = build_workbook(REGISTRY[code], "2022", values)[T[tid].sheet]
    assert len(ws.merged_cells.ranges) == len(clean.merged_cells.ranges)
    moved = {str(r) for r in ws.merged_cells.ranges}
    for r in clean.merged_cells.ranges:
        if r.min_row >= ORIGIN_ROW:
            r.shift(col_shift=dc, row_shift=dr)
        assert str(r) in moved


# -- writing -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def written(tmp_path_factory):
    raw = tmp_path_factory.mktemp("raw")
    manifest = sample.write_sample(raw, "2022", manifest_path=raw / "2022-manifest.json", log=None)
    return raw, manifest


def test_write_sample_writes_every_opd(written):
    raw, manifest = written
    files = sorted(p.name for p in (raw / "2022").iterdir())
    assert files == sorted(f"{c}.xlsx" for c in REGISTRY) and len(files) == 34
    assert json.loads((raw / "2022-manifest.json").read_text(encoding="utf-8")) == manifest
    assert set(manifest) == set(REGISTRY)
    for code, entry in manifest.items():
        assert entry["codes"] == sorted(set(entry["codes"])) and entry["defect"] == sample.DEFECT_PLAN.get(code)
        if code not in sample.DEFECT_PLAN:
            assert entry["codes"] == [] and entry["planted"] == []
        for p in entry["planted"]:  # where it was planted, as the clerk sees it, with the true value
            assert p["opd"] == code and p["sheet"] and p["address"] and p["typed"] != p["true"]
            assert load_workbook(raw / "2022" / f"{code}.xlsx")[p["sheet"]][p["address"]].value == p["typed"]
    assert {c for entry in manifest.values() for c in entry["codes"]} >= {
        "SUM_MISMATCH", "PCT_SHARE", "CROSS_TOTAL_MISMATCH", "IMPOSSIBLE_CELL", "VALUE_AS_TEXT"}
    assert manifest[next(c for c, k in sample.DEFECT_PLAN.items() if k == "moved_table")]["codes"] == []
    wb = load_workbook(raw / "2022" / "DINDIKBUD.xlsx")
    assert "Guru" in wb.sheetnames and "Guru" not in load_workbook(raw / "2022" / "BPBD.xlsx").sheetnames


def test_write_sample_skips_existing_files(tmp_path, written):
    _, manifest = written
    folder = tmp_path / "2022"
    folder.mkdir()
    (folder / "DINSOS.xlsx").write_bytes(b"theirs")
    (folder / "SATPOLPP.xlsx").write_bytes(b"theirs too")
    told = []
    again = sample.write_sample(tmp_path, "2022", log=told.append)
    assert (folder / "DINSOS.xlsx").read_bytes() == b"theirs"
    assert (folder / "SATPOLPP.xlsx").read_bytes() == b"theirs too"
    assert len(list(folder.glob("*.xlsx"))) == 34 and not list(folder.glob(".*"))
    assert len(told) == 1 and "DINSOS.xlsx" in told[0] and "SATPOLPP.xlsx" in told[0]
    assert again == manifest


def test_sample_and_template_are_the_same_bytes_whenever_written(tmp_path, monkeypatch):
    """Workbooks carry no save time: the same seed (or OPD and period) gives the same bytes on any day."""
    import datetime as real_datetime
    import hashlib

    from click.testing import CliRunner

    from pipeline.cli import cli

    real = real_datetime.datetime

    def written(folder, shift_days):
        class Shifted(real):
            @classmethod
            def now(cls, tz=None):
                return real.now(tz) + real_datetime.timedelta(days=shift_days)

            @classmethod
            def utcnow(cls):
                return real.utcnow() + real_datetime.timedelta(days=shift_days)

        monkeypatch.setattr(real_datetime, "datetime", Shifted)  # openpyxl stamps datetime.datetime.now()
        runner = CliRunner()
        folder.mkdir()
        assert runner.invoke(cli, ["sample", "--period", "2022", "--raw", str(folder / "raw"), "--staff"]).exit_code == 0
        assert runner.invoke(cli, ["template", "--opd", "DINKES", "--period", "2022",
                                   "-o", str(folder / "DINKES-template.xlsx")]).exit_code == 0
        monkeypatch.undo()
        return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(folder.rglob("*")) if p.is_file()}

    first, second = written(tmp_path / "a", 0), written(tmp_path / "b", 400)
    assert any(name.endswith(".xlsx") for name in first) and len(first) > 30
    assert first == second
