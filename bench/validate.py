"""Benchmark: validating the sample period, as ratios against a baseline measured in the same run.

The baseline is the fast reader's bare parse of the same files (python-calamine: every worksheet's
values and merged ranges, :func:`bench.readers.calamine_parse`), the least any reader of these files
must spend. The machines are shared and noisy, so report ratios of CPU time (this process and any
worker it waited for), not seconds: read / baseline (``read_xlsx``: limits, parse, finding the tables)
and validate / baseline (read, stage, check, localise).

    .venv/bin/python bench/validate.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.readers import calamine_parse  # noqa: E402
from pipeline.read_xlsx import read_xlsx  # noqa: E402
from pipeline.sample import write_sample  # noqa: E402
from pipeline.validate import validate_files  # noqa: E402


def cpu() -> float:
    """CPU seconds of this process and of its waited-for children."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        start = cpu()
        fn()
        times.append(cpu() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        write_sample(Path(tmp), "2022", log=None)
        files = sorted((Path(tmp) / "2022").glob("*.xlsx"))
        read_xlsx(files[0])  # load the specs and the text catalogue once, outside the timings
        baseline = best_of(args.repeat, lambda: [calamine_parse(f) for f in files])
        read = best_of(args.repeat, lambda: [read_xlsx(f) for f in files])
        validate = best_of(args.repeat, lambda: validate_files(files))
    n = len(files)
    print(json.dumps({
        "files": n,
        "baseline": "python-calamine bare parse of the same files (values and merged ranges)",
        "baseline_cpu_per_file_ms": round(1000 * baseline / n, 2),
        "read_cpu_per_file_ms": round(1000 * read / n, 2),
        "ratio_read_to_baseline": round(read / baseline, 1),
        "validate_cpu_per_file_ms": round(1000 * validate / n, 2),
        "ratio_validate_to_baseline": round(validate / baseline, 1),
        "spread_note": f"best of {args.repeat}, CPU time",
    }, indent=2))


if __name__ == "__main__":
    main()
