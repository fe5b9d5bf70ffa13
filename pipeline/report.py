"""``rekap report``: the reports people read, rebuilt from the catalog without re-validating.

For a period, into ``reports/PERIOD/``: ``index.html`` (the dashboard for BKPSDM; a registry of
agencies: each agency's page ``instansi/<INSTANSI>.html`` too), ``opd/<OPD>.html`` and
``opd/<OPD>-umpan-balik.xlsx`` (feedback each OPD can act on), ``profil.html`` and ``profil.pdf`` (the
consolidated tables as in the *Profil Kepegawaian* book). ``rekap run`` calls the same code.

Incremental: each report is written only when what it is made from changed. Every OPD's page and
workbook, the profile, the gate page and each agency's page have a *fingerprint* (a hash of everything they show, the
language, and the code and spec versions); the stamp ``reports/PERIOD/.rekap-reports.json`` records
the fingerprints of a complete set of reports, and a report whose fingerprint is in it (and whose
files exist) is left as it is. A marked workbook is built once per fingerprint and kept in
``processed/feedback/`` (by that hash), from where it is copied into ``reports/``; one the reports no longer
reference (an OPD's earlier version) is removed once the new stamp is written. The OPDs' reports
are written on every core (:func:`pipeline.pool.ordered_map`), in registry order whatever the cores.
The profile, the slowest single report, is printed by a run while its gate runs (:func:`print_ahead`),
into ``processed/profile/`` (by fingerprint), from where it is copied; otherwise it is printed here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import io
import json
import os
import shutil
import traceback
from collections.abc import Iterator
from pathlib import Path

from pipeline.files import atomic_write, atomic_write_text
from pipeline.findings import Finding
from pipeline.report_data import OpdReport, PeriodReport, feedback_path, load_period, read_city


STAMP = ".rekap-reports.json"  # what the complete set of reports in a folder was made from
STORE = "feedback"  # processed/feedback/: marked workbooks by fingerprint
AHEAD = "profile"  # processed/profile/<fingerprint>/: the profile a run printed while its gate ran
PROFILE = ("profil.html", "profil.pdf")


def build_reports(processed, reports, period: str, lang: str = "id", registry=None, log=None,
                  jobs: int | None = None, catalog=None) -> list[Path]:
    """Write the reports of a period that are missing or whose inputs changed; returns the files written.

    The dashboard (its list of runs changes every run) is always written. File names come from the
    registry only: an OPD code that is not in it gets a row on the dashboard and no file. A fault
    while writing one OPD's page or workbook, or the profile, is recorded on the dashboard
    (``REPORT_FAILED``) and in ``log``; the other reports are still written, and the stamp is not, so
    that the next run writes them all again. ``jobs``: processes for the OPDs' reports (default:
    every core, :func:`pipeline.pool.resolve_jobs`). ``catalog``: the one open already (a run's), else
    ``processed/catalog.sqlite`` is opened where it is read.
    """
    from pipeline.gate_page import PAGE as GATE_PAGE, write_gate_page
    from pipeline.pages import agency_html, write_dashboard
    from pipeline.specs import load_registry

    registry = registry or load_registry()
    report: PeriodReport = load_period(processed, period, registry, values=False, catalog=catalog, city=False)
    folder = Path(reports) / period
    versions = _versions()
    before = _stamp(folder)
    done = _done(before, lang, versions)
    (folder / "opd").mkdir(parents=True, exist_ok=True)
    store = Path(processed) / STORE
    prints: dict[str, str] = {}
    todo = []
    for opd in report.opds:
        if opd.code not in registry:
            continue
        key = prints[f"opd:{opd.code}"] = fingerprint(report.period, _made_of(opd), registry[opd.code], lang, versions)
        page = folder / "opd" / f"{opd.code}.html"
        if done.get(f"opd:{opd.code}") == key and page.is_file():
            continue
        todo.append(_OpdJob(opd, report.period, lang, str(page), str(feedback_path(reports, period, opd.code)), key,
                            str(store)))
    if report.published is not None:
        prints["profile"] = _profile_key(report, (report.published / "cells.parquet").read_bytes(), lang, versions)
    if report.gate is not None:
        prints["gate"] = fingerprint(report.period, report.gate, lang, versions)
    stale = [k for k in ("profile", "gate") if k in prints and done.get(k) != prints[k]]
    if todo or stale or before.get("fingerprint") != report.fingerprint:
        (folder / STAMP).unlink(missing_ok=True)  # until every report below is written again
    written: list[Path] = []
    failed: list[Finding] = []

    def record(what: str, opd: str, error: str | None, trace: str | None) -> None:
        failed.append(Finding("REPORT_FAILED", "report", params={"report": what, "opd": opd, "detail": error}))
        if log is not None:
            log("report_failed", opd=opd, error=error, traceback=trace)

    for job, (files, error, trace) in zip(todo, _map(todo, jobs, processed, catalog)):
        if error is not None:  # one report failing never stops the others
            record("feedback", job.opd.code, error, trace)
            continue
        written.extend(Path(f) for f in files)
        if log is not None:
            log("report", opd=job.opd.code)

    def attempt(what: str, write, on: str = "-") -> None:
        try:
            written.extend(write())
        except Exception as err:
            record(what, on, f"{type(err).__name__}: {err}", traceback.format_exc())

    if "profile" in stale or ("profile" in prints and not (folder / "profil.pdf").is_file()):
        attempt("profile", lambda: _profile(folder, Path(processed) / AHEAD / prints["profile"], report, lang, log))
    if "gate" in stale or ("gate" in prints and not (folder / GATE_PAGE).is_file()):
        attempt("gate", lambda: [write_gate_page(folder / GATE_PAGE, period, report.gate, lang)])
    for code, path, context in _agency_pages(report, folder, lang, versions, done, prints):
        attempt("agency", lambda: [atomic_write_text(path, agency_html(context))], code)
    report.notes = report.notes + failed
    write_dashboard(folder / "index.html", report, lang)
    written.append(folder / "index.html")
    if not failed:
        stamp = {"fingerprint": report.fingerprint, "lang": lang, "versions": versions, "reports": prints}
        atomic_write_text(folder / STAMP, json.dumps(stamp, sort_keys=True, indent=0) + "\n")
        _prune(store, before.get("reports", {}), prints)
        _remove_departed(folder, before.get("reports", {}), prints)
    return written


def _agency_pages(report: PeriodReport, folder: Path, lang: str, versions: str, done: dict, prints: dict):
    """A registry of agencies: ``(agency, path, what it shows)`` of each agency page (``instansi/<INSTANSI>.html``)
    that is missing or whose fingerprint changed, once the OPDs' pages and workbooks it links to are written;
    each page's fingerprint (:func:`pipeline.pages.agency_made_of`) goes into ``prints``. An agency none of
    whose OPDs changed is not written again."""
    from pipeline.pages import AGENCY_PAGES, agency_context, agency_made_of, by_agency, present_reports

    groups = by_agency(report)
    if not groups:
        return
    pages, workbooks = present_reports(report.opds, folder)
    (folder / AGENCY_PAGES).mkdir(exist_ok=True)
    for code, opds in groups.items():
        if not code:
            continue
        name = f"{AGENCY_PAGES}:{code}"
        key = prints[name] = fingerprint(agency_made_of(report, code, opds, pages, workbooks), lang, versions)
        path = folder / AGENCY_PAGES / f"{code}.html"
        if done.get(name) != key or not path.is_file():
            yield code, path, agency_context(report, code, opds, lang, pages, workbooks)


def fingerprint(*parts) -> str:
    """A hash of what a report is made of (plain data, dataclasses, paths; sets and dicts in a canonical
    order), so that equal inputs give equal fingerprints in any process."""
    return hashlib.sha256(repr(_canonical(parts)).encode("utf-8")).hexdigest()


_ATOMS = frozenset({str, int, float, bool, type(None)})


@functools.cache
def _field_names(kind: type) -> tuple[str, ...] | None:
    """The fields of a dataclass type, in order (None for any other type)."""
    return tuple(f.name for f in dataclasses.fields(kind)) if dataclasses.is_dataclass(kind) else None


def _canonical(value):
    kind = type(value)
    if kind in _ATOMS:  # most of what a report is made of: decided by the type alone
        return value
    if kind is list or kind is tuple:
        return tuple(map(_canonical, value))
    names = _field_names(kind)
    if names is not None:
        return (kind.__name__, tuple((name, _canonical(getattr(value, name))) for name in names))
    if isinstance(value, dict):
        return ("dict", tuple(sorted(((_canonical(k), _canonical(v)) for k, v in value.items()), key=repr)))
    if isinstance(value, (set, frozenset)):
        return ("set", tuple(sorted((_canonical(v) for v in value), key=repr)))
    if isinstance(value, (list, tuple)):
        return tuple(_canonical(v) for v in value)
    if isinstance(value, Path):
        return ("path", value.as_posix())
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return (type(value).__name__, repr(value))


def _profile_key(report: PeriodReport, cells: bytes, lang: str, versions: str) -> str:
    """The profile's fingerprint: the city tables (``cells``: the bytes of ``cells.parquet``, what the
    profile reads them from; hashed, not parsed), their coverage summary and the release status it shows."""
    tables = hashlib.sha256(cells).hexdigest()
    return fingerprint(report.period, tables, report.published_coverage, report.release, lang, versions)


def _with_city(report: PeriodReport) -> PeriodReport:
    """``report`` with its published tables, read now if it was loaded without them."""
    if report.city is None and report.published is not None:
        report.city = read_city(report.published / "cells.parquet")
    return report


def _done(stamp: dict, lang: str, versions: str) -> dict[str, str]:
    """The fingerprints of the reports a stamp lists, when they were made in ``lang`` by these versions."""
    return stamp.get("reports", {}) if stamp.get("lang") == lang and stamp.get("versions") == versions else {}


def print_ahead(processed, reports, period: str, city, summary: dict, release: dict, lang: str, jobs: int | None):
    """Start printing, in a worker process of its own, the profile the reports will show if this run
    publishes ``city`` with this coverage summary and release status. The profile is the slowest report and
    the gate the slowest step before the reports, so a run does both at once on two cores. The worker prints
    into ``processed/profile/<fingerprint>/``, where :func:`build_reports` finds it (the same bytes it would
    print itself). Returns the worker (:class:`pipeline.pool.Ahead`: wait for it once published, stop it
    otherwise); None with one job, or when ``reports/PERIOD/`` has that profile already."""
    from pipeline.pool import ahead, resolve_jobs
    from pipeline.publish import parquet_bytes
    from pipeline.values import long_cells

    shutil.rmtree(Path(processed) / AHEAD, ignore_errors=True)  # what an earlier run left (its gate failed)
    if resolve_jobs(jobs) < 2:
        return None
    # as the reports will read them back: the published cells, the manifest's coverage summary and status
    summary = json.loads(json.dumps(summary))
    cells = parquet_bytes(long_cells(city, period))  # the bytes of the release's cells.parquet
    shown = PeriodReport(period, None, [], summary, read_city(io.BytesIO(cells)), [], None,
                         release=json.loads(json.dumps(release)), published_coverage=summary)
    versions = _versions()
    key = _profile_key(shown, cells, lang, versions)
    folder = Path(reports) / period
    if _done(_stamp(folder), lang, versions).get("profile") == key and _printed(folder):
        return None
    # openpyxl (pipeline.book): the worker needs it for the profile's tables, this process for the release's
    # workbook; loaded before the fork, it is loaded once instead of in each
    from pipeline import book  # noqa: F401

    return ahead(_print_profile, str(Path(processed) / AHEAD / key), shown, lang)


def _print_profile(folder: str, report: PeriodReport, lang: str) -> None:
    """(In a worker.) The profile into ``folder``, whole or not at all. Never raises: a profile that cannot
    be printed here is printed again by the reports, which say why it failed."""
    from pipeline.pages import write_profile

    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        write_profile(*(tmp / name for name in PROFILE), report, lang)
        os.replace(tmp, folder)
    except Exception:  # noqa: BLE001 - see above
        shutil.rmtree(tmp, ignore_errors=True)


def _printed(folder: Path) -> bool:
    return all((folder / name).is_file() for name in PROFILE)


def _profile(folder: Path, printed: Path, report: PeriodReport, lang: str, log=None) -> list[Path]:
    """``profil.html`` and ``profil.pdf`` into ``folder``: copied from ``printed`` where the run printed them
    ahead (:func:`print_ahead`), else printed now."""
    from pipeline.pages import write_profile

    out = [folder / name for name in PROFILE]
    ready = _printed(printed)
    if ready:
        for path in out:
            atomic_write(path, lambda tmp: shutil.copyfile(printed / path.name, tmp))
        shutil.rmtree(printed, ignore_errors=True)
        with contextlib.suppress(OSError):
            printed.parent.rmdir()  # processed/profile/, when it holds nothing else
    else:
        write_profile(*out, _with_city(report), lang)
    if log is not None:
        log("profile", printed_ahead=ready)
    return out


def _made_of(opd: OpdReport) -> OpdReport:
    """What an OPD's reports are made of, for its fingerprint: a version's cell values are those of its
    sha256 (in this period, by these code and spec versions), so the hash need not read every cell; its
    archived copy is named by that version, wherever the workspace is (moved or copied, it rewrites nothing)."""
    archive = Path(opd.archive).name if opd.archive is not None else None
    return dataclasses.replace(opd, values={} if opd.sha256 else opd.values, archive=archive)


def _versions() -> str:
    from pipeline.versions import code_version, rules_version

    return f"{code_version()}/{rules_version()}"


@dataclasses.dataclass(frozen=True)
class _OpdJob:
    """One OPD's page and workbook, as a worker process gets it (plain, picklable data)."""

    opd: OpdReport
    period: str
    lang: str
    page: str
    workbook: str
    key: str  # its fingerprint: the marked workbook's name in the store
    store: str


