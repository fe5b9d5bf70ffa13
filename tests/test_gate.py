"""The publish gate: consistent city tables pass; each kind of break fails with a line naming it."""

from __future__ import annotations

import copy
import re
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import TABLES, consistent_values
from pipeline.complete import complete, inner_cells
from pipeline.consolidate import Source, consolidate
from pipeline.gate import Judged, checks, run_gate
from pipeline.rules.cross import city_rules, cross_rules
from pipeline.rules.percent import share_rules, total_rules
from pipeline.rules.sums import sum_rules
from pipeline.sample import consistent_submission, opd_rng
from pipeline import text
from pipeline.specs import load_registry


def _no_network(*args, **kwargs):
    raise AssertionError("the gate tried to open a network connection")


@pytest.fixture(scope="module")
def offline():
    """No socket may connect while the gate runs (GX must not phone home)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", _no_network)
        mp.setattr(socket.socket, "connect_ex", _no_network)
        mp.setattr(socket, "create_connection", _no_network)
        yield


@pytest.fixture(scope="module")
def gate(offline):
    """Run the gate on a city without Data Docs (~0.3 s; the first run also imports GX, ~3 s), its lines
    in English."""
    return lambda city: run_gate(city, "2022", None, lang="en")


def city_with(table: str, recompute: bool = True, **changes) -> dict:
    """The consistent city with cells of ``table`` set (``changes``: key text -> value).

    A key is written as ``"ruang=A|gol=II|sex=L"``. With ``recompute`` the table's totals and
    percentages are recomputed from its inner cells, so only the intended rule breaks.
    """
    city = copy.deepcopy(consistent_values())
    spec = TABLES[table]
    for text, value in changes.items():
        key = spec.key(dict(part.split("=") for part in text.split("|")))
        assert spec.has_cell(key), text
        city[table][key] = value
    if recompute:
        city[table] = complete(spec, {k: city[table][k] for k in inner_cells(spec)})
    return city


def lines_with(result, *words) -> list[str]:
    return [f for f in result.failures if all(w in f for w in words)]


def title(table: str, lang: str = "en") -> str:
    return TABLES[table].title[lang]


def members(table: str, lang: str = "en", **cell) -> str:
    """A cell's members as the gate's lines say them: labels in the table's order, a list joined by +."""
    spec = TABLES[table]
    return " ".join("+".join(text.label(spec.dim(n).member(c).label, lang) for c in cell[n].split("+"))
                    for n in spec.dim_names if n in cell)


# -- passing ------------------------------------------------------------------------------------

def test_a_consistent_city_passes_and_gets_data_docs(offline, tmp_path):
    result = run_gate(consistent_values(), "2022", tmp_path / "reports" / "2022" / "gx")
    assert result.ok, result.failures
    assert result.failures == [] and result.warnings == []
    assert result.docs_index is not None and result.docs_index.name == "index.html"
    assert result.docs_index.is_file()
    site = result.docs_index.parent
    index = result.docs_index.read_text(encoding="utf-8")
    for check in ("counts", "percents", "sums", "cross_equal", "cross_at_most", "plausibility", "percent_totals"):
        assert f"expectations/{check}.html" in index
        assert len(list((site / "validations" / check).rglob("*.html"))) == 1


def test_a_consolidated_city_of_several_opds_passes(gate):
    registry = load_registry()
    sources = [Source(code, "sha", consistent_submission(registry[code], opd_rng(2022, code)))
               for code in ("SETDA", "DINDIKBUD", "DINKES", "RSUD", "KEC-SERANG", "BKPSDM")]
    city, _ = consolidate(sources)
    result = gate(city)
    assert result.ok, result.failures


def test_a_rerun_into_the_same_folder_keeps_only_its_own_pages(offline, tmp_path):
    city = consistent_values()
    run_gate(city, "2022", tmp_path)
    result = run_gate(city, "2022", tmp_path)
    assert result.ok and result.docs_index == tmp_path.resolve() / "index.html"
    assert len(list((tmp_path / "validations" / "sums").rglob("*.html"))) == 1


