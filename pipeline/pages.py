"""The HTML reports of a period: a feedback page per OPD, the dashboard (and a page per agency of a registry
of agencies), and the profile (HTML + PDF).

Everything comes from a :class:`pipeline.report_data.PeriodReport`; nothing is re-validated. The pages
open offline from the report folder (``reports/PERIOD/``): CSS is inlined, charts are inline SVG, and
every link is relative and points at a file that exists when the page is written (the workbook, the
feedback pages, the agencies' pages, ``profil.pdf``, ``gerbang-mutu.html``), except the way back from a
feedback page (``../index.html``, or its agency's page) and from an agency's page (``../index.html``), which
the same report run writes after them.

All user text is in the ``pages`` section of ``schemas/text.yaml`` (``feedback``, ``dashboard``,
``agency``, ``profile``); the templates in ``templates/`` hold structure only. Status words come from
:func:`pipeline.coverage.status_labels`, finding messages from the finding catalogue, table titles and labels
from the table specs. The profile's tables paint each table's layout (:mod:`pipeline.layout`: header and
row-label spans, grid places) with the book's values (:func:`pipeline.book.book_frame`).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

from pipeline import shares
from pipeline.coverage import coverage_note, status_labels
from pipeline.files import atomic_write_text
from pipeline.corrections import LOCATED, affected_text, corrections, role, typed
from pipeline.findings import Finding, describe_cell, fmt
from pipeline.html import check_lang, number, percent, pyplot, render, svg
from pipeline.layout import layout, table_heading
from pipeline.report_data import FILE_SUFFIX, OpdReport, PeriodReport
from pipeline.text import label, say, shown, words
from pipeline.specs import TableSpec, load_tables
from pipeline.gate_page import PAGE as GATE_PAGE
from pipeline.release import SHOWN, release_text

SYMBOLS = {"accepted": "✓", "accepted_with_warnings": "⚠", "older_version": "↺", "rejected": "✗",
           "withdrawn": "⊘", "not_submitted": "–"}

# Codes whose ``expected`` is the value the cell should hold (a suggested correction). Elsewhere
# ``expected`` is what the rule computed (SUM_MISMATCH: the sum of the parts; the error may be in a
# part), shown as "expected" only.
PERCENT_CODES = frozenset({"PCT_SHARE", "PCT_TOTAL", "PCT_RANGE"})

WORKBOOK_SUFFIX = FILE_SUFFIX  # the marked workbook beside each page (pipeline.feedback_workbook)
WIB = timezone(timedelta(hours=7), "WIB")
AGENCY_PAGES = "instansi"  # reports/PERIOD/instansi/<INSTANSI>.html: an agency's OPDs (a registry of agencies)
OPD_NUMERIC = frozenset({0, 4, 5, 6, 7})  # the OPD table's columns of numbers (No., the counts, staff)

def _feedback_text(lang: str) -> dict:
    return words("pages.feedback", lang)


def _dashboard_text(lang: str) -> dict:
    t = words("pages.dashboard", lang)
    return {**t, "opd_cols": list(t["opd_cols"].values()), "run_cols": list(t["run_cols"].values()),
            "agency_cols": list(t["agency_cols"].values())}


def _profile_text(lang: str) -> dict:
    return {**words("pages.profile", lang), "source_text": say("book.source_text", lang)}


# -- feedback page -------------------------------------------------------------------------------------
def suggestion(finding: Finding, lang: str = "id") -> str:
    """The suggested correction of a finding (:meth:`Finding.suggestion`), as text; "" when there is none.
    An uncertain suggestion says so ("20 (mungkin)")."""
    found = finding.suggestion(lang)
    if found is None:
        return ""
    text = _typed(finding, found["value"], lang)
    return text if found["certain"] else say("pages.feedback.uncertain", lang, value=text)


def _is_percent(finding: Finding) -> bool:
    if finding.code in PERCENT_CODES:
        return True
    spec = load_tables().get(finding.table) if finding.table else None
    if spec is None or not finding.cell or set(finding.cell) != set(spec.dim_names):
        return False
    try:
        return spec.is_percent(spec.key(finding.cell))
    except (KeyError, TypeError):  # a member the spec does not know, or a list of members
        return False


def _value_text(finding: Finding, value, lang: str) -> str:
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and _is_percent(finding):
        return percent(value, lang)
    return fmt(value, lang)


def where(finding: Finding, lang: str = "id") -> str:
    """Where a finding is: ``Golongan!J9`` in the workbook, else the cell in words, else the sheet or file."""
    if finding.sheet and finding.address:
        return f"{finding.sheet}!{finding.address}"
    in_words = cell_words(finding, lang)
    if in_words:
        return in_words
    spec = load_tables().get(finding.table) if finding.table else None
    if finding.sheet:
        return finding.sheet
    return spec.sheet if spec is not None else say("pages.feedback.whole_file", lang)


def cell_words(finding: Finding, lang: str = "id") -> str:
    """The finding's cell in words (``Ruang D, TOTAL, Jumlah``), or "" when it has none."""
    spec = load_tables().get(finding.table) if finding.table else None
    if spec is None or not finding.cell:
        return ""
    return describe_cell(spec, finding.cell, lang).strip("()")


