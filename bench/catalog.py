"""Benchmark: a run saving its new versions to the catalog, each in its own transaction or a batch at a time.

A run validates new files on every core while its main process saves each result to the catalog
(``processed/catalog.sqlite``, SQLite in WAL mode: each commit syncs the disk). The sample period's 34
workbooks are validated once; ``--versions`` versions made from their results (each its own hash) are then
saved into a new catalog twice: each in its own transaction (the baseline: how a run saved them before) and
:data:`pipeline.run.SAVED_AT_ONCE` at a time (how it saves them now). CPU seconds of this process and wall
seconds (a disk's syncs show in the wall time), best of ``--repeat``; the machines are shared and noisy, so
read the ratios.

    .venv/bin/python bench/catalog.py [--versions 3400] [--repeat 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--versions", type=int, default=3400)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from pipeline.catalog import Catalog
    from pipeline.run import SAVED_AT_ONCE, version_of
    from pipeline.sample import write_sample
    from pipeline.validate import validate_files

    period = "2022"
    with tempfile.TemporaryDirectory() as tmp:
        write_sample(Path(tmp) / "raw", period, log=None)
        results = validate_files(sorted((Path(tmp) / "raw" / period).glob("*.xlsx")), period)
        made = [version_of(r, "", period, f"{r.opd}.xlsx", "", "t", "t") for r in results]
        versions = [dataclasses.replace(made[i % len(made)], sha256=f"{i:064x}") for i in range(args.versions)]
        spent = {"one_each": [], "batched": []}
        for k in range(args.repeat):
            for step, size in (("one_each", 1), ("batched", SAVED_AT_ONCE)):
                catalog = Catalog(Path(tmp) / f"{step}-{k}.sqlite")
                start, wall = time.process_time(), time.perf_counter()
                for at in range(0, len(versions), size):
                    catalog.save_versions(versions[at:at + size])
                spent[step].append((time.process_time() - start, time.perf_counter() - wall))
                catalog.close()
    best = {step: (min(c for c, _ in times), min(w for _, w in times)) for step, times in spent.items()}
    print(json.dumps({
        "versions": args.versions, "saved_at_once": SAVED_AT_ONCE,
        "baseline": "each version saved in its own transaction",
        "cpu_s": {step: round(c, 3) for step, (c, _) in best.items()},
        "wall_s": {step: round(w, 3) for step, (_, w) in best.items()},
        "ratio_batched_to_one_each": {"cpu": round(best["batched"][0] / best["one_each"][0], 2),
                                      "wall": round(best["batched"][1] / best["one_each"][1], 2)},
        "spread_note": f"best of {args.repeat}; CPU of this process, wall with the disk's syncs",
    }, indent=2))


if __name__ == "__main__":
    main()
