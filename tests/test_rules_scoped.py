"""The rule kinds beyond one table's sums: a constant term, the city scope and the period scope, each
with a passing and a failing fixture, declared in ``rules.yaml`` and evaluated by the rule engine."""

from __future__ import annotations

import copy

import pytest
import yaml

from conftest import TABLES, Submission, consistent_values
from pipeline.findings import flatten
from pipeline.rules.cross import city_rules, compiled, cross_rules, period_rules
from pipeline.rules.scoped import city_breaches, city_finding, period_findings
from pipeline.specs import SCHEMAS, staff_cell, use_specs

II_A = TABLES["eselon"].key({"status": "terisi", "eselon": "II.A", "sex": "JML"})
STAFF = TABLES["golongan"].key({"ruang": "JML", "gol": "JML", "sex": "JML"})


def with_ii_a(n: int) -> dict:
    values = copy.deepcopy(consistent_values())
    values["eselon"][II_A] = n
    return values


def with_staff(n: float) -> dict:
    values = copy.deepcopy(consistent_values())
    values["golongan"][STAFF] = n
    return values


# -- the rulebook ---------------------------------------------------------------------------------

def test_every_rule_of_the_rulebook_has_one_scope():
    assert {r.rule for r in city_rules()} == {"eselon_ii_a_city"}
    assert {r.rule for r in period_rules()} == {"headcount_change"}
    assert not {r.rule for r in cross_rules()} & {"eselon_ii_a_city", "headcount_change"}
    assert len(compiled()) == len(cross_rules()) + len(city_rules()) + len(period_rules())


def test_the_staff_cell_has_one_name_in_data():
    assert staff_cell() == ("golongan", {"ruang": "JML", "gol": "JML", "sex": "JML"})
    (rule,) = period_rules()
    assert [r.key for r in rule.refs] == [STAFF]


# -- constant term --------------------------------------------------------------------------------

@pytest.fixture
def rulebook_with(tmp_path):
    """A workspace whose ``rules.yaml`` adds one rule to the shipped ones."""
    def add(rule: dict):
        book = yaml.safe_load((SCHEMAS / "rules.yaml").read_text(encoding="utf-8"))
        book["rules"].append(rule)
        (tmp_path / "rules.yaml").write_text(yaml.safe_dump(book, sort_keys=False), encoding="utf-8")
        use_specs(tmp_path)
    yield add
    use_specs()


def filled_at_most(n: int) -> dict:
    return {"id": "filled_posts_at_most", "code": "FILLED_EXCEEDS_AVAILABLE", "kind": "at_most",
            "left": {"table": "eselon", "select": {"status": "terisi"}}, "right": n}


def test_a_constant_term_that_holds(rulebook_with):
    rulebook_with(filled_at_most(8))  # the base submission fills 8 posts
    (rule,) = [r for r in cross_rules() if r.rule == "filled_posts_at_most"]
    assert (rule.rhs, rule.const) == ((), 8)
    result = Submission().check()
    assert result.findings == []


def test_a_constant_term_that_fails(rulebook_with):
    rulebook_with(filled_at_most(7))
    result = Submission().check()
    (finding,) = [f for f in result.findings if f.severity == "error"]
    assert (finding.rule, finding.code, finding.actual, finding.expected) == ("filled_posts_at_most",
                                                                              "FILLED_EXCEEDS_AVAILABLE", 8, 7)
    assert result.status == "rejected"


# -- city scope -----------------------------------------------------------------------------------

def test_one_ii_a_city_wide_holds():
    assert city_breaches({"SETDA": with_ii_a(1), "DINKES": with_ii_a(0)}, city_rules()) == []


def test_two_ii_a_city_wide_break_the_city_rule_for_both_opds():
    (breach,) = city_breaches({"SETDA": with_ii_a(1), "DINKES": with_ii_a(1), "DINSOS": with_ii_a(0)},
                              city_rules())
    assert (breach.rule.rule, breach.total, breach.bound, breach.parts) == (
        "eselon_ii_a_city", 2, 1, {"DINKES": 1, "SETDA": 1})
    finding = city_finding(breach)
    assert flatten([finding]) == [("ESELON_II_A_CITY", "eselon",
                                   (("eselon", "II.A"), ("sex", "JML"), ("status", "terisi")))]
    assert (finding.severity, finding.actual, finding.expected, finding.params["detail"]) == (
        "error", 2, 1, "DINKES 1, SETDA 1")


# -- period scope ---------------------------------------------------------------------------------

def test_a_headcount_within_15_percent_of_the_previous_period_holds():
    assert period_findings("DINKES", with_staff(115), ("2021", with_staff(100)), period_rules()) == []
    assert period_findings("DINKES", with_staff(115), None, period_rules()) == []  # no previous period


def test_a_headcount_change_beyond_15_percent_is_a_warning():
    (finding,) = period_findings("DINKES", with_staff(116), ("2021", with_staff(100)), period_rules())
    assert (finding.code, finding.severity, finding.table, finding.actual, finding.expected) == (
        "HEADCOUNT_CHANGE", "warning", "golongan", 116, 100)
    assert finding.params == {"opd": "DINKES", "previous": "2021", "change": "+16%"}
    (down,) = period_findings("DINKES", with_staff(80), ("2021", with_staff(100)), period_rules())
    assert down.params["change"] == "-20%"
