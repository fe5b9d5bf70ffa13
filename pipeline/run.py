"""``rekap run``: one period's submissions in, validated, consolidated and published, safely re-runnable.

The steps, in one direction: discover ``raw/PERIOD/`` -> validate each new version (a version seen
before is taken from the catalog) -> choose one version per OPD under the city rules -> the period
rules -> consolidate -> publish gate -> write a release and swap it in -> record the run. Nothing in
``raw/`` is ever modified; every version is archived by its content hash. This module orchestrates:
every check it applies is a rule of ``schemas/rules.yaml`` (scopes ``city`` and ``period``, evaluated
by :mod:`pipeline.rules.scoped`) or of the publish gate (:mod:`pipeline.gate`).

Policy for resubmissions: the OPD of a file is the one it names (Identitas sheet, CSV column),
whatever the file is called. Among the files in ``raw/PERIOD/`` naming one OPD, the one received
last (catalog first-seen time, then modification time) is *current*; the others are *superseded*
(a note on each, and on the current one). Only a genuine tie (two different files received in the
same run with the same modification time) is DUPLICATE_SUBMISSION. The current file is used when it
is accepted; when it is rejected, the most recent earlier accepted version of the same OPD and
period stays in use (and the run says so). Files that are not submissions (pdf, docx, txt, ...) are
listed as ignored and affect nothing.

Every release is provisional (*sementara*) or *final* (:mod:`pipeline.release`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import errno
import re
import secrets
import shutil
import signal
import stat
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

from filelock import FileLock, Timeout

from pipeline.agencies import agency_frames, agency_groups, agency_releases, agency_tables, discover, \
    fingerprint_agencies, input_name, registries_by_file, sql_frames, tag_coverage, version_key, \
    write_agency_releases
from pipeline.catalog import Catalog, Version
from pipeline.coverage import Previous, coverage_frame, coverage_note, coverage_rows
from pipeline.files import atomic_write
from pipeline.findings import Finding, has_errors
from pipeline.release import release_status
from pipeline.repair import write_archive_note
from pipeline.rules.cross import city_rules, period_rules
from pipeline.rules.scoped import city_breaches, city_finding, period_findings
from pipeline.publish import current_manifest, release_dir, swap_in, write_release
from pipeline.specs import Opd, load_registry, load_tables
from pipeline.text import note, shown
from pipeline.workspace import ReleasePolicy
from pipeline.versions import checked_with, code_version, rules_version, sha256_file

# Exit codes, for schedulers (documented in the README).
EXIT_OK = 0  # published (or nothing changed); every submission accepted
EXIT_REJECTED = 1  # published (or nothing changed); some submissions rejected: OPDs must correct them
EXIT_USAGE = 2  # a usage error (click's own)
EXIT_LOCKED = 3  # another run holds the lock; nothing was done
EXIT_GATE = 4  # the publish gate failed: nothing was published
EXIT_FAILED = 5  # the run failed (an unexpected fault, or nothing to publish); the previous outputs stand

SAVED_AT_ONCE = 64  # new versions saved to the catalog in one transaction (a run killed loses at most these:
# the next run checks them again, from the archive it wrote first)


class RunLocked(Exception):
    pass


@dataclass
class Input:
    file: Path
    version: Version
    findings: list[Finding] = field(default_factory=list)  # run-level findings (across OPDs, periods)
    used: bool = False
    superseded: bool = False  # a later file of the same OPD is current
    mtime: float = 0.0
    name: str = ""  # as recorded and shown (pipeline.agencies.input_name): unique in a run

    def __post_init__(self):
        self.name = self.name or self.file.name

    @property
    def opd(self) -> str | None:
        return self.version.opd

    @property
    def all_findings(self) -> list[Finding]:
        return self.version.findings + self.findings

    @property
    def status(self) -> str:
        return "rejected" if has_errors(self.all_findings) else "accepted"


@dataclass
class RunResult:
    run_id: str
    period: str
    outcome: str  # published, unchanged, gate_failed, empty, failed
    exit_code: int
    inputs: list[Input]  # their versions without cell values: those are in the catalog (Catalog.values)
    coverage: list[dict] | None = None  # each OPD's row (pipeline.coverage.coverage_rows)
    coverage_summary: dict | None = None
    validated: int = 0
    message: str = ""  # what stopped the run, as a note (pipeline.text.note): put in words when shown
    gate_failures: list[str] = field(default_factory=list)
    log: Path | None = None
    dashboard: Path | None = None  # reports/PERIOD/index.html, once the reports are written
    staff: list = field(default_factory=list)  # staff lists read (pipeline.staff_run.StaffInput)
    staff_policy: str = "reconcile"
    reconciled: dict = field(default_factory=dict)  # OPD -> recap cells differing from its list
    from_lists: dict = field(default_factory=dict)  # OPD -> where its list-derived counts came from
    release: dict | None = None  # sementara or final, and why (pipeline.release)
    ignored: list[str] = field(default_factory=list)  # files in raw/PERIOD/ that are not submissions

    @property
    def current(self) -> list[Input]:
        """The inputs that count: every file but those a later file of the same OPD supersedes."""
        return [i for i in self.inputs if not i.superseded]


class RunLog:
    """A structured log: one JSON object a line, flushed as it goes, so a killed run leaves its trace."""

    def __init__(self, path: Path, run_id: str, echo=None):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.run_id, self.echo = path, run_id, echo
        self._f = open(path, "a", encoding="utf-8")

    def __call__(self, event: str, **fields) -> None:
        record = {"time": _now(), "run": self.run_id, "event": event, **fields}
        try:
            self._f.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            self._f.flush()
        except OSError:  # a full or read-only disk: the run's own outcome says so, the log cannot
            pass
        if self.echo is not None:  # --verbose: the same events, one short line each
            self.echo(f"{event} " + " ".join(f"{k}={v}" for k, v in fields.items() if k != "traceback"))
        if os.environ.get("REKAP_KILL_AFTER") == event:  # test hook: SIGKILL right after this event
            os.kill(os.getpid(), signal.SIGKILL)

    def close(self):
        try:
            self._f.close()
        except OSError:
            pass


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def run_period(period: str, raw: Path | str = "raw", processed: Path | str = "processed",
               reports: Path | str = "reports", db_url: str | None = None, registry: dict[str, Opd] | None = None,
               lang: str = "id", policy: ReleasePolicy = ReleasePolicy(), finalise: dict | None = None,
               book_csv: str = "excel-id", progress=None, echo=None, keep_withdrawn: bool = False,
               staff_policy: str = "reconcile", jobs: int | None = 1, instansi: str = "") -> RunResult:
    """Run one period. Raises :class:`RunLocked` when another run is under way, and any fault that
    prevents the run from recording itself (a read-only or full disk, a damaged catalog: see
    :func:`fault_message`); every other fault is the run's ``failed`` outcome.

    ``policy``: the coverage a final release needs; ``finalise`` (``{"by": name}``): publish as final
    whatever the coverage, recorded with who and when. ``book_csv``: the dialect of the book-layout
    CSVs. ``progress`` wraps the list of files (a progress bar); ``echo`` gets each log event as a line.
    ``keep_withdrawn``: an OPD whose file left ``raw/PERIOD/`` stays in the city tables.
    ``staff_policy`` says how staff lists in ``raw/PERIOD/`` are used (:mod:`pipeline.staff_run`).
    ``jobs``: processes that validate new versions (``None``: every core; the outputs are the same bytes
    whatever the number).
    ``instansi``: the agency the published SQL rows are tagged with (a shared database, rekap.toml's
    ``instansi``); a registry of agencies tags each agency's rows with its own.
    """
    raw, processed, reports = Path(raw), Path(processed), Path(reports)
    processed.mkdir(parents=True, exist_ok=True)
    lock = FileLock(processed / ".rekap.lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise RunLocked(str(processed / ".rekap.lock")) from None
    run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)
    catalog = None
    try:
        log = RunLog(processed / "logs" / period / f"run-{run_id}.jsonl", run_id, echo)
    except BaseException:
        lock.release()
        raise
    try:
        started = _now()
        try:
            catalog = Catalog(processed / "catalog.sqlite")  # a damaged one is detected here: nothing touched
            catalog.start_run(run_id, period, started)
        except Exception as err:
            log("failed", error=f"{type(err).__name__}: {err}", traceback=traceback.format_exc())
            raise
        log("start", period=period, raw=str(raw), code=code_version(), rules=rules_version())
        options = {"policy": policy, "finalise": finalise, "book_csv": book_csv, "progress": progress or (lambda x: x),
                   "started": started}
        try:
            result = _run(run_id, period, raw, processed, reports, db_url, registry or load_registry(), lang,
                          catalog, log, keep_withdrawn=keep_withdrawn, staff_policy=staff_policy, jobs=jobs,
                          instansi=instansi, **options)
        except Exception as err:  # a fault, not bad data: record it; the previous outputs stand
            log("failed", error=f"{type(err).__name__}: {err}", traceback=traceback.format_exc())
            result = RunResult(run_id, period, "failed", EXIT_FAILED, [], message=fault_note(err))
        catalog.end_run(run_id, outcome=result.outcome, exit_code=result.exit_code,
                        files=len(result.inputs), validated=result.validated,
                        accepted=sum(i.status == "accepted" for i in result.current),
                        rejected=sum(i.status == "rejected" for i in result.current),
                        published=int(result.outcome == "published"), message=result.message)
        for i in result.inputs:  # every version's cells are in the catalog: the reports read them from there,
            i.version.values = {}  # a few OPDs at a time, and the run holds no OPD's cells while writing them
        if result.outcome != "failed":
            _reports(result, processed, reports, registry, lang, catalog, log)
        catalog.end_run(run_id, ended=_now())  # only now: a run killed while writing reports is "killed"
        log("end", outcome=result.outcome, exit_code=result.exit_code, message=result.message)
        result.log = log.path
        return result
    finally:
        log.close()
        if catalog is not None:
            catalog.close()
        lock.release()


def fault_message(err: BaseException, lang: str = "id") -> str:
    """One line, in the reader's language, saying what stopped the run (no traceback: that is in the log)."""
    return shown(fault_note(err), lang)


