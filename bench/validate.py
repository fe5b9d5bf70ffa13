"""Benchmark: validating the sample period, as ratios against a baseline measured in the same run.

The baseline is the fast reader's bare parse of the same files (python-calamine: every worksheet's
values and merged ranges, :func:`bench.readers.calamine_parse`), the least any reader of these
files must spend. The machines are shared and noisy, so report ratios of CPU time (this process and any
worker it waited for), not seconds: read / baseline (``read_xlsx``: limits, parse, finding the tables)
and validate / baseline (read, stage, check, localise).

The reader remembers what is alike across workbooks of one template (the tables found on a sheet, the
proof of a small part); reading one file twice would flatter it. So every pass reads files it has not
seen: each pass gets its own samples (other seeds: other values, other planted defects), after a warm-up
on the default seed's sample (as a run's first files warm a worker). A pass reads ``--samples`` samples of
34 workbooks each (170 files by default): a pass of a fraction of a second is at the mercy of a shared
machine's noise.

    .venv/bin/python bench/validate.py [--repeat 3] [--samples 5] [--code OTHER_CHECKOUT]

``--code`` measures another checkout's ``pipeline`` (e.g. main's worktree) with this same bench, so a
before/after pair is two runs of one script, back to back.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path


def cpu() -> float:
    """CPU seconds of this process and of its waited-for children."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--samples", type=int, default=5, help="samples (34 workbooks each) read per pass")
    parser.add_argument("--code", default=str(Path(__file__).resolve().parent.parent),
                        help="the checkout whose pipeline is measured (default: this one)")
    args = parser.parse_args()
    sys.path.insert(0, args.code)
    from pipeline.read_xlsx import read_xlsx
    from pipeline.sample import write_sample
    from pipeline.validate import validate_files

    sys.path.append(str(Path(__file__).resolve().parent.parent))
    from bench.readers import calamine_parse  # after the measured pipeline: it stays the one imported

    with tempfile.TemporaryDirectory() as tmp:
        def sample(seed: int) -> list[Path]:
            write_sample(Path(tmp) / str(seed), "2022", seed=seed, log=None)
            return sorted((Path(tmp) / str(seed) / "2022").glob("*.xlsx"))

        def samples(first: int) -> list[Path]:
            return [f for seed in range(first, first + args.samples) for f in sample(seed)]

        for f in sample(2022):  # warm-up: specs, text catalogue, what one template's workbooks share
            read_xlsx(f)
        spent = {"baseline": [], "read": [], "validate": []}
        for k in range(args.repeat):
            files = {step: samples(1000 * k + 100 * i) for i, step in enumerate(spent, start=1)}
            for step, fn in (("baseline", calamine_parse), ("read", read_xlsx)):
                start = cpu()
                for f in files[step]:
                    fn(f)
                spent[step].append(cpu() - start)
            start = cpu()
            validate_files(files["validate"])
            spent["validate"].append(cpu() - start)
    n = len(files["read"])
    baseline, read, validate = (min(spent[step]) for step in ("baseline", "read", "validate"))
    print(json.dumps({
        "code": args.code,
        "files": n,
        "baseline": "python-calamine bare parse of sample files (values and merged ranges)",
        "baseline_cpu_per_file_ms": round(1000 * baseline / n, 2),
        "read_cpu_per_file_ms": round(1000 * read / n, 2),
        "ratio_read_to_baseline": round(read / baseline, 1),
        "validate_cpu_per_file_ms": round(1000 * validate / n, 2),
        "ratio_validate_to_baseline": round(validate / baseline, 1),
        "spread_note": f"best of {args.repeat} passes, CPU time; each pass on files none saw before (own seeds)",
    }, indent=2))


if __name__ == "__main__":
    main()