def _map(todo: list[_OpdJob], jobs: int | None, processed, catalog=None):
    """``(files written, error, traceback)`` of each job, in order, on every core. A worker that dies
    (a crash in a C library, the system killing it) costs only its own OPDs: the jobs of its chunk are
    tried again one by one, each in a process of its own, and one that kills its process again is that
    OPD's failure."""
    from pipeline.pool import PoolBroken, ordered_map, resolve_jobs

    jobs = min(resolve_jobs(jobs), len(todo)) or 1
    results = []
    try:
        for result in ordered_map(_write_opd, _with_values(todo, processed, catalog), jobs, chunk=1):
            results.append(result)
    except PoolBroken:
        for job in todo[len(results):]:
            try:
                results.extend(ordered_map(_write_opd, _with_values([job], processed, catalog), 2))
            except PoolBroken as err:
                results.append(((), f"{type(err).__name__}: {err}", None))
    return results


VALUES_AT_ONCE = 64  # OPDs whose cell values are read from the catalog together (memory: not every OPD's)


def _with_values(todo: list[_OpdJob], processed, catalog=None) -> Iterator[_OpdJob]:
    """The jobs with their OPD's cell values, read from the catalog :data:`VALUES_AT_ONCE` OPDs at a time as
    the pool takes the jobs: the reports of N OPDs never hold N OPDs' values at once."""
    from pipeline.catalog import opened

    if not todo:
        return
    with opened(processed, catalog) as catalog:
        for start in range(0, len(todo), VALUES_AT_ONCE):
            part = todo[start:start + VALUES_AT_ONCE]
            values = dict(catalog.values(sorted({job.opd.sha256 for job in part if job.opd.sha256}), part[0].period))
            for job in part:
                yield dataclasses.replace(job, opd=dataclasses.replace(job.opd, values=values.get(job.opd.sha256, {})))