def test_a_judgement_stands_only_for_the_very_frames_it_judged(offline, tmp_path, monkeypatch):
    from pipeline import gate as gate_module

    # implausible but not blocking: the judgement passes with a warning, which a reuse says again
    city = city_with("eselon", **{"status=terisi|eselon=II.B|sex=L": 4, "status=disiapkan|eselon=II.B|sex=JML": 4})
    first = run_gate(city, "2022", tmp_path)
    assert first.ok and first.warnings and first.reused_from is None
    judged = Judged(first.judged_input, "R1", first.outcomes)
    asked = []
    real = gate_module._confront
    monkeypatch.setattr(gate_module, "_confront", lambda *args: asked.append(1) or real(*args))
    again = run_gate(copy.deepcopy(city), "2022", tmp_path, judged=judged)
    assert asked == [] and again.ok and again.reused_from == "R1" and again.judged_input == first.judged_input
    assert (again.warnings, again.outcomes, again.docs_index) == (first.warnings, first.outcomes, first.docs_index)
    other = run_gate(consistent_values(), "2022", tmp_path, judged=judged)  # other tables: GX judges them
    assert asked == [1] and other.reused_from is None and other.judged_input != first.judged_input
    elsewhere = run_gate(city, "2022", tmp_path / "empty", judged=judged)  # no Data Docs there: judged again
    assert asked == [1, 1] and elsewhere.reused_from is None and elsewhere.docs_index.is_file()


def test_the_sums_frame_has_one_row_per_sum_rule():
    frames = {c.name: c.frame for c in checks(consistent_values())}
    assert len(frames["sums"]) == sum(len(sum_rules(spec)) for spec in TABLES.values())
    assert (frames["sums"]["imbalance"] == 0).all()
    assert len(frames["counts"]) + len(frames["percents"]) == sum(len(s.cells) for s in TABLES.values())



def test_the_gate_expectations_come_from_the_rules():
    frames = {c.name: c.frame for c in checks(consistent_values())}
    cross = pd.concat([frames["cross_equal"], frames["cross_at_most"], frames["plausibility"]])
    assert set(cross["rule"]) == {r.rule for r in (*cross_rules(), *city_rules())}
    assert len(frames["percents"]) == sum(len(share_rules(s)) for s in TABLES.values())
    assert len(frames["percent_totals"]) == sum(len(total_rules(s)) for s in TABLES.values())


def test_every_expectation_has_its_title_and_its_failing_row_in_every_language():
    expects = {e.name: e for c in checks(consistent_values()) for e in c.expects}
    assert len(expects) == 14
    for name, e in expects.items():
        assert text.entry(f"gate_page.expectations.{name}")["en"] == e.title  # GX's Data Docs say the same
        rows = text.entry(f"gate_page.rows.{name}")
        assert set(rows) == {"id", "en"} and rows["id"] != rows["en"]


def test_one_ii_a_official_city_wide_passes(gate):
    result = gate(city_with("eselon", **{"status=terisi|eselon=II.A|sex=L": 1,
                                         "status=disiapkan|eselon=II.A|sex=JML": 1}))
    assert result.ok, result.failures


# -- failing ------------------------------------------------------------------------------------

def test_a_changed_total_fails_and_the_data_docs_show_it(offline, tmp_path):
    city = city_with("golongan", recompute=False, **{"ruang=JML|gol=III|sex=L": 11})  # 10 in truth
    result = run_gate(city, "2022", tmp_path, lang="en")
    assert not result.ok
    assert lines_with(result, "Totals and their parts: total differs from the sum of its parts: ",
                      f"{title('golongan')}, {members('golongan', ruang='JML', gol='III', sex='L')} = 11, "
                      "its parts sum to 10")
    page = next((tmp_path / "validations" / "sums").rglob("*.html")).read_text(encoding="utf-8")
    assert "every total equals the sum of its parts" in page and "ruang=JML|gol=III|sex=L" in page


def test_a_negative_count_fails(gate):
    result = gate(city_with("guru", **{"sekolah=SMP": -2}))
    assert not result.ok
    assert result.failures == [f"Counts: negative count: {title('guru')}, {members('guru', sekolah='SMP')} = -2"]


def test_a_count_that_is_not_whole_fails(gate):
    result = gate(city_with("guru", **{"sekolah=SD": 4.5}))
    assert not result.ok
    assert f"Counts: count is not a whole number: {title('guru')}, {members('guru', sekolah='SD')} = 4.50" \
        in result.failures
    assert all(f.startswith(f"Counts: count is not a whole number: {title('guru')}, ") for f in result.failures)


