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


def test_numbers_with_fixed_decimals():
    assert text.number(93.0, "id", 1) == "93,0" and text.number(1234.5, "en", 2) == "1,234.50"
    assert text.number(1234.5, "id", 2) == "1.234,50"


@pytest.mark.parametrize("lang, rest", [("id", "A000, A001, A002 dan 1.197 lainnya"),
                                        ("en", "A000, A001, A002 and 1,197 more")])
def test_a_long_list_shows_its_first_names_and_says_how_many_more(lang, rest):
    names = [f"A{k:03d}" for k in range(1200)]
    assert text.first(names, 3, lang) == rest
    assert text.first(names[:3], 3, lang) == "A000, A001, A002"  # nothing left out: nothing said
    assert text.first(names, None, lang) == ", ".join(names)  # no cap: every name (a published note)


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


# Modules whose words have not moved into the catalogue yet (issue 10: their owners move them); the
# lead empties this list as they land. Every other module of pipeline/ holds no id/en text. (specs.py:
# a member's default label; read_csv.py: CSV_MIXED_IDENTITY's `field` parameter, pre-rendered.)
NOT_YET_CONVERTED: set[str] = set()  # every module is converted


def _language_text(path) -> list[str]:
    """Where a module holds per-language text: a dict with two or more language keys (``{"id": ...,
    "en": ...}``), a comparison with a language (``lang == "en"``) or a tuple of languages."""
    import ast

    languages = set(text.LANGUAGES)
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        consts = []
        if isinstance(node, ast.Dict):
            consts = [k.value for k in node.keys if isinstance(k, ast.Constant)]
        elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            consts = [e.value for e in node.elts if isinstance(e, ast.Constant)]
        if len(languages & {c for c in consts if isinstance(c, str)}) >= 2:
            found.append(f"{path}:{node.lineno}")
        if isinstance(node, ast.Compare) and isinstance(node.left, ast.Name) and node.left.id == "lang" and any(
                isinstance(c, ast.Constant) and c.value in languages for c in node.comparators):
            found.append(f"{path}:{node.lineno}")
    return found


def test_no_module_holds_per_language_text():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    found = [where for path in sorted((root / "pipeline").rglob("*.py"))
             if path.relative_to(root).as_posix() not in NOT_YET_CONVERTED
             for where in _language_text(path)]
    assert found == []


def test_the_scan_sees_per_language_text(tmp_path):
    module = tmp_path / "m.py"
    module.write_text('A = {"id": "ya", "en": "yes"}\nB = "x" if lang == "en" else "y"\nC = ("id", "en")\n',
                      encoding="utf-8")
    assert len(_language_text(module)) == 3


def test_not_yet_converted_modules_exist():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    assert all((root / name).is_file() and _language_text(root / name) for name in NOT_YET_CONVERTED)


def test_codes_in_params_are_put_in_words_when_shown():
    """Findings carry codes and structured parameters; their words come from the catalogue when shown."""
    from pipeline.limits import LIMITS, too_large

    for name in LIMITS:
        finding = too_large("x.xlsx", name, LIMITS[name].value + 1)
        assert finding.params["what"] == name
        assert all(text.say(f"findings.FILE_TOO_LARGE.values.what.{name}", lang) in finding.message(lang)
                   for lang in text.LANGUAGES)
    skipped = Finding("ENTRY_SKIPPED", "file:discover", params={"name": "a", "kind": "fifo"})
    assert "pipa (FIFO)" in skipped.message("id") and "a pipe (FIFO)" in skipped.message("en")
    twice = Finding("STAFF_NIP_DUPLICATE", "staff:nip_unique", params={
        "row": "3", "opd": "DINKES", "nip": "1990…", "count": 2,
        "others": [{"opd": "BAPPEDA", "file": "b.xlsx", "row": "1234"}]})
    assert "BAPPEDA (b.xlsx, baris 1234)" in twice.message("id")
    assert "BAPPEDA (b.xlsx, row 1234)" in twice.message("en")
    young = Finding("STAFF_NIP_TMT", "staff:nip_tmt", params={"row": "3", "opd": "-", "nip": "-", "value": "2010-01",
                                                             "detail": "tmt_young", "min_age": 18, "period": "2022"})
    assert "kurang dari 18 tahun" in young.message("id") and "less than 18 years" in young.message("en")