def fault_note(err: BaseException) -> str:
    """What stopped the run, as a note (:func:`pipeline.text.note`) to keep in the catalog."""
    import sqlite3

    from pipeline.catalog import CatalogDamaged
    from pipeline.database import DatabaseError

    where = getattr(err, "filename", None) or ""
    if isinstance(err, DatabaseError):  # its message says which database and why (no password)
        return note("run.fault.database", error=str(err))
    if isinstance(err, CatalogDamaged):
        kind, where = "catalog", str(err.path)
    elif isinstance(err, OSError) and err.errno == errno.EROFS:
        kind = "read_only"
    elif isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        kind = "full"
    elif isinstance(err, PermissionError):
        kind = "permission"
    elif isinstance(err, sqlite3.OperationalError) and re.search(r"full|disk I/O", str(err)):
        kind, where = "full", "catalog.sqlite"
    elif isinstance(err, sqlite3.OperationalError) and "readonly" in str(err):
        kind, where = "read_only", "catalog.sqlite"
    else:
        kind = "other"
    return note(f"run.fault.{kind}", where=where or "processed/", what=type(err).__name__)


def _run(run_id, period, raw, processed, reports, db_url, registry, lang, catalog: Catalog, log, *,
         policy: ReleasePolicy, finalise: dict | None, book_csv: str, progress, started: str,
         keep_withdrawn: bool = False, staff_policy: str = "reconcile", jobs: int | None = 1,
         instansi: str = "") -> RunResult:
    from pipeline import staff_run  # staff lists: recognised by content, checked, reconciled, used by policy

    tables = load_tables()
    # raw/PERIOD/ (and raw/PERIOD/<instansi>/ of a registry of agencies); links, pipes, folders are named on
    # the dashboard, never read
    files, ignored, notes, agency_of = discover(raw / period, registry)

    def named(path: Path) -> str:  # as the run records and shows it (its agency's folder, its name)
        return input_name(path, agency_of.get(path, ""))

    log("discovered", files=len(files), ignored=[named(p) for p in ignored], skipped=[n.params["name"] for n in notes])
    catalog.record_ignored(run_id, period, [named(p) for p in ignored])
    # -- staff lists ----------------------------------------------------------------------------------------
    # every file hashed once and the catalog asked once: a file it knows as a recap version checked by this
    # code and these rules is not a list (it was not one then) and is not opened again to look
    seen = [_hash(path, period, agency_of.get(path, "")) for path in files]
    known = catalog.known(sorted({s.sha for s in seen if s.version is None}), period, values=False)
    checked = checked_with()
    staff_files = staff_run.find_lists([s.path for s in seen if not _same_rules(known.get(s.sha), checked)], jobs)
    seen = [s for s in seen if s.path not in staff_files]
    registry_of = registries_by_file(registry, agency_of)  # a file of an agency's folder: its agency's OPDs
    lists = staff_run.check_lists(staff_files, period, registry, registry_of)
    staff_run.archive_lists(lists, processed)
    for s in lists:
        log("staff_list", file=named(s.file), sha256=s.sha256, opds=s.opds, status=s.status)
    # ------------------------------------------------------------------------------------------------------
    previous = Previous(catalog, period)  # the earlier periods' published versions: one query
    inputs, validated = _versions(seen, known, period, processed, registry, catalog, started, lists, previous,
                                  log, progress, jobs, registry_of)
    _read_values(inputs, lists, catalog, period)

    reconciled = staff_run.reconcile_inputs(lists, inputs, staff_policy, processed)
    chosen = _choose(inputs, period, registry, catalog, notes, keep_withdrawn)
    origins = staff_run.apply_policy(lists, chosen, inputs, staff_policy, period)
    _cross_period(inputs, previous)
    for i in inputs:
        if i.findings:
            log("run_findings", file=i.name, codes=sorted({f.code for f in i.findings}))
    result = RunResult(run_id, period, "", EXIT_OK, inputs, validated=validated, ignored=[named(p) for p in ignored])
    if any(i.status == "rejected" for i in result.current):
        result.exit_code = EXIT_REJECTED
    catalog.record_inputs(run_id, period, [
        {"file": i.name, "sha256": i.version.sha256, "opd": i.opd, "status": i.status,
         "used": i.used, "findings": i.findings} for i in inputs])
    catalog.record_notes(run_id, period, notes)
    for note in notes:
        log("note", code=note.code, params=note.params)
    catalog.record_staff(run_id, period, [
        {"file": named(s.file), "sha256": s.sha256, "status": s.status, "opds": s.opds, "people": s.people,
         "findings": s.findings} for s in lists])
    result.staff, result.staff_policy, result.reconciled, result.from_lists = lists, staff_policy, reconciled, origins
    if not chosen:
        result.outcome, result.exit_code = "empty", EXIT_FAILED
        return result

    used = {opd: v.sha256 for opd, v in sorted(chosen.items())}
    sources = staff_run.sources(chosen, origins)
    withdrawn = {n.params["opd"] for n in notes if n.code == "SUBMISSION_WITHDRAWN"}
    coverage, summary = coverage_rows(period, registry, inputs, chosen, previous, withdrawn=withdrawn)
    parts = agency_tables(period, registry, inputs, chosen, sources, agency_of, previous, withdrawn)
    if parts:  # a registry of agencies: coverage says whose, the summary each agency's counts
        coverage = tag_coverage(coverage, registry, inputs, agency_of)
        summary = {**summary, "agencies": {name: part.summary for name, part in parts.items()}}
    result.coverage, result.coverage_summary = coverage, summary
    catalog.record_coverage(run_id, period, coverage, summary)
    url = db_url or f"sqlite:///{(processed / 'catalog.sqlite').resolve()}"
    previous = current_manifest(processed, period)
    now = _now()
    release = release_status(summary, registry, policy, used, previous, finalise, now)
    if parts:  # and each agency's own, from its own OPDs' coverage
        release["agencies"] = agency_releases(parts, policy, used, processed / period, finalise, now)
    result.release = release
    manifest = {
        "period": period,
        "database": _safe_url(url),
        "inputs": [{"file": i.name, "opd": i.opd, "sha256": i.version.sha256, "status": i.status,
                    "used": i.used, "superseded": i.superseded} for i in inputs],
        "used": used,
        "older_versions_used": sorted(set(chosen) - {i.opd for i in inputs if i.used}),
        "coverage": summary,
        "release": release,
        "staff_policy": staff_policy,
        "staff_lists": [{"file": named(s.file), "sha256": s.sha256, "status": s.status, "opds": s.opds}
                        for s in lists],
        "from_lists": origins,  # OPD -> the list its counts came from, and the cells kept from its recap
        "code_version": code_version(),
        "rules_version": rules_version(),
        **({"instansi": instansi} if instansi else {}),  # the tag of the published SQL rows
    }
    fingerprint = _fingerprint(manifest)
    if previous and previous.get("fingerprint") == fingerprint:
        result.outcome = "unchanged"
        log("unchanged", fingerprint=fingerprint)
        catalog.end_run(run_id, fingerprint=fingerprint)
        return result

    from pipeline.consolidate import consolidate  # pandas, imported only when something changed
    from pipeline.database import publish_agencies
    from pipeline.gate import run_gate  # Great Expectations is imported only where the gate runs
    from pipeline.report import print_ahead

    city, lineage = consolidate(sources, tables)  # the city tables: only when something changed
    # the profile is printed on another core while the gate runs; waited for once published, else stopped
    profile = print_ahead(processed, reports, period, city, summary, release, lang, jobs)
    try:
        gate = run_gate(city, period, reports / period / "gx", city_scope=not parts,  # agencies: city rules in _choose
                        judged=_judged(previous, catalog, period), lang=lang)
        log("gate", ok=gate.ok, failures=gate.failures,
            **({"reused_from": gate.reused_from} if gate.reused_from else {}))
        if not gate.reused_from:  # a reused judgement stays recorded on the run that made it (the gate page's)
            catalog.record_gate(run_id, period, gate.ok, gate.outcomes)
        if not gate.ok:
            result.outcome, result.exit_code, result.gate_failures = "gate_failed", EXIT_GATE, gate.failures

            return result

        release = release_dir(processed, period, run_id)
        note = coverage_note(summary, lang)
        manifest = {**manifest, "run_id": run_id, "fingerprint": fingerprint, "gate": "passed",
                    "gate_input": gate.judged_input, "gate_run": gate.reused_from or run_id}
        frame = coverage_frame(coverage)
        outputs = write_release(release, period, city, lineage, frame, note, manifest, lang, book_csv=book_csv)
        fingerprint_agencies(period, parts, manifest, lang, book_csv)  # an unchanged agency: its files linked
        outputs += write_agency_releases(release, period, parts, manifest, lang, book_csv, processed / period, jobs)
        log("written", release=release.name, outputs=len(outputs))
        try:
            # a registry of agencies: each agency's own tables, tagged with it (the combined ones are their sum),
            # made only for an agency whose rows in the database are not those of its fingerprint
            frames = {name: partial(agency_frames, period, run_id, part) for name, part in parts.items()} or \
                {instansi or None: sql_frames(period, run_id, city, lineage, frame, manifest["release"])}
            publish_agencies(url, period, frames, fingerprints={name: part.fingerprint for name, part in parts.items()})
        except Exception:
            shutil.rmtree(release, ignore_errors=True)
            raise
        log("database", url=_safe_url(url))
        swap_in(processed, period, release)
        catalog.record_release(run_id, period, outputs, used)
        catalog.end_run(run_id, fingerprint=fingerprint)
        result.outcome = "published"
        log("published", release=release.name)
        return result
    finally:
        if profile is not None:
            profile.finish(wait=result.outcome == "published")