def finding_row(finding: Finding, lang: str = "id", items=None) -> dict:
    place = where(finding, lang)
    in_words = cell_words(finding, lang)
    shown = role(finding, items or [])
    affected = shown == "affected"
    return {"code": finding.code, "severity": finding.severity, "role": shown, "where": place,
            "address": bool(finding.sheet and finding.address),
            "where_words": in_words if in_words != place else "",
            "title": finding.title(lang),
            "message": finding.message(lang) + (f" ({affected_text(finding, lang)})" if affected else ""),
            "expected": "" if affected else _value_text(finding, finding.expected, lang),
            "actual": _value_text(finding, finding.actual, lang),
            "suggestion": "" if affected else suggestion(finding, lang)}


def _typed(finding: Finding, value, lang: str) -> str:
    """A value of a correction as the clerk types it: counts without a thousands point (``1009``)."""
    if value is None:
        return ""
    return percent(value, lang) if _is_percent(finding) and isinstance(value, (int, float)) else typed(value, lang)


def correction_rows(findings: list[Finding], lang: str = "id") -> list[dict]:
    """The corrections (:mod:`pipeline.corrections`) as rows of the page's first table."""
    rows = []
    for i, c in enumerate(corrections(findings), start=1):
        cells = [{"where": where(f, lang), "words": cell_words(f, lang), "address": bool(f.sheet and f.address),
                  "actual": _typed(f, f.actual, lang),
                  "expected": f"({_typed(f, value, lang)}?)" if conditional else _typed(f, value, lang)}
                 for f, value, conditional in c.lines()]
        rows.append({"no": i, "type": c.type, "why": c.why(lang), "cells": cells,
                     "repairs": [where(r, lang) for r in c.repaired()]})
    return rows


def finding_groups(findings: list[Finding], lang: str = "id") -> list[dict]:
    """Findings by table in book order, file-level findings (no table) first; errors first in a group,
    affected totals after them; the located cells are in the corrections table instead."""
    tables = load_tables()
    order = {None: -1, **{t: i for i, t in enumerate(tables)}}
    rank = {"error": 0, "warning": 1, "info": 2}
    text = _feedback_text(lang)
    items = corrections(findings)
    findings = [f for f in findings if f.code not in LOCATED]
    groups = []
    for table in sorted({f.table for f in findings}, key=lambda t: (order.get(t, len(order)), str(t))):
        mine = sorted((f for f in findings if f.table == table),
                      key=lambda f: (rank.get(f.severity, 3), role(f, items) == "affected"))
        if table is None:
            title = text["file_level"]
        elif table in tables:
            title = table_heading(tables[table], lang)
        else:
            title = text["other_table"].format(table=table)
        groups.append({"table": table, "title": title, "rows": [finding_row(f, lang, items) for f in mine]})
    return groups


