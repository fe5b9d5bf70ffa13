"""The staff-list sniff on its own: the CPU per file, by kind, of asking every submission of some
folders whether it is a staff list (``pipeline.staff.is_staff_list``, one process, the files in order,
as a worker asks them), as JSON. It measures the checkout whose ``pipeline`` the interpreter imports:
run it with each checkout's venv to compare two (before / after a change).

    .venv/bin/python bench/sniff.py [FOLDER ...]   # e.g. a national benchmark's raw/2099/*/; default: the sample
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def measure(folders: list[str]) -> dict:
    from pipeline.read import scan
    from pipeline.staff import is_staff_list

    files = [p for f in folders for p in scan(f)[0]]
    is_staff_list(files[0])  # the spec loaded once per process, not counted
    out: dict = {"files": len(files), "lists": 0}
    for kind in sorted({p.suffix.lower() for p in files}):
        mine = [p for p in files if p.suffix.lower() == kind]
        start = time.process_time()
        found = sum(is_staff_list(p) for p in mine)
        cpu = time.process_time() - start
        out["lists"] += found
        out[kind] = {"files": len(mine), "cpu_s": round(cpu, 3), "cpu_ms_per_file": round(1000 * cpu / len(mine), 3)}
    return out


def main() -> None:
    if sys.argv[1:]:
        print(json.dumps(measure(sys.argv[1:]), indent=2))
        return
    import tempfile

    from pipeline.sample import write_sample

    with tempfile.TemporaryDirectory() as tmp:  # no folder given: the sample period's submissions
        write_sample(Path(tmp), "2022", log=None)
        print(json.dumps(measure([str(Path(tmp) / "2022")]), indent=2))


if __name__ == "__main__":
    main()
