"""Benchmark: validating the sample period, as ratios against a baseline measured in the same run.

The baseline is the irreducible cost of the job: opening every workbook once with openpyxl. The
machines are shared and noisy, so report ratios (validate / baseline), not seconds.

    .venv/bin/python bench/validate.py [--repeat 3]
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

from pipeline.read_xlsx import read_xlsx  # noqa: E402
from pipeline.sample import write_sample  # noqa: E402
from pipeline.validate import validate_files  # noqa: E402


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        write_sample(Path(tmp), "2022", log=None)
        files = sorted((Path(tmp) / "2022").glob("*.xlsx"))
        baseline = best_of(args.repeat, lambda: [openpyxl.load_workbook(f, data_only=True) for f in files])
        read = best_of(args.repeat, lambda: [read_xlsx(f) for f in files])
        validate = best_of(args.repeat, lambda: validate_files(files))
    print(json.dumps({
        "files": len(files),
        "baseline_open_all_s": round(baseline, 3),
        "read_all_s": round(read, 3),
        "ratio_read_to_open": round(read / baseline, 2),
        "read_per_file_ms": round(1000 * read / len(files), 1),
        "validate_all_s": round(validate, 3),
        "ratio_validate_to_open": round(validate / baseline, 2),
        "validate_per_file_ms": round(1000 * validate / len(files), 1),
        "spread_note": f"best of {args.repeat}",
    }, indent=2))


if __name__ == "__main__":
    main()
