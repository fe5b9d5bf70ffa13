"""``rekap report``: the reports people read, rebuilt from the catalog without re-validating.

For a period, into ``reports/PERIOD/``: ``index.html`` (the dashboard for BKPSDM), ``opd/<OPD>.html``
and ``opd/<OPD>-umpan-balik.xlsx`` (feedback each OPD can act on), ``profil.html`` and ``profil.pdf``
(the consolidated tables as in the *Profil Kepegawaian* book). ``rekap run`` calls the same code.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.report_data import PeriodReport, load_period


def build_reports(processed, reports, period: str, lang: str = "id", registry=None,
                  dashboard_only: bool = False) -> list[Path]:
    """Write every report of a period; returns the files written.

    ``dashboard_only`` (a run whose inputs did not change) refreshes the dashboard's list of runs and
    leaves the rest, which depends only on the inputs, as it is — when it is all there.
    """
    from pipeline.feedback_workbook import feedback_path, write_feedback_workbook
    from pipeline.gate_page import PAGE as GATE_PAGE, write_gate_page
    from pipeline.pages import write_dashboard, write_feedback_page, write_profile

    report: PeriodReport = load_period(processed, period, registry)
    folder = Path(reports) / period
    if dashboard_only and all((folder / "opd" / f"{o.code}.html").exists() for o in report.opds) \
            and (report.city is None or (folder / "profil.pdf").exists()):
        write_dashboard(folder / "index.html", report, lang)
        return [folder / "index.html"]
    (folder / "opd").mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for opd in report.opds:
        workbook = feedback_path(reports, period, opd.code)
        if opd.file and write_feedback_workbook(workbook, report, opd, lang) is not None:
            written.append(workbook)
        else:
            workbook.unlink(missing_ok=True)  # a stale one from an earlier submission would mislead
        page = folder / "opd" / f"{opd.code}.html"
        write_feedback_page(page, report, opd, lang)
        written.append(page)
    if report.city is not None:
        write_profile(folder / "profil.html", folder / "profil.pdf", report, lang)
        written += [folder / "profil.html", folder / "profil.pdf"]
    if report.gate is not None:
        written.append(write_gate_page(folder / GATE_PAGE, period, report.gate, lang))
    write_dashboard(folder / "index.html", report, lang)
    written.append(folder / "index.html")
    return written