def _judged(live: dict | None, catalog: Catalog, period: str):
    """The GX judgement the live release was published with, when it is the period's latest gate result
    (no gate has failed since, so its Data Docs are the ones in reports/): a run may reuse it."""
    from pipeline.gate import Judged

    last = catalog.last_gate(period)
    if not live or live.get("gate") != "passed" or not live.get("gate_input") or not last or not last["ok"] \
            or last["run_id"] != live.get("gate_run"):
        return None
    return Judged(live["gate_input"], last["run_id"], last["outcomes"])


def _reports(result: RunResult, processed, reports, registry, lang, catalog: Catalog, log) -> None:
    """Rebuild the reports people read. One OPD's report failing is recorded on it (build_reports); a
    fault beyond that is the run's failure, the published data stands and the next run tries again."""
    from pipeline.report import build_reports

    try:
        written = build_reports(processed, reports, result.period, lang, registry, log=log, catalog=catalog)
        result.dashboard = Path(reports) / result.period / "index.html"
        log("reports", files=len(written))
    except Exception as err:
        result.exit_code, result.message = EXIT_FAILED, fault_note(err)
        log("reports_failed", error=f"{type(err).__name__}: {err}", traceback=traceback.format_exc())
        catalog.end_run(result.run_id, exit_code=result.exit_code, message=result.message)