def explanation(opd: OpdReport, period: str, lang: str = "id") -> str:
    explain = _feedback_text(lang)["explain"]
    counts = opd.counts
    if opd.status == "accepted":
        template = explain["accepted"] if opd.findings else explain["clean"]
    else:
        template = explain.get(opd.status, explain["rejected"])
    return template.format(period=period, **counts)


def feedback_html(report: PeriodReport, opd: OpdReport, lang: str = "id", workbook: str | None = None) -> str:
    check_lang(lang)
    staff = None
    if opd.staff_lists:  # the staff-list section (personal data: this OPD's own page); polars only then
        from pipeline.staff_report import view_rows

        staff = view_rows(opd.staff_lists, lang)
    return render("feedback.html", lang=lang, t=_feedback_text(lang), period=report.period,
                  opd=opd, counts=opd.counts, symbol=SYMBOLS.get(opd.status, "?"),
                  status_label=status_labels(lang).get(opd.status, opd.status),
                  explain=explanation(opd, report.period, lang), groups=finding_groups(opd.findings, lang),
                  corrections=correction_rows(opd.findings, lang), workbook=workbook, staff=staff,
                  back=_back(opd, lang))


def _back(opd: OpdReport, lang: str) -> dict:
    """Where a feedback page leads back to: its agency's page (an OPD of an agency), else the dashboard."""
    if opd.instansi:
        return {"href": f"../{AGENCY_PAGES}/{quote(opd.instansi)}.html",
                "text": say("pages.agency.heading", lang, agency=opd.instansi)}
    return {"href": "../index.html", "text": _feedback_text(lang)["back"]}


def workbook_name(code: str) -> str:
    return f"{code}{WORKBOOK_SUFFIX}"


def write_feedback_page(path, report: PeriodReport, opd: OpdReport, lang: str = "id", *,
                        workbook: bool | None = None) -> Path:
    """``reports/PERIOD/opd/<OPD>.html``: the OPD's status and every finding, grouped by table.

    The marked workbook ``<OPD>-umpan-balik.xlsx`` in the same folder is linked when ``workbook`` is
    true, or (``None``) when the file exists.
    """
    path = Path(path)
    name = workbook_name(opd.code)
    if workbook is None:
        workbook = (path.parent / name).is_file()
    private = 0o600 if opd.staff_lists is not None and opd.staff_lists.personal else None  # personal data: owner only
    return atomic_write_text(path, feedback_html(report, opd, lang, quote(name) if workbook else None), private)


# -- dashboard -----------------------------------------------------------------------------------------
def _time(stamp) -> str:
    if not stamp:
        return ""
    try:
        moment = datetime.fromisoformat(str(stamp))
    except ValueError:
        return str(stamp)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(WIB).strftime("%Y-%m-%d %H:%M:%S")


def coverage_facts(summary: dict, lang: str = "id", agency: bool = False) -> list[dict]:
    """The coverage in figures: of the city tables, or (``agency``) of an agency's."""
    text = {**_dashboard_text(lang), **(words("pages.agency", lang) if agency else {})}
    share = summary.get("staff_share")
    facts = [
        {"label": text["opds_used"],
         "value": f"{summary['opds_used']} {text['of']} {summary['opds_in_registry']}"},
        {"label": text["staff_used"], "value": number(summary.get("staff_used", 0), lang)},
        {"label": text["staff_share"],
         "value": percent(share * 100, lang, 1) if share is not None else text["unknown"]},
    ]
    if summary.get("staff_missing_estimate"):
        facts.append({"label": text["staff_missing"], "value": number(summary["staff_missing_estimate"], lang)})
    return facts