def test_a_percent_column_not_summing_to_100_fails(gate):
    city = city_with("pendidikan", recompute=True)
    spec = TABLES["pendidikan"]
    s1 = spec.key({"pendidikan": "S1", "sex": "JML", "measure": "pct"})
    city["pendidikan"][s1] += 1.5
    result = gate(city)
    assert not result.ok
    assert lines_with(result, "Percent columns: percent column does not sum to 100: ",
                      f"{title('pendidikan')}, {members('pendidikan', sex='JML', measure='pct')}: "
                      "11 shares sum to 101.50")
    assert lines_with(result, "Percentages: percent does not match its count: ",
                      members("pendidikan", pendidikan="S1", sex="JML", measure="pct"))


def test_a_percent_above_100_fails(gate):
    city = city_with("pendidikan")
    city["pendidikan"][TABLES["pendidikan"].key({"pendidikan": "JML", "sex": "JML", "measure": "pct"})] = 100.5
    result = gate(city)
    assert lines_with(result, "Percentages: percent outside 0..100: ",
                      f"{members('pendidikan', pendidikan='JML', sex='JML', measure='pct')} = 100.50")


def test_golongan_total_unlike_pendidikan_total_fails(gate):
    result = gate(city_with("pendidikan", **{"pendidikan=S1|sex=L|measure=count": 12}))  # 11 in golongan
    assert not result.ok
    rule = text.say("findings.CROSS_TOTAL_MISMATCH.title", "en")  # what the rule checks, not its id
    assert lines_with(result, f"Tables agreeing: tables disagree: {rule}, ",
                      f": {title('pendidikan')} 20 != {title('golongan')} 19")
    assert lines_with(result, rule, f": {title('pendidikan')} 35 != {title('golongan')} 34")
    assert not lines_with(result, "Totals and their parts:")


def test_more_cpns_than_pns_in_a_rank_fails(gate):
    result = gate(city_with("cpns", **{"gol=II|ruang=A|sex=L": 2}))  # golongan II/a L holds 1
    assert not result.ok
    assert lines_with(result, "Bounds across tables: a count exceeds its bound: ",
                      text.say("findings.CPNS_EXCEEDS_PNS.title", "en"),
                      f"{members('cpns', gol='II', ruang='A', sex='L')}: {title('cpns')} 2 > {title('golongan')} 1")


def test_two_ii_a_officials_city_wide_fail(gate):
    result = gate(city_with("eselon", **{"status=terisi|eselon=II.A|sex=L": 2,
                                         "status=disiapkan|eselon=II.A|sex=JML": 2}))
    assert not result.ok
    assert lines_with(result, f"{title('eselon')} 2 > limit 1")


def test_a_warning_rule_is_reported_but_does_not_block(gate):
    # 4 filled II.B posts, but only 3 PNS hold IV/b or above (PP 13/2002): implausible, not an error
    result = gate(city_with("eselon", **{"status=terisi|eselon=II.B|sex=L": 4,
                                         "status=disiapkan|eselon=II.B|sex=JML": 4}))
    assert result.ok, result.failures
    assert any(w.startswith("Plausibility: implausible counts: ") and members("eselon", eselon="II.A+II.B") in w
               and f"{title('eselon')} 4 > {title('golongan')} 3" in w for w in result.warnings)


def test_a_missing_cell_fails_rather_than_passing_silently(gate):
    city = consistent_values()
    del city["golongan"][TABLES["golongan"].key({"ruang": "A", "gol": "II", "sex": "L"})]
    result = gate(city)
    assert not result.ok
    assert lines_with(result, "Counts: count missing or not a number: ",
                      f"{title('golongan')}, {members('golongan', ruang='A', gol='II', sex='L')}")


