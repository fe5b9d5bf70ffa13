"""``rekap national``: the national tables, consolidated with SQL from the database the agencies publish to.

Each agency's run publishes its own tables to one shared database, tagged with its code (column
``instansi``, :mod:`pipeline.database`); its rows of a period are always its latest published release.
The national tables are the sums, in SQL, of the agencies' count cells for the period; every total and
percentage is then recomputed from the inner ones (what a person counts)
(:func:`pipeline.complete.complete`), as a city's are from its OPDs. The publish gate confronts them
with the city's checks (:mod:`pipeline.gate`; a city's own rules hold per agency, not over their sum):
nothing is written unless they pass. They are written like the city tables, as a release of
``processed/national/PERIOD/`` swapped in at once (cells, lineage: each agency's contribution to each
cell, coverage: each agency expected, whether it published the period and its release status, the book's
tables and workbook), and published back as ``rekap_national_cells`` (untagged, one period replaced).

The national release is provisional (*sementara*) or final like a city's (:func:`national_release`),
counted in agencies: final once every agency expected (every agency that ever published to the
database, and the agencies of the workspace's registry) has published the period as final.
"""

from __future__ import annotations

import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

NATIONAL = "national"  # the folder, under processed/, of the national releases
TABLE = "rekap_national_cells"


class NoNationalData(LookupError):
    """No agency has published a period (or anything) to the database."""


@contextmanager
def _database(url: str):
    """An engine on the shared database; a SQLite file that does not exist holds nothing published."""
    from pipeline.database import _engine, _NoDatabase

    try:
        with _engine(url, create=False) as engine:
            yield engine
    except _NoDatabase:
        raise NoNationalData(url) from None


@dataclass
class National:
    period: str
    values: dict  # table id -> {key: value}: the national tables
    lineage: pd.DataFrame  # table, key, instansi, value: each agency's contribution to each inner cell
    agencies: pd.DataFrame  # one row per agency (published the period or not): its release status, run, OPDs
    release: dict  # the national release's status and coverage (:func:`national_release`)
    gate: object = None  # the publish gate's result (pipeline.gate.GateResult), once checked
    folder: Path | None = None  # the release folder written, once written


def latest_period(url: str) -> str | None:
    """The latest period any agency has published to the database, or None."""
    import sqlalchemy as sa

    from pipeline.database import TAG, DatabaseError, _reason, _where

    with _database(url) as engine:
        try:
            with engine.connect() as conn:
                if not sa.inspect(conn).has_table("rekap_cells"):
                    return None
                t = sa.Table("rekap_cells", sa.MetaData(), autoload_with=conn)
                if TAG not in t.c:
                    return None
                return conn.execute(sa.select(sa.func.max(t.c.period)).where(t.c[TAG].is_not(None))).scalar()
        except sa.exc.SQLAlchemyError as e:
            raise DatabaseError(f"reading the periods of {_where(engine)} failed: {_reason(e)}") from e


def national_release(agencies: pd.DataFrame) -> dict:
    """The national release's status, shaped like a city's (:mod:`pipeline.release`, counted in agencies):
    final once every agency expected has published the period with a final release of its own."""
    from pipeline.release import FINAL, PROVISIONAL

    published = agencies[agencies["published"]]
    missing = sorted(agencies.loc[~agencies["published"], "instansi"])
    provisional = sorted(published.loc[published["status"] != FINAL, "instansi"])
    final = not missing and not provisional
    return {"unit": "instansi", "status": FINAL if final else PROVISIONAL, "reason": "coverage" if final else None,
            "required": len(agencies), "included": len(published), "needed": len(agencies), "missing": missing,
            "provisional": provisional, "finalised_by": None, "finalised_at": None}


