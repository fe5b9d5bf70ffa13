"""National benchmark: ``rekap run`` on N submissions from a synthetic registry of agencies.

For each size N (default 340 and 3,400; 20,000 where the machine allows: ``--sizes 340,3400,20000``)
it builds a workspace whose registry holds ceil(N / 34) agencies (instansi) of the 34 Kota Serang OPDs
(``raw/PERIOD/<instansi>/``), writes N submissions (xlsx and CSV, half each by default, with the sample's planted defects) and measures:

* the baseline: merely parsing the same files with the fast reader (python-calamine for xlsx, the
  csv module for CSV), CPU seconds, in this process;
* ``rekap validate`` (read -> stage -> check -> localise) with 1 job: CPU, and the ratio to the baseline
  (target <= 5x); and its wall time with 1 and with ``--jobs`` jobs (the speed-up);
* a full ``rekap run``: wall, CPU (every process of the run), peak memory (sampled: the sum of the
  run's processes' RSS, which counts the pages a forked worker shares with the main process once per
  worker; their summed PSS, each shared page divided among its sharers; and the main process's RSS alone:
  flat in N), time per submission; a full run under two minutes of CPU (340 submissions) is the median
  of three, each from nothing;
* a run with nothing changed, a run after one file changed, and a run after a resubmission that is
  rejected (the city tables unchanged): as ratios of the full run
  (targets <= 1 % and <= 2 % at 3,400); the run with nothing changed is the median of three (``cpu_s_runs``:
  each one's CPU), as it lasts a few seconds that the machine's noise moves by a third;
* the publish floor (``bench/floor.py``, the median of three): what any publishing run spends whatever
  changed (starting, the gate with Great Expectations, the profile), CPU, as a ratio of the full run (the
  least the one-file-changed ratio can be), and the CPU per submission beyond it;
* the size of ``processed/`` and ``reports/``.

rekap's bytecode is compiled first (as ``make setup`` and any ``pip install`` do): where
PYTHONDONTWRITEBYTECODE is set, every command would otherwise compile rekap's modules again as it starts.

Submissions are made fast: one workbook per (OPD, variant) from rekap's own sample generator, then
each agency's copy is the same workbook with its OPD's code renamed to the OPD's id inside the file
(``INSTANSI.CODE``, as its template's identity sheet carries it), so 20,000 files take seconds to write, not hours. Output: JSON on stdout (and
``--out FILE``). Machines here are shared and noisy: compare the ratios, measured in one run.

    .venv/bin/python bench/national.py [--sizes 340,3400] [--jobs 2] [--csv-share 0.5] [--keep DIR]
        [--runs-only | --validate-only]

(It replaces ``bench/run.py``, ``bench/pool.py`` and ``bench/incremental.py``, which measured the same
runs on smaller synthetic periods.)
"""

from __future__ import annotations

import argparse
import compileall
import csv
import io
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.files import save_workbook  # noqa: E402
from pipeline.read_csv import write_csv  # noqa: E402
from pipeline.sample import sample_values, sample_workbook  # noqa: E402
from pipeline.specs import load_registry  # noqa: E402

PERIOD = "2099"
VARIANTS = 3  # distinct value sets per OPD (sample seeds)
REKAP = [sys.executable, "-m", "pipeline"]


# -- the synthetic registry and its submissions ---------------------------------------------------------
def agency_code(a: int) -> str:
    return f"K{a:03d}"


def registry_rows(n: int) -> list[dict]:
    """ceil(n / 34) agencies (instansi) of the 34 registry OPDs, the first n of them; an OPD's id is
    ``INSTANSI.CODE`` (what its template's identity sheet carries)."""
    base = list(load_registry().values())
    rows = []
    for a in range(math.ceil(n / len(base))):
        for opd in base:
            rows.append({"instansi": agency_code(a), "code": opd.code, "id": f"{agency_code(a)}.{opd.code}",
                         "name": opd.name, "type": opd.type, "leader": opd.leader})
            if len(rows) == n:
                return rows
    return rows


def write_registry(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["code", "name", "type", "leader", "aliases", "instansi"])
        for r in rows:
            w.writerow([r["code"], r["name"], r["type"], r["leader"], "", r["instansi"]])


def variant_workbooks(cache: Path) -> dict[tuple[str, int], bytes]:
    """The sample's workbook of every OPD for each variant seed (kept in ``cache`` between runs)."""
    out = {}
    cache.mkdir(parents=True, exist_ok=True)
    for opd in load_registry().values():
        for v in range(VARIANTS):
            path = cache / f"{opd.code}-{v}.xlsx"
            if not path.exists():
                wb, _, _ = sample_workbook(opd, PERIOD, seed=2022 + v)
                save_workbook(wb, path)
            out[opd.code, v] = path.read_bytes()
    return out


