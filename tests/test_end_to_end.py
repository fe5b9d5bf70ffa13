"""The main job on real files: write the sample period, validate it, compare with the manifest."""

from __future__ import annotations

import json

from click.testing import CliRunner

from pipeline.cli import cli


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
    found = {s["opd"]: sorted({f["code"] for f in s["findings"]}) for s in json.loads(result.output)["submissions"]}
    assert found == manifest
    assert sum(1 for codes in manifest.values() if codes) >= 7  # every defect kind is planted somewhere
    assert sum(1 for codes in manifest.values() if not codes) >= 20  # and most OPDs are clean


def test_sample_never_overwrites_raw_files(tmp_path):
    runner = CliRunner()
    args = ["sample", "--period", "2022", "--raw", str(tmp_path)]
    assert runner.invoke(cli, args).exit_code == 0
    target = tmp_path / "2022" / "DINKES.xlsx"
    target.write_bytes(b"edited by hand")
    assert runner.invoke(cli, args).exit_code == 0
    assert target.read_bytes() == b"edited by hand"
