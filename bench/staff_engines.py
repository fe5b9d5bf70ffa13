"""Which dataframe engine for staff lists? The same kernel in pandas, polars and duckdb, measured.

The kernel is what :mod:`pipeline.staff_checks` and :mod:`pipeline.staff_recap` do to every row of a
list: read a CSV, map text values to codes (sex, education, rank), take the NIP apart (birth date,
TMT CPNS, sex digit) and check it, find NIPs given twice, and count rows into cells (unit, rank,
sex). Each engine runs in its own process, so its peak memory (ru_maxrss) is its own.

    .venv/bin/python bench/staff_engines.py [ROWS]     # default 4,500,000 (a national-size list)
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SEX = {"LAKI-LAKI": "L", "PRIA": "L", "L": "L", "PEREMPUAN": "P", "WANITA": "P", "P": "P"}
EDU = {"S-1": "S1", "STRATA 1": "S1", "S1": "S1", "S-2": "S2", "D-III": "D3", "SLTA": "SLTA", "SMA": "SLTA"}
RANK = r"^(IV|III|II|I)\s*[/\- ]?\s*([A-Ea-e])$"


def generate(path: Path, rows: int, seed: int = 1) -> None:
    """A list of ``rows`` employees with the export's column names (vectorised: seconds, not minutes)."""
    rng = np.random.default_rng(seed)
    year = rng.integers(1965, 2000, rows)
    month = rng.integers(1, 13, rows)
    day = rng.integers(1, 29, rows)
    tmt_y = year + rng.integers(20, 30, rows)
    sexd = rng.integers(1, 3, rows)
    seq = rng.integers(1, 999, rows)
    nip = np.char.add(np.char.add(np.char.add(np.char.zfill(year.astype(str), 4), np.char.zfill(month.astype(str), 2)),
                                  np.char.add(np.char.zfill(day.astype(str), 2), np.char.zfill(tmt_y.astype(str), 4))),
                      np.char.add(np.char.add(np.char.zfill(month.astype(str), 2), sexd.astype(str)),
                                  np.char.zfill(seq.astype(str), 3)))
    sex = np.where(sexd == 1, rng.choice(["LAKI-LAKI", "PRIA", "L"], rows), rng.choice(["PEREMPUAN", "P"], rows))
    rank = np.char.add(np.char.add(rng.choice(["II", "III", "IV"], rows), rng.choice(["/", "-"], rows)),
                       rng.choice(list("abcd"), rows))
    edu = rng.choice(list(EDU), rows)
    unit = np.char.add("UNIT ", rng.integers(0, 600, rows).astype(str))
    with open(path, "w", encoding="utf-8") as f:
        f.write("NIP BARU,NAMA,JENIS KELAMIN,GOL AKHIR NAMA,TINGKAT PENDIDIKAN NAMA,UNOR NAMA\n")
        for start in range(0, rows, 500_000):
            end = min(rows, start + 500_000)
            lines = [f"{a},PEGAWAI {i},{b},{c},{d},{e}\n" for i, a, b, c, d, e in zip(
                range(start, end), nip[start:end], sex[start:end], rank[start:end], edu[start:end], unit[start:end])]
            f.writelines(lines)


def run_pandas(path: str) -> dict:
    import pandas as pd

    t0 = time.perf_counter()
    df = pd.read_csv(path, dtype=str, engine="pyarrow")
    t1 = time.perf_counter()
    sex = df["JENIS KELAMIN"].str.upper().map(SEX)
    edu = df["TINGKAT PENDIDIKAN NAMA"].str.upper().map(EDU)
    rank = df["GOL AKHIR NAMA"].str.extract(RANK)
    nip = df["NIP BARU"]
    birth = pd.to_datetime(nip.str.slice(0, 8), format="%Y%m%d", errors="coerce")
    tmt = pd.to_datetime(nip.str.slice(8, 14) + "01", format="%Y%m%d", errors="coerce")
    digit = nip.str.slice(14, 15)
    bad = birth.isna() | tmt.isna() | ((tmt - birth).dt.days < 18 * 365.25) \
        | (digit.map({"1": "L", "2": "P"}) != sex)
    dup = nip.duplicated(keep=False)
    counts = pd.DataFrame({"unit": df["UNOR NAMA"], "gol": rank[0], "ruang": rank[1].str.upper(), "sex": sex,
                           "edu": edu}).groupby(["unit", "gol", "ruang", "sex"], dropna=False).size()
    t2 = time.perf_counter()
    return {"read_s": t1 - t0, "work_s": t2 - t1, "bad": int(bad.sum()), "dup": int(dup.sum()), "cells": len(counts)}


