"""Benchmark: the marked workbooks (``reports/PERIOD/opd/*-umpan-balik.xlsx``), built and saved (prints JSON).

A full run spends most of its CPU on these: every OPD's submission copied with openpyxl, its findings
marked, a summary sheet added, and the copy saved. The sample period (``rekap sample``) is run once without
reports; then each OPD's workbook (a copy of its workbook, or the template for a CSV) is built and saved
``--repeat`` times, the save alternating between rekap's sheet writer (:func:`pipeline.files.save_workbook`)
and openpyxl's own (the baseline, measured in the same run, on workbooks built the same way). Both give the
same bytes, which is checked here too. Times are CPU seconds of this process per workbook (best of the
passes); the machines are shared and noisy, so read the ratios.

    .venv/bin/python bench/workbooks.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from openpyxl.worksheet._writer import WorksheetWriter

    from pipeline import run
    from pipeline.feedback_workbook import build_feedback_workbook
    from pipeline.files import _writers, save_workbook
    from pipeline.report_data import load_period
    from pipeline.sample import write_sample

    period = "2022"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_sample(root / "raw", period, log=None)
        run._reports = lambda *a, **k: None  # the reports are what is measured here
        run.run_period(period, root / "raw", root / "processed", root / "reports")
        report = load_period(root / "processed", period)
        opds = [opd for opd in report.opds if build_feedback_workbook(report, opd) is not None]
        in_memory = _writers()[1]
        rekap_writer = in_memory.sheet_writer

        def one_pass(writer) -> tuple[float, float, list[bytes]]:
            in_memory.sheet_writer = writer
            built = saving = 0.0
            out = []
            for opd in opds:
                start = time.process_time()
                wb = build_feedback_workbook(report, opd)
                middle = time.process_time()
                buffer = io.BytesIO()
                save_workbook(wb, buffer)
                built, saving = built + middle - start, saving + time.process_time() - middle
                out.append(buffer.getvalue())
            return built, saving, out

        spent = {"rekap": [], "openpyxl": []}
        saved = {}
        for _ in range(args.repeat):
            for name, writer in (("rekap", rekap_writer), ("openpyxl", WorksheetWriter)):
                built, saving, saved[name] = one_pass(writer)
                spent[name].append((built, saving))
        in_memory.sheet_writer = rekap_writer
    n = len(opds)
    build = min(b for name in spent for b, _ in spent[name])
    ours, theirs = (min(s for _, s in spent[name]) for name in ("rekap", "openpyxl"))
    print(json.dumps({
        "workbooks": n,
        "same_bytes": saved["rekap"] == saved["openpyxl"],
        "build_cpu_ms": round(1000 * build / n, 2),
        "save_cpu_ms": {"rekap": round(1000 * ours / n, 2), "openpyxl": round(1000 * theirs / n, 2)},
        "ratio_save_rekap_to_openpyxl": round(ours / theirs, 2),
        "ratio_build_and_save_rekap_to_openpyxl": round((build + ours) / (build + theirs), 2),
        "spread_note": f"best of {args.repeat} passes, CPU time of this process; the two writers alternate",
    }, indent=2))


if __name__ == "__main__":
    main()
