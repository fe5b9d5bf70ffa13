"""What a re-run costs: one file changed, and nothing changed, as shares of a full run of the same period.

A synthetic period of ``--scale`` consistent copies of every registry OPD (``bench/run.py``'s builder;
the default 10 is about 340 files) is run from scratch, then one OPD's workbook is replaced by
another consistent one and the period is run again, then once more with nothing changed. Figures are
CPU seconds of this process and its workers (``resource``), and wall seconds; the ratios are what the
issue asks for (one file changed ≤ 2 %, nothing changed ≤ 1 % of a full run)::

    .venv/bin/python bench/incremental.py [--scale 10] [--jobs N] [--profile out.prof]

``--profile`` writes a cProfile of the one-file-changed run (the parent process).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import synthetic_period  # noqa: E402  (bench/run.py)

from pipeline.files import atomic_write  # noqa: E402
from pipeline.run import run_period  # noqa: E402
from pipeline.sample import consistent_submission, opd_rng  # noqa: E402
from pipeline.template import build_workbook  # noqa: E402


def cpu() -> float:
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def measured(fn, profile: str | None = None) -> dict:
    start_cpu, start = cpu(), time.perf_counter()
    if profile:
        import cProfile

        with cProfile.Profile() as prof:
            result = fn()
        prof.dump_stats(profile)
    else:
        result = fn()
    return {"cpu_s": round(cpu() - start_cpu, 3), "wall_s": round(time.perf_counter() - start, 3),
            "outcome": result.outcome, "validated": result.validated}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--profile", default=None)
    args = parser.parse_args()
    if args.jobs:
        os.environ["REKAP_JOBS"] = str(args.jobs)
    period = "2099"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        registry = synthetic_period(root / "raw", period, args.scale)
        dirs = {k: root / k for k in ("raw", "processed", "reports")}
        full = measured(lambda: run_period(period, **dirs, registry=registry))
        code = sorted(registry)[len(registry) // 2]
        changed = build_workbook(registry[code], period, consistent_submission(registry[code], opd_rng(7, code)))
        atomic_write(root / "raw" / period / f"{code}.xlsx", changed.save)
        one = measured(lambda: run_period(period, **dirs, registry=registry), args.profile)
        none = measured(lambda: run_period(period, **dirs, registry=registry))
    print(json.dumps({
        "files": len(registry), "jobs": args.jobs or "every core", "changed": code,
        "full": full, "one_file_changed": one, "nothing_changed": none,
        "ratio_one_changed_cpu": round(one["cpu_s"] / full["cpu_s"], 4),
        "ratio_one_changed_wall": round(one["wall_s"] / full["wall_s"], 4),
        "ratio_no_change_cpu": round(none["cpu_s"] / full["cpu_s"], 4),
        "ratio_no_change_wall": round(none["wall_s"] / full["wall_s"], 4),
    }, indent=2))


if __name__ == "__main__":
    main()