def _safe_url(url: str) -> str:
    """A database URL without its password, for the log."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':')[0]}:***@{host}"
    return url


def _fingerprint(manifest: dict) -> str:
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()


@dataclass
class _Seen:
    """A file found in ``raw/PERIOD/``, hashed: its catalog version, or why it must be validated."""

    path: Path
    sha: str = ""
    mtime: int = 0
    version: Version | None = None  # known (checked by this code, rules and evidence), or unreadable
    archive: str = ""
    first_seen: str = ""
    name: str = ""  # as the run records and shows it (pipeline.agencies.input_name)


def _same_rules(version: Version | None, checked: str) -> bool:
    """Whether a catalog version was checked by this code and these rules (with or without a list as evidence)."""
    return version is not None and (version.checked_with == checked
                                    or version.checked_with.startswith(checked + "+staff:"))


def _versions(seen: list[_Seen], known: dict[str, Version], period: str, processed: Path, registry,
              catalog: Catalog, received: str, lists: list, previous: Previous, log, progress,
              jobs: int | None, registry_of: dict[str, dict] | None = None) -> tuple[list[Input], int]:
    """The catalog's version of every file, validating (on ``jobs`` processes) only those this code, these
    rules and this evidence have not checked yet; each new version is saved to the catalog as it comes.

    Bookkeeping is one pass: every file hashed once (``seen``, by :func:`_run`), the catalog asked once for
    all hashes (``known``), the known ones touched in one transaction. A version first seen in this run is
    received at ``received`` (the run's start), so files that arrive together share one first-seen time and
    their modification times tell them apart. ``lists`` (staff lists, :mod:`pipeline.staff_run`): an OPD's
    usable list gives error localisation the true count of each cell, taken over the previous period's value
    (``previous``); which list it was is part of the cache key, so a new list re-validates the recap. ``registry_of``:
    the registry a file is checked against, by path (its agency's, :func:`pipeline.agencies.registries_by_file`).
    """
    from pipeline import staff_run

    checked, touched = checked_with(), []
    for s in seen:
        found = known.get(s.sha)
        if s.version is None and found is not None and found.checked_with == checked + staff_run.evidence_tag(lists, found.opd):
            s.version = dataclasses.replace(found, file=s.path.name, last_seen=received)
            touched.append((s.sha, s.path.name))
    catalog.touch_all(touched, period, received)
    todo = [s for s in seen if s.version is None]
    for s in todo:  # archived before it is checked (a run killed now finds it in the archive)
        try:
            s.archive, s.first_seen = _archive(s.path, s.sha, period, processed, known.get(s.sha), received)
        except OSError as err:
            if _disk_fault(err):
                raise
            s.version = _unreadable(s.path, period, err, s.sha.partition("@")[2])  # that file only (its agency's)
    unique: dict[str, _Seen] = {}
    for s in todo:
        if s.version is None:
            unique.setdefault(s.sha, s)  # the same bytes twice in the folder are checked once
    todo = list(unique.values())
    evidence, fresh = None, (result for result in ())
    if todo:  # reading and checking (pandera, scipy) are imported only when a file is new
        from pipeline.validate import iter_validate

        evidence = _evidence(registry, lists, previous)
        fresh = iter_validate([s.path for s in todo], period, registry, evidence, jobs, registry_of)
    inputs, done, unsaved = [], {}, []
    try:
        for s in progress(seen):
            new = s.version is None and s.sha not in done
            if new:
                result = next(fresh)
                version = version_of(result, s.sha, period, s.path.name, s.archive, s.first_seen, received,
                                     checked + evidence.tag(result.opd))
                unsaved.append(version)
                s.version = done[s.sha] = dataclasses.replace(version, values={})  # read back where needed
            elif s.version is None:  # the same bytes again
                s.version = dataclasses.replace(done[s.sha], file=s.path.name)
                catalog.save_versions(unsaved)  # its first file's record first, then touched
                unsaved = []
                catalog.touch_all([(s.sha, s.path.name)], period, received)
            if len(unsaved) >= SAVED_AT_ONCE:
                catalog.save_versions(unsaved)
                unsaved = []
            inputs.append(Input(s.path, s.version, mtime=s.mtime, name=s.name))
            log("input", file=s.name, sha256=s.version.sha256, opd=s.version.opd, status=s.version.status,
                validated=new)
        catalog.save_versions(unsaved)
    finally:
        fresh.close()  # a fault above: the workers stop
    return inputs, len(done)


def _read_values(inputs: list[Input], lists: list, catalog: Catalog, period: str) -> None:
    """The cell values of the inputs that can be chosen (accepted by validation) or are compared with a
    staff list, read from the catalog in one query; the others' are never read (nor held)."""
    wanted: dict[str, list[Version]] = {}
    for i in inputs:
        if i.version.status == "accepted" or (i.opd and any(s.usable(i.opd) for s in lists)):
            wanted.setdefault(i.version.sha256, []).append(i.version)
    for sha, values in catalog.values(sorted(wanted), period):
        for version in wanted[sha]:
            version.values = values


def _hash(path: Path, period: str, agency: str = "") -> _Seen:
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):  # replaced by a link or a pipe since discovery
            raise FileNotFoundError(errno.ENOENT, "not a regular file any more", str(path))
        return _Seen(path, version_key(sha256_file(path), agency), path.stat().st_mtime_ns, name=input_name(path, agency))
    except OSError as err:
        if _disk_fault(err):
            raise
        return _Seen(path, version=_unreadable(path, period, err, agency),  # vanished, unreadable: that file only
                     name=input_name(path, agency))


def _archive(path: Path, sha: str, period: str, processed: Path, known: Version | None,
             received: str) -> tuple[str, str]:
    """The file's copy under ``processed/archive/`` (by content) and its note: (archive path, first seen)."""
    suffix = path.suffix.lower() if re.fullmatch(r"\.[a-z0-9]{1,5}", path.suffix.lower()) else ""
    archive = processed / "archive" / sha[:2] / f"{sha}{suffix}"
    if not archive.exists():
        atomic_write(archive, lambda tmp: shutil.copyfile(path, tmp))
    first_seen = known.first_seen if known else received
    write_archive_note(archive, sha, period, path.name, first_seen)
    return archive.relative_to(processed).as_posix(), first_seen


def _evidence(registry, lists: list, previous: Previous):
    """What error localisation compares each OPD with (:class:`pipeline.validate.Evidence`), as plain data
    for the workers: the previous period's published values (``previous``) and the counts of the OPD's
    usable staff list."""
    from pipeline import staff_run
    from pipeline.validate import Evidence

    opds = {o for s in lists for o in s.opds if o in registry}
    return Evidence(previous, {o: staff_run.reference_for(lists, o) for o in opds},
                    {o: staff_run.evidence_tag(lists, o) for o in opds})


def version_of(result, sha: str, period: str, file: str, archive: str, first_seen: str, now: str,
               checked: str | None = None) -> Version:
    """The catalog's record of one validation result (its findings and its cell values as numbers);
    ``checked``: what it was checked with (default: this code and these rules)."""
    return Version(sha, period, result.opd, file, result.kind, archive, first_seen, now,
                   result.status, checked or checked_with(), result.findings, result.compact().values)


def _disk_fault(err: OSError) -> bool:
    """A fault of the disk the run writes to (not of one input): it stops the run."""
    return err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS)


