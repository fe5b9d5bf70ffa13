"""Writing files: rekap's sheet writer gives the bytes openpyxl's own writer gives, for every kind of cell."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import openpyxl
import pytest
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet._writer import WorksheetWriter

from pipeline.files import _writers, save_workbook


def every_kind() -> openpyxl.Workbook:
    """A workbook with a cell of every kind openpyxl writes, and rows and ranges of every shape."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"], ws["B1"], ws["C1"], ws["D1"] = 5, 2.5, -0.1, 12345678901234567
    ws["E1"], ws["F1"], ws["G1"] = 1e20, float("nan"), True
    ws["A2"] = 'text & <tag> "quoted" \'single\''
    ws["B2"], ws["C2"], ws["D2"], ws["E2"] = "  padded  ", "   ", "", "line\nbreak\tand tab"
    ws["F2"] = "=HYPERLINK(\"x\")"  # a formula, as openpyxl writes it (rekap's copies hold none)
    ws["A3"], ws["B3"] = dt.datetime(2024, 1, 2, 3, 4), dt.date(2024, 1, 2)
    ws["C3"], ws["D3"] = dt.time(3, 4), dt.timedelta(hours=5)
    ws["E3"] = "#N/A"
    ws["E3"].data_type = "e"
    ws["A4"] = CellRichText([TextBlock(InlineFont(b=True), "bold"), " plain"])
    ws["B4"].font = Font(bold=True)  # styled, no value
    ws["C4"] = 7
    ws["C4"].fill = PatternFill("solid", fgColor="FF8B8B")
    ws["D4"].comment = Comment("a note on an empty cell", "rekap")
    ws["E4"] = "with a note"
    ws["E4"].comment = Comment("note & <more>", "rekap")
    ws["F4"] = "a link"
    ws["F4"].hyperlink = "#'Sheet'!A1"
    ws.row_dimensions[6].height = 30  # a row with only its height
    ws.row_dimensions[7].hidden = True
    ws["A7"] = "hidden row"
    ws.merge_cells("A9:C9")
    ws.merge_cells("D9:D12")
    other = wb.create_sheet("Lain & <lain>")
    other["A1"] = "=Sheet!A1"
    other["A1"].font = Font(italic=True)
    other["B1"] = 0
    return wb


def saved(make, writer=None) -> bytes:
    out = io.BytesIO()
    in_memory = _writers()[1]
    standard = in_memory.sheet_writer
    in_memory.sheet_writer = writer or standard
    try:
        save_workbook(make(), out)
    finally:
        in_memory.sheet_writer = standard
    return out.getvalue()


@pytest.mark.skipif(openpyxl.LXML, reason="with lxml, openpyxl's own writer is used")
def test_every_kind_of_cell_is_written_as_openpyxls_own_writer_writes_it():
    ours, theirs = saved(every_kind), saved(every_kind, WorksheetWriter)
    with zipfile.ZipFile(io.BytesIO(ours)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert '<c r="A2" t="inlineStr"><is><t>text &amp; &lt;tag&gt; "quoted" \'single\'</t></is></c>' in sheet
    assert '<t xml:space="preserve">  padded  </t>' in sheet and '<c r="F1" t="n"><v /></c>' in sheet
    assert '<mergeCells count="2"><mergeCell ref="A9:C9" /><mergeCell ref="D9:D12" /></mergeCells>' in sheet
    assert ours == theirs  # every entry, byte for byte: styles, comments, links, the other sheet


@pytest.mark.skipif(openpyxl.LXML, reason="with lxml, openpyxl's own writer is used")
def test_the_template_and_the_sample_are_written_as_openpyxls_own_writer_writes_them(tmp_path):
    from pipeline.sample import write_sample
    from pipeline.specs import load_registry
    from pipeline.template import build_workbook

    opd = next(iter(load_registry().values()))
    blank = lambda: build_workbook(opd, "2022", {}, "id")  # noqa: E731
    assert saved(blank) == saved(blank, WorksheetWriter)
    write_sample(tmp_path, "2022", log=None)
    files = sorted((tmp_path / "2022").glob("*.xlsx"))[:5]
    for path in files:
        loaded = lambda: openpyxl.load_workbook(path, rich_text=True)  # noqa: E731, B023
        assert saved(loaded) == saved(loaded, WorksheetWriter), path.name