def test_sum_parts_are_member_codes_named_when_shown():
    from pipeline.specs import load_tables
    from pipeline.validate import parts_label
    from pipeline.rules.sums import sum_rules

    tables = load_tables()
    rule = next(r for r in sum_rules(tables["golongan"]) if r.code == "SUM_MISMATCH")
    parts = parts_label(rule, tables)
    assert parts and all(isinstance(p, dict) and set(p) <= set(tables["golongan"].dim_names) for p in parts)
    finding = Finding("SUM_MISMATCH", rule.rule, "golongan", rule.anchor_cell, actual=1, expected=2,
                      params={"parts": parts})
    shown = finding.message("id")
    assert "{parts}" not in shown and " + " in shown


def test_findings_stored_with_text_in_params_still_show():
    """A catalog written by an older rekap holds ``{"id": ..., "en": ...}`` parameters: still shown."""
    old = Finding("FILE_TOO_LARGE", "file:limits", actual=60, expected=50, params={
        "file": "a.xlsx", "what": {"id": "jumlah lembar kerja", "en": "number of sheets"}, "limit": 50})
    assert "jumlah lembar kerja 60" in old.message("id")
    assert "number of sheets is 60" in old.message("en")


def test_a_stored_note_is_shown_in_the_readers_language(tmp_path):
    """The catalog keeps a run's message as a key and parameters, never as words of one language."""
    from pipeline.catalog import Catalog
    from pipeline.run import fault_note

    catalog = Catalog(tmp_path / "catalog.sqlite")
    catalog.start_run("r1", "2022", "2022-01-01T00:00:00")
    catalog.start_run("r2", "2022", "2022-01-01T00:01:00")  # r1 never ended: it was killed
    stored = {r["id"]: r["message"] for r in catalog.runs("2022", limit=5)}["r1"]
    catalog.close()
    assert text.shown(stored, "id") == "run berhenti sebelum selesai"
    assert text.shown(stored, "en") == "the run stopped before it ended"
    full = fault_note(OSError(28, "No space left on device", "processed/x"))
    assert "penuh" in text.shown(full, "id") and "full" in text.shown(full, "en")
    assert text.shown("words stored by rekap 0.1", "en") == "words stored by rekap 0.1"
    assert text.shown(None) == ""


def test_a_language_a_workspace_adds_is_spoken_on_the_command_line(tmp_path):
    from click.testing import CliRunner

    from conftest import Submission
    from pipeline.cli import cli
    from pipeline.specs import use_specs

    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "text.yaml").write_text(
        "languages:\n  jv: {name: Basa Jawa, decimal: ',', thousands: '.'}\n"
        "findings:\n  VALUE_NEGATIVE:\n    message: {jv: 'Sel {where} isine {actual}; cacah pegawai ora kena negatif.'}\n",
        encoding="utf-8")
    path = Submission("DINKES").set("golongan", -3, ruang="A", gol="II", sex="L").write_csv(tmp_path / "DINKES.csv")
    try:
        spoken = CliRunner().invoke(cli, ["validate", "-w", str(tmp_path), "--lang", "jv", str(path)])
        assert spoken.exit_code == 1, spoken.output
        assert "ora kena negatif" in spoken.output and "-3" in spoken.output
        unknown = CliRunner().invoke(cli, ["validate", "-w", str(tmp_path), "--lang", "zz", str(path)])
        assert unknown.exit_code == 2 and "zz" in unknown.output and "jv" in unknown.output
        assert "Traceback" not in unknown.output
    finally:
        use_specs(None)
