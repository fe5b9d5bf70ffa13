"""Each rule of the catalogue: a submission that passes it and one that fails it, asserted as
flattened ``(code, table, cell)`` tuples. The base submission (conftest) satisfies every rule."""

from __future__ import annotations

import pytest

from pipeline.findings import flatten

ESELONS = ["II.A", "II.B", "III.A", "III.B", "IV.A", "IV.B"]


def cell(**key):
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in key.items()))


def problems(result):
    """Errors and warnings (not info notes) as sorted tuples."""
    return flatten(f for f in result.findings if f.severity != "info")


def test_base_submission_is_clean(sub):
    result = sub.check()
    assert result.findings == []
    assert result.status == "accepted"


# -- sums derived from the specs --------------------------------------------------------------
def test_inner_cell_breaks_its_row_and_column_total(sub):
    result = sub.add("golongan", 1, ruang="B", gol="III", sex="L").check()
    assert problems(result) == sorted([
        ("SUM_MISMATCH", "golongan", cell(ruang="B", gol="JML", sex="JML")),
        ("SUM_MISMATCH", "golongan", cell(ruang="JML", gol="III", sex="L")),
    ], key=repr)
    row_total = next(f for f in result.findings if f.cell["ruang"] == "B")
    assert (row_total.actual, row_total.expected) == (9, 10)  # B: 1+1 + 2+3 + 1+1, then one more


def test_grand_total_off_is_reported_on_the_grand_total(sub):
    result = sub.add("golongan", 1, ruang="JML", gol="JML", sex="JML").check()
    assert problems(result) == sorted([
        ("SUM_MISMATCH", "golongan", cell(ruang="JML", gol="JML", sex="JML")),
        ("SUM_MISMATCH", "golongan", cell(ruang="JML", gol="JML", sex="JML")),
        ("CROSS_TOTAL_MISMATCH", "pendidikan", cell(pendidikan="JML", sex="JML", measure="count")),
    ], key=repr)
    assert {f.rule for f in result.findings if f.code == "SUM_MISMATCH"} == {
        "golongan:sum[ruang]", "golongan:sum[gol+sex]"}


def test_subtotal_of_a_level_group(sub):
    result = sub.add("fungsional", 2, jenjang="Madya", gol="IV", ruang="JML", jabatan="GURU", sex="L").check()
    assert problems(result) == sorted([
        ("SUM_MISMATCH", "fungsional", cell(jenjang="Madya", gol="IV", ruang="JML", jabatan="GURU", sex="L")),
        ("SUM_MISMATCH", "fungsional", cell(jenjang="Madya", gol="IV", ruang="JML", jabatan="JML", sex="JML")),
        ("SUM_MISMATCH", "fungsional", cell(jenjang="JML", gol="JML", ruang="JML", jabatan="GURU", sex="L")),
    ], key=repr)


def test_eselon_jumlah_row_and_total_column(sub):
    result = sub.add("eselon", 1, status="terisi", eselon="IV.A", sex="JML").check()
    assert problems(result) == sorted([
        ("SUM_MISMATCH", "eselon", cell(status="terisi", eselon="IV.A", sex="JML")),
        ("SUM_MISMATCH", "eselon", cell(status="terisi", eselon="JML", sex="JML")),
    ], key=repr)


def test_guru_total(sub):
    assert problems(sub.add("guru", 1, sekolah="SD").check()) == [("SUM_MISMATCH", "guru", cell(sekolah="JML"))]


# -- values -------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, code", [(-1, "VALUE_NEGATIVE"), ("1,5", "VALUE_NOT_WHOLE"), (2.5, "VALUE_NOT_WHOLE"),
                                       ("dua", "VALUE_NOT_NUMBER"), ("1 ekor", "VALUE_NOT_NUMBER")])
def test_bad_count_value(sub, raw, code):
    result = sub.set("cpns", raw, gol="II", ruang="A", sex="L").check()
    assert problems(result) == [(code, "cpns", cell(gol="II", ruang="A", sex="L"))]
    # the rules that need the cell say they could not be checked, instead of guessing
    assert any(f.code == "RULE_NOT_EVALUABLE" for f in result.findings)


