"""Benchmark of every core and bounded memory (issue 12, points 1 and 4): the real CLI, in a workspace
with a synthetic registry of ``k`` copies of every city OPD (each under its own code, CSV submissions),
at two sizes. Each command runs in its own process; figures are ratios measured in the same run, as
these machines are shared and noisy:

- ``rekap validate`` with 1 and 2 jobs: CPU per submission (the process and its workers), wall time and
  the speed-up from 1 to 2 jobs; peak RSS of the main process (streaming: flat in N) and of a worker;
- ``rekap run`` (full, from nothing) with 1 and 2 jobs, and a run in which nothing changed: its cost as
  a share of the full run at each size (bookkeeping no longer grows faster than the files).

    .venv/bin/python bench/pool.py [--sizes 5 20] [--skip-run]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.read_csv import write_csv  # noqa: E402
from pipeline.sample import consistent_submission, opd_rng  # noqa: E402
from pipeline.specs import Opd, load_registry  # noqa: E402


def workspace(root: Path, copies: int) -> int:
    """A workspace whose registry holds ``copies`` of every city OPD, each with a consistent CSV."""
    subprocess.run([sys.executable, "-m", "pipeline", "init", str(root)], check=True, capture_output=True)
    raw = root / "raw" / "2022"
    raw.mkdir(parents=True, exist_ok=True)
    with open(root / "registry.csv", "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["code", "name", "type", "leader", "aliases"])
        for copy in range(copies):
            for code, opd in load_registry().items():
                leader = opd.leader if copy == 0 or opd.leader != "II.A" else "II.B"
                clone = Opd(f"{code}-{copy:02d}", f"{opd.name} {copy:02d}", opd.type, leader)
                out.writerow([clone.code, clone.name, clone.type, clone.leader, ""])
                write_csv(raw / f"{clone.code}.csv", clone.code, "2022",
                          consistent_submission(clone, opd_rng(2022 + copy, code)))
    return copies * len(load_registry())


WRAP = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - start
use = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": done.returncode, "wall": wall, "cpu": use.ru_utime + use.ru_stime, "rss": use.ru_maxrss,
                  "err": done.stderr.decode()[-2000:]}))
"""


def measured(root: Path, *args: str) -> dict:
    """One CLI process, measured from a process of its own: wall time, CPU of it and its workers, and the
    peak RSS of the largest of them (MB)."""
    done = subprocess.run([sys.executable, "-c", WRAP, sys.executable, "-m", "pipeline", *args], cwd=root,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    m = json.loads(done.stdout)
    assert m["rc"] in (0, 1), m["err"]
    return {"wall_s": round(m["wall"], 2), "cpu_s": round(m["cpu"], 2), "peak_rss_mb": round(m["rss"] / 1024, 1)}


def log_span(root: Path, first: str, last: str) -> float:
    """Seconds between the first ``first`` event and the last ``last`` event of the latest run's log."""
    from datetime import datetime

    log = max((root / "processed" / "logs" / "2022").glob("run-*.jsonl"), key=lambda p: p.stat().st_mtime)
    events = [json.loads(line) for line in log.read_text().splitlines()]
    start = next(datetime.fromisoformat(e["time"]) for e in events if e["event"] == first)
    end = [datetime.fromisoformat(e["time"]) for e in events if e["event"] == last][-1]
    return round((end - start).total_seconds(), 3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 20], help="copies of the city")
    parser.add_argument("--skip-run", action="store_true")
    args = parser.parse_args()
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for copies in args.sizes:
            root = Path(tmp) / f"x{copies}"
            n = workspace(root, copies)
            row: dict = {"submissions": n}
            for jobs in ("1", "2"):
                v = measured(root, "validate", "--format", "json", "--jobs", jobs, "raw/2022")
                row[f"validate_jobs{jobs}"] = {**v, "cpu_per_submission_ms": round(1000 * v["cpu_s"] / n, 1)}
            row["validate_speedup_1_to_2"] = round(row["validate_jobs1"]["wall_s"] / row["validate_jobs2"]["wall_s"], 2)
            if not args.skip_run:
                for jobs in ("1", "2"):
                    shutil.rmtree(root / "processed", ignore_errors=True)
                    shutil.rmtree(root / "reports", ignore_errors=True)
                    full = measured(root, "run", "--quiet", "--jobs", jobs)
                    row[f"run_full_jobs{jobs}"] = {**full, "cpu_per_submission_ms": round(1000 * full["cpu_s"] / n, 1),
                                                   "validation_wall_s": log_span(root, "discovered", "input")}
                row["run_speedup_1_to_2"] = round(row["run_full_jobs1"]["wall_s"] / row["run_full_jobs2"]["wall_s"], 2)
                same = measured(root, "run", "--quiet")
                row["run_no_change"] = {**same, "bookkeeping_wall_s": log_span(root, "start", "unchanged")}
                row["ratio_no_change_bookkeeping_to_full_wall"] = round(
                    row["run_no_change"]["bookkeeping_wall_s"] / row["run_full_jobs2"]["wall_s"], 4)
                row["ratio_no_change_to_full_cpu"] = round(same["cpu_s"] / row["run_full_jobs2"]["cpu_s"], 4)
                row["ratio_no_change_to_full_wall"] = round(same["wall_s"] / row["run_full_jobs2"]["wall_s"], 4)
            out[f"x{copies}"] = row
            print(json.dumps({f"x{copies}": row}), file=sys.stderr)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
