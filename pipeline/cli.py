"""The ``rekap`` command: a thin layer over the library API (pipeline.validate, template, sample)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pipeline.validate import normalize_period

LANG = click.option("--lang", type=click.Choice(["id", "en"]), default="id", show_default=True,
                    help="Language of messages: Indonesian (id) or English (en).")


def _period(ctx, param, value):
    if value is None:
        return None
    period = normalize_period(value)
    if period is None:
        raise click.BadParameter("use a year (2022) or a year and month (2022-12)")
    return period


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rekap")
def cli():
    """rekap: validate and consolidate the staffing recaps of the OPDs of Kota Serang."""


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--period", callback=_period, help="Expected period; default: the folder name (raw/2022/...).")
@LANG
def validate(files, fmt, period, lang):
    """Check submissions (xlsx workbooks, tidy CSV, or every file of a folder) and say what is wrong.

    Exit status: 0 when no submission has errors, 1 when any has, 2 for a usage error.

    \b
    Example:
      rekap validate raw/2022/
      rekap validate --format json --lang en raw/2022/DINKES.xlsx
    """
    from pipeline.render import to_json, to_text
    from pipeline.validate import validate_files

    from pipeline.read import discover

    paths = [p for f in files for p in (discover(f) if f.is_dir() else [f])]  # a folder: its submissions
    results = validate_files(paths, period)
    click.echo(to_json(results, lang) if fmt == "json" else to_text(results, lang))
    sys.exit(1 if any(r.status == "rejected" for r in results) else 0)


@cli.command()
@click.option("--opd", required=True, help="OPD code from the registry (schemas/registry.csv).")
@click.option("--period", required=True, callback=_period, help="A year (2022) or year-month (2022-12).")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="The .xlsx to write.")
@LANG
def template(opd, period, output, lang):
    """Write the Excel template an OPD fills in.

    \b
    Example:
      rekap template --opd DINKES --period 2022 -o DINKES-2022.xlsx
    """
    from pipeline.specs import load_registry
    from pipeline.template import write_template

    registry = load_registry()
    if opd.upper() not in registry:
        raise click.BadParameter(f"unknown OPD {opd!r}; known: {', '.join(registry)}", param_hint="--opd")
    write_template(output, registry[opd.upper()], period, lang=lang)
    click.echo(f"{output}")


@cli.command()
@click.option("--period", required=True, callback=_period, help="A year (2022) or year-month (2022-12).")
@click.option("--raw", "raw_dir", default="raw", show_default=True, type=click.Path(path_type=Path),
              help="Where to write: RAW/PERIOD/<OPD>.xlsx. Existing files are never overwritten.")
@click.option("--manifest", type=click.Path(path_type=Path), help="Write {OPD: [expected finding codes]} here.")
@click.option("--seed", default=2022, show_default=True, help="Random seed (same seed, same data).")
@LANG
def sample(period, raw_dir, manifest, seed, lang):
    """Write a realistic sample period: one workbook per registry OPD, a few with known defects.

    \b
    Example:
      rekap sample --period 2022 --raw raw --manifest raw/2022-manifest.json
    """
    from pipeline.sample import write_sample

    result = write_sample(raw_dir, period, seed=seed, manifest_path=manifest, lang=lang)
    click.echo(f"{len(result)} OPD -> {raw_dir / period}")


@cli.command()
@click.option("--period", required=True, callback=_period, help="A year (2022) or year-month (2022-12).")
@click.option("--raw", "raw_dir", default="raw", show_default=True, type=click.Path(path_type=Path),
              help="Submissions, in RAW/PERIOD/ (never modified).")
@click.option("--processed", "processed_dir", default="processed", show_default=True, type=click.Path(path_type=Path),
              help="Catalog, archive and published outputs (PROCESSED/PERIOD/).")
@click.option("--reports", "reports_dir", default="reports", show_default=True, type=click.Path(path_type=Path),
              help="Reports people read (PROCESSED's Data Docs of the publish gate go here too).")
@click.option("--db", "db_url", help="SQLAlchemy URL to publish the tables to; default: the catalog's SQLite file.")
@LANG
def run(period, raw_dir, processed_dir, reports_dir, db_url, lang):
    """Validate, consolidate and publish one period; safe to run again and again (cron, systemd timer).

    Exit status: 0 published (or nothing changed) and every submission accepted; 1 the same but some
    submissions rejected; 2 usage error; 3 another run is under way; 4 the publish gate failed (nothing
    published); 5 the run failed (the previous outputs stand).

    \b
    Example:
      rekap run --period 2022
      rekap run --period 2022-12 --db postgresql+psycopg://rekap@localhost/rekap
    """
    from pipeline.run import EXIT_LOCKED, RunLocked, run_period
    from pipeline.render import run_summary

    try:
        result = run_period(period, raw_dir, processed_dir, reports_dir, db_url, lang=lang)
    except RunLocked as err:
        click.echo(f"rekap run: another run is under way (lock {err}); nothing done.", err=True)
        sys.exit(EXIT_LOCKED)
    click.echo(run_summary(result, lang))
    sys.exit(result.exit_code)


@cli.command()
@click.option("--period", required=True, callback=_period, help="A year (2022) or year-month (2022-12).")
@click.option("--processed", "processed_dir", default="processed", show_default=True, type=click.Path(path_type=Path))
@click.option("--reports", "reports_dir", default="reports", show_default=True, type=click.Path(path_type=Path))
@LANG
def report(period, processed_dir, reports_dir, lang):
    """Rebuild the reports of a period from the catalog, without re-validating anything.

    Writes REPORTS/PERIOD/index.html (dashboard), opd/<OPD>.html and opd/<OPD>-umpan-balik.xlsx
    (feedback for each OPD), profil.html and profil.pdf (the consolidated tables).

    \b
    Example:
      rekap report --period 2022
      rekap report --period 2022 --lang en --reports reports-en
    """
    from pipeline.report import build_reports

    if not (processed_dir / "catalog.sqlite").exists():
        raise click.UsageError(f"no catalog in {processed_dir}: run `rekap run --period {period}` first")
    written = build_reports(processed_dir, reports_dir, period, lang)
    click.echo(f"{len(written)} -> {reports_dir / period}")


@cli.command()
@click.option("--period", callback=_period, help="Only this period; default: the latest period in the catalog.")
@click.option("--processed", "processed_dir", default="processed", show_default=True, type=click.Path(path_type=Path))
@LANG
def status(period, processed_dir, lang):
    """Show every registry OPD with its latest version, status and findings, and the last runs.

    \b
    Example:
      rekap status --period 2022
    """
    from pipeline.render import status_text

    click.echo(status_text(processed_dir, period, lang))


def main():
    cli(prog_name="rekap")