def _unreadable(path: Path, period: str, err: OSError, agency: str = "") -> Version:
    """A file that vanished or cannot be read between discovery and reading: a finding on that file only
    (named by its file name and agency: two agencies' folders may hold files of one name)."""
    now = _now()
    code = "FILE_NOT_FOUND" if isinstance(err, FileNotFoundError) else "FILE_CORRUPT"
    finding = Finding(code, "file:read", params={"file": path.name, "detail": f"{type(err).__name__}: {err}"})
    sha = version_key("unread-" + hashlib.sha256(path.name.encode("utf-8", "replace")).hexdigest()[:16], agency)
    return Version(sha, period, None, path.name, "unknown", None, now, now, "rejected", checked_with(), [finding], {})


def _choose(inputs: list[Input], period: str, registry, catalog: Catalog, notes: list[Finding] | None = None,
            keep_withdrawn: bool = False) -> dict[str, Version]:
    """One version per OPD: the current accepted file, else the latest earlier accepted version.

    The city rules (scope ``city`` in ``schemas/rules.yaml``, e.g. one II.A post city-wide) hold over
    the versions chosen: the current files of the OPDs that break one get its finding (and so are
    rejected) and the choice is made again; if only earlier versions break it, none of them is used.

    An OPD with no file in ``raw/PERIOD/`` now whose earlier version was accepted has withdrawn it: a
    ``SUBMISSION_WITHDRAWN`` note (in ``notes``) and, unless ``keep_withdrawn``, out of the city tables.
    """
    notes = [] if notes is None else notes
    by_opd: dict[str, list[Input]] = {}
    for i in inputs:
        if i.opd:
            by_opd.setdefault(i.opd, []).append(i)
    for opd, claims in by_opd.items():
        if len(claims) > 1:
            _supersede(opd, claims)
    withdrawn = set()
    accepted = catalog.accepted(period)  # every OPD's accepted versions (sha256, file), oldest first: one query
    for opd in registry:
        earlier = accepted.get(opd, [])
        if opd not in by_opd and earlier:
            withdrawn.add(opd)
            # withdrawal policy (README): its data leaves the city tables, unless ``--keep-withdrawn``
            notes.append(Finding("SUBMISSION_WITHDRAWN", "run:withdrawal", params={
                "opd": opd, "file": earlier[-1][1], "sha256": earlier[-1][0],
                "kept": keep_withdrawn, "left": not keep_withdrawn}))
    older: dict[str, Version] = {}  # earlier versions read from the catalog, each once
    while True:
        chosen: dict[str, Version] = {}
        rejected = {i.version.sha256 for i in inputs if i.status == "rejected"}
        for opd in registry:
            current = [i for i in by_opd.get(opd, []) if i.status == "accepted" and not i.superseded]
            if current:
                chosen[opd] = current[0].version
                continue
            if opd in withdrawn and not keep_withdrawn:
                continue
            earlier = [sha for sha, _ in accepted.get(opd, []) if sha not in rejected]
            if earlier:
                if earlier[-1] not in older:
                    older[earlier[-1]] = catalog.version(earlier[-1], period)
                chosen[opd] = older[earlier[-1]]
        breaches = [b for group in agency_groups(chosen, registry)  # a city's rules hold per agency
                    for b in city_breaches({opd: v.values for opd, v in group.items()}, city_rules())]
        if not breaches:
            break
        flagged = False
        for breach in breaches:
            for i in inputs:
                if i.opd in breach.parts and i.status == "accepted" and not i.superseded:
                    i.findings.append(city_finding(breach))
                    flagged = True
        if not flagged:  # only earlier versions break it: use none of them
            chosen = {o: v for o, v in chosen.items() if not any(o in b.parts for b in breaches)}
            break
    for i in inputs:
        i.used = i.opd in chosen and chosen[i.opd].sha256 == i.version.sha256 and i.status == "accepted" \
            and not i.superseded
    current = {i.opd for i in inputs if i.used}
    for i in inputs:
        if i.status == "rejected" and not i.superseded and i.opd in chosen and i.opd not in current:
            i.findings.append(Finding("OLDER_VERSION_USED", "run:resubmission", params={
                "opd": i.opd, "detail": f"{chosen[i.opd].file}, {chosen[i.opd].sha256[:12]}"}))
    return chosen


