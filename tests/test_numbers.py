import math

import pytest

from pipeline.labels import matches, variants
from pipeline.numbers import parse_count, parse_percent, thousands_hint


@pytest.mark.parametrize("raw, value, as_text", [
    ("1.009", 1009, True), ("1,741", 1741, True), ("12", 12, True), (" 1 009 ", 1009, True),
    ("-", 0, False), ("–", 0, False), (None, None, False), ("", None, False), (7, 7, False), (7.0, 7, False),
    ("1.234.567", 1234567, True),
])
def test_counts(raw, value, as_text):
    parsed = parse_count(raw)
    assert parsed.value == value and parsed.as_text == as_text


@pytest.mark.parametrize("raw", ["0,07", "1.5", "12,5", "1,0001"])
def test_count_decimals_are_kept_for_the_schema_to_reject(raw):
    value = parse_count(raw).value
    assert not math.isnan(value) and not float(value).is_integer()


@pytest.mark.parametrize("raw", ["abc", "1.2.3", "12a", "1,23,4", float("inf"), float("nan"), True])
def test_count_not_a_number(raw):
    assert math.isnan(parse_count(raw).value)


@pytest.mark.parametrize("raw, fraction, value", [
    ("68,04 %", False, 68.04), ("0.07 %", False, 0.07), ("68,04", False, 68.04), (68.04, False, 68.04),
    (0.6804, True, 68.04), ("100", False, 100), ("-", False, 0),
])
def test_percent(raw, fraction, value):
    assert parse_percent(raw, fraction).value == pytest.approx(value)


def test_thousands_hint():
    assert thousands_hint(1.009) == 1009
    assert thousands_hint(2.5) is None
    assert thousands_hint(12.0) is None


@pytest.mark.parametrize("text, label", [
    ("Gol. III", "GOL III"), ("GOLONGAN III", "GOL III"), ("S-1", "S1"), ("D III", "D III"),
    ("SLTA / SMA", "SLTA/SMA"), (" jumlah ", "Jumlah"), ("II.A", "II.A"), ("IIA", "II.A"),
])
def test_label_variants(text, label):
    assert matches(text, variants(label))


@pytest.mark.parametrize("raw, value, unit", [
    ("54 orang", 54, "orang"), ("12 org.", 12, "org."), ("7 jiwa", 7, "jiwa"), ("1.009 Orang", 1009, "Orang"),
    ("3 pegawai", 3, "pegawai"), ("'54 orang", 54, "orang"),
])
def test_count_with_a_unit_word_is_the_number(raw, value, unit):
    parsed = parse_count(raw)
    assert parsed.value == value and parsed.unit == unit and not parsed.not_available


@pytest.mark.parametrize("raw", ["orang", "5 orangutan", "lima orang", "54 ekor"])
def test_a_unit_word_without_a_count_is_no_number(raw):
    parsed = parse_count(raw)
    assert math.isnan(parsed.value) and parsed.unit is None


@pytest.mark.parametrize("raw", ["n/a", "N/A", "..", "...", "x", "X", " n / a "])
def test_not_available_marks(raw):
    for parsed in (parse_count(raw), parse_percent(raw)):
        assert math.isnan(parsed.value) and parsed.not_available


@pytest.mark.parametrize("raw", ["-", "abc", "12", "xx"])
def test_not_available_is_only_those_marks(raw):
    assert not parse_count(raw).not_available  # "-" stays zero