def _opd_rows(opds: Iterable[OpdReport], lang: str, pages: set[str], workbooks: set[str], up: str = "") -> list:
    """The OPD table's rows (the dashboard's, an agency page's); ``up``: the way from the page to
    ``reports/PERIOD/`` ("" or "../")."""
    labels = status_labels(lang)
    # attributes, not dict keys: Jinja tries an attribute first, and each miss on a dict costs an exception
    # (a third of the rendering of a table of thousands of OPDs)
    return [SimpleNamespace(
        code=opd.code, name=opd.name, status=opd.status, symbol=SYMBOLS.get(opd.status, "?"),
        label=labels.get(opd.status, opd.status), file=opd.file or "", counts=SimpleNamespace(**opd.counts),
        staff=number(opd.staff, lang),
        page=f"{up}opd/{quote(opd.code)}.html" if opd.code in pages else None,
        workbook=f"{up}opd/{quote(workbook_name(opd.code))}" if opd.code in workbooks else None,
    ) for opd in opds]


def _tiles(opds: list[OpdReport], lang: str) -> list[dict]:
    """How many OPDs are in each status, every status in the reports' order."""
    found = Counter(o.status for o in opds)
    return [{"status": s, "symbol": SYMBOLS[s], "label": label, "n": found[s]}
            for s, label in status_labels(lang).items()]


def _release_line(release: dict | None, lang: str, text: dict) -> dict | None:
    if not release:
        return None
    final = release["status"] == "final"
    return {"final": final, "label": text["release_final" if final else "release_provisional"],
            "text": release_text(release, lang)}


def by_agency(report: PeriodReport) -> dict[str, list[OpdReport]]:
    """The OPDs of each agency (a registry of agencies), in the registry's order, and under "" those of none
    (a file directly in ``raw/PERIOD/`` naming no OPD of the registry); {} for a city's registry."""
    groups: dict[str, list[OpdReport]] = {}
    for opd in report.opds:  # registry order
        if opd.instansi:
            groups.setdefault(opd.instansi, []).append(opd)
    return {**groups, "": [opd for opd in report.opds if not opd.instansi]} if groups else {}


def dashboard_html(report: PeriodReport, lang: str = "id", *, pages: Iterable[str] = (),
                   workbooks: Iterable[str] = (), links: Iterable[str] = (), agency_pages: Iterable[str] = ()) -> str:
    """The dashboard's HTML. ``pages`` and ``workbooks``: the OPD codes that have a feedback page and a
    marked workbook under ``opd/``; ``links``: which of ``profil.html``, ``profil.pdf``, ``gerbang-mutu.html``
    exist; ``agency_pages``: the agencies with a page under ``instansi/``. Nothing else is linked (GX's own
    Data Docs in ``gx/`` load from the internet: not linked).

    A registry of agencies lists its agencies, each with its OPDs' statuses and a link to its page
    (:func:`agency_html`): the OPD table then holds only the OPDs of no agency, if any (a national registry
    has some 20,000 OPDs, too many for one page)."""
    check_lang(lang)
    text = _dashboard_text(lang)
    pages, workbooks, links, agency_pages = set(pages), set(workbooks), set(links), set(agency_pages)
    summary = report.coverage or {}
    parts = summary.get("agencies") or {}  # a registry of agencies (pipeline.agencies): each one's counts
    released = (report.release or {}).get("agencies") or {}  # each agency's own release (pipeline.release)
    release_words = words("release.status", lang)
    labels = status_labels(lang)
    groups = by_agency(report) or {"": report.opds}
    agencies = []
    for code, opds in groups.items():
        if not code:
            continue
        part, found = parts.get(code), Counter(o.status for o in opds)
        agencies.append({
            "code": code, "page": f"{AGENCY_PAGES}/{quote(code)}.html" if code in agency_pages else None,
            "opds": f"{part['opds_used']} {text['of']} {part['opds_in_registry']}" if part else "-",
            "statuses": ", ".join(f"{found[s]} {label}" for s, label in labels.items() if found[s]) or "-",
            "staff": number(part.get("staff_used", 0), lang) if part else "-",
            "missing": ", ".join(part.get("missing") or []) or "-" if part else "-",
            "release": release_words.get((released.get(code) or {}).get("status"), "-")})
    runs = [{"id": r.get("id", ""), "started": _time(r.get("started")), "ended": _time(r.get("ended")),
             "outcome": text["outcomes"].get(r.get("outcome"), r.get("outcome") or ""),
             "exit_code": "" if r.get("exit_code") is None else r["exit_code"],
             **{k: number(r.get(k), lang) for k in ("files", "validated", "accepted", "rejected")},
             "message": shown(r.get("message"), lang)} for r in report.runs]
    link_texts = {"profil.html": text["profile_html"], "profil.pdf": text["profile_pdf"],
                  GATE_PAGE: text["gate_page"]}
    nav = [{"href": href, "text": label} for href, label in link_texts.items() if href in links]
    # a registry of agencies: the agencies' table names every OPD not yet in, by agency (a national registry's
    # are thousands); the note, the first few
    note = coverage_note(summary, lang, SHOWN if agencies else None) if summary else ""
    return render("dashboard.html", lang=lang, t=text, period=report.period, run_id=report.run_id,
                  rows=_opd_rows(groups[""], lang, pages, workbooks), tiles=_tiles(report.opds, lang), runs=runs,
                  links=nav, coverage_note=note, release=_release_line(report.release, lang, text),
                  ignored=report.ignored, notes=[n.message(lang) for n in report.notes],
                  coverage_facts=coverage_facts(summary, lang) if summary else [], agencies=agencies,
                  numeric_cols=OPD_NUMERIC, numeric_run_cols={4, 5, 6, 7, 8})