def _write_opd(job: _OpdJob):
    """Write one OPD's workbook (from the store, else built and stored) and page; never raises."""
    from pipeline.pages import write_feedback_page

    try:
        page, workbook = Path(job.page), Path(job.workbook)
        report = PeriodReport(job.period, None, [job.opd], {}, None, [], None)
        out = []
        if job.opd.file and _placed(job, report, workbook):
            out.append(str(workbook))
        else:
            workbook.unlink(missing_ok=True)  # a stale one from an earlier submission would mislead
        write_feedback_page(page, report, job.opd, job.lang)
        return out + [str(page)], None, None
    except Exception as err:
        return (), f"{type(err).__name__}: {err}", traceback.format_exc()


def _placed(job: _OpdJob, report: PeriodReport, workbook: Path) -> bool:
    """The OPD's marked workbook put at ``workbook``: copied from the store when it was built before with
    the same fingerprint, else built into the store first. False when there is nothing to mark."""
    from pipeline.feedback_workbook import write_feedback_workbook

    stored = Path(job.store) / job.key[:2] / f"{job.key}.xlsx"
    if not stored.is_file() and write_feedback_workbook(stored, report, job.opd, job.lang) is None:
        return False
    staff = job.opd.staff_lists
    mode = 0o600 if staff is not None and staff.personal else None  # personal data: owner only
    atomic_write(workbook, lambda tmp: shutil.copyfile(stored, tmp), mode)
    return True


