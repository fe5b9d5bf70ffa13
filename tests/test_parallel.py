"""Every core, same bytes: ``rekap run`` on the sample with one job and with two publishes the same
files (release and reports), and ``rekap validate`` prints the same text and JSON. Real CLI processes
on real files in a temporary folder."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from pipeline.report import STAMP

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
ENV.pop("REKAP_JOBS", None)

# what may differ between two runs, and only that: the run id (in the release's folder name, the manifest,
# the pages, the feedback workbooks), the times of the run, and in GX's own Data Docs (reports/P/gx/) the
# time GX names a validation by (folder names, pages, its sort key) and the random ids of its page elements
RUN_ID = rb"\d{8}T\d{6}Z-[0-9a-f]{6}"
GX_TIME = rb"\d{8}T\d{6}\.\d{6}Z"
STAMPS = [re.compile(RUN_ID), re.compile(rb"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(\+00:00|Z)?"),
          re.compile(GX_TIME)]
GX_ONLY = [re.compile(rb"'_run_time_sort': [0-9.]+"),
           re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")]


def rekap(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=cwd, env=ENV, capture_output=True,
                          timeout=900)


def normalised(path: Path) -> bytes | dict:
    """The file's bytes with the stamps replaced; a workbook (a zip) member by member."""
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as z:
            return {name: normalised_bytes(z.read(name)) for name in z.namelist()}
    data = normalised_bytes(path.read_bytes())
    for pattern in GX_ONLY if "gx" in path.parts else []:
        data = pattern.sub(b"<gx>", data)
    return data


def normalised_bytes(data: bytes) -> bytes:
    for pattern in STAMPS:
        data = pattern.sub(b"<stamp>", data)
    return data


def published(root: Path) -> dict[str, bytes]:
    """Every file of the published release and of the reports, by a path with the stamps normalised."""
    out = {}
    for folder in (root / "processed" / "2022", root / "reports"):
        for p in sorted(folder.rglob("*")):
            # the reports' stamp is bookkeeping, not an output: it holds hashes of what each report is made
            # of, the versions' received times included, so two runs at two moments differ there
            if p.is_file() and p.name != STAMP:
                name = re.sub(GX_TIME.decode(), "<stamp>", re.sub(RUN_ID.decode(), "<run>", p.relative_to(root).as_posix()))
                out[name] = normalised(p)
    return out


def test_run_with_one_job_and_with_two_publishes_the_same_bytes(tmp_path):
    ws = tmp_path / "ws"
    assert rekap(tmp_path, "init", str(ws)).returncode == 0
    assert rekap(ws, "sample", "--period", "2022", "--staff").returncode == 0
    outputs = []
    for jobs in ("1", "2"):
        done = rekap(ws, "run", "--period", "2022", "--jobs", jobs)
        assert done.returncode == 1, done.stderr  # some sample submissions are rejected on purpose
        outputs.append(published(ws))
        log = next((ws / "processed" / "logs" / "2022").glob("run-*.jsonl")).read_text().splitlines()
        assert sum(json.loads(line)["event"] == "input" for line in log) == 36 - 2  # recaps; two staff lists
        for folder in ("processed", "reports"):  # the next run starts from nothing
            shutil.rmtree(ws / folder)
    one, two = outputs
    assert len(one) > 100 and "processed/2022/manifest.json" in one and "reports/2022/profil.pdf" in one
    assert sorted(one) == sorted(two)
    assert [name for name in one if one[name] != two[name]] == []


def test_validate_streams_the_same_text_and_json_whatever_the_jobs(tmp_path):
    assert rekap(tmp_path, "sample", "--period", "2022", "--raw", str(tmp_path / "raw")).returncode == 0
    folder = str(tmp_path / "raw" / "2022")
    for fmt in ("text", "json"):
        one = rekap(tmp_path, "validate", "--format", fmt, "--jobs", "1", folder)
        two = rekap(tmp_path, "validate", "--format", fmt, "--jobs", "2", folder)
        assert one.returncode == two.returncode == 1
        assert one.stdout == two.stdout
    submissions = json.loads(two.stdout)["submissions"]
    assert len(submissions) == 34 and [s["file"] for s in submissions] == sorted(s["file"] for s in submissions)