def consolidate_national(url: str, period: str, expected: list[str] = ()) -> National:
    """The national tables of ``period`` from the agencies' published cells (SQL sums), with each
    agency's contribution and release. The agencies expected: every agency that published any period to
    the database, and ``expected`` (a registry's agencies). Raises :class:`NoNationalData` when no agency
    published the period."""
    import sqlalchemy as sa

    from pipeline.complete import complete, inner_cells
    from pipeline.database import TAG, DatabaseError, _reason, _where
    from pipeline.specs import load_tables
    from pipeline.values import key_text, parse_key

    tables = load_tables()
    with _database(url) as engine:
        try:
            with engine.connect() as conn:
                inspector = sa.inspect(conn)
                if not inspector.has_table("rekap_cells") or \
                        TAG not in {c["name"] for c in inspector.get_columns("rekap_cells")}:
                    raise NoNationalData(period)
                cells = sa.Table("rekap_cells", sa.MetaData(), autoload_with=conn)
                # every count cell (a total is summed too, and recomputed below from the inner ones)
                counted = [cells.c.period == period, cells.c[TAG].is_not(None), sa.not_(cells.c.percent)]
                sums = conn.execute(
                    sa.select(cells.c.table, cells.c.key, sa.func.sum(cells.c.value))
                    .where(*counted).group_by(cells.c.table, cells.c.key)).all()
                parts = conn.execute(
                    sa.select(cells.c.table, cells.c.key, cells.c[TAG], cells.c.value)
                    .where(*counted, cells.c.value != 0)
                    .order_by(cells.c.table, cells.c.key, cells.c[TAG])).all()
                releases = sa.Table("rekap_release", sa.MetaData(), autoload_with=conn)
                agencies = conn.execute(
                    sa.select(releases.c[TAG], releases.c.status, releases.c.run_id, releases.c.opds_required,
                              releases.c.opds_included)
                    .where(releases.c.period == period, releases.c[TAG].is_not(None))
                    .order_by(releases.c[TAG])).all()
                ever = sa.select(releases.c[TAG]).where(releases.c[TAG].is_not(None)).distinct()
                expected = sorted({*conn.execute(ever).scalars(), *expected})
        except sa.exc.SQLAlchemyError as e:
            raise DatabaseError(f"reading the agencies' tables from {_where(engine)} failed: {_reason(e)}") from e
    if not agencies:
        raise NoNationalData(period)
    summed: dict[str, dict] = {t: {} for t in tables}
    for table, key, value in sums:
        if table not in tables:
            raise ValueError(f"table {table!r} of the published cells is not in the specs")
        summed[table][parse_key(tables[table], key)] = float(value or 0)
    values = {t: complete(spec, {k: summed[t].get(k, 0.0) for k in inner_cells(spec)}) for t, spec in tables.items()}
    inner = {t: {key_text(spec, k) for k in inner_cells(spec)} for t, spec in tables.items()}
    lineage = pd.DataFrame([{"table": t, "key": k, "instansi": a, "value": v} for t, k, a, v in parts
                            if k in inner.get(t, ())], columns=["table", "key", "instansi", "value"])
    rows = {a: {"published": True, "status": s, "run_id": r, "opds_required": q, "opds_included": i}
            for a, s, r, q, i in agencies}
    empty = {"published": False, "status": "", "run_id": "", "opds_required": None, "opds_included": None}
    frame = pd.DataFrame([{"period": period, "instansi": a, **rows.get(a, empty)} for a in expected],
                         columns=["period", "instansi", "published", "status", "run_id", "opds_required",
                                  "opds_included"]).astype({"opds_required": "Int64", "opds_included": "Int64"})
    return National(period, values, lineage, frame, national_release(frame))


def national_note(release: dict, lang: str = "id") -> str:
    """What the national tables cover: how many agencies, how many of them final, which provisional, which
    have not published the period."""
    from pipeline import text

    included, provisional = release["included"], release["provisional"]
    note = text.say("national.covers", lang, n=included, final=included - len(provisional))
    if provisional:
        note += "; " + text.say("release.provisional", lang, agencies=", ".join(provisional))
    if release["missing"]:
        note += text.say("national.missing", lang, agencies=", ".join(release["missing"]))
    return note + "."


def write_national(url: str, period: str, processed: Path, lang: str = "id", book_csv: str = "excel-id",
                   expected: list[str] = ()) -> National:
    """Consolidate the national tables of ``period``, confront them with the publish gate (the city's checks:
    counts, totals = sums of their parts, percentages, the tables' agreement; a city's own rules hold per
    agency) and, when it passes, write them to ``processed/national/PERIOD/`` (a new release swapped in at
    once; its manifest states the national release's status and which agencies published) and to the
    database (``rekap_national_cells``). When the gate fails nothing is written (``national.gate``)."""
    from pipeline.database import publish_frames
    import sqlalchemy as sa

    from pipeline.gate import run_gate
    from pipeline.publish import published_cells, release_dir, swap_in, write_release
    from pipeline.values import long_cells
    from pipeline.versions import code_version, rules_version

    national = consolidate_national(url, period, expected)
    national.gate = run_gate(national.values, period, None, city_scope=False, lang=lang)
    if not national.gate.ok:
        return national
    root = Path(processed) / NATIONAL
    root.mkdir(parents=True, exist_ok=True)
    run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)
    folder = release_dir(root, period, run_id)
    manifest = {"period": period, "run_id": run_id, "database": sa.make_url(url).render_as_string(hide_password=True),
                "release": national.release, "gate": "passed",
                "agencies": national.agencies[["instansi", "published", "status", "run_id"]].to_dict("records"),
                "code_version": code_version(), "rules_version": rules_version()}
    write_release(folder, period, national.values, national.lineage, national.agencies,
                  national_note(national.release, lang), manifest, lang, book_csv=book_csv)
    cells = published_cells(long_cells(national.values, period)).assign(release=national.release["status"])
    publish_frames(url, period, {TABLE: cells})
    swap_in(root, period, folder)
    national.folder = root / period
    return national