def write_dashboard(path, report: PeriodReport, lang: str = "id", *, workbooks: Iterable[str] | None = None) -> Path:
    """``reports/PERIOD/index.html``: every OPD with its status, finding counts and links (a registry of
    agencies: every agency, with a link to its page), the coverage of the city tables, the recent runs, and
    links to the profile and the Data Docs.

    Links are made only to files that exist beside ``path`` (``opd/<OPD>.html``, ``instansi/<INSTANSI>.html``,
    ``profil.*``, ``gerbang-mutu.html``); ``workbooks`` names the OPDs with a marked workbook (default: those
    whose ``opd/<OPD>-umpan-balik.xlsx`` exists).
    """
    path = Path(path)
    folder = path.parent
    pages, workbooks = present_reports(report.opds, folder, workbooks)
    agency_pages = {name.removesuffix(".html") for name in _files(folder / AGENCY_PAGES)}
    links = {name for name in ("profil.html", "profil.pdf", GATE_PAGE) if (folder / name).is_file()}
    return atomic_write_text(path, dashboard_html(report, lang, pages=pages, workbooks=workbooks, links=links,
                                                  agency_pages=agency_pages))


def present_reports(opds: Iterable[OpdReport], folder: Path,
                    workbooks: Iterable[str] | None = None) -> tuple[set[str], set[str]]:
    """The OPDs of ``opds`` with a feedback page, and with a marked workbook (unless ``workbooks`` says),
    under ``folder/opd/``: one listing of the folder."""
    present = _files(folder / "opd")
    pages = {o.code for o in opds if f"{o.code}.html" in present}
    if workbooks is None:
        workbooks = {o.code for o in opds if workbook_name(o.code) in present}
    return pages, set(workbooks)


# -- an agency's page ----------------------------------------------------------------------------------
def agency_made_of(report: PeriodReport, code: str, opds: list[OpdReport], pages: set[str],
                   workbooks: set[str]) -> tuple:
    """What an agency's page is made of, for its fingerprint: what :func:`agency_context` reads (with the
    language, the code and spec versions, it decides the page), in plain values, cheaper to hash than the
    page's rows."""
    return (report.period, code, ((report.coverage or {}).get("agencies") or {}).get(code),
            ((report.release or {}).get("agencies") or {}).get(code),
            [(o.code, o.name, o.status, o.file, o.counts, o.staff, o.code in pages, o.code in workbooks) for o in opds])