def _prune(store: Path, before: dict[str, str], now: dict[str, str]) -> None:
    """Remove from the store the marked workbooks these reports referenced and no longer do (an OPD's
    earlier version), once the new stamp is written. Each removal is one unlink; the store is a cache, so
    a workbook another folder of reports still shows is built again if it is ever needed."""
    kept = set(now.values())
    for name, key in before.items():
        if name.startswith("opd:") and key not in kept:
            (store / key[:2] / f"{key}.xlsx").unlink(missing_ok=True)


def _remove_departed(folder: Path, before: dict[str, str], now: dict[str, str]) -> None:
    """Remove the page and the marked workbook of each OPD these reports had and no longer have (it left the
    registry, or its code changed), and the page of each agency gone, once the new stamp is written: a page
    nobody links to would still be sent round with the folder, and an OPD's workbook may list its employees."""
    from pipeline.pages import AGENCY_PAGES

    opd, agencies = folder / "opd", folder / AGENCY_PAGES
    for name in before:
        if name in now:
            continue
        kind, _, code = name.partition(":")
        if kind == "opd":
            paths, inside = (opd / f"{code}.html", feedback_path(folder.parent, folder.name, code)), opd
        elif kind == AGENCY_PAGES:
            paths, inside = (agencies / f"{code}.html",), agencies
        else:
            continue
        for path in paths:
            if path.resolve().parent == inside.resolve():  # the stamp's code names a file of that folder, nothing else
                path.unlink(missing_ok=True)


def _stamp(folder: Path) -> dict:
    try:
        return json.loads((folder / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
