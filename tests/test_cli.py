"""End to end: the ``rekap`` command on real files in a temporary folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import Submission
from pipeline.cli import GC_THRESHOLDS, cli

ROOT = Path(__file__).resolve().parent.parent


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_clean_csv_is_accepted_with_exit_0(tmp_path):
    path = Submission().write_csv(tmp_path / "DINDIKBUD.csv")
    result = run("validate", path, "--period", "2022")
    assert result.exit_code == 0, result.output
    assert "DITERIMA" in result.output


def test_broken_csv_is_rejected_with_exit_1_and_json_shape(tmp_path):
    good = Submission().write_csv(tmp_path / "DINDIKBUD.csv")
    bad = Submission("DINKES").add("golongan", 5, ruang="A", gol="IV", sex="P").write_csv(tmp_path / "DINKES.csv")
    result = run("validate", "--format", "json", good, bad, "--period", "2022")
    assert result.exit_code == 1
    doc = json.loads(result.output)
    assert [s["status"] for s in doc["submissions"]] == ["accepted", "rejected"]
    assert [s["opd"] for s in doc["submissions"]] == ["DINDIKBUD", "DINKES"]
    finding = doc["submissions"][1]["findings"][0]
    assert set(finding) == {"code", "severity", "rule", "table", "cell", "sheet", "address", "expected",
                            "actual", "message", "suggestion"}
    findings = doc["submissions"][1]["findings"]
    assert {f["code"] for f in findings if f["severity"] == "error"} == {"SUM_MISMATCH"}
    # the cell that was changed is located and its original value suggested
    suspect = [f for f in findings if f["code"] == "CELL_SUSPECT"]
    assert [(s["cell"], s["expected"], s["actual"]) for s in suspect] == [
        ({"ruang": "A", "gol": "IV", "sex": "P"}, 1, 6)]


def test_messages_in_english_on_request(tmp_path):
    bad = Submission().add("guru", 1, sekolah="SMP").write_csv(tmp_path / "DINDIKBUD.csv")
    indonesian = run("validate", bad, "--period", "2022").output
    english = run("validate", bad, "--period", "2022", "--lang", "en").output
    assert "tertulis" in indonesian and "reads" in english
    assert "REJECTED" in english and "DITOLAK" in indonesian


def test_text_output_is_grouped_by_table(tmp_path):
    sub = Submission().add("guru", 1, sekolah="SMP").add("cpns", 1, gol="II", ruang="A", sex="P")
    output = run("validate", sub.write_csv(tmp_path / "DINDIKBUD.csv"), "--period", "2022").output
    lines = output.splitlines()
    assert any(line.strip().startswith("Tabel 3.") for line in lines)
    assert any(line.strip().startswith("Tabel 6.") for line in lines)
    assert output.index("Tabel 3.") < output.index("Tabel 6.")


def test_usage_error_exits_2(tmp_path):
    assert run("validate").exit_code == 2
    assert run("validate", tmp_path / "x.csv", "--period", "22").exit_code == 2
    assert run("template", "--opd", "NOPE", "--period", "2022", "-o", tmp_path / "t.xlsx").exit_code == 2


@pytest.mark.parametrize("name, content, code", [
    ("DINKES.xlsx", b"this is not a workbook", "FILE_UNSUPPORTED"),
    ("DINKES.xlsx", b"PK\x03\x04 truncated zip", "FILE_CORRUPT"),
    ("DINKES.csv", b"", "FILE_EMPTY"),
    ("DINKES.pdf", b"%PDF-1.4 something", "FILE_UNSUPPORTED"),
    ("DINKES.csv", b"a,b\n1,2\n", "CSV_HEADER"),
])
def test_unreadable_files_are_findings_not_tracebacks(tmp_path, name, content, code):
    path = tmp_path / name
    path.write_bytes(content)
    good = Submission().write_csv(tmp_path / "DINDIKBUD.csv")
    result = run("validate", "--format", "json", path, good)
    assert result.exit_code == 1
    doc = json.loads(result.output)
    assert code in {f["code"] for f in doc["submissions"][0]["findings"]}
    assert doc["submissions"][1]["status"] == "accepted"  # one broken file never stops the others


def test_missing_file_is_a_finding(tmp_path):
    result = run("validate", "--format", "json", tmp_path / "nope.xlsx")
    assert result.exit_code == 1
    assert json.loads(result.output)["submissions"][0]["findings"][0]["code"] == "FILE_NOT_FOUND"


def test_csv_cell_problems(tmp_path):
    path = Submission().write_csv(tmp_path / "DINDIKBUD.csv")
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    dup = lines[1]
    unknown = lines[2].split(",")
    unknown[header.index("sex")] = "X"
    missing = lines[3]
    path.write_text("\n".join([lines[0], *[l for l in lines[1:] if l != missing], dup, ",".join(unknown)]) + "\n")
    doc = json.loads(run("validate", "--format", "json", path, "--period", "2022").output)
    codes = [f["code"] for f in doc["submissions"][0]["findings"]]
    assert {"CELL_DUPLICATE", "CELL_UNKNOWN", "CELL_MISSING"} <= set(codes)


def test_csv_lines_are_understood_alike_in_every_file_of_a_process(tmp_path):
    """The reader remembers what a line's texts name (every submission repeats them): a remembered line
    gives what a fresh one gives, and one file's texts never decide another's."""
    from pipeline.read_csv import _resolved, read_csv

    (tmp_path / "A").mkdir()
    clean = Submission().write_csv(tmp_path / "A" / "DINDIKBUD.csv")
    lines = clean.read_text().splitlines()
    header, line = lines[0].split(","), lines[2].split(",")
    line[header.index("sex")] = "X"
    broken = tmp_path / "B" / "DINDIKBUD.csv"
    broken.parent.mkdir()
    broken.write_text("\n".join([lines[0], lines[1], ",".join(line), *lines[3:]]) + "\n")

    def unknown(path):
        return [(f.params["line"], f.params["detail"]) for f in read_csv(path).findings if f.code == "CELL_UNKNOWN"]

    _resolved.clear()
    first = [unknown(broken), unknown(clean)]
    assert first == [[(3, "sex=X")], []]
    assert [unknown(broken), unknown(clean)] == first  # remembered now: the same answers
    assert read_csv(clean).cells == read_csv(clean).cells


def test_csv_without_a_table_is_table_missing(tmp_path):
    sub = Submission()
    del sub.values["golongan"]
    doc = json.loads(run("validate", "--format", "json", sub.write_csv(tmp_path / "DINDIKBUD.csv")).output)
    assert [(f["code"], f["table"]) for f in doc["submissions"][0]["findings"]
            if f["severity"] == "error"] == [("TABLE_MISSING", "golongan")]


def test_guru_table_is_only_required_of_the_education_office(tmp_path):
    sub = Submission("DINKES")
    del sub.values["guru"]
    assert run("validate", sub.write_csv(tmp_path / "DINKES.csv"), "--period", "2022").exit_code == 0


def test_python_dash_m_pipeline_works(tmp_path):
    path = Submission().write_csv(tmp_path / "DINDIKBUD.csv")
    proc = subprocess.run([sys.executable, "-m", "pipeline", "validate", str(path)], capture_output=True,
                          text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr


HEAVY = ("pandas", "pandera", "numpy", "scipy", "openpyxl", "great_expectations", "sqlalchemy", "polars", "yaml")
PROBE = """
import sys
from pipeline.cli import main
sys.argv = ["rekap", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print("imported:", " ".join(sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})))
"""


@pytest.mark.parametrize("args, allowed", [
    (["--help"], []), (["--version"], []),
    (["validate", "--help"], ["yaml"]), (["run", "--help"], ["yaml"]),  # --lang's help names the catalogue's languages
])
def test_help_and_version_import_no_heavy_library(args, allowed):
    """What ``rekap --help`` costs is Python's start and click: no dataframe, spreadsheet, solver or GX
    library (nor the YAML catalogue) is loaded to show it; a command imports them when it runs."""
    proc = subprocess.run([sys.executable, "-c", PROBE.format(heavy=set(HEAVY)), *args], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    shown, imported = proc.stdout.rsplit("imported:", 1)
    assert ("0.1.0" if args == ["--version"] else "Usage: rekap") in shown
    assert {m.split(".")[0] for m in imported.split()} <= set(allowed)


def test_validate_loads_the_solver_and_the_staff_list_libraries_only_where_they_work(tmp_path):
    """A clean submission and a one-cell slip (located by re-checking rows, no solve) cost no scipy
    import (about a second of every process's start): it is loaded only where a system is solved. Nor
    polars (a quarter of a second): every file is asked whether it is a staff list, which needs only its
    first rows; polars is loaded where a list is read."""
    good = Submission().write_csv(tmp_path / "DINDIKBUD.csv")
    slip = Submission("DINKES").add("golongan", 5, ruang="A", gol="IV", sex="P").write_csv(tmp_path / "DINKES.csv")
    proc = subprocess.run([sys.executable, "-c", PROBE.format(heavy={"scipy", "polars"}), "validate", "--format",
                           "json", "--jobs", "1", str(good), str(slip), "--period", "2022"],  # checked here
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    shown, imported = proc.stdout.rsplit("imported:", 1)
    suspect = [f for f in json.loads(shown)["submissions"][1]["findings"] if f["code"] == "CELL_SUSPECT"]
    assert [(s["cell"], s["expected"]) for s in suspect] == [({"ruang": "A", "gol": "IV", "sex": "P"}, 1)]
    assert imported.split() == []


@pytest.mark.parametrize("args", [["--version"], ["status", "--period", "1999"]])
def test_the_rekap_process_collects_garbage_at_its_own_thresholds_and_not_on_exit(args):
    """``python -m pipeline`` (and so ``rekap``) raises the collector's thresholds before any command, and
    freezes what lives once the command is done, well or not, so that exiting walks nothing."""
    code = (f"import gc, runpy, sys; sys.argv = ['rekap', *{args!r}]\n"
            "try:\n    runpy.run_module('pipeline', run_name='__main__')\n"
            "except SystemExit:\n    pass\nprint(gc.get_threshold(), gc.get_freeze_count() > 1000)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.split("\n")[-2] == f"{GC_THRESHOLDS} True" != str((700, 10, 10)), proc.stderr


def test_every_command_has_an_example_in_its_help():
    for name, command in cli.commands.items():
        assert "Example" in (command.help or ""), name


def test_every_finding_code_is_documented_in_the_readme():
    from pipeline.docs import render
    from pipeline.findings import catalogue

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert [code for code in catalogue() if f"`{code}`" not in readme] == []
    assert render(readme) == readme, "the README's finding table is stale: run `make docs`"


def test_file_name_and_identity_disagree(tmp_path):
    path = Submission("DINDIKBUD").write_csv(tmp_path / "DINKES.csv")
    doc = json.loads(run("validate", "--format", "json", path, "--period", "2022").output)
    assert [(f["code"], f["expected"], f["actual"]) for f in doc["submissions"][0]["findings"]] == [
        ("OPD_MISMATCH", "DINKES", "DINDIKBUD")]


def test_a_fault_in_the_tool_is_a_finding_and_the_other_files_are_still_checked(tmp_path, monkeypatch):
    import pipeline.validate as validate

    broken = Submission().write_csv(tmp_path / "DINDIKBUD.csv")
    fine = Submission("DINKES").write_csv(tmp_path / "DINKES.csv")
    real = validate.read_submission

    def flaky(path):
        if path.name == "DINDIKBUD.csv":
            raise RuntimeError("boom")
        return real(path)

    monkeypatch.setattr(validate, "read_submission", flaky)
    result = run("validate", "--format", "json", broken, fine, "--period", "2022")
    assert result.exit_code == 1
    first, second = json.loads(result.output)["submissions"]
    assert [f["code"] for f in first["findings"]] == ["INTERNAL_ERROR"]
    assert "boom" in first["findings"][0]["detail"] and "boom" not in first["findings"][0]["message"]
    assert second["status"] == "accepted"


def test_a_folder_means_every_submission_in_it(tmp_path):
    folder = tmp_path / "2022"
    folder.mkdir()
    Submission("DINKES").write_csv(folder / "DINKES.csv")
    Submission("DINSOS").write_csv(folder / "DINSOS.csv")
    (folder / "~$DINKES.xlsx").write_bytes(b"Excel's lock file")
    doc = json.loads(run("validate", "--format", "json", folder).output)
    assert [s["opd"] for s in doc["submissions"]] == ["DINKES", "DINSOS"]
