"""Installing rekap as another agency would: the wheel carries the default specs and works outside the
source tree (the workspace, with its own registry and spec overrides, is tested in test_workspace.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import Submission

ROOT = Path(__file__).resolve().parent.parent


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
