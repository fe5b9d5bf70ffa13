"""Row checks of a staff list: each NIP taken apart and checked, ranks against status, plausibility.

The 18-digit NIP is birth date (YYYYMMDD) + TMT CPNS (YYYYMM) + sex digit (1 man, 2 woman) + a
3-digit sequence. Every check runs on the whole frame at once (polars expressions); each failing row
is a finding with its row number and masked NIP (:func:`pipeline.staff.row_findings`). Constants
(retirement ages, entry ranks, the CPNS period) live in ``schemas/staff.yaml`` under ``checks``.

A row whose rank does not exist for its status is left out of every count (``ok`` false); NIP
problems and plausibility warnings do not change the counts.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.findings import Finding
from pipeline.specs import Opd, load_registry
from pipeline.staff import row_findings, staff_spec

IMPOSSIBLE_RANKS = {("I", "E"), ("II", "E"), ("III", "E")}


def period_end(period: str) -> tuple[int, int]:
    """(year, month) of the last month of a period: ``2022`` -> (2022, 12), ``2022-06`` -> (2022, 6)."""
    parts = str(period).split("-")
    return int(parts[0]), int(parts[1]) if len(parts) > 1 else 12


def nip_parts(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with the NIP's parts: ``nip_ok`` (18 digits), ``birth`` and ``tmt`` (dates, null when
    not real), ``tmt_month_ok``, ``nip_sex`` (L/P from the sex digit, null otherwise)."""
    nip = pl.col("nip")
    return frame.with_columns(
        nip_ok=nip.str.contains(r"^\d{18}$").fill_null(False),
    ).with_columns(
        birth=pl.when("nip_ok").then(nip.str.slice(0, 8).str.to_date("%Y%m%d", strict=False)),
        tmt=pl.when("nip_ok").then((nip.str.slice(8, 6) + "01").str.to_date("%Y%m%d", strict=False)),
        nip_sex=pl.when("nip_ok").then(nip.str.slice(14, 1).replace_strict({"1": "L", "2": "P"}, default=None)),
    )


def _months(date: pl.Expr) -> pl.Expr:
    return date.dt.year().cast(pl.Int64) * 12 + date.dt.month().cast(pl.Int64)


def _when(condition: dict) -> pl.Expr:
    expr = pl.lit(True)
    for name, allowed in condition.items():
        expr = expr & pl.col(name).is_in([str(a) for a in allowed]).fill_null(False)
    return expr


def retirement_age() -> pl.Expr:
    """The BUP of each row: the first rule of ``checks.retirement`` whose conditions hold."""
    rules = staff_spec()["checks"]["retirement"]
    expr = None
    for rule in reversed(rules):
        expr = pl.lit(int(rule["age"])) if expr is None else \
            pl.when(_when(rule["when"])).then(pl.lit(int(rule["age"]))).otherwise(expr)
    return expr