def test_count_with_a_unit_word_is_read_with_a_note(sub):
    value = sub.get("cpns", gol="II", ruang="A", sex="L")
    result = sub.set("cpns", f"{value} orang", gol="II", ruang="A", sex="L").check()
    assert problems(result) == []
    assert [f.code for f in result.findings] == ["VALUE_WITH_UNIT"]  # every rule over it ran


def test_count_with_a_unit_word_keeps_its_rules(sub):
    value = sub.get("cpns", gol="II", ruang="A", sex="L")
    result = sub.set("cpns", f"{value + 1} orang", gol="II", ruang="A", sex="L").check()
    assert ("SUM_MISMATCH", "cpns", cell(gol="II", ruang="JML", sex="L")) in problems(result)
    assert "VALUE_WITH_UNIT" in {f.code for f in result.findings}


def test_not_available_in_a_cell_the_spec_does_not_allow_is_an_error(sub):
    result = sub.set("cpns", "n/a", gol="II", ruang="A", sex="L").check()
    assert problems(result) == [("VALUE_NOT_NUMBER", "cpns", cell(gol="II", ruang="A", sex="L"))]


@pytest.mark.parametrize("raw", ["1", "-", "", None, "0", 1.0])
def test_acceptable_count_values(sub, raw):
    value = sub.get("cpns", gol="II", ruang="A", sex="L")
    sub.set("cpns", raw, gol="II", ruang="A", sex="L")
    result = sub.check()
    if value == (0 if raw in ("-", "", None, "0") else 1):
        assert problems(result) == []
    else:
        assert problems(result) != []


def test_decimal_that_looks_like_thousands_gets_a_suggestion(sub):
    result = sub.set("golongan", 1.009, ruang="A", gol="III", sex="L").check()
    finding = next(f for f in result.findings if f.code == "VALUE_NOT_WHOLE")
    assert finding.expected == 1009
    assert "1009" in finding.message("id") and "1009" in finding.message("en")


def test_indonesian_thousands_in_text(sub):
    sub.set("golongan", "1.003", ruang="A", gol="III", sex="L")
    sub.set("golongan", "1.010", ruang="JML", gol="III", sex="L")
    result = sub.check()
    totals = [f for f in problems(result) if f[0] == "SUM_MISMATCH"]
    # 1.003 is read as 1003, so the row total (still the old one) is off, but nothing is unreadable
    assert totals and not any(f[0].startswith("VALUE_") for f in problems(result))


def test_value_in_impossible_cell(sub):
    result = sub.set("golongan", 2, ruang="E", gol="I", sex="L").check()
    assert problems(result) == [("IMPOSSIBLE_CELL", "golongan", cell(ruang="E", gol="I", sex="L"))]


@pytest.mark.parametrize("raw", [0, "-", None])
def test_empty_impossible_cell_passes(sub, raw):
    assert problems(sub.set("golongan", raw, ruang="E", gol="II", sex="P").check()) == []


def test_value_as_text_is_a_note_for_workbooks(sub):
    ex = sub.set("guru", "5", sekolah="SD").extract()
    ex.kind = "xlsx"
    from pipeline.validate import check_extract
    result = check_extract(ex, "2022")
    assert flatten(result.findings) == [("VALUE_AS_TEXT", "guru", cell(sekolah="SD"))]
    assert result.status == "accepted"


# -- percentages -------------------------------------------------------------------------------
def test_percent_within_rounding_passes(sub):
    share = sub.get("pendidikan", pendidikan="S1", sex="JML", measure="pct")
    assert problems(sub.set("pendidikan", share + 0.004, pendidikan="S1", sex="JML", measure="pct").check()) == []


def test_percent_share_off(sub):
    share = sub.get("pendidikan", pendidikan="S1", sex="JML", measure="pct")
    result = sub.set("pendidikan", share + 0.02, pendidikan="S1", sex="JML", measure="pct").check()
    assert problems(result) == [("PCT_SHARE", "pendidikan", cell(pendidikan="S1", sex="JML", measure="pct"))]
    assert result.findings[0].expected == pytest.approx(share)