def test_a_file_that_kills_its_worker_is_a_finding_on_it_and_the_run_goes_on(tmp_path, monkeypatch):
    """A worker process dies on one file (the system's OOM killer, a crash in a C library): the files
    in flight with it are checked again one at a time; the culprit alone gets INTERNAL_ERROR, every
    other file its own result, and the run publishes."""
    import pipeline.validate as validate
    from conftest import Submission
    from pipeline.run import run_period

    raw = tmp_path / "raw" / "2022"
    raw.mkdir(parents=True)
    opds = ["DINKES", "DISHUB", "DLH", "BAPPEDA", "BPBD", "DISTAN", "RSUD", "SETWAN", "DKP", "INSP"]
    for opd in opds:
        Submission(opd).write_csv(raw / f"{opd}.csv")
    Submission("DINSOS").write_csv(raw / "BOOM.csv")
    real = validate.read_submission

    def fragile(path, *args, **kwargs):
        if Path(path).name == "BOOM.csv":
            os._exit(9)  # the worker process dies, no exception, no result
        return real(path, *args, **kwargs)

    monkeypatch.setattr(validate, "read_submission", fragile)  # inherited by the forked workers
    result = run_period("2022", tmp_path / "raw", tmp_path / "processed", tmp_path / "reports", jobs=2)
    by_file = {i.file.name: i for i in result.inputs}
    assert [i.file.name for i in result.inputs] == sorted(by_file)  # in the folder's order
    assert [f.code for f in by_file["BOOM.csv"].all_findings] == ["INTERNAL_ERROR"]
    assert all(by_file[f"{opd}.csv"].status == "accepted" and by_file[f"{opd}.csv"].opd == opd for opd in opds)
    assert result.outcome == "published" and result.validated == len(opds) + 1
    assert sorted(json.loads((tmp_path / "processed" / "2022" / "manifest.json").read_text())["used"]) == sorted(opds)


WORKERS_PROBE = """
import os, sys
from pathlib import Path
import pipeline.pages as pages, pipeline.validate as validate
from pipeline.run import run_period

LIBRARIES = {"pandas", "numpy", "pandera", "hypothesis", "openpyxl", "polars"}
root = Path(sys.argv[1])
inherited = set()
os.register_at_fork(after_in_child=lambda: inherited.update(sys.modules))


def watched(fn):  # records the libraries a forked worker has imported itself once fn's work is done
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        finally:
            if inherited:
                own = sorted({m.split(".")[0] for m in set(sys.modules) - inherited} & LIBRARIES)
                with open(root / f"{fn.__name__}-{os.getpid()}", "w") as f:
                    f.write(" ".join(own))
    return call


validate.stage_batch = watched(validate.stage_batch)  # looked up when called: in the workers too
pages.write_feedback_page = watched(pages.write_feedback_page)
pages.write_profile = watched(pages.write_profile)  # printed ahead, while the gate runs
print(run_period("2022", root / "raw", root / "processed", root / "reports", jobs=2).outcome)
"""


def test_forked_workers_inherit_the_libraries_instead_of_each_importing_them(tmp_path):
    """Checking the files, printing the profile and writing the OPDs' reports on two cores: the workers are
    forked from the run's process with what they need loaded once (pandera ready to validate, openpyxl),
    so that no worker pays for an import itself (a quarter to half a second each, times the cores);
    polars, for staff lists, is not loaded at all where there are none. (The profile's worker alone
    loads the charts' and the PDF's libraries: the run's process does not need them.)"""
    from conftest import Submission

    raw = tmp_path / "raw" / "2022"
    raw.mkdir(parents=True)
    for opd in ("DINKES", "DISHUB", "DLH", "BAPPEDA", "BPBD", "DISTAN"):
        Submission(opd).write_csv(raw / f"{opd}.csv")
    proc = subprocess.run([sys.executable, "-c", WORKERS_PROBE, str(tmp_path)], capture_output=True, text=True,
                          env=ENV, timeout=900)
    assert proc.stdout.split() == ["published"], proc.stderr
    imported = {p.name.split("-")[0]: p.read_text() for p in tmp_path.glob("*-*") if p.is_file()}
    assert set(imported) == {"stage_batch", "write_feedback_page", "write_profile"}  # each in forked workers
    assert [own for own in imported.values() if own] == []