def test_the_failing_rows_are_told_in_the_users_words_without_internal_ids(gate):
    """By default in Indonesian: each line names its group and what failed, the table by its title, the cell
    by its members and a rule across tables by what it checks; never a table id, a key text or a rule id
    (the officer reads them on the console and on the gate page)."""
    city = city_with("pendidikan", **{"pendidikan=S1|sex=L|measure=count": 12})  # 11 in golongan
    city["guru"][TABLES["guru"].key({"sekolah": "SMP"})] = -2
    result = run_gate(city, "2022", None)
    assert not result.ok
    assert lines_with(result, f"Jumlah pegawai: jumlah negatif: {title('guru', 'id')}, "
                              f"{members('guru', 'id', sekolah='SMP')} = -2")
    assert lines_with(result, f"Kecocokan antartabel: tabel tidak cocok: {text.say('findings.CROSS_TOTAL_MISMATCH.title')}, ",
                      f": {title('pendidikan', 'id')} 20 ≠ {title('golongan', 'id')} 19")
    rules = {r.rule for r in (*cross_rules(), *city_rules())}
    told = result.failures + [row for o in result.outcomes for row in o["rows"]]
    assert len(told) == 2 * len(result.failures) > 2
    for line in told:
        assert not re.search(r"\w=\w", line) and not any(rule in line for rule in rules), line
        assert not re.search(rf"\b({'|'.join(TABLES)})\b", line), line  # table ids (lower case) never


def test_a_gx_fault_fails_the_gate_instead_of_crashing(offline, tmp_path, monkeypatch):
    import great_expectations as gx

    def broken(*args, **kwargs):
        raise RuntimeError("store exploded")
    monkeypatch.setattr(gx, "get_context", broken)
    result = run_gate(consistent_values(), "2022", tmp_path, lang="en")
    assert not result.ok and result.docs_index is None
    assert result.failures == ["the gate could not run: RuntimeError: store exploded"]


def test_a_fault_while_telling_the_failing_rows_fails_the_gate_instead_of_crashing(gate, monkeypatch):
    from pipeline import gate as gate_module

    def broken(*args, **kwargs):
        raise KeyError("no words")
    monkeypatch.setattr(gate_module, "_row_words", broken)
    result = gate(city_with("guru", **{"sekolah=SMP": -2}))
    assert not result.ok and result.failures == ["the gate could not run: KeyError: 'no words'"]


def test_validate_never_imports_great_expectations():
    code = ("import sys, pipeline.cli, pipeline.validate, pipeline.gate; "
            "sys.exit('great_expectations' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_the_gate_does_not_run_what_gx_imports_for_expectations_it_never_uses(tmp_path):
    """scipy.stats and altair (GX's KL-divergence and KS-test expectations) are imported lazily: not run by
    a gate and its Data Docs, and still there, run on first use, for anything that reads them."""
    code = ("import sys; sys.path.insert(0, 'tests'); from conftest import consistent_values; "
            "from pipeline.gate import run_gate; r = run_gate(consistent_values(), '2022', sys.argv[1]); "
            "assert r.ok and r.docs_index.is_file(); "
            "print(sorted(m for m in ('scipy.stats', 'altair') if type(sys.modules[m]).__name__ == '_LazyModule')); "
            "from great_expectations.expectations.core import expect_column_kl_divergence_to_be_less_than as kl; "
            "print(kl.stats.entropy([0.5, 0.5], [0.5, 0.5]), kl.alt.Chart.__name__, "
            "type(sys.modules['scipy.stats']).__name__)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, capture_output=True, text=True,
                         cwd=Path(__file__).parent.parent).stdout.splitlines()
    assert out == ["['altair', 'scipy.stats']", "0.0 Chart module"]


def test_a_table_missing_from_the_city_fails(gate):
    city = {table: cells for table, cells in consistent_values().items() if table != "guru"}
    result = gate(city)
    assert not result.ok
    assert result.failures == [f"Counts: count missing or not a number: {title('guru')}, {members('guru', sekolah=s)}"
                               for s in ("SD", "SMP", "JML")]


def test_an_expectation_gx_cannot_evaluate_is_a_gate_error(offline, monkeypatch):
    import pandas as pd

    from pipeline import gate as gate_module
    bad = gate_module.Check("bad", pd.DataFrame({"table": ["guru"], "key": ["sekolah=SD"], "value": ["lima"]}),
                            ("table", "key", "value"),
                            (gate_module.Expect("ExpectColumnValuesToBeBetween", {"column": "value", "min_value": 0},
                                                "count_positive", "every count is >= 0"),))
    monkeypatch.setattr(gate_module, "checks", lambda city, tables=None, city_scope=True: [bad])
    result = run_gate(consistent_values(), "2022", None, lang="en")
    assert not result.ok
    assert len(result.failures) == 1
    assert result.failures[0].startswith("bad: the gate could not evaluate every count is >= 0: ")
