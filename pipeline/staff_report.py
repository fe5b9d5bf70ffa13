"""The staff-list part of an OPD's own feedback (page and marked workbook).

For one OPD: the lists that hold its rows, the findings on those rows with the NIP shown in full
(this is the OPD's own feedback: the NIPs are its own employees'), and for every recap cell that
differs from its list, the employees behind the list's count (NIP and name), so the clerk can see
who was missed or counted twice. Everything personal comes from the owner-only people file of each
list (``processed/staff/<sha256>.parquet``); nothing of it reaches the dashboard, the profile or the
published release. Reports that show it say so (the text catalogue's ``staff_report.personal``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipeline import text
from pipeline.findings import Finding, describe_cell, fmt
from pipeline.specs import load_tables
from pipeline.staff import read_people
from pipeline.staff_recap import people_behind

@dataclass
class StaffView:
    lists: list[dict] = field(default_factory=list)  # file, status for this OPD (errors on its rows or the list)
    findings: list[Finding] = field(default_factory=list)  # on this OPD's rows, NIPs in full
    differences: list[dict] = field(default_factory=list)  # table, cell, recap, list, people [(nip, name)]

    @property
    def personal(self) -> bool:
        return bool(self.findings or any(d["people"] for d in self.differences))


def staff_view(processed, staff_records: list[dict], opd: str, recap_findings: list[Finding]) -> StaffView | None:
    """The staff-list part of one OPD's feedback, or None when no list holds the OPD's rows."""
    mine = [s for s in staff_records if opd in s["opds"]]
    if not mine:
        return None
    view = StaffView()
    for s in mine:
        people = read_people(Path(processed) / s["people"]) if s.get("people") else None
        nips = dict(zip(people["row"].to_list(), people["nip"].to_list())) if people is not None else {}
        errors = any(f.severity == "error" and f.params.get("opd") in (opd, None) for f in s["findings"])
        view.lists.append({"file": s["file"], "status": "rejected" if errors else "accepted"})
        for f in s["findings"]:
            if f.params.get("opd") != opd:
                continue
            params = dict(f.params)
            if "row" in params and "nip" in params:
                params["nip"] = nips.get(int(params["row"]), params["nip"]) or "-"
            view.findings.append(Finding(f.code, f.rule, f.table, f.cell, f.sheet, f.address, f.expected, f.actual,
                                         params, f.severity))
        if people is None:
            continue
        for f in recap_findings:
            if f.code != "STAFF_RECAP_DIFF" or not f.cell:
                continue
            behind = people_behind(people, opd, f.table, f.cell)
            view.differences.append({"table": f.table, "cell": f.cell, "recap": f.actual, "list": f.expected,
                                     "people": list(zip(behind["nip"].to_list(), behind["name"].to_list()))})
    return view


def view_rows(view: StaffView, lang: str) -> dict:
    """What the page template shows, as text."""
    t = text.words("staff_report", lang)
    tables = load_tables()
    return {
        "t": t,
        "lists": [{"file": s["file"], "status": t["status_words"].get(s["status"], s["status"])} for s in view.lists],
        "rows": [{"severity": f.severity, "row": f.params.get("row", "-"), "nip": f.params.get("nip", "-"),
                  "title": f.title(lang), "message": f.message(lang)} for f in view.findings],
        "differences": [{"cell": f"{text.label(tables[d['table']].title, lang)} {describe_cell(tables[d['table']], d['cell'], lang)}",
                         "recap": fmt(d["recap"], lang), "list": fmt(d["list"], lang), "people": d["people"]}
                        for d in view.differences],
        "personal": view.personal,
    }


def _text(cell, value) -> None:
    """A value written as text, never as a formula (names and NIPs come from a submitted list)."""
    cell.value = "" if value is None else str(value)
    cell.data_type = "s"


def add_staff_sheet(wb, view: StaffView, lang: str = "id") -> None:
    """A sheet in the OPD's marked workbook: row findings and the employees behind each difference."""
    t = text.words("staff_report", lang)
    data = view_rows(view, lang)
    ws = wb.create_sheet(t["sheet"])
    r = 1
    _text(ws.cell(r, 1), t["heading"])
    r += 1
    _text(ws.cell(r, 1), t["personal"])
    r += 2
    if data["differences"]:
        _text(ws.cell(r, 1), t["diff"])
        r += 1
        for i, h in enumerate((t["col"]["cell"], t["col"]["recap"], t["col"]["list"], t["col"]["nip"], t["col"]["name"])):
            _text(ws.cell(r, 1 + i), h)
        r += 1
        for d in data["differences"]:
            _text(ws.cell(r, 1), d["cell"])
            _text(ws.cell(r, 2), d["recap"])
            _text(ws.cell(r, 3), d["list"])
            r += 1
            for nip, name in d["people"]:
                _text(ws.cell(r, 4), nip)
                _text(ws.cell(r, 5), name)
                r += 1
        r += 1
    _text(ws.cell(r, 1), t["rows"])
    r += 1
    for i, h in enumerate((t["col"]["row"], t["col"]["nip"], t["col"]["what"])):
        _text(ws.cell(r, 1 + i), h)
    r += 1
    for row in data["rows"]:
        _text(ws.cell(r, 1), row["row"])
        _text(ws.cell(r, 2), row["nip"])
        _text(ws.cell(r, 3), f"{row['title']}. {row['message']}")
        r += 1
    ws.column_dimensions["A"].width = 40
    ws.column_dimensions["C"].width = 80
    ws.column_dimensions["D"].width = 22
    ws.column_dimensions["E"].width = 30


def mark_personal(wb, view: StaffView, lang: str = "id") -> None:
    """The printed footer of every sheet says the workbook holds personal data, when it does."""
    if not view.personal:
        return
    personal = text.say("staff_report.personal", lang)
    for ws in wb.worksheets:
        ws.oddFooter.center.text = personal
        ws.evenFooter.center.text = personal