def agency_context(report: PeriodReport, code: str, opds: list[OpdReport], lang: str, pages: set[str],
                   workbooks: set[str]) -> dict:
    """Everything an agency's page shows (what :func:`agency_html` renders): its OPDs' rows and statuses, its
    coverage and its own release."""
    check_lang(lang)
    text = _dashboard_text(lang)
    part = ((report.coverage or {}).get("agencies") or {}).get(code)
    return {"lang": lang, "period": report.period, "code": code,
            "heading": say("pages.agency.heading", lang, agency=code),
            "rows": _opd_rows(opds, lang, pages, workbooks, up="../"), "tiles": _tiles(opds, lang),
            "coverage_note": coverage_note(part, lang) if part else "",
            "coverage_facts": coverage_facts(part, lang, agency=True) if part else [],
            "release": _release_line(((report.release or {}).get("agencies") or {}).get(code), lang, text)}


def agency_html(context: dict) -> str:
    """``reports/PERIOD/instansi/<INSTANSI>.html``: one agency's OPDs, as the dashboard lists a city's."""
    return render("agency.html", t=_dashboard_text(context["lang"]), a=words("pages.agency", context["lang"]),
                  numeric_cols=OPD_NUMERIC, **context)


def _files(folder: Path) -> set[str]:
    """The names of the files in ``folder`` (links followed, as ``Path.is_file`` does), in one listing rather
    than a question per OPD; none when there is no folder."""
    try:
        with os.scandir(folder) as entries:
            return {entry.name for entry in entries if entry.is_file()}
    except OSError:
        return set()


# -- profile -------------------------------------------------------------------------------------------
def _cell(text="", colspan=1, rowspan=1, **extra) -> dict:
    return {"text": text, "colspan": colspan, "rowspan": rowspan, **extra}


