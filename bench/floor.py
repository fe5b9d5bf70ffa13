"""What every publishing run spends whatever changed: the floor under a one-file-changed run.

A run that publishes starts Python and imports the run's modules, confronts the city tables with the
gate's Great Expectations suite (GX imported, Data Docs built) and prints the profile (WeasyPrint and
matplotlib imported, the charts drawn, the PDF printed). None of that depends on how many files changed
or how many were submitted. This script does exactly that on a workspace's published release, in its own
process, so that ``bench/national.py`` can measure its CPU in the same session as the runs: the floor
of the one-file-changed ratio (floor / full run), and the fixed share of the per-submission cost.

    .venv/bin/python bench/floor.py WORKSPACE PERIOD
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(workspace: Path, period: str) -> None:
    import pipeline.run  # noqa: F401 - what `rekap run` imports before it knows what changed
    from pipeline.agencies import AGENCY_FOLDER
    from pipeline.gate import run_gate
    from pipeline.pages import write_profile
    from pipeline.report_data import PeriodReport, read_city

    release = workspace / "processed" / period
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    city = read_city(release / "cells.parquet")
    with tempfile.TemporaryDirectory() as tmp:
        gate = run_gate(city, period, Path(tmp) / "gx", city_scope=not (release / AGENCY_FOLDER).is_dir())
        if not gate.ok:
            raise SystemExit(f"the gate failed on the published tables: {gate.failures[:3]}")
        summary = manifest["coverage"]
        shown = PeriodReport(period, None, [], summary, city, [], None, release=manifest["release"],
                             published_coverage=summary)
        write_profile(Path(tmp) / "profil.html", Path(tmp) / "profil.pdf", shown, "id")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