def check_rows(mapped: pl.DataFrame, period: str, file: str,
               registry: dict[str, Opd] | None = None) -> tuple[pl.DataFrame, list[Finding]]:
    """Every row check; returns the frame (``ok`` false for rows left out of counts) and the findings."""
    registry = registry or load_registry()
    checks = staff_spec()["checks"]
    name = Path(file).name
    end_y, end_m = period_end(period)
    end_months = end_y * 12 + end_m
    f = nip_parts(mapped)
    findings: list[Finding] = []

    def rows(code, condition, params=lambda r: {}, **kw):
        nonlocal findings
        findings += row_findings(f.filter(condition.fill_null(False)), code, f"staff:{code.lower()}", name,
                                 params, **kw)

    # the NIP
    rows("STAFF_NIP_FORMAT", pl.col("nip").is_null() | ~pl.col("nip_ok"), actual=lambda r: len(r["nip"] or ""))
    rows("STAFF_NIP_BIRTH", pl.col("nip_ok") & pl.col("birth").is_null(),
         lambda r: {"value": r["nip"][:8][:4] + "-" + r["nip"][4:6] + "-" + r["nip"][6:8]})
    born = pl.col("birth").is_not_null()
    tmt_month_bad = pl.col("nip_ok") & born & pl.col("tmt").is_null()
    min_age = int(checks["min_age_at_tmt"])
    too_young = born & (_months(pl.col("tmt")) - _months(pl.col("birth")) < min_age * 12)
    future = _months(pl.col("tmt")) > end_months
    for condition, key in ((tmt_month_bad, "tmt_month"), (too_young, "tmt_young"), (future, "tmt_future")):
        rows("STAFF_NIP_TMT", condition, lambda r, d=key: {"value": r["nip"][8:12] + "-" + r["nip"][12:14],
                                                           "detail": d, "min_age": min_age, "period": period})
    rows("STAFF_NIP_SEX", pl.col("nip_ok") & pl.col("sex").is_not_null()
         & (pl.col("nip_sex").is_null() | (pl.col("nip_sex") != pl.col("sex"))),
         lambda r: {"digit": r["nip"][14], "sex": r["sex"]})

    # rank against status: PNS and CPNS have golongan/ruang, PPPK their own grades
    pns = pl.col("status").is_in(["PNS", "CPNS"]).fill_null(False)
    impossible = pl.concat_str("gol", "ruang", separator="/").is_in(["/".join(r) for r in IMPOSSIBLE_RANKS])
    bad_rank = pns & (pl.col("gol").is_null() | impossible)
    rows("STAFF_RANK_INVALID", bad_rank, lambda r: {"value": r["rank"] or "-", "status": r["status"]})
    pppk = pl.col("status") == "PPPK"
    pppk_rank = pppk & pl.col("gol").is_not_null()
    rows("STAFF_PPPK_RANK", pppk_rank, lambda r: {"value": r["rank"] or "-"})
    counted_apart = f.filter(pppk.fill_null(False) & ~pppk_rank.fill_null(False)).group_by("opd").len().sort("opd")
    for r in counted_apart.iter_rows(named=True):
        findings.append(Finding("STAFF_PPPK", "staff:pppk", params={"file": name, "opd": r["opd"] or "-",
                                                                    "count": r["len"]}))
    f = f.with_columns(ok=pl.col("ok") & ~bad_rank.fill_null(False) & ~pppk)

    # plausibility (warnings): retirement age, CPNS for too long, entry rank, echelon of the OPD
    age_months = end_months - _months(pl.col("birth"))
    bup = retirement_age()
    rows("STAFF_RETIREMENT", pns & born & (age_months > bup * 12),
         lambda r: {"age": (end_months - r["birth"].year * 12 - r["birth"].month) // 12})
    long_months = int(checks["cpns_max_months"])
    rows("STAFF_CPNS_LONG", (pl.col("status") == "CPNS") & (end_months - _months(pl.col("tmt")) > long_months),
         lambda r: {"value": f"{r['tmt']:%Y-%m}", "months": long_months})
    entry = {k: v.upper().replace("/", "") for k, v in checks["entry_rank"].items()}
    expected = pl.col("education").replace_strict(entry, default=None, return_dtype=pl.String)
    rows("STAFF_ENTRY_RANK", (pl.col("status") == "CPNS") & expected.is_not_null()
         & (pl.concat_str("gol", "ruang") != expected),
         lambda r: {"value": f"{r['gol']}/{(r['ruang'] or '').lower()}", "education": r["education"],
                    "entry": checks["entry_rank"][r["education"]]})
    order = {e: i for i, e in enumerate(checks["eselon_order"])}
    leader = {code: order.get(o.leader) for code, o in registry.items() if o.leader in order}
    rank_of = pl.col("eselon").replace_strict(order, default=None, return_dtype=pl.Int64)
    leader_of = pl.col("opd").replace_strict(leader, default=None, return_dtype=pl.Int64)
    rows("STAFF_ESELON_OPD", (pl.col("position") == "struktural") & (rank_of < leader_of),
         lambda r: {"eselon": r["eselon"], "leader": registry[r["opd"]].leader})
    return f, findings


def duplicate_findings(lists: list[tuple[str, pl.DataFrame]]) -> list[Finding]:
    """A NIP given more than once, in one list or across lists (city-wide): an error on each row,
    naming every other place it appears (OPD, file, row)."""
    frames = [f.select("nip", "row", "opd").with_columns(file=pl.lit(Path(file).name))
              for file, f in lists if f.height]
    if not frames:
        return []
    all_rows = pl.concat(frames).filter(pl.col("nip").is_not_null())
    dup = all_rows.filter(pl.col("nip").is_duplicated()).sort("file", "row")
    places = {}
    for r in dup.iter_rows(named=True):
        places.setdefault(r["nip"], []).append(r)
    findings = []
    limit = int(staff_spec()["checks"]["max_rows_per_code"])
    for file, _ in lists:
        mine = dup.filter(pl.col("file") == Path(file).name)

        def params(r):
            others = [p for p in places[r["nip"]] if (p["file"], p["row"]) != (r["file"], r["row"])]
            return {"count": len(places[r["nip"]]),
                    "others": [{"opd": p["opd"] or "-", "file": p["file"], "row": str(p["row"])} for p in others]}
        findings += row_findings(mine, "STAFF_NIP_DUPLICATE", "staff:nip_unique", Path(file).name, params,
                                 limit=limit)
    return findings
