"""The text catalogue: every leaf speaks every language, with the same placeholders."""

import string

import pytest

from pipeline import text
from pipeline.findings import Finding, catalogue


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_leaf_has_every_language_with_the_same_placeholders():
    languages = text.languages()
    assert languages[0] == text.DEFAULT and len(languages) >= 2
    problems = []
    for key, leaf in text.leaves().items():
        if not isinstance(leaf, dict):
            problems.append(f"{key}: not a leaf of languages")
            continue
        missing = [lang for lang in languages if not leaf.get(lang)]
        if missing:
            problems.append(f"{key}: no {', '.join(missing)}")
            continue
        names = {lang: _placeholders(leaf[lang]) for lang in languages}
        if len({frozenset(v) for v in names.values()}) > 1:
            problems.append(f"{key}: placeholders differ {names}")
    assert problems == []


def test_every_key_is_text():
    """YAML 1.1 reads bare ``no``, ``yes``, ``on`` as booleans: such a key must be quoted."""
    def bad(node, path=""):
        if not isinstance(node, dict):
            return []
        return [f"{path}{k!r}" for k in node if not isinstance(k, str)] + [
            b for k, v in node.items() for b in bad(v, f"{path}{k}.")]
    assert bad(text.catalogue()) == []


def test_a_leaf_missing_a_language_is_named(monkeypatch):
    broken = {"languages": text.catalogue()["languages"], "x": {"y": {"id": "ada {n}"}}, "z": {"id": "a {n}", "en": "b"}}
    monkeypatch.setattr(text, "catalogue", lambda: broken)
    found = text.leaves()
    assert set(found) == {"x.y", "z"}
    assert "en" not in found["x.y"]
    assert _placeholders(found["z"]["id"]) != _placeholders(found["z"]["en"])


def test_every_finding_code_has_its_texts():
    assert set(text.entry("findings")) == set(catalogue())


def test_say_fills_parameters_and_keeps_unknown_ones():
    finding = Finding("VALUE_NEGATIVE", "stage:negative", actual=-3)
    assert "-3" in finding.message("id") and "negatif" in finding.message("id")
    assert "negative" in finding.message("en")
    assert text.fill("{a} {b}", {"a": 1}) == "1 {b}"
    with pytest.raises(KeyError, match="no text"):
        text.say("no.such.key")


@pytest.mark.parametrize(("value", "lang", "shown"), [
    (1009, "id", "1.009"), (1009, "en", "1,009"), (68.04, "id", "68,04"), (68.04, "en", "68.04"),
    (2.0, "id", "2"), (None, "id", "-"), ([1, 2000], "id", "1, 2.000"),
])
def test_numbers_are_written_with_the_language_marks(value, lang, shown):
    assert text.number(value, lang) == shown


def test_a_workspace_text_file_merges_over_the_shipped_one(tmp_path):
    from pipeline.specs import use_specs

    (tmp_path / "text.yaml").write_text(
        "languages:\n  jv: {name: Basa Jawa, decimal: ',', thousands: '.'}\n"
        "findings:\n  VALUE_NEGATIVE:\n    title: {jv: Angka negatif}\n", encoding="utf-8")
    try:
        use_specs(tmp_path)
        assert "jv" in text.languages()
        assert text.say("findings.VALUE_NEGATIVE.title", "jv") == "Angka negatif"
        assert text.say("findings.VALUE_NEGATIVE.title", "id") == "Nilai negatif"
        assert text.number(1009, "jv") == "1.009"
    finally:
        use_specs(None)