def _received(i: Input) -> tuple[str, float]:
    return i.version.first_seen, i.mtime


def _supersede(opd: str, claims: list[Input]) -> None:
    """Of several files naming one OPD, the one received last is current; the others are superseded.

    Files received in the same run with the same modification time (and different contents) are a
    genuine tie: DUPLICATE_SUBMISSION on each, and none of them is used."""
    latest = max(_received(c) for c in claims)
    newest = [c for c in claims if _received(c) == latest]
    if len({c.version.sha256 for c in newest}) > 1:
        names = ", ".join(c.name for c in newest)
        for c in newest:
            c.findings.append(Finding("DUPLICATE_SUBMISSION", "run:one_file_per_opd", params={
                "opd": opd, "count": len(newest), "detail": names}))
        current = None
    else:
        current = newest[0]
    older = [c for c in claims if c is not current and not (current is None and c in newest)]
    for c in older:
        c.superseded = True
        if current is not None:
            c.findings.append(Finding("SUBMISSION_SUPERSEDED", "run:one_file_per_opd", params={
                "opd": opd, "detail": current.name}))
    if current is not None and older:
        current.findings.append(Finding("SUBMISSION_REPLACES", "run:one_file_per_opd", params={
            "opd": opd, "detail": ", ".join(c.name for c in sorted(older, key=_received))}))


def _cross_period(inputs: list[Input], previous: Previous) -> None:
    """The period rules (scope ``period`` in ``schemas/rules.yaml``, e.g. a sharp headcount change)
    confront each used input with the OPD's previous published version (``previous``)."""
    rules = period_rules()
    for i in inputs:
        if i.used:
            i.findings += period_findings(i.opd, i.version.values, previous.values(i.opd), rules)
