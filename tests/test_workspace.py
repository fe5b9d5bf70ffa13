"""The workspace (``rekap init``, ``rekap.toml``, registry and spec overrides, how it is found) and a
collection month as the data officer lives it, with the ``rekap`` command on real files in a
temporary workspace: new period -> templates -> partial run (sementara) -> resubmissions under other
names -> final. Also: files that are not submissions, usage errors, status, output formats.

The workspace has its own three-OPD registry (a workspace override), which keeps the runs short.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import shutil
import sqlite3
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import Callers, Submission
from pipeline.catalog import Catalog
from pipeline.cli import cli
from pipeline.coverage import status_labels
from pipeline.specs import load_registry, use_specs
from pipeline.template import build_workbook

PERIOD = "2023"
REGISTRY = """code,name,type,leader
DINKES,Dinas Kesehatan,dinas,III.A
DINDIKBUD,Dinas Pendidikan dan Kebudayaan,dinas,II.B
INSP,Inspektorat,inspektorat,II.B
"""


@pytest.fixture(autouse=True)
def shipped_specs():
    """Each test's workspace activates its own registry: go back to the shipped specs afterwards."""
    yield
    use_specs()


def rekap(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


class Workspace:
    def __init__(self, root: Path):
        self.root = root
        result = rekap("init", root, "--agency", "BKPSDM Kota Contoh")
        assert result.exit_code == 0, result.output
        (root / "registry.csv").write_text(REGISTRY, encoding="utf-8")

    def configure(self, text: str) -> None:
        config = self.root / "rekap.toml"
        config.write_text(config.read_text(encoding="utf-8") + text, encoding="utf-8")

    def __call__(self, *args, env=None):
        return rekap(*args, "--workspace", self.root, env=env)

    def submit(self, sub: Submission, name: str, mtime: float | None = None) -> Path:
        """``sub`` as the OPD would send it: the template filled in, saved as ``name``."""
        use_specs(None, self.root / "registry.csv")
        path = self.root / "raw" / sub.period / name
        build_workbook(load_registry()[sub.opd], sub.period, sub.values).save(path)
        if mtime is not None:
            os.utime(path, (mtime, mtime))
        return path

    def manifest(self) -> dict:
        return json.loads((self.root / "processed" / PERIOD / "manifest.json").read_text(encoding="utf-8"))

    def inputs(self) -> dict[str, dict]:
        return {i["file"]: i for i in self.manifest()["inputs"]}

    def coverage(self) -> pd.DataFrame:
        return pd.read_csv(self.root / "processed" / PERIOD / "coverage.csv", keep_default_na=False).set_index("opd")

    def report(self, name: str) -> str:
        return (self.root / "reports" / PERIOD / name).read_text(encoding="utf-8")

    def sql(self, query: str) -> list:
        db = sqlite3.connect(self.root / "processed" / "catalog.sqlite")
        try:
            return db.execute(query).fetchall()
        finally:
            db.close()


@pytest.fixture
def ws(tmp_path):
    return Workspace(tmp_path / "kerja")


def broken(opd: str) -> Submission:
    return Submission(opd, PERIOD).add("golongan", 5, ruang="A", gol="IV", sex="P")  # a total that does not add up


def test_a_new_periods_templates_are_written_by_the_workers_and_the_same_bytes_with_one_job_or_two(ws, monkeypatch):
    """A national registry has 20,000 templates (half a minute a thousand on one core): `rekap period new`
    writes them on the pool, each the same bytes whatever the number of jobs."""
    import pipeline.template

    writers = Callers(monkeypatch, ws.root.parent / "writers", pipeline.template, "write_template",
                      lambda path: Path(path).stem)
    templates = ws.root / "templates" / PERIOD
    written = {}
    for jobs in ("1", "2"):
        result = ws("period", "new", PERIOD, "--jobs", jobs)
        assert result.exit_code == 0, result.output
        written[jobs] = {p.name: p.read_bytes() for p in sorted(templates.iterdir())}
        assert writers.forked() == (set() if jobs == "1" else {"DINDIKBUD", "DINKES", "INSP"})  # one job: none forked
        shutil.rmtree(templates)
    assert sorted(written["1"]) == ["DINDIKBUD.xlsx", "DINKES.xlsx", "INSP.xlsx", "PETUNJUK.txt"]
    assert written["1"] == written["2"]


def test_a_month_new_period_partial_resubmissions_final(ws):
    # new period: raw/2023/, one template per OPD and the instructions
    result = ws("period", "new", PERIOD)
    assert result.exit_code == 0, result.output
    templates = ws.root / "templates" / PERIOD
    assert sorted(p.name for p in templates.glob("*.xlsx")) == ["DINDIKBUD.xlsx", "DINKES.xlsx", "INSP.xlsx"]
    letter = (templates / "PETUNJUK.txt").read_text(encoding="utf-8")
    assert "periode 2023" in letter and "BKPSDM Kota Contoh" in letter and "DINKES-revisi.xlsx" in letter
    assert (ws.root / "raw" / PERIOD).is_dir() and not any((ws.root / "raw" / PERIOD).iterdir())
    assert ws("validate", templates / "INSP.xlsx").exit_code == 1  # an untouched template is not a submission

    # partial: DINKES accepted, DINDIKBUD rejected, INSP silent -> provisional
    ws.submit(Submission("DINKES", PERIOD), "DINKES.xlsx")
    ws.submit(broken("DINDIKBUD"), "DINDIKBUD.xlsx")
    result = ws("run")  # no --period: the latest period folder in raw/
    assert result.exit_code == 1, result.output
    assert "Status rilis: SEMENTARA" in result.output
    release = ws.manifest()["release"]
    assert (release["status"], release["included"], release["required"]) == ("sementara", 1, 3)
    assert release["missing"] == ["DINDIKBUD", "INSP"]
    assert ws.sql("SELECT status, opds_included FROM rekap_release") == [("sementara", 1)]
    assert ws.sql("SELECT DISTINCT release FROM rekap_cells") == [("sementara",)]
    book = openpyxl.load_workbook(ws.root / "processed" / PERIOD / f"profil-kepegawaian-{PERIOD}.xlsx")
    notes = [c for row in book.worksheets[0].iter_rows(values_only=True) for c in row if c]
    assert "Status rilis" in notes and any(str(c).startswith("SEMENTARA") for c in notes)
    assert "SEMENTARA" in str(book.worksheets[1]["A2"].value or "") + "".join(
        str(c) for row in book.worksheets[1].iter_rows(max_row=3, values_only=True) for c in row if c)
    assert 'id="provisional-mark"' in ws.report("profil.html")
    assert 'data-status="sementara"' in ws.report("index.html")

    # resubmissions under other names: DINDIKBUD's correction accepted, INSP's first file accepted
    ws.submit(Submission("DINDIKBUD", PERIOD), "DINDIKBUD revisi (2).xlsx")
    ws.submit(Submission("INSP", PERIOD), "rekap inspektorat.xlsx")
    result = ws("run")
    assert result.exit_code == 0, result.output  # the superseded rejected file no longer counts
    inputs = ws.inputs()
    assert inputs["DINDIKBUD.xlsx"]["superseded"] and not inputs["DINDIKBUD.xlsx"]["used"]
    assert inputs["DINDIKBUD revisi (2).xlsx"]["used"] and inputs["rekap inspektorat.xlsx"]["used"]
    assert ws.coverage().loc["DINDIKBUD", "status"] == "accepted"
    page = ws.report("opd/DINDIKBUD.html")
    assert "DINDIKBUD revisi (2).xlsx" in page and "menggantikan" in page and "DINDIKBUD.xlsx" in page
    # every OPD that must submit is in: final by coverage
    release = ws.manifest()["release"]
    assert (release["status"], release["reason"], release["finalised_by"]) == ("final", "coverage", None)
    assert 'id="provisional-mark"' not in ws.report("profil.html")
    assert ws.sql("SELECT status FROM rekap_release") == [("final",)]

    # a renamed correction that is rejected: the earlier accepted version stays in the city tables
    ws.submit(broken("INSP"), "INSP perbaikan.xlsx")
    result = ws("run")
    assert result.exit_code == 1, result.output
    inputs = ws.inputs()
    assert inputs["rekap inspektorat.xlsx"]["superseded"] and inputs["INSP perbaikan.xlsx"]["status"] == "rejected"
    assert ws.coverage().loc["INSP", "status"] == "older_version"
    assert ws.manifest()["used"]["INSP"] == inputs["rekap inspektorat.xlsx"]["sha256"]
    assert ws.manifest()["release"]["status"] == "final"


def test_the_officer_finalises_a_partial_release_recorded_who_and_when(ws):
    ws("period", "new", PERIOD)
    ws.submit(Submission("DINKES", PERIOD), "DINKES.xlsx")
    ws.submit(Submission("INSP", PERIOD), "INSP.xlsx")
    assert ws("run").exit_code == 0
    assert ws.manifest()["release"]["status"] == "sementara"

    result = ws("release", "--final", "--by", "Siti (BKPSDM)")
    assert result.exit_code == 0, result.output
    release = ws.manifest()["release"]
    assert (release["status"], release["reason"], release["finalised_by"]) == ("final", "officer", "Siti (BKPSDM)")
    assert release["finalised_at"] and release["missing"] == ["DINDIKBUD"]
    assert ws.sql("SELECT status, reason, finalised_by FROM rekap_release") == [("final", "officer", "Siti (BKPSDM)")]
    assert 'data-status="final"' in ws.report("index.html") and "Siti (BKPSDM)" in ws.report("index.html")

    # the nightly run: same data, the finalisation stands, nothing republished
    published = (ws.root / "processed" / PERIOD / "manifest.json").read_bytes()
    assert ws("run").exit_code == 0
    assert (ws.root / "processed" / PERIOD / "manifest.json").read_bytes() == published

    # new data after the finalisation: provisional again until the coverage or the officer says final
    ws.submit(Submission("DINKES", PERIOD).scaled(2), "DINKES-2.xlsx")
    assert ws("run").exit_code == 0
    assert ws.manifest()["release"]["status"] == "sementara"


def test_release_policy_from_the_workspace(ws):
    ws.configure('\n# test\n')
    config = (ws.root / "rekap.toml").read_text(encoding="utf-8")
    (ws.root / "rekap.toml").write_text(config.replace("required_share = 1.0", "required_share = 0.5")
                                        .replace("exempt = []", 'exempt = ["INSP"]'), encoding="utf-8")
    result = ws("period", "new", PERIOD)
    assert sorted(p.name for p in (ws.root / "templates" / PERIOD).glob("*.xlsx")) == ["DINDIKBUD.xlsx", "DINKES.xlsx"]
    ws.submit(Submission("DINKES", PERIOD), "DINKES.xlsx")
    result = ws("run")
    assert result.exit_code == 0, result.output
    release = ws.manifest()["release"]
    assert (release["status"], release["required"], release["needed"]) == ("final", 2, 1)


def test_two_files_of_one_opd_at_once(ws):
    ws("period", "new", PERIOD)
    now = time.time()
    ws.submit(broken("DINKES"), "DINKES lama.xlsx", mtime=now - 3600)
    ws.submit(Submission("DINKES", PERIOD), "DINKES baru.xlsx", mtime=now)
    result = ws("run")
    assert result.exit_code == 0, result.output  # the newer file is current and accepted
    inputs = ws.inputs()
    assert inputs["DINKES baru.xlsx"]["used"] and inputs["DINKES lama.xlsx"]["superseded"]

    # a genuine tie: two different files received together with the same modification time
    ws.submit(Submission("INSP", PERIOD), "INSP a.xlsx", mtime=now)
    ws.submit(Submission("INSP", PERIOD).scaled(2), "INSP b.xlsx", mtime=now)
    result = ws("run")
    assert result.exit_code == 1
    catalog = Catalog(ws.root / "processed" / "catalog.sqlite")
    try:
        findings = {i["file"]: {f.code for f in i["findings"]} for i in catalog.last_run_inputs(PERIOD)}
    finally:
        catalog.close()
    assert "DUPLICATE_SUBMISSION" in findings["INSP a.xlsx"] and "DUPLICATE_SUBMISSION" in findings["INSP b.xlsx"]
    assert "INSP" not in ws.manifest()["used"]


def test_files_that_are_not_submissions_are_listed_and_change_nothing(ws):
    ws("period", "new", PERIOD)
    ws.submit(Submission("DINKES", PERIOD), "DINKES.xlsx")
    folder = ws.root / "raw" / PERIOD
    (folder / "surat pengantar.pdf").write_bytes(b"%PDF-1.4 a cover letter")
    (folder / "catatan.txt").write_text("opd,period\nDINKES,2023\n", encoding="utf-8")
    (folder / "scan.jpg").write_bytes(b"\xff\xd8\xff\xe0 jpeg")
    (folder / "arsip.zip").write_bytes(b"PK\x03\x04 zip")
    (folder / "surat.docx").write_bytes(b"PK\x03\x04 docx")
    result = ws("run")
    assert result.exit_code == 0, result.output
    assert [i["file"] for i in ws.manifest()["inputs"]] == ["DINKES.xlsx"]
    assert set(ws.coverage().index) == {"DINKES", "DINDIKBUD", "INSP"}
    page = ws.report("index.html")
    for name in ("surat pengantar.pdf", "catatan.txt", "scan.jpg", "arsip.zip", "surat.docx"):
        assert f"<li class=\"mono\">{name}</li>" in page
    # validate on the folder agrees; a folder of nothing but such files is a usage error
    assert ws("validate", folder).exit_code == 0
    only = ws.root / "lain"
    only.mkdir()
    (only / "catatan.txt").write_text("x", encoding="utf-8")
    result = ws("validate", only)
    assert result.exit_code == 2 and "tidak ada kiriman" in result.output


def test_xls_and_ods_submissions_in_a_run(ws):
    from spreadsheets import to_ods, to_xls

    ws("period", "new", PERIOD)
    folder = ws.root / "raw" / PERIOD
    use_specs(None, ws.root / "registry.csv")
    to_xls(build_workbook(load_registry()["DINKES"], PERIOD, Submission("DINKES", PERIOD).values), folder / "DINKES.xls")
    to_ods(build_workbook(load_registry()["INSP"], PERIOD, broken("INSP").values), folder / "INSP.ods")
    result = ws("run")
    assert result.exit_code == 1, result.output
    assert ws.coverage().loc["DINKES", "status"] == "accepted" and ws.coverage().loc["INSP", "status"] == "rejected"
    # the marked copy of an .ods is the template layout filled with its values
    marked = openpyxl.load_workbook(ws.root / "reports" / PERIOD / "opd" / "INSP-umpan-balik.xlsx")
    assert "Identitas" in marked.sheetnames and any(c.comment for ws_ in marked.worksheets for row in ws_.iter_rows()
                                                    for c in row)


def test_csv_outputs_open_right(ws):
    ws("period", "new", PERIOD)
    ws.submit(Submission("DINKES", PERIOD), "DINKES.xlsx")
    assert ws("run").exit_code == 0
    out = ws.root / "processed" / PERIOD
    cells = pd.read_csv(out / "cells.csv", dtype=str, keep_default_na=False)
    counts = cells[cells["percent"] == "False"]["value"]
    assert len(counts) > 100 and counts.str.fullmatch(r"\d+").all()  # 16, never 16.0
    assert (cells[cells["percent"] == "True"]["value"] == "").all()
    lineage = pd.read_csv(out / "lineage.csv", dtype=str)
    assert lineage["value"].str.fullmatch(r"\d+").all()
    # the book-layout tables in the Indonesian Excel dialect: BOM, ";" and a decimal comma
    raw = (out / "tables" / "4-pendidikan.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert len({len(r) for r in rows}) == 1 and len(rows[0]) > 3
    numbers = [v for r in rows[1:] for v in r[1:] if v]
    assert any("," in v for v in numbers) and not any("." in v for v in numbers)
    # SQL: counts are integers
    assert ws.sql("SELECT typeof(value), count(*) FROM rekap_cells WHERE percent = 0 GROUP BY 1") == [
        ("integer", len(counts))]
    assert ws.sql("SELECT DISTINCT typeof(value) FROM rekap_lineage") == [("integer",)]

    # the documented setting gives the standard dialect
    ws.configure("")
    config = (ws.root / "rekap.toml").read_text(encoding="utf-8")
    (ws.root / "rekap.toml").write_text(config.replace('book_csv = "excel-id"', 'book_csv = "standard"'),
                                        encoding="utf-8")
    ws.submit(Submission("INSP", PERIOD), "INSP.xlsx")
    assert ws("run").exit_code == 0
    rows = list(csv.reader(io.StringIO((out / "tables" / "4-pendidikan.csv").read_bytes().decode("utf-8-sig"))))
    assert len(rows[0]) > 3 and any("." in v for r in rows[1:] for v in r[1:])


# -- usage ---------------------------------------------------------------------------------------------
def test_usage_errors_exit_2_with_one_line_and_write_nothing(tmp_path):
    root = tmp_path / "kerja"
    assert rekap("init", root).exit_code == 0
    (root / "raw" / "2022").mkdir()
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    cases = [
        (["run", "--period", "2019"], "raw/2019 tidak ada"),
        (["report", "--period", "1999"], "belum ada data periode 1999"),
        (["status", "--period", "1999"], "belum ada data periode 1999"),
        (["status"], "belum ada run"),
        (["validate", root / "raw" / "2022"], "tidak ada kiriman"),
    ]
    for args, words in cases:
        result = rekap(*args, "--workspace", root)
        assert result.exit_code == 2, (args, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("rekap: ") and words in lines[0].replace(os.sep, "/"), lines
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before
    english = rekap("run", "--period", "2019", "--workspace", root, "--lang", "en")
    assert english.exit_code == 2 and "does not exist" in english.output
    assert rekap("init", root).exit_code == 2  # never overwrites a workspace
    assert rekap("run", "--workspace", tmp_path / "nowhere").exit_code == 2


@pytest.mark.parametrize("command", [["validate"], ["template"], ["sample"], ["init"], ["period", "new"], ["run"],
                                     ["release"], ["report"], ["status"], ["national"]])
def test_every_command_has_version_quiet_verbose(command):
    result = rekap(*command, "--version")
    assert result.exit_code == 0 and "version" in result.output
    help_text = rekap(*command, "--help").output
    assert "--quiet" in help_text and "--verbose" in help_text and "--workspace" in help_text


def test_quiet_and_verbose(ws, tmp_path):
    path = Submission("DINKES", PERIOD).write_csv(tmp_path / "DINKES.csv")
    quiet = ws("validate", path, "--quiet")
    assert quiet.exit_code == 0 and quiet.output == ""
    loud = CliRunner().invoke(cli, ["validate", str(path), "--verbose", "--workspace", str(ws.root)])
    assert loud.exit_code == 0 and str(path) in loud.stderr and "DITERIMA" in loud.stdout
    ws("period", "new", PERIOD)
    ws.submit(Submission("DINKES", PERIOD), "DINKES.xlsx")
    run = CliRunner().invoke(cli, ["run", "--verbose", "--workspace", str(ws.root)])
    assert run.exit_code == 0 and "input file=DINKES.xlsx" in run.stderr and "published" in run.stderr
    assert ws("run", "-q").output == ""


def test_status_agrees_with_the_run_says_stopped_and_speaks_english(ws):
    ws("period", "new", PERIOD)
    ws.submit(Submission("DINKES", PERIOD).set("cpns", 1, gol="III", ruang="D", sex="L").recompute("cpns"),
              "DINKES.xlsx")  # accepted with a warning
    ws.submit(broken("INSP"), "INSP.xlsx")
    assert ws("run").exit_code == 1
    coverage = ws.coverage()
    assert coverage.loc["DINKES", "status"] == "accepted_with_warnings"
    # a run whose process died: still marked running in the catalog
    catalog = Catalog(ws.root / "processed" / "catalog.sqlite")
    try:
        catalog.db.execute("INSERT INTO runs (id, period, started, outcome) VALUES "
                           "('20230101T000000Z-dead00', ?, '2099-01-01T00:00:00', 'running')", (PERIOD,))
        catalog.db.commit()
    finally:
        catalog.close()
    for lang in ("id", "en"):
        result = ws("status", "--lang", lang)
        assert result.exit_code == 0, result.output
        lines = {line.split()[0]: line for line in result.output.splitlines() if line.startswith("  ")}
        for opd, row in coverage.iterrows():
            assert status_labels(lang)[row["status"]] in lines[opd], (lang, lines[opd])
        dead = lines["20230101T000000Z-dead00"]
        assert ("terhenti" if lang == "id" else "stopped") in dead and "running" not in dead
    assert "Rilis: SEMENTARA" in ws("status").output and "Release: PROVISIONAL" in ws("status", "--lang", "en").output


def test_lock_message_in_indonesian(ws):
    from filelock import FileLock

    ws("period", "new", PERIOD)
    (ws.root / "processed").mkdir(exist_ok=True)
    with FileLock(ws.root / "processed" / ".rekap.lock"):
        result = ws("run")
    assert result.exit_code == 3 and "run lain sedang berjalan" in result.output


def test_progress_bar_on_a_terminal_only(monkeypatch):
    from pipeline.cli import Ui

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    for tty, quiet, shown in ((True, False, True), (True, True, False), (False, False, False)):
        err = Terminal() if tty else io.StringIO()
        monkeypatch.setattr("sys.stderr", err)
        assert list(Ui("id", quiet, False).progress(range(3), "2023")) == [0, 1, 2]
        assert ("/3 [" in err.getvalue()) == shown, (tty, quiet, err.getvalue())


# -- the workspace -------------------------------------------------------------------------------------
def test_init_writes_a_workspace_found_by_option_env_and_cwd(tmp_path, monkeypatch):
    root = tmp_path / "kerja"
    result = rekap("init", root, "--agency", "BKPSDM Kota Contoh")
    assert result.exit_code == 0, result.output
    assert {p.name for p in root.iterdir()} == {"raw", "processed", "reports", "templates", "schemas", "registry.csv",
                                                "rekap.toml"}
    config = (root / "rekap.toml").read_text(encoding="utf-8")
    assert 'agency = "BKPSDM Kota Contoh"' in config and "required_share = 1.0" in config and "database" in config
    # the agency's own registry, outside the installed tool: an OPD the shipped registry does not have
    with open(root / "registry.csv", "a", encoding="utf-8") as f:
        f.write("DISBARU,Dinas Baru,dinas,III.A\n")
    args = ("template", "--opd", "DISBARU", "--period", "2023", "-o")
    assert rekap(*args, tmp_path / "a.xlsx").exit_code == 2  # the source tree's workspace: no such OPD
    assert rekap(*args, tmp_path / "b.xlsx", "--workspace", root).exit_code == 0
    assert rekap(*args, tmp_path / "c.xlsx", env={"REKAP_HOME": str(root)}).exit_code == 0
    monkeypatch.chdir(root)
    assert rekap(*args, tmp_path / "d.xlsx").exit_code == 0
    assert (tmp_path / "d.xlsx").is_file() and not (tmp_path / "a.xlsx").exists()


def test_workspace_overrides_a_rule_file(tmp_path):
    """The workspace's schemas/rules.yaml replaces the shipped one (here: no cross-table rule at all), and a
    version validated under the shipped rules is validated again under the workspace's."""
    root = tmp_path / "kerja"
    rekap("init", root)
    sub = Submission("DINKES", "2023").add("pendidikan", 1, pendidikan="S1", sex="L", measure="count") \
        .recompute("pendidikan")  # education total 35 against 34 by golongan
    path = sub.write_csv(tmp_path / "DINKES.csv")
    shipped = rekap("validate", path, "--period", "2023", "--format", "json")
    assert shipped.exit_code == 1 and "CROSS_TOTAL_MISMATCH" in shipped.output
    (root / "schemas" / "rules.yaml").write_text("rules: []\n", encoding="utf-8")
    own = rekap("validate", path, "--period", "2023", "--format", "json", "--workspace", root)
    assert own.exit_code == 0 and "CROSS_TOTAL_MISMATCH" not in own.output, own.output
    from pipeline.versions import rules_version

    overridden = rules_version()
    use_specs()
    assert rules_version() != overridden


def test_a_broken_rekap_toml_is_a_usage_error(tmp_path):
    root = tmp_path / "kerja"
    rekap("init", root)
    (root / "rekap.toml").write_text('agency = "x"\n[output]\nbook_csv = "tab"\n', encoding="utf-8")
    result = rekap("status", "--workspace", root)
    assert result.exit_code == 2 and "book_csv" in result.output
    (root / "rekap.toml").write_text("agency = [", encoding="utf-8")
    assert rekap("status", "--workspace", root).exit_code == 2


# (a line of the rekap.toml `rekap init` writes, what it is changed to, the message's words)
BAD_SETTINGS = [
    ('registry = "registry.csv"', 'registry = "hilang"', 'registry = "hilang" tidak ada'),
    ('specs = "schemas"', 'specs = "hilang"', 'specs = "hilang" tidak ada'),
    ('collection = ""', 'collection = "hilang"', 'collection = "hilang" tidak ada'),
    ('registry = "registry.csv"', "registry = 5", "registry = 5 tidak berlaku; harus nama sebuah berkas"),
    ('registry = "registry.csv"', 'registry = "raw"', 'registry = "raw" tidak berlaku; harus nama sebuah berkas'),
    ('specs = "schemas"', 'specs = "registry.csv"', 'specs = "registry.csv" tidak berlaku; harus nama sebuah folder'),
    ('collection = ""', 'collection = "raw"', 'collection = "raw" tidak berlaku; harus nama folder yang berisi tables'),
    ('database = ""', "database = 5", "database = 5 tidak berlaku; harus teks"),
    ('instansi = ""', 'instansi = "kota serang"', 'instansi = "kota serang" tidak berlaku; harus kode instansi'),
    ("required_share = 1.0", "required_share = true", "release.required_share = true tidak berlaku; harus bilangan"),
    ("required_share = 1.0", "required_share = 1.5", "release.required_share = 1.5 tidak berlaku; harus bilangan"),
    ("exempt = []", 'exempt = "DINKES"', 'release.exempt = "DINKES" tidak berlaku; harus daftar kode OPD'),
    ('book_csv = "excel-id"', 'book_csv = "tab"', 'output.book_csv = "tab" tidak berlaku; harus salah satu dari excel-id'),
    ('policy = "reconcile"', "policy = 3", "staff.policy = 3 tidak berlaku; harus salah satu dari reconcile"),
    ("[release]", "release = 5\n[rilis]", "release = 5 tidak berlaku; harus sebuah bagian: [release]"),
]


@pytest.mark.parametrize("line, changed, words", BAD_SETTINGS, ids=[c[1].split(" =")[0] + "=" + c[1].split("= ")[1][:12]
                                                                     for c in BAD_SETTINGS])
def test_a_setting_of_the_wrong_kind_is_a_one_line_usage_error(tmp_path, line, changed, words):
    root = tmp_path / "kerja"
    assert rekap("init", root).exit_code == 0
    config = (root / "rekap.toml").read_text(encoding="utf-8").splitlines()
    assert line in config
    (root / "rekap.toml").write_text("\n".join(changed if x == line else x for x in config), encoding="utf-8")
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    for command in (["run"], ["status"], ["validate", root / "raw"]):
        result = rekap(*command, "--workspace", root)
        lines = result.output.strip().splitlines()
        assert result.exit_code == 2, result.output  # a usage error, not a traceback (exit code 1)
        assert len(lines) == 1 and words in lines[0], lines
    english = rekap("run", "--workspace", root, "--lang", "en").output
    assert "is not valid; it must be" in english or "does not exist" in english, english
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before


def test_settings_of_the_right_kind_are_read(tmp_path):
    from pipeline.workspace import load

    root = tmp_path / "kerja"
    assert rekap("init", root).exit_code == 0
    (root / "koleksi" / "tables").mkdir(parents=True)
    (root / "koleksi" / "tables" / "1-x.yaml").write_text("id: x\n", encoding="utf-8")
    config = (root / "rekap.toml").read_text(encoding="utf-8")
    for line, changed in (("exempt = []", 'exempt = ["dinkes", " RSUD "]'), ("required_share = 1.0", "required_share = 1"),
                          ('instansi = ""', 'instansi = "kota-serang"'), ('collection = ""', 'collection = "koleksi"')):
        config = config.replace(line, changed)
    (root / "rekap.toml").write_text(config, encoding="utf-8")
    ws = load(root)
    assert ws.release.exempt == ("DINKES", "RSUD") and ws.release.required_share == 1.0
    assert ws.instansi == "KOTA-SERANG" and ws.collection == root / "koleksi" and ws.registry == root / "registry.csv"


# -- the registry ----------------------------------------------------------------------------------------------
def _registry_variants():
    lines = REGISTRY.splitlines()
    return {
        "listed twice": ("\n".join(lines + [lines[1]]), "baris 5: DINKES tercantum dua kali"),
        "no name column": ("\n".join(",".join(x.split(",")[:1] + x.split(",")[2:]) for x in lines),
                           "kolom name tidak ada"),
        "no header line": ("\n".join(lines[1:]), "kolom code, name, type, leader tidak ada"),
        "empty file": ("", "kolom code, name, type, leader tidak ada"),
        "header only": (lines[0], "tidak berisi satu OPD pun"),
        "a path as code": (REGISTRY + "../X,Dinas X,dinas,III.A\n", 'baris 5: kode OPD "../X" tidak berlaku'),
        "a lower-case code": (REGISTRY + "dinx,Dinas X,dinas,III.A\n", 'baris 5: kode OPD "dinx" tidak berlaku'),
        "a code with a space": (REGISTRY + "DIN X,Dinas X,dinas,III.A\n", 'kode OPD "DIN X" tidak berlaku'),
        "a line without name": (REGISTRY + "DINX\n", "baris 5: OPD DINX tidak punya nama"),
    }


@pytest.mark.parametrize("case", list(_registry_variants()))
def test_a_registry_that_cannot_be_used_is_a_one_line_usage_error(tmp_path, case):
    content, words = _registry_variants()[case]
    root = tmp_path / "kerja"
    assert rekap("init", root).exit_code == 0
    (root / "registry.csv").write_text(content, encoding="utf-8")
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    for command in (["run"], ["status"], ["validate", root / "raw"]):
        result = rekap(*command, "--workspace", root)
        lines = result.output.strip().splitlines()
        assert result.exit_code == 2, result.output  # a usage error, not a traceback (exit code 1)
        assert len(lines) == 1 and lines[0].startswith("rekap: register OPD ") and words in lines[0], lines
    assert "the OPD registry" in rekap("run", "--workspace", root, "--lang", "en").output
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before


@pytest.mark.parametrize("saved", ["utf-8-sig", "semicolons", "cp1252"])
def test_a_registry_saved_by_excel_reads_as_the_plain_one(tmp_path, saved):
    from pipeline.specs import load_registry

    plain = tmp_path / "plain.csv"
    plain.write_text(REGISTRY + "DISPAR,Dinas Pariwisata dan Budaya Sérang,dinas,II.B\n", encoding="utf-8")
    excel = tmp_path / "excel.csv"
    text = plain.read_text(encoding="utf-8")
    if saved == "utf-8-sig":  # Excel's "CSV UTF-8": a byte-order mark
        excel.write_bytes(text.encode("utf-8-sig"))
    elif saved == "semicolons":  # an Indonesian Excel separates with ';', quotes a name holding one, adds empty lines
        excel.write_text(text.replace(",", ";").replace("Dinas Pariwisata dan Budaya Sérang",
                                                        '"Dinas Pariwisata dan Budaya; Sérang"') + ";;;\n;;;\n",
                         encoding="utf-8")
    else:  # Excel's plain "CSV" on Windows
        excel.write_bytes(text.encode("cp1252"))
    read = load_registry(excel)
    expected = load_registry(plain)
    if saved == "semicolons":
        expected["DISPAR"] = dataclasses.replace(expected["DISPAR"], name="Dinas Pariwisata dan Budaya; Sérang")
    assert read == expected and list(read) == ["DINKES", "DINDIKBUD", "INSP", "DISPAR"]


# -- the specs a workspace overrides or adds -------------------------------------------------------------------
BROKEN_SPECS = {  # a file of the workspace's schemas/, what it holds, words of the message
    "rules.yaml not YAML": ("rules.yaml", "rules: [\n  - {id: x\n", "line 2, column 3"),
    "rules.yaml not a list": ("rules.yaml", "rules: 5\n", "TypeError"),
    "a rule without its left side": ("rules.yaml", "rules:\n  - {id: x, kind: equal, code: X}\n", "no 'left'"),
    "a table without dimensions": ("tables/1-golongan.yaml", "id: golongan\nrows: 5\n", "no 'dimensions'"),
    "an empty table": ("tables/9-baru.yaml", "", "TypeError"),
    "text.yaml not YAML": ("text.yaml", "workspace: [\n", "line 2, column 1"),
    "text.yaml not text": ("text.yaml", b"\x80\x81\xfe", "codec can't decode"),
}


@pytest.mark.parametrize("case", list(BROKEN_SPECS))
def test_a_spec_that_cannot_be_used_is_a_one_line_usage_error(tmp_path, case):
    name, content, words = BROKEN_SPECS[case]
    root = tmp_path / "kerja"
    assert rekap("init", root).exit_code == 0
    path = root / "schemas" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    for command, lang, frame in ((["run"], "id", "rekap: spesifikasi "), (["status"], "id", "rekap: spesifikasi "),
                                 (["validate", root / "raw"], "en", "rekap: the spec ")):
        result = rekap(*command, "--workspace", root, "--lang", lang)
        lines = result.output.strip().splitlines()
        assert result.exit_code == 2, result.output  # a usage error, not a traceback (exit code 1) nor a fault (5)
        assert len(lines) == 1 and lines[0].startswith(frame) and name in lines[0] and words in lines[0], lines
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before
    path.unlink()
    assert rekap("status", "--workspace", root).exit_code == 2  # fixed: on to the next complaint (no run yet)
    assert "spesifikasi" not in rekap("status", "--workspace", root).output


def test_a_broken_registry_is_worded_when_the_workspaces_texts_are_broken_too(tmp_path):
    root = tmp_path / "kerja"
    assert rekap("init", root).exit_code == 0
    (root / "schemas" / "text.yaml").write_text("workspace: [\n", encoding="utf-8")
    (root / "registry.csv").write_text("x\n", encoding="utf-8")
    result = rekap("status", "--workspace", root)
    assert result.exit_code == 2 and "kolom code, name, type, leader tidak ada" in result.output, result.output
    (root / "registry.csv").write_text(REGISTRY, encoding="utf-8")  # then the texts' turn
    result = rekap("status", "--workspace", root)
    assert result.exit_code == 2 and "spesifikasi" in result.output and "text.yaml" in result.output, result.output


def test_the_reports_of_an_opd_that_left_the_registry_are_removed(ws):
    assert ws("period", "new", PERIOD).exit_code == 0
    ws.submit(Submission("DINKES", PERIOD), "DINKES.xlsx")
    ws.submit(Submission("INSP", PERIOD), "INSP.xlsx")
    assert ws("run").exit_code in (0, 1)
    opd = ws.root / "reports" / PERIOD / "opd"
    kept = {name: (opd / name).read_bytes() for name in ("DINKES.html", "DINKES-umpan-balik.xlsx")}
    assert (opd / "INSP.html").is_file() and (opd / "INSP-umpan-balik.xlsx").is_file()
    (ws.root / "raw" / PERIOD / "INSP.xlsx").unlink()
    (ws.root / "registry.csv").write_text("\n".join(x for x in REGISTRY.splitlines() if not x.startswith("INSP,")),
                                          encoding="utf-8")
    use_specs()  # this process read the registry before: as a new `rekap` process would, read it again
    assert ws("run").exit_code in (0, 1)
    assert not (opd / "INSP.html").exists() and not (opd / "INSP-umpan-balik.xlsx").exists()
    assert {name: (opd / name).read_bytes() for name in kept} == kept
    assert sorted(p.name for p in opd.iterdir()) == sorted(
        [f"{code}.html" for code in ("DINDIKBUD", "DINKES")] + ["DINKES-umpan-balik.xlsx"])
