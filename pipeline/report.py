"""``rekap report``: the reports people read, rebuilt from the catalog without re-validating.

For a period, into ``reports/PERIOD/``: ``index.html`` (the dashboard for BKPSDM), ``opd/<OPD>.html``
and ``opd/<OPD>-umpan-balik.xlsx`` (feedback each OPD can act on), ``profil.html`` and ``profil.pdf``
(the consolidated tables as in the *Profil Kepegawaian* book). ``rekap run`` calls the same code.
"""

from __future__ import annotations

import json
import traceback
from pathlib import Path

from pipeline.files import atomic_write_text
from pipeline.findings import Finding
from pipeline.report_data import PeriodReport, load_period


STAMP = ".rekap-reports.json"  # what the complete set of reports in a folder was made from


def build_reports(processed, reports, period: str, lang: str = "id", registry=None,
                  dashboard_only: bool = False, log=None) -> list[Path]:
    """Write every report of a period; returns the files written.

    ``dashboard_only`` (a run whose inputs did not change) refreshes the dashboard's list of runs and
    leaves the rest, which depends only on the inputs, as it is — when the stamp says the reports are
    complete and made from the published release in this language; otherwise everything is rebuilt.

    File names come from the registry only: an OPD code that is not in it gets a row on the dashboard
    and no file. A fault while writing one OPD's page or workbook, or the profile, is recorded on the
    dashboard (``REPORT_FAILED``) and in ``log``; the other reports are still written, and the stamp is
    not, so that the next run writes them all again.
    """
    from pipeline.feedback_workbook import feedback_path, write_feedback_workbook
    from pipeline.gate_page import PAGE as GATE_PAGE, write_gate_page
    from pipeline.pages import write_dashboard, write_feedback_page, write_profile
    from pipeline.specs import load_registry

    registry = registry or load_registry()
    report: PeriodReport = load_period(processed, period, registry)
    folder = Path(reports) / period
    stamp = {"fingerprint": report.fingerprint, "lang": lang}
    if dashboard_only and report.fingerprint and _stamp(folder) == stamp:
        write_dashboard(folder / "index.html", report, lang)
        return [folder / "index.html"]
    (folder / "opd").mkdir(parents=True, exist_ok=True)
    (folder / STAMP).unlink(missing_ok=True)  # until every report below is written again
    written: list[Path] = []
    failed: list[Finding] = []

    def attempt(what: str, opd: str, write) -> None:  # what: feedback, profile or gate (REPORT_FAILED's texts)
        try:
            written.extend(write())
        except Exception as err:  # one report failing never stops the others
            failed.append(Finding("REPORT_FAILED", "report", params={"report": what, "opd": opd, "detail":
                                                                     f"{type(err).__name__}: {err}"}))
            if log is not None:
                log("report_failed", opd=opd, error=f"{type(err).__name__}: {err}", traceback=traceback.format_exc())

    for opd in report.opds:
        if opd.code not in registry:
            continue
        workbook = feedback_path(reports, period, opd.code)
        page = folder / "opd" / f"{opd.code}.html"

        def feedback(opd=opd, workbook=workbook, page=page):
            out = []
            if opd.file and write_feedback_workbook(workbook, report, opd, lang) is not None:
                out.append(workbook)
            else:
                workbook.unlink(missing_ok=True)  # a stale one from an earlier submission would mislead
            write_feedback_page(page, report, opd, lang)
            if log is not None:
                log("report", opd=opd.code)
            return out + [page]
        attempt("feedback", opd.code, feedback)
    if report.city is not None:
        attempt("profile", "-", lambda: write_profile(folder / "profil.html", folder / "profil.pdf", report,
                                                             lang))
    if report.gate is not None:
        attempt("gate", "-", lambda: [write_gate_page(folder / GATE_PAGE, period, report.gate, lang)])
    report.notes = report.notes + failed
    write_dashboard(folder / "index.html", report, lang)
    written.append(folder / "index.html")
    if not failed:
        atomic_write_text(folder / STAMP, json.dumps(stamp, sort_keys=True) + "\n")
    return written


def _stamp(folder: Path) -> dict:
    try:
        return json.loads((folder / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
