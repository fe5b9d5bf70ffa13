"""Installing rekap as another agency would, and its workspace: the wheel carries the default specs,
a workspace keeps its own registry and spec overrides outside the installed tool."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import Submission
from pipeline.cli import cli
from pipeline.specs import use_specs

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def shipped_specs():
    yield
    use_specs()


def rekap(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


def test_wheel_installs_in_a_fresh_venv_and_works_outside_the_source_tree(tmp_path):
    """Build the wheel (offline: no build isolation), install it without the source tree into a new
    venv that sees this one's dependencies, and run `rekap template` and `rekap validate` from an
    unrelated folder."""
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "-q", "-w", str(dist), str(ROOT)], check=True, capture_output=True)
    wheel = next(dist.glob("rekap-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert {"pipeline/schemas/registry.csv", "pipeline/schemas/findings.yaml", "pipeline/schemas/rules.yaml",
            "pipeline/schemas/dimensions.yaml", "pipeline/templates/gate.html"} <= set(names)
    assert sum(n.startswith("pipeline/schemas/tables/") for n in names) == 6

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    # this venv's packages (the dependencies) are visible through a .pth file; rekap itself only from the wheel
    site = subprocess.run([str(python), "-c", "import site; print(site.getsitepackages()[0])"], check=True,
                          capture_output=True, text=True).stdout.strip()
    deps = [p for p in sys.path if p.endswith("site-packages")]
    Path(site, "deps.pth").write_text("\n".join(deps) + "\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                    "-q", str(wheel)], check=True, capture_output=True)
    elsewhere = tmp_path / "kantor"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "REKAP_HOME")}
    where = subprocess.run([str(python), "-c", "import pipeline.specs as s; print(s.__file__, s.SCHEMAS)"],
                           cwd=elsewhere, env=env, check=True, capture_output=True, text=True).stdout
    assert str(ROOT) not in where and "site-packages" in where, where  # the installed copy, its own specs

    rekap_bin = venv / "bin" / "rekap"
    template = subprocess.run([str(rekap_bin), "template", "--opd", "DINKES", "--period", "2023", "-o", "DINKES.xlsx"],
                              cwd=elsewhere, env=env, capture_output=True, text=True)
    assert template.returncode == 0, template.stderr
    Submission("DINKES", "2023").write_csv(elsewhere / "DINKES.csv")
    checked = subprocess.run([str(rekap_bin), "validate", "DINKES.csv", "--period", "2023"], cwd=elsewhere, env=env,
                             capture_output=True, text=True)
    assert checked.returncode == 0 and "DITERIMA" in checked.stdout, checked.stdout + checked.stderr
    empty = subprocess.run([str(rekap_bin), "validate", "DINKES.xlsx", "--period", "2023"], cwd=elsewhere, env=env,
                           capture_output=True, text=True)
    assert empty.returncode == 1 and "NO_STAFF" in empty.stdout  # the template read back: untouched, not accepted
    version = subprocess.run([str(rekap_bin), "status", "--version"], cwd=elsewhere, env=env, capture_output=True,
                             text=True)
    assert version.returncode == 0 and "0.1.0" in version.stdout


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
