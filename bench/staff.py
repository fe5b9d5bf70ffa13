"""Staff lists at scale: the real code (read -> map -> row checks -> city-wide duplicates -> derived
recaps) on a city-wide list of 4,000 rows and on a generated national-size list of 4,500,000 rows.

Each size runs in its own process; the figures are wall time per stage and the process's peak
resident memory (VmHWM). A small list is measured twice: the first call in a process also loads the
specs and the registry (once per process), the second is the work itself. The engine (polars) was chosen with ``bench/staff_engines.py``.

    .venv/bin/python bench/staff.py [ROWS ...]      # default: 4000 4500000
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HEADER = ["NIP BARU", "NAMA", "JENIS KELAMIN", "STATUS PEGAWAI", "GOL AKHIR NAMA", "TINGKAT PENDIDIKAN NAMA",
          "JENIS JABATAN NAMA", "ESELON NAMA", "JABATAN NAMA", "UNOR NAMA"]


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """A list with the export's columns, spellings as varied as the sample's, every unit a registry OPD."""
    from pipeline.specs import load_registry

    rng = np.random.default_rng(seed)
    units = np.array([o.name for o in load_registry().values()] + ["SD Negeri 3 Kota Serang", "Puskesmas Kasemen"])
    year = rng.integers(1966, 2000, rows)
    month = rng.integers(1, 13, rows)
    day = rng.integers(1, 29, rows)
    tmt_y = np.minimum(year + rng.integers(21, 30, rows), 2020)
    sex = rng.integers(1, 3, rows)
    seq = rng.integers(1, 1000, rows)
    ranks = np.array(["II/a", "II/c", "III/a", "III-b", "III/c", "III/d", "IV/a", "Pembina Tk. I", "Penata Muda"])
    edus = np.array(["SLTA", "D-III", "S-1", "Strata 1", "S-2", "S1", "SMA"])
    posts = np.array(["Jabatan Pelaksana", "Jabatan Fungsional", "Jabatan Pelaksana"])
    post_names = np.array(["Pengadministrasi Umum", "Guru Ahli Muda", "Pengolah Data"])
    sex_text = np.array(["", "Laki-laki", "Perempuan"])
    rank = rng.integers(0, len(ranks), rows)
    edu = rng.integers(0, len(edus), rows)
    post = rng.integers(0, len(posts), rows)
    unit = rng.integers(0, len(units), rows)
    with open(path, "w", encoding="utf-8") as f:
        f.write(",".join(HEADER) + "\n")
        for start in range(0, rows, 250_000):
            end = min(rows, start + 250_000)
            f.writelines(
                f"{year[i]:04d}{month[i]:02d}{day[i]:02d}{tmt_y[i]:04d}{month[i]:02d}{sex[i]}{seq[i]:03d},"
                f"Pegawai {i},{sex_text[sex[i]]},PNS,{ranks[rank[i]]},{edus[edu[i]]},{posts[post[i]]},,"
                f"{post_names[post[i]]},{units[unit[i]]}\n" for i in range(start, end))


def measure(path: str) -> dict:
    from pipeline.specs import load_registry
    from pipeline.staff import map_rows, read_staff
    from pipeline.staff_checks import check_rows, duplicate_findings
    from pipeline.staff_recap import derive

    registry = load_registry()
    out = {}
    t = time.perf_counter()
    staff = read_staff(path)
    out["read_s"] = time.perf_counter() - t
    t = time.perf_counter()
    mapped, findings = map_rows(staff, registry)
    out["map_s"] = time.perf_counter() - t
    t = time.perf_counter()
    checked, more = check_rows(mapped, "2022", path, registry)
    dup = duplicate_findings([(path, checked)])
    out["checks_s"] = time.perf_counter() - t
    t = time.perf_counter()
    derived, _ = derive(checked)
    out["derive_s"] = time.perf_counter() - t
    out["rows"] = staff.rows.height
    out["findings"] = len(findings) + len(more) + len(dup)
    out["opds"] = len(derived)
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            out["peak_mb"] = int(line.split()[1]) / 1024
    return out


def main(sizes: list[int]) -> None:
    for rows in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "list.csv"
            subprocess.run([sys.executable, __file__, "--generate", str(path), str(rows)], check=True)
            out = subprocess.run([sys.executable, __file__, "--measure", str(path)], capture_output=True, text=True)
            if out.returncode:
                print(out.stderr)
                continue
            r = json.loads(out.stdout)
            work = r["map_s"] + r["checks_s"] + r["derive_s"]
            print(f"{r['rows']:>9,} rows ({path.stat().st_size / 1e6:.0f} MB): read {r['read_s']:.2f} s; "
                  f"map {r['map_s']:.2f} s, checks {r['checks_s']:.2f} s, derive {r['derive_s']:.2f} s "
                  f"(work beyond reading {work:.2f} s; first call in a process {r['cold_work_s']:.2f} s); peak RSS {r['peak_mb']:.0f} MB; "
                  f"{r['opds']} OPDs, {r['findings']} findings")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--generate"]:
        generate(Path(sys.argv[2]), int(sys.argv[3]))
    elif sys.argv[1:2] == ["--measure"]:
        cold = measure(sys.argv[2])  # includes loading the specs and the registry once
        warm = measure(sys.argv[2]) if cold["rows"] <= 100_000 else cold
        print(json.dumps({**warm, "cold_work_s": cold["map_s"] + cold["checks_s"] + cold["derive_s"],
                          "peak_mb": max(cold["peak_mb"], warm["peak_mb"])}))
    else:
        main([int(a) for a in sys.argv[1:]] or [4000, 4_500_000])
