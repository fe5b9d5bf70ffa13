"""Benchmark: which fast reader, by measurement. The bare parse of every workbook of the sample period
and of the hostile corpus (tests/hostile.py; only the workbooks within the limits, as the reader would
see them) by python-calamine, fastexcel (when installed: it is not a dependency) and openpyxl, and
rekap's own read (``read_xlsx``: limits, parse, finding the tables) and the limits' check alone.

A bare parse is: open the workbook, and every worksheet's cells as Python values (calamine: also its
merged ranges, which the reader needs and fastexcel does not give). Figures are CPU per file and ratios
against calamine measured in the same run (the machines are shared and noisy), plus how many files each
reader refused (an exception: the reader turns it into a finding).

    .venv/bin/python bench/readers.py [--repeat 3] [--before OLD/pipeline/read_xlsx.py]

rekap's reader remembers what workbooks of one template share (the tables found on a sheet, the limits'
proof of a small part): with ``--repeat`` above 1 the same files are read again, which flatters it; use
``--repeat 1`` for its cost, or bench/validate.py (each pass reads files none saw before).

``--before`` loads another version of the reader (e.g. ``git show main:pipeline/read_xlsx.py > /tmp/old.py``)
and, on the same files, compares its extracts with today's (kind, identity, tables, cells, findings: the
files that differ are listed) and gives the before/after read cost per file as a ratio.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from pipeline.limits import check_xlsx  # noqa: E402
from pipeline.read_xlsx import read_xlsx  # noqa: E402
from pipeline.sample import write_sample  # noqa: E402

WORKBOOKS = (".xlsx", ".xlsm")


def calamine_parse(path: Path) -> None:
    """The fast reader's bare parse: every worksheet's values and merged ranges."""
    from python_calamine import CalamineWorkbook, SheetTypeEnum

    wb = CalamineWorkbook.from_filelike(io.BytesIO(path.read_bytes()))
    for meta in wb.sheets_metadata:
        if meta.typ == SheetTypeEnum.WorkSheet:
            sheet = wb.get_sheet_by_name(meta.name)
            sheet.to_python(skip_empty_area=False)
            sheet.merged_cell_ranges  # noqa: B018 - read, as the reader does


def fastexcel_parse(path: Path) -> None:
    import fastexcel

    reader = fastexcel.read_excel(path.read_bytes())
    for name in reader.sheet_names:
        reader.load_sheet(name, header_row=None, dtypes="string").to_arrow()


def openpyxl_parse(path: Path) -> None:
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        openpyxl.load_workbook(io.BytesIO(path.read_bytes()), data_only=True)


def cpu_per_file(fn, files: list[Path], repeat: int) -> tuple[float, int]:
    """Best CPU seconds per file over ``repeat`` passes, and how many files ``fn`` refused (raised on)."""
    best, refused = None, 0
    for _ in range(repeat):
        refused = 0
        start = time.process_time()
        for f in files:
            try:
                fn(f)
            except Exception:  # noqa: BLE001 - a refusal is counted, not fatal
                refused += 1
        spent = time.process_time() - start
        best = spent if best is None else min(best, spent)
    return best / max(1, len(files)), refused


def corpus_files(tmp: Path) -> dict[str, list[Path]]:
    import hostile

    write_sample(tmp / "sample", "2022", log=None)
    hostile.write_corpus(tmp / "hostile", good=True)
    sample = sorted(p for p in (tmp / "sample" / "2022").iterdir() if p.suffix in WORKBOOKS)
    every = sorted(p for p in (tmp / "hostile").iterdir() if p.suffix in WORKBOOKS)
    return {"sample": sample, "hostile_within_limits": [p for p in every if check_xlsx(p) is None],
            "hostile_all": every}


def extract_of(read, path: Path) -> tuple:
    ex = read(path)
    return (ex.kind, sorted(ex.identity.items()), sorted(ex.tables), [repr(c) for c in ex.cells],
            [repr(f) for f in ex.findings])


def load_reader(path: str):
    spec = importlib.util.spec_from_file_location("before_read_xlsx", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.read_xlsx


def compare(before, files: list[Path], repeat: int) -> dict:
    differ = [f.name for f in files if extract_of(before, f) != extract_of(read_xlsx, f)]
    old, _ = cpu_per_file(before, files, repeat)
    new, _ = cpu_per_file(read_xlsx, files, repeat)
    return {"files": len(files), "extracts_differ": differ, "before_cpu_ms_per_file": round(1000 * old, 2),
            "after_cpu_ms_per_file": round(1000 * new, 2), "ratio_before_to_after": round(old / new, 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--before", help="another version's pipeline/read_xlsx.py, to compare with")
    args = parser.parse_args()
    before = load_reader(args.before) if args.before else None
    readers = {"calamine": calamine_parse, "openpyxl": openpyxl_parse}
    try:
        import fastexcel  # noqa: F401
        readers["fastexcel"] = fastexcel_parse
    except ImportError:
        pass
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, files in corpus_files(Path(tmp)).items():
            figures: dict = {"files": len(files)}
            runs = {"read_xlsx": read_xlsx, "limits_only": check_xlsx}
            if name != "hostile_all":  # the bare parsers never see what the limits refuse
                runs.update(readers)
            base = None
            for label, fn in runs.items():
                per_file, refused = cpu_per_file(fn, files, args.repeat)
                base = per_file if label == "calamine" else base
                figures[label] = {"cpu_ms_per_file": round(1000 * per_file, 2), "refused": refused}
            for label, f in figures.items():
                if isinstance(f, dict) and base:
                    f["ratio_to_calamine"] = round(f["cpu_ms_per_file"] / (1000 * base), 2)
            if before is not None:
                figures["before_after"] = compare(before, files, args.repeat)
            out[name] = figures
    if "fastexcel" not in readers:
        out["note"] = "fastexcel not installed (pip install fastexcel to compare it)"
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
