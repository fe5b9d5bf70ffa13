"""Error localisation of rekap submissions and the suggestions it makes (the generic solver: test_solver.py)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from conftest import Submission
from pipeline.corrections import corrections, role
from pipeline.cli import cli
from pipeline.suggest import count_kind, percent_kind
from pipeline.validate import check_extract


@pytest.mark.parametrize("typed, correct, kind", [
    (1434, 1344, "transposition"), (1384, 1344, "digit_wrong"), (134, 1344, "digit_dropped"),
    (13444, 1344, "digit_doubled"), (19879, 1979, "digit_extra"), (1500, 1344, None),
    (161, 116, "transposition"), (19979, 1979, "digit_doubled")])  # the last two: Scholtus (2009), record 4
def test_count_kinds(typed, correct, kind):
    assert count_kind(typed, correct) == kind


def test_percent_kinds():
    assert percent_kind(61.77, 100 * 147 / 238) == "rounded"
    assert percent_kind(23.99, 24.0) == "rounded"
    assert percent_kind(67.16, 100 * 147 / 238) == "transposition"
    assert percent_kind(67.61, 100 * 147 / 238) is None
    assert percent_kind(61.78, 100 * 147 / 238) == "digit_wrong"


# -- rekap submissions -----------------------------------------------------------------------------
def findings(result, code):
    return [f for f in result.findings if f.code == code]


def test_count_stored_as_a_decimal_by_an_english_excel(big):
    true = big.get("golongan", ruang="B", gol="III", sex="P")
    result = big.set("golongan", true / 1000, ruang="B", gol="III", sex="P").check()
    (item,) = corrections(result.findings)
    f = item.finding
    assert (item.type, item.certainty, f.expected, f.params["kind"]) == ("change", "certain", true, "locale_decimal")
    assert f"→ {true} (" in item.text("id")  # a plain whole number, not "0,021 -> 0.021" again
    assert not findings(result, "CELL_CANDIDATE")  # no clean cell is suspected


def test_too_many_broken_rules_are_not_localised(big):
    from pipeline.specs import load_tables

    spec = load_tables()["fungsional"]
    for key in spec.cells:
        if not spec.is_leaf(key) and not spec.is_percent(key):
            big.values["fungsional"][key] += 1  # every total one off
    result = big.check()
    (f,) = findings(result, "LOCALIZE_TOO_MANY")
    assert f.params["count"] > f.params["limit"] and not suspects(result)
    items = corrections(result.findings)  # said first, then the broken rules as they are
    assert items[0].finding is f and "Perbaiki dulu" in items[0].text("id")
    assert all(c.type == "rule" for c in items) and len(items) == 1 + f.params["count"]


def suspects(result):
    return {(f.table, tuple(sorted(f.cell.items()))): f for f in findings(result, "CELL_SUSPECT")}


def cell(table, **key):
    return (table, tuple(sorted(key.items())))


@pytest.fixture
def big() -> Submission:
    """The consistent submission times 7: two-digit counts, so that digits can be swapped."""
    return Submission().scaled(7)


def test_consistent_submission_gets_no_localisation(big):
    result = big.check()
    assert result.findings == []


def test_transposed_inner_cell_is_located_and_explained(big):
    result = big.set("golongan", 82, ruang="A", gol="III", sex="P").check()  # 28 typed as 82
    found = suspects(result)
    assert list(found) == [cell("golongan", ruang="A", gol="III", sex="P")]
    f = found[cell("golongan", ruang="A", gol="III", sex="P")]
    assert (f.actual, f.expected, f.params["kind"], f.params["certainty"]) == (82, 28, "transposition", "certain")
    assert "dua angka tertukar" in f.message("id") and "kemungkinan" not in f.message("id")
    assert "two digits swapped" in f.message("en")
    assert not findings(result, "CELL_CANDIDATE")
    # the two totals that no longer add up are affected, repaired by that one cell; they are not to change
    (item,) = corrections(result.findings)
    assert (item.type, item.certainty, item.finding) == ("change", "certain", f)
    assert {r.code for r in item.repairs} == {"SUM_MISMATCH"} and len(item.repairs) == 2
    assert all(r.params["affected"] and role(r, [item]) == "affected" for r in item.repairs)


def test_wrong_total_is_located_at_the_total_not_its_parts(big):
    result = big.set("golongan", 70, ruang="B", gol="JML", sex="JML").check()  # 63 + 7
    found = suspects(result)
    assert list(found) == [cell("golongan", ruang="B", gol="JML", sex="JML")]
    assert found[cell("golongan", ruang="B", gol="JML", sex="JML")].expected == 63
    # the errors anchored at that total are what the correction repairs: red, not affected
    anchored = [f for f in findings(result, "SUM_MISMATCH") if f.cell == {"ruang": "B", "gol": "JML", "sex": "JML"}]
    items = corrections(result.findings)
    assert anchored and all(role(f, items) == "change" and not f.params.get("affected") for f in anchored)
    assert [(c.type, c.finding.expected) for c in items] == [("change", 63)]


def test_two_cell_defect(big):
    result = (big.set("golongan", 82, ruang="A", gol="III", sex="P")
                 .set("golongan", 41, ruang="C", gol="II", sex="L").check())
    found = suspects(result)
    assert set(found) == {cell("golongan", ruang="A", gol="III", sex="P"), cell("golongan", ruang="C", gol="II", sex="L")}
    assert {(f.expected, f.params["kind"]) for f in found.values()} == {(28, "transposition"), (14, "transposition")}


def test_tie_between_a_part_and_the_total_is_broken_by_the_recognised_slip(big):
    result = big.set("guru", 350, sekolah="SD").check()  # 35 typed as 350; SD + SMP = Jumlah
    found = suspects(result)
    assert list(found) == [cell("guru", sekolah="SD")]
    f = found[cell("guru", sekolah="SD")]
    assert (f.expected, f.params["kind"], f.params["certainty"]) == (35, "digit_extra", "probable")
    assert f.params["alternatives"] == 1  # changing the total instead also works, with no slip behind it
    assert "kemungkinan" in f.message("id") and "probably" in f.message("en")
    assert "1 kemungkinan lain" in f.message("id")
    assert not findings(result, "CELL_CANDIDATE")


def test_seven_way_tie_is_said_not_decided_and_the_total_comes_first(big):
    # posts available: six echelons and their TOTAL, one row; the TOTAL typed one too many
    result = big.set("eselon", 71, status="disiapkan", eselon="JML", sex="JML").check()
    assert not suspects(result)
    (item,) = corrections(result.findings)
    assert item.type == "one_of" and len(item.cells) == 7 and item.finding.params["options"] == 7
    order = [c.cell["eselon"] for c in item.cells]
    assert order[0] == "JML"  # a hand-typed total slips more often than a count
    assert order[-1] == "II.A"  # an II.A post outside SETDA is implausible (the registry's leader is II.B)
    assert all(c.expected is None for c in item.cells)  # no single value asserted
    assert "salah satu dari 7 sel" in item.text("id").lower() and "one of 7 cells" in item.text("en").lower()


def test_previous_period_breaks_a_tie(big):
    from pipeline.rules.linear import Ref
    from pipeline.specs import load_tables

    spec = load_tables()["eselon"]
    key = spec.key({"status": "disiapkan", "eselon": "IV.A", "sex": "JML"})
    typo = big.copy().set("eselon", 29, status="disiapkan", eselon="IV.A", sex="JML")  # 28 typed as 29
    reference = {Ref("eselon", key): 28}
    result = check_extract(typo.extract(), "2022", reference=reference)
    (f,) = findings(result, "CELL_SUSPECT")
    assert (f.cell["eselon"], f.actual, f.expected, f.params["certainty"]) == ("IV.A", 29, 28, "probable")
    # without the previous period it is a tie
    assert [c.type for c in corrections(typo.check().findings)] == ["one_of"]


def test_l_and_p_swapped(big):
    result = (big.set("golongan", 21, ruang="B", gol="III", sex="L")
                 .set("golongan", 14, ruang="B", gol="III", sex="P").check())
    # row D holds the same two values the other way round, so swapping it back fits as well: a tie, told as such
    (item,) = corrections(result.findings)
    assert item.type == "one_of"
    options: dict = {}
    for c in item.cells:
        options.setdefault(c.params["option"], set()).add((c.cell["ruang"], c.cell["sex"], c.actual, c.params["if_this"]))
    assert {("B", "L", 21, 14), ("B", "P", 14, 21)} in options.values()


def test_l_and_p_swapped_alone_is_located(big):
    # a row whose L - P no other row shares (S1: 80 and 67; D3 takes up the difference, totals unchanged)
    base = (big.set("pendidikan", 80, pendidikan="S1", sex="L", measure="count")
               .set("pendidikan", 67, pendidikan="S1", sex="P", measure="count")
               .set("pendidikan", 11, pendidikan="D3", sex="L", measure="count")
               .set("pendidikan", 10, pendidikan="D3", sex="P", measure="count").recompute("pendidikan"))
    assert base.check().findings == []
    result = (base.set("pendidikan", 67, pendidikan="S1", sex="L", measure="count")
                  .set("pendidikan", 80, pendidikan="S1", sex="P", measure="count").check())
    found = suspects(result)
    assert set(found) == {cell("pendidikan", pendidikan="S1", sex="L", measure="count"),
                          cell("pendidikan", pendidikan="S1", sex="P", measure="count")}
    assert {f.params["kind"] for f in found.values()} == {"swapped_lp"}
    assert "nilai L dan P tertukar" in next(iter(found.values())).message("id")


def test_value_typed_one_row_off(big):
    result = big.set("golongan", 14, ruang="D", gol="III", sex="L").check()  # 21; row C holds 14
    found = suspects(result)
    f = found[cell("golongan", ruang="D", gol="III", sex="L")]
    assert list(found) == [cell("golongan", ruang="D", gol="III", sex="L")]
    assert (f.expected, f.params["kind"]) == (21, "shifted")
    assert "Ruang C" in f.message("id")


def test_two_counts_swapped_within_a_column_are_found_by_the_percentages(big):
    # S1 L and S2 L swapped: every sum still holds, only the % column disagrees
    result = (big.set("pendidikan", 21, pendidikan="S1", sex="L", measure="count")
                 .set("pendidikan", 77, pendidikan="S2", sex="L", measure="count").check())
    found = suspects(result)
    assert set(found) == {cell("pendidikan", pendidikan="S1", sex="L", measure="count"),
                          cell("pendidikan", pendidikan="S2", sex="L", measure="count")}
    assert {f.params["kind"] for f in found.values()} == {"swapped"}


def test_percentage_rounded_the_wrong_way(big):
    result = big.set("pendidikan", 61.77, pendidikan="S1", sex="JML", measure="pct").check()
    found = suspects(result)
    f = found[cell("pendidikan", pendidikan="S1", sex="JML", measure="pct")]
    assert (f.expected, f.params["kind"]) == (61.76, "rounded")
    assert "dibulatkan ke arah yang salah" in f.message("id")
    (share,) = findings(result, "PCT_SHARE")
    assert [c.finding for c in corrections(result.findings)] == [f] and role(share, corrections(result.findings)) == "change"


def test_suggestions_in_json_and_text_output(tmp_path, big):
    path = big.set("golongan", 82, ruang="A", gol="III", sex="P").write_csv(tmp_path / "DINDIKBUD.csv")
    runner = CliRunner()
    out = runner.invoke(cli, ["validate", "--format", "json", str(path), "--period", "2022"])
    assert out.exit_code == 1
    (sub,) = json.loads(out.output)["submissions"]
    (f,) = [f for f in sub["findings"] if f["code"] == "CELL_SUSPECT"]
    assert (f["cell"], f["actual"], f["expected"]) == ({"ruang": "A", "gol": "III", "sex": "P"}, 82, 28)
    assert "dua angka tertukar" in f["message"]
    (first,) = sub["corrections"]
    assert (first["type"], first["certainty"], first["actual"], first["expected"]) == ("change", "certain", 82, 28)
    assert first["slip"] == {"kind": "transposition", "text": "dua angka tertukar"}
    text = runner.invoke(cli, ["validate", "--lang", "en", str(path), "--period", "2022"]).output
    lines = text.splitlines()
    assert lines[1].startswith("  Corrections") and "82 → 28 (two digits swapped) — certain" in lines[2]


def test_quality_benchmark_small():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from quality import run

    report = run(seeds=1, seed=3, opds=["KEC-SERANG", "DINKES"])
    assert report["recall"] == 1.0 and report["false_positives"] == 0
    assert report["top1"] is not None and report["top1"] >= 0.95
