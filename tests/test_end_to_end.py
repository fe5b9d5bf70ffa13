"""The main job on real files: write the sample period, validate it, compare with the manifest."""

from __future__ import annotations

import json

from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.sample import DEFECT_PLAN

HELP = {"CELL_SUSPECT", "CELL_CANDIDATE"}  # where the error probably is: help, not a defect of its own


def test_validator_findings_on_the_sample_equal_the_manifest(tmp_path):
    runner = CliRunner()
    made = runner.invoke(cli, ["sample", "--period", "2022", "--raw", str(tmp_path / "raw"),
                               "--manifest", str(tmp_path / "manifest.json")], catch_exceptions=False)
    assert made.exit_code == 0, made.output
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    files = sorted((tmp_path / "raw" / "2022").glob("*.xlsx"))
    assert len(files) == len(manifest) == 34

    result = runner.invoke(cli, ["validate", "--format", "json", *map(str, files)], catch_exceptions=False)
    assert result.exit_code == 1  # some sample submissions carry errors on purpose
    submissions = json.loads(result.output)["submissions"]
    found = {s["opd"]: sorted({f["code"] for f in s["findings"]} - HELP) for s in submissions}
    assert found == {opd: entry["codes"] for opd, entry in manifest.items()}
    # the help on where the error is (localisation) comes only with errors, never on a clean submission
    assert all(s["status"] == "rejected" for s in submissions if {f["code"] for f in s["findings"]} & HELP)
    assert set(DEFECT_PLAN.values()) == {"wrong_total", "transposed_digit", "percent_off", "cross_table",
                                         "impossible_cell", "text_number", "moved_table"}
    assert all(manifest[opd]["codes"] for opd, kind in DEFECT_PLAN.items() if kind != "moved_table")
    assert manifest[next(o for o, k in DEFECT_PLAN.items() if k == "moved_table")]["codes"] == []  # read all the same
    assert sum(1 for entry in manifest.values() if not entry["codes"]) >= 20  # most OPDs are clean
    # every planted one-cell slip is the first correction, with its true value (or inside an honest tie)
    by_opd = {s["opd"]: s for s in submissions}
    singles = [p for entry in manifest.values() for p in entry["planted"] if p["single"]]
    assert len(singles) >= 4
    for p in singles:
        first = by_opd[p["opd"]]["corrections"][0]
        if first["type"] == "one_of":
            assert (p["sheet"], p["address"], p["true"]) in {
                (c["sheet"], c["address"], c["if_this"]) for c in first["candidates"]}, (p, first)
        else:
            assert (first["type"], first["sheet"], first["address"], first["actual"], first["expected"]) == (
                "change", p["sheet"], p["address"], p["typed"], p["true"]), (p, first)


def test_sample_never_overwrites_raw_files(tmp_path):
    runner = CliRunner()
    args = ["sample", "--period", "2022", "--raw", str(tmp_path)]
    assert runner.invoke(cli, args).exit_code == 0
    target = tmp_path / "2022" / "DINKES.xlsx"
    target.write_bytes(b"edited by hand")
    assert runner.invoke(cli, args).exit_code == 0
    assert target.read_bytes() == b"edited by hand"