def run_polars(path: str) -> dict:
    import polars as pl

    t0 = time.perf_counter()
    df = pl.read_csv(path, infer_schema=False)
    t1 = time.perf_counter()
    nip = pl.col("NIP BARU")
    out = df.lazy().select(
        nip,
        pl.col("UNOR NAMA").alias("unit"),
        pl.col("JENIS KELAMIN").str.to_uppercase().replace_strict(SEX, default=None).alias("sex"),
        pl.col("TINGKAT PENDIDIKAN NAMA").str.to_uppercase().replace_strict(EDU, default=None).alias("edu"),
        pl.col("GOL AKHIR NAMA").str.extract(RANK, 1).alias("gol"),
        pl.col("GOL AKHIR NAMA").str.extract(RANK, 2).str.to_uppercase().alias("ruang"),
        nip.str.slice(0, 8).str.to_date("%Y%m%d", strict=False).alias("birth"),
        (nip.str.slice(8, 6) + "01").str.to_date("%Y%m%d", strict=False).alias("tmt"),
        nip.str.slice(14, 1).replace_strict({"1": "L", "2": "P"}, default=None).alias("digit"),
    ).with_columns(
        bad=pl.col("birth").is_null() | pl.col("tmt").is_null()
        | ((pl.col("tmt") - pl.col("birth")).dt.total_days() < 18 * 365.25) | (pl.col("digit") != pl.col("sex")),
        dup=nip.is_duplicated(),
    ).collect()
    counts = out.group_by(["unit", "gol", "ruang", "sex"]).len()
    t2 = time.perf_counter()
    return {"read_s": t1 - t0, "work_s": t2 - t1, "bad": int(out["bad"].fill_null(True).sum()),
            "dup": int(out["dup"].sum()), "cells": counts.height}


def run_duckdb(path: str) -> dict:
    import duckdb

    con = duckdb.connect()
    t0 = time.perf_counter()
    con.execute(f"CREATE TABLE raw AS SELECT * FROM read_csv('{path}', all_varchar=true, header=true)")
    t1 = time.perf_counter()
    con.execute("CREATE TABLE sexmap (k VARCHAR, v VARCHAR)")
    con.executemany("INSERT INTO sexmap VALUES (?, ?)", list(SEX.items()))
    con.execute("CREATE TABLE edumap (k VARCHAR, v VARCHAR)")
    con.executemany("INSERT INTO edumap VALUES (?, ?)", list(EDU.items()))
    con.execute(f"""
        CREATE TABLE rows AS SELECT r."NIP BARU" AS nip, r."UNOR NAMA" AS unit, s.v AS sex, e.v AS edu,
            regexp_extract(r."GOL AKHIR NAMA", '{RANK}', 1) AS gol,
            upper(regexp_extract(r."GOL AKHIR NAMA", '{RANK}', 2)) AS ruang,
            try_strptime(substr(r."NIP BARU", 1, 8), '%Y%m%d') AS birth,
            try_strptime(substr(r."NIP BARU", 9, 6) || '01', '%Y%m%d') AS tmt,
            CASE substr(r."NIP BARU", 15, 1) WHEN '1' THEN 'L' WHEN '2' THEN 'P' END AS digit
        FROM raw r LEFT JOIN sexmap s ON upper(r."JENIS KELAMIN") = s.k
                   LEFT JOIN edumap e ON upper(r."TINGKAT PENDIDIKAN NAMA") = e.k""")
    bad = con.execute("SELECT count(*) FROM rows WHERE birth IS NULL OR tmt IS NULL OR "
                      "date_diff('day', birth, tmt) < 18 * 365.25 OR digit IS DISTINCT FROM sex").fetchone()[0]
    dup = con.execute("SELECT coalesce(sum(n), 0) FROM (SELECT count(*) n FROM rows GROUP BY nip HAVING n > 1)"
                      ).fetchone()[0]
    cells = con.execute("SELECT count(*) FROM (SELECT unit, gol, ruang, sex, count(*) FROM rows "
                        "GROUP BY ALL)").fetchone()[0]
    t2 = time.perf_counter()
    return {"read_s": t1 - t0, "work_s": t2 - t1, "bad": int(bad), "dup": int(dup), "cells": int(cells)}


ENGINES = {"pandas": run_pandas, "polars": run_polars, "duckdb": run_duckdb}


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM: reset by exec, unlike ru_maxrss)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "list.csv"
        t = time.perf_counter()
        # generated in a child process, so the engines' processes start small
        subprocess.run([sys.executable, __file__, "--generate", str(path), str(rows)], check=True)
        print(f"generated {rows:,} rows ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f} s")
        for name in ENGINES:
            out = subprocess.run([sys.executable, __file__, "--engine", name, str(path)], capture_output=True,
                                 text=True)
            if out.returncode:
                print(f"{name:7s} failed: {out.stderr.strip().splitlines()[-1]}")
                continue
            r = json.loads(out.stdout)
            print(f"{name:7s} read {r['read_s']:6.2f} s  work {r['work_s']:6.2f} s  peak RSS {r['rss_mb']:6.0f} MB"
                  f"  (bad {r['bad']:,}, duplicated {r['dup']:,}, cells {r['cells']:,})")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--engine":
        result = ENGINES[sys.argv[2]](sys.argv[3])
        result["rss_mb"] = peak_mb()
        print(json.dumps(result))
    elif len(sys.argv) > 2 and sys.argv[1] == "--generate":
        generate(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 4_500_000)