def test_percent_column_not_100(sub):
    share = sub.get("pendidikan", pendidikan="S2", sex="JML", measure="pct")
    result = sub.set("pendidikan", share + 5, pendidikan="S2", sex="JML", measure="pct").check()
    assert problems(result) == sorted([
        ("PCT_SHARE", "pendidikan", cell(pendidikan="S2", sex="JML", measure="pct")),
        ("PCT_TOTAL", "pendidikan", None)], key=repr)


@pytest.mark.parametrize("raw, ok", [("61,76 %", True), ("61.76", True), ("61,80", False), (120, False)])
def test_percent_formats(sub, raw, ok):
    assert sub.get("pendidikan", pendidikan="S1", sex="JML", measure="pct") == pytest.approx(61.76)
    result = sub.set("pendidikan", raw, pendidikan="S1", sex="JML", measure="pct").check()
    assert (problems(result) == []) is ok
    if raw == 120:
        assert ("PCT_RANGE", "pendidikan", cell(pendidikan="S1", sex="JML", measure="pct")) in problems(result)


# -- across tables -----------------------------------------------------------------------------
def test_golongan_and_pendidikan_totals_disagree(sub):
    result = sub.add("pendidikan", 1, pendidikan="S1", sex="L", measure="count").recompute("pendidikan").check()
    assert problems(result) == sorted([
        ("CROSS_TOTAL_MISMATCH", "pendidikan", cell(pendidikan="JML", sex="L", measure="count")),
        ("CROSS_TOTAL_MISMATCH", "pendidikan", cell(pendidikan="JML", sex="JML", measure="count")),
    ], key=repr)


def test_cpns_within_pns_boundary_passes(sub):
    assert problems(sub.set("cpns", 2, gol="III", ruang="B", sex="L").recompute("cpns").check()) == []


def test_cpns_exceeds_pns(sub):
    result = sub.set("cpns", 3, gol="III", ruang="B", sex="L").recompute("cpns").check()
    assert problems(result) == [("CPNS_EXCEEDS_PNS", "cpns", cell(gol="III", ruang="B", sex="L"))]
    assert (result.findings[0].actual, result.findings[0].expected) == (3, 2)


def test_fungsional_exceeds_pns(sub):
    result = sub.set("fungsional", 2, jenjang="Madya", gol="IV", ruang="B", jabatan="PENGAWAS", sex="P") \
        .recompute("fungsional").check()
    assert problems(result) == [("FUNGSIONAL_EXCEEDS_PNS", "fungsional",
                                 cell(jenjang="JML", gol="IV", ruang="B", jabatan="JML", sex="P"))]


def test_filled_equal_to_available_passes(sub):
    assert problems(sub.set("eselon", 3, status="disiapkan", eselon="IV.A", sex="JML").recompute("eselon").check()) == []


def test_filled_exceeds_available(sub):
    result = sub.set("eselon", 2, status="disiapkan", eselon="IV.A", sex="JML").recompute("eselon").check()
    assert problems(result) == [("FILLED_EXCEEDS_AVAILABLE", "eselon", cell(status="terisi", eselon="IV.A", sex="JML"))]


def test_filled_exceeds_pns(sub):
    sub.set("eselon", 30, status="terisi", eselon="IV.B", sex="L")
    sub.set("eselon", 40, status="disiapkan", eselon="IV.B", sex="JML").recompute("eselon")
    assert problems(sub.check()) == sorted([
        ("FILLED_EXCEEDS_PNS", "eselon", cell(status="terisi", eselon="JML", sex="JML")),
        ("RANK_IMPLAUSIBLE", "eselon", cell(status="terisi", eselon=ESELONS, sex="JML")),
    ], key=repr)


# -- plausibility warnings ---------------------------------------------------------------------
def test_rank_implausible_is_a_warning(sub):
    sub.set("eselon", 7, status="terisi", eselon="III.A", sex="L")
    sub.set("eselon", 7, status="disiapkan", eselon="III.A", sex="JML").recompute("eselon")
    result = sub.check()
    assert problems(result) == [("RANK_IMPLAUSIBLE", "eselon", cell(status="terisi", eselon=ESELONS[:3], sex="JML"))]
    assert result.status == "accepted" and result.findings[0].severity == "warning"