def renamed(xlsx: bytes, old: str, new: str) -> bytes:
    """The workbook with the OPD code ``old`` renamed ``new`` wherever it is a whole string."""
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith(("sharedStrings.xml", ".xml")) and f">{old}<".encode() in data:
                data = data.replace(f">{old}<".encode(), f">{new}<".encode())
            dst.writestr(info, data)
    return buf.getvalue()


CODE = "OPDCODEHERE"


def variant_csvs(cache: Path) -> dict[tuple[str, int], str]:
    """The sample's values of every OPD for each variant seed as tidy CSV text, the OPD code a
    placeholder (:data:`CODE`)."""
    out = {}
    for opd in load_registry().values():
        for v in range(VARIANTS):
            path = cache / f"{opd.code}-{v}.csv"
            if not path.exists():
                write_csv(path, CODE, PERIOD, sample_values(opd, 2022 + v)[0])
            out[opd.code, v] = path.read_text(encoding="utf-8")
    return out


def write_submissions(raw: Path, rows: list[dict], csv_share: float, variants: dict, csvs: dict,
                      seed: int = 0) -> list[Path]:
    files = []
    for i, r in enumerate(rows):
        folder = raw / PERIOD / r["instansi"]
        folder.mkdir(parents=True, exist_ok=True)
        v = (i // 34 + seed) % VARIANTS
        if (i * 7919) % 1000 < csv_share * 1000:
            path = folder / f"{r['code']}.csv"
            path.write_text(csvs[r["code"], v].replace(CODE, r["id"]), encoding="utf-8")
        else:
            path = folder / f"{r['code']}.xlsx"
            path.write_bytes(renamed(variants[r["code"], v], r["code"], r["id"]))
        files.append(path)
    return files


# -- measuring ------------------------------------------------------------------------------------------
def bare_parse(files: list[Path]) -> float:
    """CPU seconds to merely parse the files: every sheet's values (calamine), every CSV row."""
    from python_calamine import CalamineWorkbook

    start = time.process_time()
    for f in files:
        if f.suffix == ".xlsx":
            wb = CalamineWorkbook.from_path(str(f))
            for name in wb.sheet_names:
                wb.get_sheet_by_name(name).to_python()
        else:
            with f.open(newline="", encoding="utf-8") as fh:
                list(csv.reader(fh))
    return time.process_time() - start


class TreeRss:
    """Samples the memory of a process and its descendants (every 50 ms, see ``SLOW_EVERY``): ``peak``, the
    summed resident memory, and ``main``, the peak of the process alone (its workers, whose number is
    ``--jobs``, left out).

    A worker is forked from the main process: until either writes to them, they share its pages, and each
    one's resident memory counts them again. ``pss`` is the summed proportional set size (each page divided
    among the processes sharing it): the tree's own footprint, which the sum of resident memory overstates
    by every shared page counted once per worker."""

    def __init__(self, pid: int):
        self.pid, self.peak, self.main, self.pss, self._stop = pid, 0, 0, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        parents: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                    ppid = int(stat.rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
                parents.setdefault(ppid, []).append(int(entry))
        tree, todo = [], [self.pid]
        while todo:
            p = todo.pop()
            tree.append(p)
            todo.extend(parents.get(p, []))
        return tree

    @staticmethod
    def _bytes(pid: int, part: str, field: str) -> int:
        """A memory field (in kB) of ``/proc/PID/<part>`` in bytes; 0 when the process is gone."""
        try:
            for line in Path(f"/proc/{pid}/{part}").read_text().splitlines():
                if line.startswith(field):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    # A sample of the summed resident memory costs well under a millisecond; the process tree (a scan of /proc)
    # and the proportional set sizes (smaps_rollup walks every page table: 36 ms for 17 processes) cost far
    # more, and run on the cores of the measured command. So the tree is looked up, and the PSS read, every
    # 10th sample (0.5 s), and the PSS also whenever the resident memory reaches a new peak.
    SLOW_EVERY = 10

    def _run(self):
        sample, tree = 0, []
        while not self._stop.wait(0.05):
            slow = sample % self.SLOW_EVERY == 0
            sample += 1
            if slow:
                tree = self._tree()
            rss = sum(self._bytes(p, "status", "VmRSS:") for p in tree)
            if slow or rss > self.peak:
                self.pss = max(self.pss, sum(self._bytes(p, "smaps_rollup", "Pss:") for p in tree))
            self.peak = max(self.peak, rss)
            self.main = max(self.main, self._bytes(self.pid, "status", "VmRSS:"))

    def stop(self) -> tuple[int, int, int]:
        self._stop.set()
        self._thread.join()
        return self.peak, self.main, self.pss


def rekap(args: list[str], workspace: Path) -> dict:
    """One ``rekap`` command: exit code, wall and CPU seconds (every process it waited for), peak RSS."""
    return measured(REKAP + args + ["--workspace", str(workspace), "--quiet"])


def measured(command: list[str]) -> dict:
    """One command (exit 0 or 1): exit code, wall and CPU seconds (every process it waited for), peak RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sampler = TreeRss(proc.pid) if Path("/proc").is_dir() else None
    _, err = proc.communicate()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}): {err.decode()[-2000:]}")
    peak, main, pss = sampler.stop() if sampler else (0, 0, 0)
    return {"exit": proc.returncode, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
            "peak_rss_mb": round(peak / 2**20, 1), "peak_pss_mb": round(pss / 2**20, 1),
            "peak_rss_main_mb": round(main / 2**20, 1)}


REPEAT = 3  # the short measurements (a run with nothing changed, the publish floor) are repeated


def median_run(runs: list[dict]) -> dict:
    """The run of median CPU among ``runs``, with every run's CPU seconds (``cpu_s_runs``: the spread)."""
    middle = sorted(runs, key=lambda r: r["cpu_s"])[len(runs) // 2]
    return {**middle, "cpu_s_runs": [r["cpu_s"] for r in runs]}


SHORT_CPU_S = 120  # a full run under this much CPU is repeated too: at 340 submissions the noise moves it by a sixth


def full_run(ws: Path, jobs: int) -> dict:
    """A full run from nothing; while it costs under SHORT_CPU_S, the median of REPEAT (processed/ and reports/
    emptied before each), as the per-submission comparison between sizes rests on the smallest's."""
    runs = [rekap(["run", "--period", PERIOD, "--jobs", str(jobs)], ws)]
    while runs[-1]["cpu_s"] < SHORT_CPU_S and len(runs) < REPEAT:
        for folder in (ws / "processed", ws / "reports"):
            shutil.rmtree(folder)
            folder.mkdir()
        runs.append(rekap(["run", "--period", PERIOD, "--jobs", str(jobs)], ws))
    return median_run(runs) if len(runs) > 1 else runs[0]


def size_mb(folder: Path) -> float:
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20, 1)


def measure(n: int, root: Path, jobs: int, csv_share: float, variants: dict, csvs: dict,
            validate: bool = True, runs: bool = True) -> dict:
    ws = root / f"n{n}"
    subprocess.run(REKAP + ["init", str(ws), "--quiet"], check=True, cwd=ROOT)
    rows = registry_rows(n)
    write_registry(ws / "registry.csv", rows)
    start = time.perf_counter()
    files = write_submissions(ws / "raw", rows, csv_share, variants, csvs)
    written = time.perf_counter() - start
    baseline = bare_parse(files)
    folders = sorted({str(f.parent) for f in files})  # one per agency
    checks = {}
    if validate:
        validate1 = rekap(["validate", *folders, "--period", PERIOD, "--jobs", "1", "--format", "json"], ws)
        validate_n = rekap(["validate", *folders, "--period", PERIOD, "--jobs", str(jobs), "--format", "json"], ws)
        checks = {"validate_1_job": validate1, f"validate_{jobs}_jobs": validate_n,
                  "ratio_validate_cpu_to_bare_parse": round(validate1["cpu_s"] / baseline, 2),
                  "speedup_validate_1_to_n_jobs": round(validate1["wall_s"] / validate_n["wall_s"], 2),
                  "validate_per_submission_cpu_ms": round(1000 * validate1["cpu_s"] / n, 2)}
    sizes = {"n": n, "agencies": len({r["instansi"] for r in rows}),
             "xlsx": sum(f.suffix == ".xlsx" for f in files), "csv": sum(f.suffix == ".csv" for f in files),
             "jobs": jobs, "write_submissions_s": round(written, 1), "baseline_bare_parse_cpu_s": round(baseline, 3)}
    if not runs:
        return {**sizes, **checks}
    full = full_run(ws, jobs)
    # a run with nothing changed costs seconds, which this machine's noise can move by a third: the median of
    # REPEAT (each one is what a scheduled run finds on a quiet night)
    unchanged = median_run([rekap(["run", "--period", PERIOD, "--jobs", str(jobs)], ws) for _ in range(REPEAT)])
    # one file changed: the first xlsx gets another variant's values (a new version of that OPD)
    first = next(i for i, f in enumerate(files) if f.suffix == ".xlsx")
    r = rows[first]
    v = (first // 34 + 1) % VARIANTS
    files[first].write_bytes(renamed(variants[r["code"], v], r["code"], r["id"]))
    one = rekap(["run", "--period", PERIOD, "--jobs", str(jobs)], ws)
    # a resubmission that is rejected (a count off, its total not), as a new file of another OPD: the OPD's
    # earlier version stays in use, the city tables stay as they are
    k = next(i for i in range(len(rows)) if i != first)
    r = rows[k]
    lines = csvs[r["code"], (k // 34) % VARIANTS].replace(CODE, r["id"]).splitlines()
    j = next(i for i, line in enumerate(lines) if ",golongan," in line)
    cells, _, value = lines[j].rpartition(",")
    lines[j] = f"{cells},{int(value) + 7}"
    (files[k].parent / f"{r['code']}-revisi.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rejected = rekap(["run", "--period", PERIOD, "--jobs", str(jobs)], ws)
    floor = median_run([measured([sys.executable, str(ROOT / "bench" / "floor.py"), str(ws), PERIOD])
                        for _ in range(REPEAT)])
    return {
        **sizes, **checks,
        "full_run": full, "no_change_run": unchanged, "one_file_changed_run": one,
        "one_rejected_resubmission_run": rejected,
        "per_submission_ms": {"wall": round(1000 * full["wall_s"] / n, 2), "cpu": round(1000 * full["cpu_s"] / n, 2)},
        "ratio_no_change_to_full": {"wall": round(unchanged["wall_s"] / full["wall_s"], 4),
                                    "cpu": round(unchanged["cpu_s"] / full["cpu_s"], 4)},
        "ratio_one_changed_to_full": {"wall": round(one["wall_s"] / full["wall_s"], 4),
                                      "cpu": round(one["cpu_s"] / full["cpu_s"], 4)},
        "ratio_one_rejected_to_full": {"wall": round(rejected["wall_s"] / full["wall_s"], 4),
                                       "cpu": round(rejected["cpu_s"] / full["cpu_s"], 4)},
        # what any publishing run spends whatever changed (bench/floor.py): start, gate, profile
        "publish_floor": floor, "ratio_publish_floor_to_full": {"cpu": round(floor["cpu_s"] / full["cpu_s"], 4)},
        "per_submission_beyond_floor_cpu_ms": round(1000 * (full["cpu_s"] - floor["cpu_s"]) / n, 2),
        "processed_mb": size_mb(ws / "processed"), "reports_mb": size_mb(ws / "reports"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="340,3400", help="comma-separated N (e.g. 340,3400,20000)")
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--csv-share", type=float, default=0.5)
    parser.add_argument("--keep", type=Path, help="build the workspaces here and keep them")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--runs-only", action="store_true", help="measure the runs only (no validate commands)")
    only.add_argument("--validate-only", action="store_true", help="measure the validate commands only (no runs)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    compileall.compile_dir(ROOT / "pipeline", quiet=1)  # as installed: commands start without compiling
    root = args.keep or Path(tempfile.mkdtemp(prefix="rekap-national-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        variants, csvs = variant_workbooks(root / "variants"), variant_csvs(root / "variants")
        results = [measure(n, root, args.jobs, args.csv_share, variants, csvs, not args.runs_only, not args.validate_only)
                   for n in sizes]
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    def per_submission(r: dict) -> float:  # CPU ms: of the full run, else of validating
        return r["per_submission_ms"]["cpu"] if "per_submission_ms" in r else r["validate_per_submission_cpu_ms"]

    report = {"machine_cores": os.cpu_count(), "sizes": results,
              "per_submission_cpu_vs_smallest": {
                  str(r["n"]): round(per_submission(r) / per_submission(results[0]), 2) for r in results}}
    if all("per_submission_beyond_floor_cpu_ms" in r for r in results):
        report["per_submission_beyond_floor_cpu_vs_smallest"] = {
            str(r["n"]): round(r["per_submission_beyond_floor_cpu_ms"] / results[0]["per_submission_beyond_floor_cpu_ms"], 2)
            for r in results}
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
