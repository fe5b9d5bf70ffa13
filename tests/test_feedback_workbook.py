"""The feedback workbook: the OPD's own workbook (or, for a CSV, the template) with every finding marked."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import zipfile
from pathlib import Path

import openpyxl
import openpyxl.reader.excel
import pytest
from openpyxl import load_workbook
from openpyxl.cell.cell import MergedCell
from openpyxl.comments import Comment
from openpyxl.styles import Border, PatternFill, Side

from conftest import Submission
from hostile import _rezip
from pipeline.corrections import LOCATED, ROLES, affected_text, corrections, role
from pipeline.feedback_workbook import (AUTHOR, FILLS, build_feedback_workbook, feedback_path, load_copy,
                                        suggestion_text, write_feedback_workbook)
from pipeline.findings import SEVERITIES, Finding, flatten
from pipeline.report_data import OpdReport, PeriodReport, load_period
from pipeline.run import run_period
from pipeline.sample import write_sample
from pipeline.specs import load_registry, load_tables
from pipeline.template import build_workbook, locate
from pipeline.text import LANGUAGES, words
from pipeline.validate import validate_file


def _text(lang: str) -> dict:
    t = words("feedback_workbook", lang)
    return {**t, "head": list(t["head"].values()), "chead": list(t["chead"].values())}


TEXT = {lang: _text(lang) for lang in LANGUAGES}  # the workbook's words, its column heads as lists

PERIOD = "2022"
LINK = re.compile(r"^'((?:[^']|'')+)'!([A-Z]+[0-9]+)$")
MARKS = set(FILLS.values())


def _digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def period(tmp_path_factory):
    """The sample period, plus a CSV submission with defects (KEC-WALANTAKA) and a corrupt workbook (DLH)."""
    root = tmp_path_factory.mktemp("feedback")
    raw = root / "raw"
    write_sample(raw, PERIOD, log=None)
    folder = raw / PERIOD
    (folder / "KEC-WALANTAKA.xlsx").unlink()
    (Submission("KEC-WALANTAKA", PERIOD)
     .add("golongan", 1, ruang="A", gol="II", sex="L")       # two totals no longer add up
     .set("golongan", 3, ruang="E", gol="III", sex="L")      # a cell that cannot exist
     .write_csv(folder / "KEC-WALANTAKA.csv"))
    (folder / "DLH.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.MonkeyPatch.context() as mp:  # the run's own reports (which call this module) are not needed
        mp.setattr("pipeline.run._reports", lambda *args, **kwargs: None)
        run_period(PERIOD, raw, root / "processed", root / "reports")  # its outcome is test_run's business
    report = load_period(root / "processed", PERIOD)
    raw_before = {p: _digest(p) for p in folder.iterdir()}
    archive_before = {o.archive: _digest(o.archive) for o in report.opds if o.archive}
    out = root / "out"
    written = {}
    for opd in report.opds:
        written[opd.code] = write_feedback_workbook(feedback_path(out, PERIOD, opd.code), report, opd)
    written["BPKAD-en"] = write_feedback_workbook(out / "BPKAD-feedback.xlsx", report, "BPKAD", lang="en")
    return {"report": report, "written": written, "raw": raw_before, "archive": archive_before, "root": root}


def opd_of(period, code) -> OpdReport:
    return next(o for o in period["report"].opds if o.code == code)


# -- reading the workbook back --------------------------------------------------------------------------------
def summary_rows(ws, lang="id"):
    """The findings table of the summary sheet: (header row index, [row of cells, ...])."""
    head = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == TEXT[lang]["head"][0]
                and ws.cell(r, 2).value == TEXT[lang]["head"][1])
    rows = []
    for r in range(head + 1, ws.max_row + 1):
        if not isinstance(ws.cell(r, 1).value, int):  # the numbered rows ("none" text when there are none)
            break
        rows.append([ws.cell(r, c) for c in range(1, len(TEXT[lang]["head"]) + 1)])
    return head, rows


def worst_role(on_cell, findings):
    items = corrections(findings)
    return min((role(f, items) for f in on_cell), key=ROLES.index)


def assert_marked(wb, findings, lang="id"):
    """Each finding with an address (and each cell a summarised note lists): its cell has the fill of what to
    do with it (:func:`pipeline.corrections.role`) and a comment by rekap naming it."""
    by_cell = {}
    for f in findings:
        if f.sheet and f.address:
            for address in f.params.get("cells") or [f.address]:
                by_cell.setdefault((f.sheet, address), []).append(f)
    assert by_cell, "the case should have findings on cells"
    for (sheet, address), on_cell in by_cell.items():
        cell = wb[sheet][address]
        assert cell.fill.fgColor.rgb[-6:] == FILLS[worst_role(on_cell, findings)], (sheet, address)
        assert cell.comment is not None and cell.comment.author == AUTHOR
        for f in on_cell:
            assert f.message(lang) in cell.comment.text
    return by_cell


def marked_cells(wb, skip_first=True):
    """Every cell outside the summary sheet that has one of the marking fills or a rekap comment."""
    found = []
    for ws in wb.worksheets[1 if skip_first else 0:]:
        for row in ws.iter_rows():
            for cell in row:
                rgb = cell.fill.fgColor.rgb if cell.fill and cell.fill.fill_type else None
                if (isinstance(rgb, str) and rgb[-6:] in MARKS) or (cell.comment and cell.comment.author == AUTHOR):
                    found.append((ws.title, cell.coordinate))
    return found


# -- xlsx submissions -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("code", ["BPKAD", "RSUD", "DINKES", "DISHUB", "KEC-KASEMEN", "DINDIKBUD"])
def test_every_addressed_finding_is_marked_on_exactly_its_cell(period, code):
    opd = opd_of(period, code)
    path = period["written"][code]
    assert path == feedback_path(period["root"] / "out", PERIOD, code) and path.name == f"{code}-umpan-balik.xlsx"
    wb = load_workbook(path)
    by_cell = assert_marked(wb, opd.findings)
    assert sorted(marked_cells(wb)) == sorted(by_cell)  # nothing else is coloured or commented


def test_red_means_change_this_cell_and_every_colour_differs():
    assert FILLS["change"][:2] > FILLS["change"][2:4] and FILLS["change"][:2] > FILLS["change"][4:]  # red-ish
    assert FILLS["affected"][4:] > FILLS["affected"][2:4]  # purple-ish, not red
    assert FILLS["info"][4:] > FILLS["info"][:2]  # blue-ish
    assert len(MARKS) == len(ROLES) == 5
    legend = TEXT["id"]["legend_rows"]
    assert set(legend) == set(ROLES) and legend["change"].startswith("merah: ubah sel ini")
    assert "jangan diubah" in legend["affected"]


def test_notes_are_blue_and_cells_to_change_red_in_the_sample(period):
    wb = load_workbook(period["written"]["DINDIKBUD"])
    assert wb["Golongan"]["I6"].fill.fgColor.rgb[-6:] == FILLS["info"]  # VALUE_AS_TEXT
    wb = load_workbook(period["written"]["KEC-KASEMEN"])
    assert wb["Golongan"]["F10"].fill.fgColor.rgb[-6:] == FILLS["change"]  # IMPOSSIBLE_CELL


def test_rsud_slip_is_red_and_its_correct_totals_purple(period):
    wb = load_workbook(period["written"]["RSUD"])
    ws = wb["Golongan"]
    assert ws["G9"].fill.fgColor.rgb[-6:] == FILLS["change"]  # 39 typed as 93
    assert ws["J9"].fill.fgColor.rgb[-6:] == FILLS["affected"] == ws["G11"].fill.fgColor.rgb[-6:]
    assert "jangan diubah" in ws["J9"].comment.text and "Seharusnya" not in ws["J9"].comment.text
    summary = wb.worksheets[0]
    values = [c.value for row in summary.iter_rows() for c in row]
    assert TEXT["id"]["corrections"] in values and "Golongan!G9" in values
    first = values.index("Golongan!G9")
    assert values[first + 1:first + 3] == ["93", "39"]


@pytest.mark.parametrize("code", ["BPKAD", "DISHUB", "DINKES", "DINDIKBUD", "KEC-WALANTAKA"])
def test_summary_first_one_row_per_finding_with_working_links(period, code):
    opd = opd_of(period, code)
    wb = load_workbook(period["written"][code])
    ws = wb.worksheets[0]
    assert ws.title == TEXT["id"]["sheet"] and wb.active.title == ws.title
    _, rows = summary_rows(ws)
    listed = [f for f in opd.findings if f.code not in LOCATED]  # the located cells head the corrections
    assert len(rows) == len(listed)
    assert sorted(r[2].value for r in rows) == sorted(f.code for f in listed)
    assert sorted(r[5].value for r in rows) == sorted(f.message("id") for f in listed)
    by_message = {(f.code, f.message("id")): f for f in listed}
    items = corrections(opd.findings)
    for r in rows:  # the Saran column: a finding's suggestion when it carries one; "leave it" on an affected total
        f = by_message[r[2].value, r[5].value]
        if role(f, items) == "affected":
            assert r[8].value == affected_text(f, "id") and r[6].value in ("", None)
        else:
            assert (r[8].value or "") == suggestion_text(f)
    for r in rows:
        link = r[4].hyperlink
        if link is None:
            continue
        sheet, address = LINK.match(link.location).groups()
        sheet = sheet.replace("''", "'")
        assert sheet in wb.sheetnames
        assert r[4].value == f"{sheet}!{address}"
        cell = wb[sheet][address]
        assert cell.comment is not None and cell.comment.author == AUTHOR
        assert r[5].value in cell.comment.text  # the link leads to the cell that explains this row


def test_findings_without_address_are_listed_without_link(period):
    opd = opd_of(period, "DISHUB")  # one cross-table total has a cell key but no address
    unaddressed = [f for f in opd.findings if not f.address]
    assert unaddressed
    _, rows = summary_rows(load_workbook(period["written"]["DISHUB"]).worksheets[0])
    linked = {r[5].value: r[4].hyperlink for r in rows}
    for f in unaddressed:
        assert linked[f.message("id")] is None
    for f in opd.findings:
        if f.address and f.code not in LOCATED:
            assert linked[f.message("id")].location == f"'{f.sheet}'!{f.address}"
    dinkes = opd_of(period, "DINKES")  # PCT_TOTAL: a whole column, no cell
    _, rows = summary_rows(load_workbook(period["written"]["DINKES"]).worksheets[0])
    pct_total = next(r for r in rows if r[2].value == "PCT_TOTAL")
    assert pct_total[4].hyperlink is None and pct_total[4].value == TEXT["id"]["whole_table"]
    assert any(f.code == "PCT_TOTAL" for f in dinkes.findings)


def test_summary_facts(period):
    ws = load_workbook(period["written"]["BPKAD"]).worksheets[0]
    text = [c.value for row in ws.iter_rows(max_row=12) for c in row if c.value is not None]
    assert "ditolak" in text and "2022" in text and "BPKAD.xlsx" in text
    assert any(str(t).startswith("BPKAD - ") for t in text)
    counts = opd_of(period, "BPKAD").counts
    assert counts["error"] == 2
    assert f"2 kesalahan, {counts['warning']} peringatan, {counts['info']} catatan" in text


def test_clean_opd_says_no_findings_and_colours_nothing(period):
    opd = opd_of(period, "SETDA")
    assert opd.findings == [] and opd.kind == "xlsx"
    wb = load_workbook(period["written"]["SETDA"])
    summary = wb.worksheets[0]
    head, rows = summary_rows(summary)
    assert rows == []
    assert summary.cell(head + 1, 1).value == TEXT["id"]["none"]
    assert marked_cells(wb) == []
    assert "diterima" in [c.value for row in summary.iter_rows(max_row=12) for c in row]


def test_copy_keeps_the_submitted_workbook(period):
    opd = opd_of(period, "SATPOLPP")  # a moved table: the copy keeps it where the OPD put it
    original = load_workbook(opd.archive)
    copy = load_workbook(period["written"]["SATPOLPP"])
    assert copy.sheetnames[1:] == original.sheetnames
    for ws in original.worksheets:
        mine = copy[ws.title]
        assert {str(r) for r in mine.merged_cells.ranges} == {str(r) for r in ws.merged_cells.ranges}
        assert mine.protection.sheet == ws.protection.sheet
        assert mine.print_title_rows == ws.print_title_rows and mine.sheet_state == ws.sheet_state
        assert len(mine.data_validations.dataValidation) == len(ws.data_validations.dataValidation)
        for row in ws.iter_rows():
            for cell in row:
                assert mine[cell.coordinate].value == cell.value
                ours = mine[cell.coordinate]
                assert (ours.fill.fill_type, ours.fill.fgColor.rgb) == (cell.fill.fill_type, cell.fill.fgColor.rgb)
                assert ours.number_format == cell.number_format and ours.font.b == cell.font.b


def test_marked_cells_unlocked_protection_kept(period):
    opd = opd_of(period, "KEC-KASEMEN")
    original = load_workbook(opd.archive)["Golongan"]
    ws = load_workbook(period["written"]["KEC-KASEMEN"])["Golongan"]
    assert ws.protection.sheet == original.protection.sheet
    assert ws["F10"].protection.locked is False


def test_feedback_workbook_reads_back_with_the_same_findings(period):
    """A clerk who corrects in place and sends the feedback workbook back: the summary sheet is no table."""
    for code in ("BPKAD", "DINDIKBUD", "DISHUB"):
        original = validate_file(opd_of(period, code).archive, PERIOD)
        again = validate_file(period["written"][code], PERIOD)
        assert again.opd == code
        assert flatten(again.findings) == flatten(original.findings)
        assert [(f.sheet, f.address) for f in again.findings] == [(f.sheet, f.address) for f in original.findings]


def test_english(period):
    opd = opd_of(period, "BPKAD")
    wb = load_workbook(period["written"]["BPKAD-en"])
    ws = wb.worksheets[0]
    assert ws.title == "Feedback"
    head, rows = summary_rows(ws, "en")
    assert [c.value for c in ws[head]][:9] == TEXT["en"]["head"]
    assert {r[1].value for r in rows} <= {"error", "warning", "note"}
    assert [r[1].value for r in rows].count("error") == 2
    assert sorted(r[5].value for r in rows) == sorted(f.message("en") for f in opd.findings if f.code not in LOCATED)
    assert "rejected" in [c.value for row in ws.iter_rows(max_row=12) for c in row]
    assert_marked(wb, opd.findings, "en")
    assert "Expected: 21; Actual: 24" in wb["Golongan"]["J9"].comment.text


# -- CSV submissions ------------------------------------------------------------------------------------------
def test_csv_gets_the_template_with_its_values_and_marked_cells(period):
    opd = opd_of(period, "KEC-WALANTAKA")
    assert opd.kind == "csv"
    wb = load_workbook(period["written"]["KEC-WALANTAKA"])
    expected = build_workbook(load_registry()["KEC-WALANTAKA"], PERIOD, opd.values)
    assert wb.sheetnames == [TEXT["id"]["sheet"], *expected.sheetnames]
    tables = load_tables()
    for table, cells in opd.values.items():  # every value sent is where the template prints it
        spec = tables[table]
        for key, value in cells.items():
            sheet, address = locate(spec, key)
            assert wb[sheet][address].value == value, (table, key)
    placed = {}
    for f in opd.findings:
        spec = tables[f.table]
        placed.setdefault(locate(spec, spec.key(f.cell)), []).append(f)
    assert {f.code for f in opd.findings} >= {"SUM_MISMATCH", "IMPOSSIBLE_CELL"}
    for (sheet, address), on_cell in placed.items():
        cell = wb[sheet][address]
        assert cell.fill.fgColor.rgb[-6:] == FILLS[worst_role(on_cell, opd.findings)]
        assert cell.comment.author == AUTHOR
        assert all(f.message("id") in cell.comment.text for f in on_cell)
    assert sorted(marked_cells(wb)) == sorted(placed)
    impossible = next(f for f in opd.findings if f.code == "IMPOSSIBLE_CELL")
    sheet, address = locate(tables["golongan"], tables["golongan"].key(impossible.cell))
    assert wb[sheet][address].value == 3  # what was sent, though the staged values leave it out
    _, rows = summary_rows(wb.worksheets[0])
    listed = [f for f in opd.findings if f.code not in LOCATED]  # the located cells head the corrections
    assert len(rows) == len(listed) and all(r[4].hyperlink is not None for r in rows)


# -- unreadable, untouched ------------------------------------------------------------------------------------
def test_unreadable_submission_gets_no_workbook(period, tmp_path):
    corrupt = next(o for o in period["report"].opds if o.file == "DLH.xlsx")
    assert period["written"][corrupt.code] is None
    assert not feedback_path(period["root"] / "out", PERIOD, corrupt.code).exists()
    unknown = OpdReport("SETWAN", "Sekretariat DPRD", "rejected", "SETWAN.pdf", "0" * 64, "unknown",
                        tmp_path / "SETWAN.pdf")
    report = PeriodReport(PERIOD, None, [unknown], {}, None, [], None)
    assert write_feedback_workbook(tmp_path / "x.xlsx", report, "SETWAN") is None
    assert write_feedback_workbook(tmp_path / "y.xlsx", report,
                                   OpdReport("INSP", "Inspektorat", "not_submitted")) is None
    assert list(tmp_path.iterdir()) == []


def test_an_archive_beyond_a_limit_is_never_loaded_to_be_marked(tmp_path, monkeypatch):
    """The marked copy loads the archived bytes with openpyxl only once those very bytes are within every
    limit (a workbook bigger than the file limit is not even read)."""
    import dataclasses as dc

    import hostile
    import pipeline.feedback_workbook as fw
    from pipeline import limits

    loaded = []
    monkeypatch.setattr(fw, "load_copy", lambda data, **kw: loaded.append(data) or load_copy(data, **kw))

    def marked(data: bytes):
        archive = tmp_path / f"{len(list(tmp_path.iterdir()))}.xlsx"
        archive.write_bytes(data)
        opd = OpdReport("DINKES", "Dinas Kesehatan", "rejected", "DINKES.xlsx", "0" * 64, "xlsx", archive)
        return build_feedback_workbook(PeriodReport(PERIOD, None, [opd], {}, None, [], None), opd)

    within = hostile.with_sheet('<row r="1"><c r="A1"><v>1</v></c></row>')
    assert marked(within) is not None and loaded == [within]  # the baseline: a workbook within the limits
    wide = hostile.with_sheet("<row>" + "<c><v>1</v></c>" * 501 + "</row>")  # beyond the columns limit
    assert marked(wide) is None and loaded == [within]
    # the bytes checked are the bytes loaded: an archive that reads otherwise than it was checked is not loaded
    read = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: wide if self.suffix == ".xlsx" else read(self))
    assert marked(within) is None and loaded == [within]
    monkeypatch.setattr(Path, "read_bytes", read)
    monkeypatch.setitem(limits.LIMITS, "file_bytes", dc.replace(limits.LIMITS["file_bytes"], value=len(within) - 1))
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail(f"{self} read"))
    assert marked(within) is None and loaded == [within]  # bigger than the file limit: not even read


def test_raw_and_archive_untouched(period):
    assert {p: _digest(p) for p in period["raw"]} == period["raw"]
    assert {p: _digest(p) for p in period["archive"]} == period["archive"]


# -- suggestions, hidden sheets, merged cells, earlier comments (a hand-made workbook) -------------------------
def test_suggestion_hidden_sheet_merged_cell_and_earlier_comment(tmp_path):
    opd_entry = load_registry()["DINKES"]
    wb = build_workbook(opd_entry, PERIOD, {})
    golongan = wb["Golongan"]
    golongan.sheet_state = "hidden"
    golongan["J9"].comment = Comment("diisi oleh Bu Ani", "Ani")
    wb["Identitas"].merge_cells("D3:F3")
    archive = tmp_path / "archive.xlsx"
    wb.save(archive)
    before = _digest(archive)
    sum_mismatch = Finding("SUM_MISMATCH", "sum", "golongan", {"ruang": "D", "gol": "JML", "sex": "JML"},
                           "Golongan", "J9", 21, 24)
    suspect = Finding("CELL_SUSPECT", "localize", "golongan", {"ruang": "D", "gol": "JML", "sex": "JML"},
                      "Golongan", "J9", 21, 24, {"certainty": "probable", "kind": "digit_wrong", "repairs": ["sum"]})
    warning = Finding("RANK_IMPLAUSIBLE", "rank", "golongan", None, "Golongan", "J9")
    inside_merge = Finding("IDENTITY_MISSING", "identity", None, None, "Identitas", "E3")
    nowhere = Finding("SUM_MISMATCH", "sum", "golongan", None, "Tidak Ada", "A1")
    opd = OpdReport("DINKES", opd_entry.name, "rejected", "DINKES.xlsx", "a" * 64, "xlsx", archive,
                    [warning, sum_mismatch, suspect, inside_merge, nowhere])
    report = PeriodReport(PERIOD, "run-1", [opd], {}, None, [], None)
    path = write_feedback_workbook(tmp_path / "out" / "DINKES-umpan-balik.xlsx", report, opd)
    assert _digest(archive) == before
    out = load_workbook(path)
    cell = out["Golongan"]["J9"]
    assert out["Golongan"].sheet_state == "visible"  # its link must work
    assert cell.fill.fgColor.rgb[-6:] == FILLS["change"]  # the cell to change, whatever else is on it
    text = cell.comment.text
    assert text.index(sum_mismatch.title("id")) < text.index(warning.title("id"))  # one comment, worst first
    assert "Saran: 21 (kemungkinan)" in text and "diisi oleh Bu Ani" in text
    assert out["Identitas"]["D3"].comment.author == AUTHOR  # merged: the range's top-left cell
    _, rows = summary_rows(out.worksheets[0])
    assert len(rows) == 4  # the located cell heads the corrections instead
    saran = {r[2].value + (r[4].value or ""): r[8].value for r in rows}
    assert saran["SUM_MISMATCHGolongan!J9"] in ("", None)
    assert [r[4].hyperlink.location if r[4].hyperlink else None for r in rows].count(None) == 1  # sheet gone
    assert TEXT["id"]["head"][8] == "Saran"


def test_merged_ranges_are_copied_as_saved_and_the_reader_restored():
    # A merged range whose inner cells were saved with their own style and a stray value (Excel keeps
    # neither on screen): the copy keeps their styles, drops the value, and openpyxl's reader is back.
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A2"], ws["B2"] = "Jumlah", "stray"
    ws["C2"].fill = PatternFill("solid", fgColor="FFFF00")
    ws["D2"].border = Border(right=Side(style="thick"))
    buffer = io.BytesIO()
    wb.save(buffer)
    sheet = _sheet1(buffer.getvalue()).replace(
        b"</sheetData>", b'</sheetData><mergeCells count="1"><mergeCell ref="A2:D2"/></mergeCells>')
    merged = _rezip(buffer.getvalue(), {"xl/worksheets/sheet1.xml": sheet})
    standard = openpyxl.reader.excel.WorksheetReader
    copy = load_copy(merged, rich_text=True).active
    assert [str(r) for r in copy.merged_cells.ranges] == ["A2:D2"] and copy["A2"].value == "Jumlah"
    assert all(isinstance(copy[c], MergedCell) for c in ("B2", "C2", "D2")) and copy["B2"].value is None
    assert copy["C2"].fill.fgColor.rgb.endswith("FFFF00") and copy["D2"].border.right.style == "thick"
    assert openpyxl.reader.excel.WorksheetReader is standard
    with pytest.raises(Exception):
        load_copy(b"PK\x03\x04 not a workbook")
    assert openpyxl.reader.excel.WorksheetReader is standard
    assert openpyxl.load_workbook(io.BytesIO(merged)).active["C2"].fill.fill_type is None  # openpyxl's own


def _sheet1(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read("xl/worksheets/sheet1.xml")


def test_suggestion_text():
    f = Finding("VALUE_NOT_WHOLE", "value", expected=1009)
    assert suggestion_text(f) == "1009" and suggestion_text(f, "en") == "1009"  # as typed: no thousands point
    localiser = Finding("CELL_SUSPECT", "localize", expected=21, params={"kind": "digit_wrong", "certainty": "probable"})
    assert suggestion_text(localiser) == "21 (kemungkinan)" and suggestion_text(localiser, "en") == "21 (probably)"
    assert suggestion_text(dataclasses.replace(f, expected=None)) == ""

def test_the_summary_styled_from_shared_style_objects_is_the_workbook_openpyxl_would_save(period, monkeypatch):
    """The summary sheet gives its cells shared style objects through the template's cached style arrays and
    merges its text ranges without openpyxl's pass over the range (nothing there to copy), and the sheets are
    written by rekap's own row writer: every OPD's workbook (an xlsx copy, a CSV's template, corrections with
    links or none; and two in English) is the same bytes as when each style is assigned on its own, openpyxl
    merges and openpyxl's own sheet writer writes."""
    from openpyxl.worksheet._writer import WorksheetWriter

    from pipeline import feedback_workbook
    from pipeline.feedback_workbook import build_feedback_workbook
    from pipeline.files import _writers, save_workbook

    report = period["report"]

    def saved() -> dict[tuple[str, str], bytes]:
        out = {}
        for lang, opd in [*(("id", opd) for opd in report.opds), ("en", "KEC-WALANTAKA"), ("en", "BPKAD")]:
            wb = build_feedback_workbook(report, opd, lang)
            if wb is not None:
                buffer = io.BytesIO()
                save_workbook(wb, buffer)
                out[lang, getattr(opd, "code", opd)] = buffer.getvalue()
        return out

    ours = saved()
    # a CSV's template and a workbook's own copy, in each language
    assert {(lang, code) for lang in ("id", "en") for code in ("KEC-WALANTAKA", "BPKAD")} <= set(ours)
    ws = load_workbook(io.BytesIO(ours["id", "KEC-WALANTAKA"]))[TEXT["id"]["sheet"]]
    assert ws["A1"].font.b and ws["A1"].font.sz == 13
    assert {"A3:C3", "A8:C8", "A9:I9"} <= {str(r) for r in ws.merged_cells.ranges}  # facts, the next step
    assert ws["A3"].font.b and ws["A9"].font.i and ws["A9"].alignment.wrap_text
    swatches = [ws.cell(12 + k, 2) for k in range(len(ROLES))]
    assert [c.fill.fgColor.rgb[-6:] for c in swatches] == [FILLS[shown] for shown in ROLES]
    assert all(c.border.left.style == c.border.bottom.style == "medium" for c in swatches)
    head = next(r for r in range(1, ws.max_row + 1)
                if [ws.cell(r, c).value for c in range(1, 10)] == TEXT["id"]["head"])
    assert ws.cell(head, 9).font.b and ws.cell(head, 9).fill.fgColor.rgb[-6:] == "BDD7EE"
    linked = [row[4] for row in ws.iter_rows(min_row=head + 1) if row[4].hyperlink is not None]
    assert linked and all(c.font.u == "single" and c.alignment.wrap_text for c in linked)
    monkeypatch.setattr(feedback_workbook, "apply_styles",
                        lambda cell, **style: [setattr(cell, name, value) for name, value in style.items()])
    monkeypatch.setattr(feedback_workbook, "merge_range", lambda ws, row, col, last_row, last_col: ws.merge_cells(
        start_row=row, start_column=col, end_row=last_row, end_column=last_col))
    in_memory = _writers()[1]
    assert in_memory.sheet_writer.__name__ == ("WorksheetWriter" if openpyxl.LXML else "FastRows")
    monkeypatch.setattr(in_memory, "sheet_writer", WorksheetWriter)
    assert saved() == ours