def test_rank_plausible_at_the_limit(sub):
    sub.set("eselon", 6, status="terisi", eselon="III.A", sex="L")
    sub.set("eselon", 7, status="disiapkan", eselon="III.A", sex="JML").recompute("eselon")
    assert problems(sub.check()) == []


def test_cpns_at_a_rank_nobody_enters(sub):
    result = sub.set("cpns", 1, gol="III", ruang="D", sex="L").recompute("cpns").check()
    assert problems(result) == [("CPNS_ENTRY_RANK", "cpns", cell(gol="III", ruang="D", sex="L"))]
    assert result.status == "accepted"


def test_pengawas_in_pertama(sub):
    result = sub.set("fungsional", 1, jenjang="Pertama", gol="III", ruang="A", jabatan="PENGAWAS", sex="L") \
        .recompute("fungsional").check()
    assert problems(result) == [("PENGAWAS_PERTAMA", "fungsional",
                                 cell(jenjang="Pertama", gol="III", ruang="A", jabatan="PENGAWAS", sex="L"))]
    assert result.status == "accepted"


# -- was anything filled in? ------------------------------------------------------------------
def test_a_table_left_blank_is_a_warning_and_zeros_typed_are_not(sub):
    for key in list(sub.values["fungsional"]):
        sub.values["fungsional"][key] = None  # the clerk left the whole table blank
    result = sub.check()
    assert problems(result) == [("TABLE_EMPTY", "fungsional", None)]
    assert result.status == "accepted"
    for key in list(sub.values["fungsional"]):
        sub.values["fungsional"][key] = 0  # zeros typed: the table is filled in
    assert problems(sub.check()) == []


def test_no_staff_at_all_is_an_error(sub):
    for table in ("golongan", "pendidikan", "cpns", "fungsional", "eselon"):
        for key in list(sub.values[table]):
            sub.values[table][key] = 0
    assert problems(sub.check()) == [("NO_STAFF", "golongan", cell(ruang="JML", gol="JML", sex="JML"))]


# -- identity ----------------------------------------------------------------------------------
def test_unknown_opd(sub):
    sub.opd = "DINASX"
    assert [f.code for f in sub.check().findings] == ["OPD_UNKNOWN"]


def test_period_mismatch_and_invalid(sub):
    sub.period = "2021"
    from pipeline.validate import check_extract
    assert [f.code for f in check_extract(sub.extract(), "2022").findings] == ["PERIOD_MISMATCH"]
    sub.period = "2022-13"
    assert [f.code for f in check_extract(sub.extract(), "2022").findings] == ["PERIOD_INVALID"]


def test_missing_identity(sub):
    ex = sub.extract()
    ex.identity = {}
    from pipeline.validate import check_extract
    assert sorted(f.code for f in check_extract(ex).findings) == ["IDENTITY_MISSING", "IDENTITY_MISSING"]


# -- the rules of a submission evaluated together ---------------------------------------------
@pytest.mark.parametrize("change, together", [
    (None, True),  # every rule holds
    (("add", 3), True),  # a count off: its row, column and cross-table rules fail
    (("set", float("nan")), True),  # an unreadable count: the rules through it cannot be evaluated
    (("set", 2.0 ** 60), False),  # sums beyond exact float addition: one rule at a time
    (("set", 2.5), False),  # a fraction: one rule at a time
])
def test_rules_evaluated_together_give_each_rules_own_outcome(sub, change, together):
    from pipeline.rules.linear import Ref, evaluate
    from pipeline.specs import load_tables
    from pipeline.validate import _matrix, confront, submission_rules

    key = dict(ruang="B", gol="III", sex="L")
    if change is not None:
        sub = sub.add("golongan", change[1], **key) if change[0] == "add" else sub.set("golongan", change[1], **key)
    ex = sub.extract()
    values = {Ref(c.table, c.key): float(c.value) for c in ex.cells}
    rules = submission_rules(set(ex.tables), load_tables())
    assert rules is submission_rules(set(ex.tables), load_tables())  # built once per set of tables
    alone = [evaluate(rule, values) for rule in rules]
    assert confront(rules, values) == alone
    assert (_matrix(rules).outcomes(values) is not None) == together
    if change is not None:
        assert any(o.holds is not True for o in alone)