def book_table(spec: TableSpec, values: dict, lang: str = "id") -> dict:
    """One table as the book prints it, for the template: header rows and body rows with their spans.

    Labels and values come from :func:`pipeline.book.book_frame`; merged cells from the spec's
    placements (a value spanning columns is one cell); outer header and row labels merge over their
    group, a one-level label over all levels.
    """
    from pipeline.book import book_frame  # (openpyxl, which the book module writes with, only here)

    frame = book_frame(spec, values, lang)
    lay = layout(spec)
    rows = lay.labels("rows", lang)
    header: list[list[dict]] = [[_cell(name, rowspan=lay.column_levels) for name in lay.level_names(lang)]]
    header += [[] for _ in range(lay.column_levels - 1)]
    for span in lay.header:
        header[span.level].append(_cell(span.label.printed(lang), colspan=span.last - span.first + 1,
                                        rowspan=span.last_level - span.level + 1))
    labels_at: dict[int, list[dict]] = {}
    for span in lay.row_labels:
        outer = span.last_level < lay.row_levels - 1
        labels_at.setdefault(span.first, []).append(_cell(span.label.printed(lang), group=outer,
                                                          colspan=span.last_level - span.level + 1,
                                                          rowspan=span.last - span.first + 1))
    decimals = shares.decimals(spec)
    body = []
    for i in range(len(rows)):
        cells = []
        for j in range(len(lay.columns)):
            if (i, j) in lay.covered:
                continue
            if (i, j) not in lay.starts:
                cells.append(_cell("", cls=""))
                continue
            key, p = lay.starts[(i, j)]
            width = p.col_last - p.col_first + 1
            if spec.is_impossible(key):
                cells.append(_cell("", width, cls="impossible"))
                continue
            value = frame.iat[i, j]
            is_total = not spec.is_leaf(key)
            text = percent(value, lang, decimals) if spec.is_percent(key) else number(value, lang)
            cells.append(_cell(text, width, cls="total" if is_total else ""))
        body.append({"labels": labels_at.get(i, []), "cells": cells, "total": i in lay.total_rows})
    row_depth = lay.row_levels
    # Label columns as wide as their longest label; the value columns share the rest equally.
    widths = [max(len(str(r[level])) for r in rows if r[level] and (level or row_depth == 1 or r[1]))
              for level in range(row_depth)]
    widths = [max(w, len(n) // 2, 6) + 2 for w, n in zip(widths, lay.level_names(lang))]
    return {"id": spec.id, "anchor": f"tabel-{spec.number}", "heading": table_heading(spec, lang),
            "label_widths": widths, "columns": len(lay.columns), "width": min(100, 30 + 8 * len(lay.columns)),
            "header": header, "body": body, "charts": []}


def _sum(spec: TableSpec, values: dict, **fixed) -> float:
    """The sum of the cells whose key matches ``fixed`` (a member, or a tuple of members, per dimension)."""
    total = 0.0
    for key, value in values.items():
        cell = spec.key_dict(key)
        if all(cell.get(d) in (m if isinstance(m, tuple) else (m,)) for d, m in fixed.items()):
            total += float(value or 0)
    return total


def _members(spec: TableSpec, dim: str) -> list:
    return [m for m in spec.dim(dim).members if not m.is_total]


SEX_COLOURS = {"L": "#3b75af", "P": "#d9822b"}


def _bar_labels(ax, containers, lang):
    for container in containers:
        ax.bar_label(container, labels=[number(v, lang) if v else "" for v in container.datavalues],
                     padding=2, fontsize=7.5)


def _axis_numbers(axis, lang):
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(FuncFormatter(lambda v, _: number(int(v), lang)))


def _paired_bars(plt, name: str, caption: str, axis_label: str, groups, lang: str, series) -> dict:
    """Two bars per group (``series``: two ``(heights, legend label, colour)``), numbers on the bars."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    x = range(len(groups))
    for k, (heights, legend, colour) in enumerate(series):
        bars = ax.bar([i + (k - 0.5) * 0.38 for i in x], heights, 0.38, label=legend, color=colour)
        _bar_labels(ax, [bars], lang)
    ax.set_xticks(list(x), [label(g.label, lang) for g in groups])
    ax.set_ylabel(axis_label)
    _axis_numbers(ax.yaxis, lang)
    ax.legend(frameon=False)
    ax.grid(axis="y", color="#e3e6ea")
    fig.tight_layout()
    return {"svg": svg(fig, f"chart-{name}", caption), "caption": caption}


CHART_TABLES = ("golongan", "pendidikan", "eselon", "fungsional")  # the tables the charts draw


def charts(city: dict, lang: str = "id") -> dict[str, dict]:
    """The profile's charts, by the table they illustrate: {table id: {"svg", "caption"}}."""
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    text = _profile_text(lang)
    tables = load_tables()
    out = {}

    spec, values = tables["golongan"], city.get("golongan", {})
    groups = _members(spec, "gol")
    out["golongan"] = _paired_bars(
        plt, "golongan", text["chart_golongan"], text["staff_axis"], groups, lang,
        [([_sum(spec, values, ruang="JML", gol=g.code, sex=sex) for g in groups], text["sex"][sex], SEX_COLOURS[sex])
         for sex in ("L", "P")])

    spec, values = tables["pendidikan"], city.get("pendidikan", {})
    levels = _members(spec, "pendidikan")[::-1]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    left = [0.0] * len(levels)
    for sex in ("L", "P"):
        widths = [_sum(spec, values, pendidikan=m.code, sex=sex, measure="count") for m in levels]
        ax.barh(range(len(levels)), widths, left=left, label=text["sex"][sex], color=SEX_COLOURS[sex])
        left = [a + b for a, b in zip(left, widths)]
    for i, total in enumerate(left):
        ax.text(total, i, " " + number(int(total), lang), va="center", fontsize=7.5)
    ax.set_yticks(range(len(levels)), [label(m.label, lang) for m in levels])
    ax.set_xlabel(text["staff_axis"])
    _axis_numbers(ax.xaxis, lang)
    ax.set_xlim(0, max(left + [1]) * 1.12)
    ax.legend(frameon=False, loc="lower right")
    ax.grid(axis="x", color="#e3e6ea")
    fig.tight_layout()
    out["pendidikan"] = {"svg": svg(fig, "chart-pendidikan", text["chart_pendidikan"]),
                         "caption": text["chart_pendidikan"]}

    spec, values = tables["eselon"], city.get("eselon", {})
    levels = _members(spec, "eselon")
    out["eselon"] = _paired_bars(
        plt, "eselon", text["chart_eselon"], text["posts_axis"], levels, lang,
        [([_sum(spec, values, status=status, eselon=e.code, sex="JML") for e in levels],
          text["filled" if status == "terisi" else "available"], colour)
         for status, colour in (("terisi", "#3b75af"), ("disiapkan", "#b8c4d0"))])

    # one small panel per post, each on its own scale: teachers outnumber the others a hundredfold
    spec, values = tables["fungsional"], city.get("fungsional", {})
    levels, posts = _members(spec, "jenjang")[::-1], _members(spec, "jabatan")
    fig, axes = plt.subplots(1, len(posts), figsize=(7, 2.6), sharey=True)
    for ax, post in zip(axes, posts):
        left = [0.0] * len(levels)
        for sex in ("L", "P"):
            widths = [_sum(spec, values, jenjang=j.code, ruang="JML", jabatan=post.code, sex=sex) for j in levels]
            ax.barh(range(len(levels)), widths, left=left, color=SEX_COLOURS[sex], label=text["sex"][sex])
            left = [a + b for a, b in zip(left, widths)]
        for i, total in enumerate(left):
            ax.text(total, i, " " + number(int(total), lang), va="center", fontsize=7)
        ax.set_title(label(post.label, lang), fontsize=8.5)
        ax.set_xlim(0, max(left + [1]) * 1.35)
        _axis_numbers(ax.xaxis, lang)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=3, integer=True))
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", color="#e3e6ea")
    axes[0].set_yticks(range(len(levels)), [label(j.label, lang) for j in levels])
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, frameon=False, fontsize=7.5, loc="upper right", ncol=2)
    fig.supxlabel(text["staff_axis"], fontsize=8.5)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    out["fungsional"] = {"svg": svg(fig, "chart-fungsional", text["chart_fungsional"]),
                         "caption": text["chart_fungsional"]}
    return out


