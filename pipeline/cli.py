"""The ``rekap`` command: a thin layer over the library API (pipeline.validate, template, run, ...).

Every command takes ``--workspace`` (else ``$REKAP_HOME``, else the current folder: see
:mod:`pipeline.workspace`), ``--lang``, ``--quiet``, ``--verbose`` and ``--version``. A usage error
(a missing folder, a period without data) is one line in the language asked and exit status 2,
before anything is written.

Each command imports the library modules it uses when it runs: ``rekap --help`` and ``--version``
load neither pandas nor any other heavy library, nor the text catalogue (tests/test_cli.py checks it).
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from pathlib import Path

import click

from pipeline import __version__, text
from pipeline.period import normalize_period, period_of_path
from pipeline.text import DEFAULT

EXIT_USAGE = 2


class UsageFailure(click.ClickException):
    """A usage error said in one line, in the user's language; nothing has been written."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str):
        super().__init__(message)

    @classmethod
    def say(cls, key: str, lang: str, **params) -> UsageFailure:
        """The failure whose text is ``cli.<key>`` in the text catalogue."""
        return cls(text.say(f"cli.{key}", lang, **params))

    def show(self, file=None):
        click.echo(f"rekap: {self.format_message()}", err=True)


class Ui:
    """What a command prints besides its result: a progress bar on a terminal, details on request."""

    def __init__(self, lang: str, quiet: bool, verbose: bool):
        self.lang, self.quiet, self.verbose = lang, quiet, verbose

    def progress(self, items, what: str):
        """``items`` with a progress bar on stderr when it is a terminal and ``--quiet`` is not given."""
        if self.quiet or not sys.stderr.isatty():  # as they are (a scheduled run does not import tqdm)
            return items
        from tqdm import tqdm

        return tqdm(items, desc=what, unit=text.say("cli.files_unit", self.lang), leave=False,
                    file=sys.stderr)

    def result(self, text: str) -> None:
        if not self.quiet:
            click.echo(text)

    def stream(self, text: str, end: str = "\n") -> None:
        """A piece of a result written as it comes (``result`` in pieces)."""
        if not self.quiet:
            click.echo(text + end, nl=False)
            sys.stdout.flush()

    def detail(self, text: str) -> None:
        if self.verbose:
            click.echo(text, err=True)


def _period(ctx, param, value):
    if value is None:
        return None
    period = normalize_period(value)
    if period is None:
        raise click.BadParameter(text.say("cli.bad_period", ctx.params.get("lang", DEFAULT)))
    return period


class _LangOption(click.Option):
    """``--lang``, whose help names the catalogue's languages: read when the help is shown, not at import."""

    def get_help_record(self, ctx):
        self.help = f"Language of messages: {', '.join(text.LANGUAGES)}, or one the workspace's text.yaml adds."
        return super().get_help_record(ctx)


def _jobs(ctx, param, value):
    from pipeline.pool import use_jobs

    use_jobs(value)  # every process pool of this command (validation, reports) uses this many
    return value


jobs_option = click.option("--jobs", "-j", type=click.IntRange(min=1), callback=_jobs,
                           help="Processes to work on; default: every core (or $REKAP_JOBS). The output is the "
                                "same whatever the number.")


