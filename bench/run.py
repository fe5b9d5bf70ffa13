"""Benchmark of ``rekap run``: a full run on the sample, a no-change re-run, and a synthetic period 50
times larger than the city (50 copies of every OPD, each under its own code).

Figures are ratios against a baseline measured in the same run (opening every sample workbook once
with openpyxl), because these machines are shared and noisy:

    .venv/bin/python bench/run.py [--scale 50]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import openpyxl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.files import atomic_write  # noqa: E402
from pipeline.run import run_period  # noqa: E402
from pipeline.sample import consistent_submission, opd_rng, write_sample  # noqa: E402
from pipeline.specs import Opd, load_registry  # noqa: E402
from pipeline.template import build_workbook  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def synthetic_period(raw: Path, period: str, scale: int) -> dict[str, Opd]:
    """``scale`` consistent copies of every registry OPD (only the first SETDA keeps the II.A post)."""
    registry = {}
    for copy in range(scale):
        for code, opd in load_registry().items():
            leader = opd.leader if copy == 0 or opd.leader != "II.A" else "II.B"
            clone = Opd(f"{code}-{copy:02d}", f"{opd.name} {copy:02d}", opd.type, leader)
            registry[clone.code] = clone
            values = consistent_submission(clone, opd_rng(2022 + copy, code))
            wb = build_workbook(clone, period, values)
            atomic_write(raw / period / f"{clone.code}.xlsx", wb.save)
    return registry


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_sample(root / "raw", "2022", log=None)
        files = sorted((root / "raw" / "2022").glob("*.xlsx"))
        baseline, _ = timed(lambda: [openpyxl.load_workbook(f, data_only=True) for f in files])
        dirs = dict(raw=root / "raw", processed=root / "processed", reports=root / "reports")
        full, first = timed(lambda: run_period("2022", **dirs))
        again, second = timed(lambda: run_period("2022", **dirs))
        registry = synthetic_period(root / "big" / "raw", "2099", args.scale)
        big_dirs = {k: root / "big" / k for k in ("raw", "processed", "reports")}
        big, third = timed(lambda: run_period("2099", **big_dirs, registry=registry))
    print(json.dumps({
        "sample_files": len(files),
        "baseline_open_sample_s": round(baseline, 2),
        "full_run_s": round(full, 2), "full_run_outcome": first.outcome,
        "no_change_run_s": round(again, 3), "no_change_outcome": second.outcome,
        "no_change_validated": second.validated,
        "big_files": len(registry), "big_run_s": round(big, 1), "big_run_outcome": third.outcome,
        "ratio_full_to_baseline": round(full / baseline, 2),
        "ratio_no_change_to_full": round(again / full, 4),
        "ratio_big_to_full": round(big / full, 1),
        "ratio_big_per_file_to_full_per_file": round((big / len(registry)) / (full / len(files)), 2),
    }, indent=2))


if __name__ == "__main__":
    main()