def profile_html(report: PeriodReport, lang: str = "id", *, pdf: str | None = "profil.pdf") -> str:
    check_lang(lang)
    if report.city is None:
        raise ValueError(f"period {report.period}: the city tables are not published")
    # the charts draw the book's tables: a collection without them (pipeline.workspace) has none
    figures = charts(report.city, lang) if set(CHART_TABLES) <= set(load_tables()) else {}
    tables = []
    for spec in load_tables().values():
        table = book_table(spec, report.city.get(spec.id, {}), lang)
        if spec.id in figures:
            table["charts"] = [figures[spec.id]]
        tables.append(table)
    note = coverage_note(report.published_coverage, lang) if report.published_coverage else ""
    provisional = bool(report.release) and report.release.get("status") != "final"
    return render("profile.html", lang=lang, t=_profile_text(lang), period=report.period, tables=tables,
                  coverage_note=note, pdf=pdf, provisional=provisional,
                  release_text=release_text(report.release, lang) if report.release else "")


def write_profile(html_path, pdf_path, report: PeriodReport, lang: str = "id") -> tuple[Path, Path]:
    """``reports/PERIOD/profil.html`` and ``profil.pdf``: every city table laid out like the book, with
    the coverage note and charts; the PDF is printed from the same HTML."""
    from pipeline.pdf import write_pdf  # WeasyPrint: imported only where a PDF is printed

    html_path, pdf_path = Path(html_path), Path(pdf_path)
    pdf_link = pdf_path.name if pdf_path.parent.resolve() == html_path.parent.resolve() else None
    html = profile_html(report, lang, pdf=pdf_link)
    write_pdf(pdf_path, html, html_path.parent)
    atomic_write_text(html_path, html)
    return html_path, pdf_path