def command(group, *args, **kwargs):
    """A command of ``group`` with the options every command has; it is called with ``ws`` (the
    workspace, activated) and ``ui`` instead of ``workspace``, ``quiet`` and ``verbose``."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(workspace, quiet, verbose, **kw):
            from pipeline.specs import RegistryError, SpecError
            from pipeline.workspace import WorkspaceError, find

            lang = kw.get("lang", DEFAULT)
            try:
                ws = find(workspace).activate()
            except (WorkspaceError, RegistryError, SpecError) as err:
                raise UsageFailure(err.message(lang if lang in text.LANGUAGES else DEFAULT)) from None
            if lang not in text.languages():  # the shipped ones and any the workspace's text.yaml adds
                raise UsageFailure(text.say("cli.unknown_language", DEFAULT, lang=lang,
                                            languages=", ".join(text.languages())))
            return fn(ws=ws, ui=Ui(lang, quiet, verbose), **kw)

        options = [
            click.option("--workspace", "-w", type=click.Path(path_type=Path),
                         help="The workspace folder (raw/, processed/, reports/, rekap.toml); "
                              "default: $REKAP_HOME, else the current folder."),
            click.option("--lang", cls=_LangOption, metavar="LANG", default=DEFAULT, show_default=True,
                         is_eager=True),
            click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary; the exit status says it."),
            click.option("--verbose", "-v", is_flag=True, help="Say each step and each file on stderr."),
            click.version_option(__version__, prog_name="rekap"),
        ]
        for option in reversed(options):
            wrapper = option(wrapper)
        return group.command(*args, **kwargs)(wrapper)

    return decorate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rekap")
def cli():
    """rekap: validate and consolidate the staffing recaps (rekap kepegawaian) of the OPDs."""


@command(cli)
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--period", callback=_period, help="Expected period; default: the folder name (raw/2022/...).")
@jobs_option
def validate(ws, ui, files, fmt, period, jobs, lang):
    """Check submissions (xlsx, xls, ods workbooks, tidy CSV, or every submission in a folder).

    In a folder, files that are not submissions (pdf, docx, txt, images, ...) are left alone
    (--verbose lists them). Exit status: 0 when no submission has errors, 1 when any has, 2 for a
    usage error (no submission at all).

    \b
    Example:
      rekap validate raw/2022/
      rekap validate --format json --lang en raw/2022/DINKES.xlsx
    """
    from pipeline.read import scan
    from pipeline.render import json_chunks, text_chunks
    from pipeline.validate import iter_validate

    paths, ignored = [], []
    for f in files:
        if f.is_dir():
            found, skipped = scan(f)
            paths += found
            ignored += skipped
        else:
            paths.append(f)  # a missing file is a finding (FILE_NOT_FOUND) like any unreadable one
    for p in ignored:
        ui.detail(text.say("cli.skipped", lang, path=p))
    if not paths:
        where = ", ".join(str(f) for f in files)
        raise UsageFailure.say("no_submission", lang, where=where)
    # staff lists (recognised by content, by the process that would read them) are checked as lists, not as
    # recaps; a list needs a period: --period or its folder's (a file outside a period folder is asked first)
    from pipeline.staff_run import check_lists, find_lists, staff_text
    from pipeline.validate import STAFF_LIST

    if period is None and find_lists([p for p in paths if p.is_file() and period_of_path(p) is None], jobs):
        raise UsageFailure.say("staff_needs_period", lang)
    rejected, lists = False, []

    def results():  # as they come, in the files' order, whatever --jobs
        nonlocal rejected
        for r in ui.progress(iter_validate(paths, period, jobs=jobs, lists=True), "validate"):
            if r.kind == STAFF_LIST:
                lists.append(Path(r.file))
                continue
            ui.detail(r.file)
            rejected |= r.status == "rejected"
            yield r

    for piece in (json_chunks if fmt == "json" else text_chunks)(results(), lang):
        ui.stream(piece, "" if fmt == "json" else "\n")
    ui.stream("", "\n" if fmt == "json" else "")
    checked = []
    if lists:
        from pipeline.specs import load_registry

        checked = check_lists(lists, period or period_of_path(lists[0]), load_registry())
        ui.result(staff_text(checked, lang, fmt))
    sys.exit(1 if rejected or any(r.status == "rejected" for r in checked) else 0)


@command(cli)
@click.option("--opd", required=True, help="OPD code from the registry (the workspace's registry.csv).")
@click.option("--period", required=True, callback=_period, help="A year (2022) or year-month (2022-12).")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="The .xlsx to write.")
def template(ws, ui, opd, period, output, lang):
    """Write the Excel template an OPD fills in.

    \b
    Example:
      rekap template --opd DINKES --period 2022 -o DINKES-2022.xlsx
    """
    from pipeline.specs import load_registry
    from pipeline.template import write_template

    registry = load_registry()
    if opd.upper() not in registry:
        raise click.BadParameter(text.say("cli.unknown_opd", lang, opd=opd, known=", ".join(registry)),
                                 param_hint="--opd")
    write_template(output, registry[opd.upper()], period, lang=lang)
    ui.result(f"{output}")


@command(cli)
@click.option("--period", required=True, callback=_period, help="A year (2022) or year-month (2022-12).")
@click.option("--raw", "raw_dir", type=click.Path(path_type=Path),
              help="Where to write: RAW/PERIOD/<OPD>.xlsx; default: the workspace's raw/. Existing files are "
                   "never overwritten.")
@click.option("--manifest", type=click.Path(path_type=Path), help="Write {OPD: [expected finding codes]} here.")
@click.option("--seed", default=2022, show_default=True, help="Random seed (same seed, same data).")
@click.option("--staff", is_flag=True, help="Also write staff lists (one row per employee) for a few OPDs, with "
              "planted row defects and one recap that differs from its list.")
@click.option("--staff-manifest", type=click.Path(path_type=Path),
              help="With --staff: write the staff lists' planted defects here (JSON).")
def sample(ws, ui, period, raw_dir, manifest, seed, staff, staff_manifest, lang):
    """Write a realistic sample period: one workbook per registry OPD, a few with known defects.

    \b
    Example:
      rekap sample --period 2022 --raw raw --manifest raw/2022-manifest.json
      rekap sample --period 2022 --staff --staff-manifest raw/2022-staff-manifest.json
    """
    from pipeline.sample import write_sample

    raw_dir = raw_dir or ws.raw
    result = write_sample(raw_dir, period, seed=seed, manifest_path=manifest, lang=lang)
    ui.result(f"{len(result)} OPD -> {raw_dir / period}")

    if staff:
        from pipeline.sample_staff import write_staff_sample

        lists = write_staff_sample(raw_dir / period, period, seed, staff_manifest)
        ui.result(text.say("cli.staff_written", lang, n=len(lists["lists"]), folder=raw_dir / period))


@cli.group()
def staff():
    """Staff lists: one row per employee (a SIASN export or an OPD's own list).

    \b
    Example:
      rekap staff check --period 2022 raw/2022/daftar-pegawai.xlsx
    """


@command(staff, "check")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--period", required=True, callback=_period, help="The period the list describes (2022, 2022-12).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def staff_check(ws, ui, files, period, fmt, lang):
    """Check staff lists row by row and show the recap counts derived from them (NIPs masked).

    Exit status: 0 when no list has errors, 1 when any has, 2 for a usage error.

    \b
    Example:
      rekap staff check --period 2022 raw/2022/daftar-pegawai.xlsx
    """
    from pipeline.specs import load_registry
    from pipeline.staff_run import check_lists, staff_text

    lists = check_lists(files, period, load_registry())
    ui.result(staff_text(lists, lang, fmt))
    sys.exit(1 if any(s.status == "rejected" for s in lists) else 0)


@command(cli)
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--agency", default="BKPSDM Kota Serang", show_default=True,
              help="The agency's name, used in the instructions sent to the OPDs.")
def init(ws, ui, directory, agency, lang):
    """Create a workspace: raw/, processed/, reports/, templates/, schemas/ (spec overrides), a copy
    of the registry to edit, and rekap.toml (agency, registry, release policy, database URL).

    \b
    Example:
      rekap init /srv/rekap --agency "BKPSDM Kota Serang"
      export REKAP_HOME=/srv/rekap
    """
    from pipeline.workspace import WorkspaceError, init as init_workspace

    try:
        created = init_workspace(directory, agency)
    except WorkspaceError as err:
        raise UsageFailure(err.message(lang)) from None
    ui.result(text.say("cli.init_done", lang, root=created.root, config=created.config,
                       registry=created.root / "registry.csv"))


@cli.group()
def period():
    """Periods of collection.

    \b
    Example:
      rekap period new 2023
    """


@command(period, "new")
@click.argument("name", metavar="PERIOD", callback=_period)
@jobs_option
def period_new(ws, ui, name, jobs, lang):
    """Start a collection period: create raw/PERIOD/ and write, into templates/PERIOD/, the template of
    every OPD that must submit and the instructions to send with them (PETUNJUK.txt).

    Existing templates are rewritten (they hold no data); raw/ is never touched beyond creating the
    folder. `rekap run` without --period then runs this period, the latest in raw/.

    \b
    Example:
      rekap period new 2023
    """
    from pipeline.period import new_period

    out = new_period(ws, name, lang=lang, progress=lambda items: ui.progress(items, "template"), jobs=jobs)
    ui.result(text.say("cli.period_done", lang, period=name, raw=out.raw, count=len(out.templates),
                       letter=out.letter.name, folder=out.folder))


def _latest_period(ws, raw_dir: Path, lang: str) -> str:
    from pipeline.period import latest_period

    found = latest_period(raw_dir)
    if found is None:
        raise UsageFailure.say("no_period_folder", lang, raw=raw_dir)
    return found


@command(cli)
@click.option("--period", callback=_period, help="A year (2022) or year-month (2022-12); default: the latest "
                                                 "period folder in raw/.")
@click.option("--raw", "raw_dir", type=click.Path(path_type=Path),
              help="Submissions, in RAW/PERIOD/ (never modified); default: the workspace's raw/.")
@click.option("--processed", "processed_dir", type=click.Path(path_type=Path),
              help="Catalog, archive and published outputs (PROCESSED/PERIOD/); default: the workspace's processed/.")
@click.option("--reports", "reports_dir", type=click.Path(path_type=Path),
              help="Reports people read; default: the workspace's reports/.")
@click.option("--db", "db_url", help="SQLAlchemy URL to publish the tables to; default: rekap.toml's database, "
                                     "else the catalog's SQLite file.")
@click.option("--final", is_flag=True, help="Publish this release as final even if the coverage the workspace "
                                            "asks for is not reached (recorded with who and when).")
@click.option("--by", "by", help="Who finalises (with --final); default: the login name.")
@click.option("--keep-withdrawn", is_flag=True,
              help="Keep an OPD whose file left RAW/PERIOD/ in the city tables (its last accepted version).")
@click.option("--staff-policy", type=click.Choice(["reconcile", "recap-first", "list-first"]),
              help="How staff lists in RAW/PERIOD/ are used: reconcile (a recap that differs from its list is "
              "rejected), recap-first (the recap is used, a difference is a warning), list-first (counts come from "
              "the list, posts available from the recap); default: rekap.toml's [staff] policy, else reconcile.")
@jobs_option
def run(ws, ui, period, raw_dir, processed_dir, reports_dir, db_url, final, by, keep_withdrawn, staff_policy, jobs, lang):
    """Validate, consolidate and publish one period; safe to run again and again (cron, systemd timer).

    Each release is provisional (sementara) until the coverage rekap.toml asks for is reached, or
    the officer finalises it (--final, or later `rekap release --final`).

    Exit status: 0 published (or nothing changed) and every current submission accepted; 1 the same
    but some rejected; 2 usage error; 3 another run is under way; 4 the publish gate failed (nothing
    published); 5 the run failed (the previous outputs stand).

    \b
    Example:
      rekap run
      rekap run --period 2022-12 --db postgresql+psycopg://rekap@localhost/rekap
    """
    raw_dir = raw_dir or ws.raw
    period = period or _latest_period(ws, raw_dir, lang)
    if not (raw_dir / period).is_dir():
        raise UsageFailure.say("no_folder_create", lang, folder=raw_dir / period, period=period)
    _run(ws, ui, period, raw_dir, processed_dir, reports_dir, db_url, final, by, lang, keep_withdrawn, staff_policy,
         jobs=jobs)


def _run(ws, ui, period, raw_dir, processed_dir, reports_dir, db_url, final, by, lang, keep_withdrawn=False,
         staff_policy="reconcile", jobs=None):
    import getpass

    from pipeline.render import run_summary
    from pipeline.run import EXIT_FAILED, EXIT_LOCKED, RunLocked, fault_message, run_period

    if final and not by:
        try:
            by = getpass.getuser()
        except (OSError, KeyError):  # no login name (a bare container): say so rather than guess
            by = "?"
    finalise = {"by": by} if final else None
    try:
        result = run_period(period, raw_dir, processed_dir or ws.processed, reports_dir or ws.reports,
                            db_url or ws.database, lang=lang, policy=ws.release, finalise=finalise,
                            book_csv=ws.book_csv, progress=lambda items: ui.progress(items, period),
                            echo=ui.detail if ui.verbose else None, keep_withdrawn=keep_withdrawn,
                            staff_policy=staff_policy or ws.staff_policy, jobs=jobs, instansi=ws.instansi)
    except RunLocked as err:
        click.echo(text.say("cli.run_locked", lang, lock=err), err=True)
        sys.exit(EXIT_LOCKED)
    except Exception as err:  # noqa: BLE001 - a scheduler gets one line and exit 5; the traceback is in the log
        click.echo(f"rekap run: {fault_message(err, lang)}", err=True)
        sys.exit(EXIT_FAILED)
    from pipeline.release import release_line

    # the summary speaks of the files that count: a superseded file is not the OPD's submission any more
    ui.result(run_summary(dataclasses.replace(result, inputs=result.current), lang)
              + release_line(result.release if result.outcome in ("published", "unchanged") else None, lang))
    sys.exit(result.exit_code)


@command(cli)
@click.option("--period", callback=_period, help="Default: the latest period folder in raw/.")
@click.option("--final", is_flag=True, required=True, help="Finalise the period's release.")
@click.option("--by", "by", help="Who finalises; default: the login name.")
def release(ws, ui, period, final, by, lang):
    """Finalise a period's release: publish it again as final, recorded with who and when.

    The same as `rekap run --final` (a run: new files in raw/PERIOD/ are taken in first).

    \b
    Example:
      rekap release --final --period 2022 --by "Siti (BKPSDM)"
    """
    period = period or _latest_period(ws, ws.raw, lang)
    if not (ws.raw / period).is_dir():
        raise UsageFailure.say("no_folder", lang, folder=ws.raw / period)
    _run(ws, ui, period, ws.raw, None, None, None, True, by, lang)


def _require_period_data(processed: Path, period: str, lang: str) -> None:
    """A usage error unless the catalog has a finished run of ``period``."""
    from pipeline.catalog import Catalog

    path = processed / "catalog.sqlite"
    if path.exists():
        catalog = Catalog(path)
        try:
            if any(r["ended"] for r in catalog.runs(period, limit=50)):
                return
        finally:
            catalog.close()
    raise UsageFailure.say("no_data", lang, period=period, processed=processed)


@command(cli)
@click.option("--processed", "processed_dir", type=click.Path(path_type=Path),
              help="Default: the workspace's processed/.")
def repair(ws, ui, processed_dir, lang):
    """Rebuild a damaged catalog (PROCESSED/catalog.sqlite) from the archive and the published releases.

    The damaged file is kept as catalog.sqlite.damaged-<time>; every archived version is validated
    again; each period's published release is recorded as a run. Exit 0 when done, 3 when a run is under way.

    \b
    Example:
      rekap repair --processed processed
    """
    from pipeline.repair import repair as rebuild
    from pipeline.run import EXIT_LOCKED, RunLocked

    try:
        done = rebuild(processed_dir or ws.processed)
    except RunLocked as err:
        click.echo(text.say("cli.repair_locked", lang, lock=err), err=True)
        sys.exit(EXIT_LOCKED)
    if done.moved_to:
        ui.result(text.say("cli.damaged_kept", lang, path=done.moved_to))
    ui.result(text.say("cli.restored", lang, versions=done.versions, periods=", ".join(done.periods) or "-"))
    for missing in done.missing:
        click.echo(text.say("cli.no_archive", lang, missing=missing), err=True)


@command(cli)
@click.option("--period", callback=_period, help="Default: the latest period any agency published to the database.")
@click.option("--db", "db_url", help="The database the agencies publish to (SQLAlchemy URL); default: rekap.toml's "
                                     "database.")
@click.option("--processed", "processed_dir", type=click.Path(path_type=Path),
              help="The national tables go to PROCESSED/national/PERIOD/; default: the workspace's processed/.")
def national(ws, ui, period, db_url, processed_dir, lang):
    """Consolidate the national tables from the database the agencies publish to (SQL sums of every
    agency's latest published cells; totals and percentages recomputed) and write them like the city
    tables, to PROCESSED/national/PERIOD/ and to the table rekap_national_cells.

    The manifest and the summary state the national release's status: final once every agency expected
    (every agency that published to the database, and the registry's agencies) published the period as final.

    Exit status: 0 written; 2 usage error (no database, no agency published the period); 4 the publish gate
    failed (nothing written); 5 the database failed (nothing changed).

    \b
    Example:
      rekap national --period 2022 --db postgresql+psycopg://rekap@db.example/rekap
    """
    from pipeline.database import DatabaseError
    from pipeline.national import NoNationalData, latest_period, write_national
    from pipeline.release import release_line
    from pipeline.run import EXIT_FAILED, EXIT_GATE, _safe_url
    from pipeline.specs import agencies, load_registry

    url = db_url or ws.database
    if not url:
        raise UsageFailure.say("no_national", lang, period=period or "-", database="-")
    try:
        period = period or latest_period(url)
        if period is None:
            raise NoNationalData("-")
        done = write_national(url, period, processed_dir or ws.processed, lang, ws.book_csv, agencies(load_registry()))
    except NoNationalData:
        raise UsageFailure.say("no_national", lang, period=period or "-", database=_safe_url(url)) from None
    except DatabaseError as err:
        click.echo(f"rekap national: {text.say('cli.database_failed', lang, error=err)}", err=True)
        sys.exit(EXIT_FAILED)
    if not done.gate.ok:
        failures = [f"  {f}" for f in done.gate.failures]
        click.echo("\n".join([text.say("cli.national_gate", lang, period=period), *failures]), err=True)
        sys.exit(EXIT_GATE)
    ui.result(text.say("cli.national_done", lang, period=period, agencies=done.release["included"],
                       database=_safe_url(url), folder=done.folder) + release_line(done.release, lang))


@command(cli)
@click.option("--period", callback=_period, help="Default: the latest period folder in raw/.")
@click.option("--processed", "processed_dir", type=click.Path(path_type=Path))
@click.option("--reports", "reports_dir", type=click.Path(path_type=Path))
@jobs_option
def report(ws, ui, period, processed_dir, reports_dir, jobs, lang):
    """Rebuild the reports of a period from the catalog, without re-validating anything.

    Writes REPORTS/PERIOD/index.html (dashboard), gerbang-mutu.html (the publish gate), opd/<OPD>.html
    and opd/<OPD>-umpan-balik.xlsx (feedback for each OPD), profil.html and profil.pdf (the
    consolidated tables).

    \b
    Example:
      rekap report --period 2022
      rekap report --period 2022 --lang en --reports reports-en
    """
    from pipeline.report import build_reports

    from pipeline.catalog import CatalogDamaged
    from pipeline.run import EXIT_FAILED, fault_message

    processed_dir, reports_dir = processed_dir or ws.processed, reports_dir or ws.reports
    period = period or _latest_period(ws, ws.raw, lang)
    try:
        _require_period_data(processed_dir, period, lang)
        written = build_reports(processed_dir, reports_dir, period, lang)
    except (CatalogDamaged, OSError) as err:
        click.echo(f"rekap report: {fault_message(err, lang)}", err=True)
        sys.exit(EXIT_FAILED)
    ui.result(f"{len(written)} -> {reports_dir / period}")


@command(cli)
@click.option("--period", callback=_period, help="Only this period; default: the latest period in the catalog.")
@click.option("--processed", "processed_dir", type=click.Path(path_type=Path))
@click.option("--instansi", "agencies", multiple=True, metavar="CODE",
              help="A registry of agencies: list this agency's OPDs (repeatable); without it, a line per agency.")
def status(ws, ui, period, processed_dir, agencies, lang):
    """Show every registry OPD with its status in the last run, its latest version and findings, the
    release status, and the last runs (a run whose process is gone is shown as stopped). A registry of
    agencies gets a line per agency (its OPDs' statuses, its release); --instansi lists an agency's OPDs.

    \b
    Example:
      rekap status --period 2022
      rekap status --period 2022 --instansi KOTA-SERANG
    """
    from pipeline.status import UnknownAgency, check_agencies, status_text

    from pipeline.catalog import Catalog
    from pipeline.release import SHOWN
    from pipeline.specs import agencies as agencies_of, load_registry

    agencies = tuple(dict.fromkeys(a.strip().upper() for a in agencies))
    names = agencies_of(load_registry())
    if agencies and not names:
        raise UsageFailure.say("no_agencies", lang)
    try:
        check_agencies(agencies, names)
    except UnknownAgency as err:
        raise UsageFailure.say("unknown_agency", lang, agency=err.asked, known=text.first(err.known, SHOWN, lang)) from None
    processed_dir = processed_dir or ws.processed
    if period is None and (processed_dir / "catalog.sqlite").exists():
        catalog = Catalog(processed_dir / "catalog.sqlite")
        try:
            period = (sorted({r["period"] for r in catalog.runs(limit=1000)}) or [None])[-1]
        finally:
            catalog.close()
    if period is None:
        raise UsageFailure.say("no_run_yet", lang, processed=processed_dir)
    _require_period_data(processed_dir, period, lang)
    ui.result(status_text(processed_dir, period, lang, agencies))


# CPython's cyclic garbage collector by default looks at the young objects after every 700 new container
# objects, and at every live object after every 100 such passes (once the survivors have grown by a
# quarter). A run holds millions of long-lived objects (pandas, Great Expectations, the period's tables)
# and makes few cycles: in a run of the sample the collector took 15 % of its CPU, 7 % with these
# thresholds (peak memory the same).
GC_THRESHOLDS = (50_000, 20, 10)


def collect_less_often() -> None:
    """Garbage collection at :data:`GC_THRESHOLDS` for this process (and the workers it forks)."""
    import gc

    gc.set_threshold(*GC_THRESHOLDS)


def main():
    import gc

    collect_less_often()
    try:
        cli(prog_name="rekap")
    finally:
        # On exit CPython collects, and collects again as it clears each module: every pass walks every
        # live object (2 s of CPU after a run of 3,400 submissions). Frozen objects are not walked; the
        # process ends, so what a cycle holds is given back all the same.
        gc.freeze()
