"""Benchmark: publishing a national period's SQL tables (``pipeline.database.publish_agencies``), prints JSON.

A run publishes, for every agency whose tables changed, its ``rekap_cells``, ``rekap_lineage`` (a row per
contribution), ``rekap_coverage`` and ``rekap_release`` rows, in one transaction, on the main process
while nothing else runs. Here ``--agencies`` agencies of ``--opds`` OPDs each get frames shaped like a
run's (texts, categories, nullable integers and floats, booleans), and are published into a new SQLite
file: first from nothing, then again with every agency's fingerprint changed and the same rows (each
agency's rows compared, nothing written). The baseline, measured in the same run, is the least any
publisher spends: the same rows, as Python tuples made beforehand, inserted into the same tables with
the driver's own ``executemany`` in one transaction. Times are CPU seconds of this process (best of
``--repeat``); the machines are shared and noisy, so read the ratios.

    .venv/bin/python bench/publish.py [--agencies 100] [--opds 34] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PERIOD = "2099"


def agency_frames(agency: int, opds: int, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """One agency's four tables, about as many rows as a run gives (36 lineage rows per OPD, 269 cells)."""
    names = [f"K{agency:03d}.OPD{j:02d}" for j in range(opds)]
    keys = [f"sex={s}|gol={g}|ruang={r}" for s in "LP" for g in ("I", "II", "III", "IV") for r in "ABCDE"]
    cells = pd.DataFrame({
        "table": pd.Series(["golongan"] * 269, dtype="str"),
        "key": pd.Series([f"{keys[i % len(keys)]}|n={i}" for i in range(269)], dtype="str"),
        "measure": pd.Series(["count"] * 269, dtype="str"),
        "value": pd.Series(rng.integers(0, 500, 269), dtype="Int64"),
        "pct": pd.Series(np.where(rng.random(269) < 0.5, np.nan, rng.random(269) * 100), dtype="Float64"),
        "is_total": rng.random(269) < 0.2, "percent": np.zeros(269, dtype=bool),
        "release": pd.Series(["sementara"] * 269, dtype="str")})
    n = 36 * opds
    lineage = pd.DataFrame({
        "table": pd.Categorical(["golongan"] * n), "key": pd.Categorical([keys[i % len(keys)] for i in range(n)]),
        "opd": pd.Categorical([names[i // 36] for i in range(n)]),
        "sha256": pd.Categorical([f"{i // 36:064x}@K{agency:03d}" for i in range(n)]),
        "source": pd.Categorical(["recap"] * n), "value": pd.Series(rng.integers(0, 50, n), dtype="Int64")})
    coverage = pd.DataFrame({"opd": pd.Series(names, dtype="str"),
                             "status": pd.Series(["accepted"] * opds, dtype="str"),
                             "staff": pd.Series(rng.integers(10, 300, opds), dtype="Int64"),
                             "errors": np.zeros(opds, dtype="int64"), "warnings": np.zeros(opds, dtype="int64")})
    release = pd.DataFrame({"status": pd.Series(["sementara"], dtype="str"), "opds_included": [opds],
                            "opds_required": [opds], "run_id": pd.Series(["run"], dtype="str")})
    return {"rekap_cells": cells, "rekap_lineage": lineage, "rekap_coverage": coverage, "rekap_release": release}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agencies", type=int, default=100)
    parser.add_argument("--opds", type=int, default=34)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from pipeline.database import _python_values, publish_agencies

    rng = np.random.default_rng(1)
    frames = {f"K{a:03d}": agency_frames(a, args.opds, rng) for a in range(args.agencies)}
    prints = {name: "a" for name in frames}
    rows = sum(len(f) for fr in frames.values() for f in fr.values())
    spent = {"baseline": [], "publish": [], "publish_again": []}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.repeat):
            url = f"sqlite:///{tmp}/{k}.sqlite"
            start = time.process_time()
            publish_agencies(url, PERIOD, frames, fingerprints=prints)
            spent["publish"].append(time.process_time() - start)
            start = time.process_time()
            publish_agencies(url, PERIOD, frames, fingerprints={name: "b" for name in frames})
            spent["publish_again"].append(time.process_time() - start)
            # the baseline: the same rows, made beforehand, into copies of the tables the publish created (their
            # keys and indexes too)
            db = sqlite3.connect(f"{tmp}/{k}.sqlite", isolation_level=None)
            for (sql,) in db.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall():
                db.execute(sql.replace("ix_rekap_", "ix_copy_rekap_").replace('"rekap_', '"copy_rekap_')
                           .replace("TABLE rekap_", "TABLE copy_rekap_").replace("ON rekap_", "ON copy_rekap_"))
            prepared = {}
            for name in frames[next(iter(frames))]:
                columns = [r[1] for r in db.execute(f'PRAGMA table_info("{name}")')]
                prepared[name] = (columns, [
                    tuple(zip(*([[PERIOD] * len(f), [agency] * len(f)]
                                + [_python_values(f[c], None) if c in f.columns else [None] * len(f)
                                   for c in columns[2:]])))
                    for agency, fr in frames.items() for f in (fr[name],)])
            start = time.process_time()
            db.execute("BEGIN")
            for name, (columns, per_agency) in prepared.items():
                sql = f'INSERT INTO "copy_{name}" VALUES ({", ".join("?" * len(columns))})'
                for part in per_agency:
                    db.executemany(sql, part)
            db.execute("COMMIT")
            spent["baseline"].append(time.process_time() - start)
            db.close()
    best = {step: min(times) for step, times in spent.items()}
    print(json.dumps({
        "agencies": args.agencies, "rows": rows,
        "baseline": "the same rows, made beforehand, inserted with sqlite3's executemany in one transaction",
        "cpu_s": {step: round(t, 3) for step, t in best.items()},
        "ratio_publish_to_baseline": round(best["publish"] / best["baseline"], 1),
        "ratio_publish_again_to_baseline": round(best["publish_again"] / best["baseline"], 1),
        "spread_note": f"best of {args.repeat}, CPU time of this process",
    }, indent=2))


if __name__ == "__main__":
    main()
