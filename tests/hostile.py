"""A corpus of hostile and careless inputs, generated (nothing binary is checked in), and its harness.

``write_corpus(folder)`` writes every input of :data:`CASES` into ``folder`` (a period folder such as
``raw/2022``) and returns the cases. Each case says what ``rekap validate`` must answer: the finding
codes (``exact``: nothing else; otherwise at least these), whether it is rejected, and for
``FILE_TOO_LARGE`` which limit. ``write_entries(folder)`` adds what is not a regular file (links, a
FIFO, a folder), which only ``rekap run`` meets.

Run as a script, ``python tests/hostile.py check FOLDER OUT.json`` validates each input of FOLDER in a
child process of its own (forked after the pipeline is loaded) under resource limits: ``RLIMIT_CPU``
10 s and ``RLIMIT_AS`` the loaded interpreter's address space plus 1 GiB. A child beyond a limit is
killed by the kernel, which the harness records; it writes, per input, the codes found, how the child
ended, its CPU time and its peak resident memory (``ru_maxrss``, which counts the pages shared with
the loaded parent too, so it is an upper bound).
"""

from __future__ import annotations

import io
import json
import os
import random
import resource
import struct
import sys
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

GiB = 1 << 30
CPU_SECONDS = 10
PERIOD = "2022"
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


@dataclass
class Case:
    name: str  # the file name in the period folder
    what: str  # the class of input
    codes: set  # finding codes rekap validate must give
    exact: bool = True  # no other code
    rejected: bool = True
    limit: str | None = None  # for FILE_TOO_LARGE: the limit passed
    make: object = field(default=None, repr=False)  # () -> bytes


# -- building blocks --------------------------------------------------------------------------------------
def _values():
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from conftest import consistent_values

    return consistent_values()


def good_workbook(opd: str = "DINSOS", extra_sheets: int = 0, rename: dict | None = None, edit=None) -> bytes:
    from pipeline.specs import load_registry
    from pipeline.template import build_workbook

    wb = build_workbook(load_registry()[opd], PERIOD, _values())
    for n in range(extra_sheets):
        wb.create_sheet(f"Tambahan{n + 1}")["A1"] = "x"
    if edit is not None:
        edit(wb)
    for old, new in (rename or {}).items():
        wb[old].title = new
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _rezip(data: bytes, replace: dict | None = None, add: dict | None = None,
           method=zipfile.ZIP_DEFLATED) -> bytes:
    replace, add = replace or {}, add or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", method) as dst:
        for info in src.infolist():
            body = replace.get(info.filename, src.read(info.filename))
            dst.writestr(info.filename, body() if callable(body) else body)
        for name, body in add.items():
            dst.writestr(name, body() if callable(body) else body)
    return out.getvalue()


def with_sheet(sheet_data: str, after: str = "") -> bytes:
    """The good workbook with one extra sheet whose XML is ``<sheetData>`` + ``after`` (merges)."""
    data = good_workbook(extra_sheets=1)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        last = sorted((n for n in z.namelist() if n.startswith("xl/worksheets/sheet")),
                      key=lambda n: int(n.rsplit("sheet", 1)[1].split(".")[0]))[-1]
    xml = f'<?xml version="1.0" encoding="UTF-8"?><worksheet {NS}><sheetData>{sheet_data}</sheetData>{after}</worksheet>'
    return _rezip(data, {last: xml.encode()})


def _merges(refs) -> str:
    refs = list(refs)
    return f'<mergeCells count="{len(refs)}">' + "".join(f'<mergeCell ref="{r}"/>' for r in refs) + "</mergeCells>"


def _shared_strings(body: str, xml: str | None = None) -> bytes:
    """The good workbook with a shared-strings part (``<sst>`` + ``body``, or ``xml`` whole) that the
    workbook refers to."""
    data = good_workbook()
    xml = xml or f'<?xml version="1.0" encoding="UTF-8"?><sst {NS}>{body}</sst>'
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
        types = z.read("[Content_Types].xml").decode()
    rels = rels.replace("</Relationships>", f'<Relationship Id="rIdS1" Type="{R_NS}/sharedStrings" '
                                            'Target="sharedStrings.xml"/></Relationships>')
    types = types.replace("</Types>", '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                                      'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    return _rezip(data, {"xl/_rels/workbook.xml.rels": rels.encode(), "[Content_Types].xml": types.encode()},
                  {"xl/sharedStrings.xml": xml.encode()})


def zip_bomb(megabytes: int) -> bytes:
    """A sheet holding one inline string of ``megabytes`` MB, deflated to a few hundred KB."""
    data = good_workbook(extra_sheets=1)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        last = sorted((n for n in src.namelist() if n.startswith("xl/worksheets/sheet")),
                      key=lambda n: int(n.rsplit("sheet", 1)[1].split(".")[0]))[-1]
        for info in src.infolist():
            if info.filename != last:
                dst.writestr(info.filename, src.read(info.filename))
        with dst.open(last, "w", force_zip64=True) as f:
            f.write(f'<worksheet {NS}><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'.encode())
            block = b"A" * (1 << 20)
            for _ in range(megabytes):
                f.write(block)
            f.write(b"</t></is></c></row></sheetData></worksheet>")
    return out.getvalue()


def _claim_size(buf: bytearray, signature: bytes, target: bytes, name_length: int, name: int, size: int) -> None:
    """Make the zip record (``signature``) of ``target`` claim an uncompressed size of 100 bytes."""
    at = buf.find(signature)
    while at >= 0:
        n = struct.unpack_from("<H", buf, at + name_length)[0]
        if bytes(buf[at + name:at + name + n]) == target:
            struct.pack_into("<I", buf, at + size, 100)
            return
        at = buf.find(signature, at + 4)


def lying_size() -> bytes:
    """An extra part whose directory entries claim 100 bytes while it inflates to 20 MB."""
    data = _rezip(good_workbook(), add={"xl/bomb.xml": b"<a>" + b"A" * (20 << 20) + b"</a>"})
    buf = bytearray(data)
    _claim_size(buf, b"PK\x03\x04", b"xl/bomb.xml", name_length=26, name=30, size=22)  # local header
    _claim_size(buf, b"PK\x01\x02", b"xl/bomb.xml", name_length=28, name=46, size=24)  # central directory
    return bytes(buf)


def crc_error() -> bytes:
    data = good_workbook()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = z.getinfo("xl/workbook.xml")
    buf = bytearray(data)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    buf[start + info.compress_size // 2] ^= 0xFF
    return bytes(buf)


def live_content() -> bytes:
    """A filled workbook carrying a DDE formula in a data cell, an external link to a share, a data
    connection, a macro project and recalculate-on-open: what its marked copy must not keep."""
    def edit(wb):
        ws = wb[[s for s in wb.sheetnames if s != "Identitas"][1]]
        target = next(c for row in ws.iter_rows(min_row=8) for c in row if isinstance(c.value, (int, float)))
        target.value = "=cmd|' /C calc'!A0"
        wb.calculation.fullCalcOnLoad = True
    data = good_workbook("DLH", edit=edit)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        workbook = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
        types = z.read("[Content_Types].xml").decode()
    workbook = workbook.replace("</sheets>", f'</sheets><externalReferences><externalReference xmlns:r="{R_NS}" '
                                             'r:id="rIdX1"/></externalReferences>', 1)
    rels = rels.replace("</Relationships>",
                        f'<Relationship Id="rIdX1" Type="{R_NS}/externalLink" Target="externalLinks/externalLink1.xml"/>'
                        f'<Relationship Id="rIdX2" Type="{R_NS}/connections" Target="connections.xml"/>'
                        f'<Relationship Id="rIdX3" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" '
                        'Target="vbaProject.bin"/></Relationships>')
    types = types.replace("</Types>",
                          '<Override PartName="/xl/externalLinks/externalLink1.xml" ContentType="application/'
                          'vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml"/>'
                          '<Override PartName="/xl/connections.xml" ContentType="application/'
                          'vnd.openxmlformats-officedocument.spreadsheetml.connections+xml"/>'
                          '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>')
    link = (f'<externalLink {NS} xmlns:r="{R_NS}"><externalBook r:id="rId1"><sheetNames><sheetName val="Data"/>'
            '</sheetNames></externalBook></externalLink>')
    link_rels = ('<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                 f'<Relationship Id="rId1" Type="{R_NS}/externalLinkPath" Target="file:///\\\\host\\share\\data.xlsx" '
                 'TargetMode="External"/></Relationships>')
    connections = (f'<connections {NS}><connection id="1" name="q" type="1" refreshOnLoad="1">'
                   '<dbPr connection="DSN=evil" command="SELECT 1"/></connection></connections>')
    return _rezip(data, {"xl/workbook.xml": workbook.encode(), "xl/_rels/workbook.xml.rels": rels.encode(),
                         "[Content_Types].xml": types.encode()},
                  {"xl/externalLinks/externalLink1.xml": link.encode(),
                   "xl/externalLinks/_rels/externalLink1.xml.rels": link_rels.encode(),
                   "xl/connections.xml": connections.encode(), "xl/vbaProject.bin": os.urandom(2048)})


def negative_on_sheet_named(title: str) -> bytes:
    def edit(wb):
        ws = wb[[s for s in wb.sheetnames if s != "Identitas"][1]]
        target = next(c for row in ws.iter_rows(min_row=8) for c in row if isinstance(c.value, (int, float)))
        target.value = -5
        ws.title = title
    return good_workbook("DISPERPUSIP", edit=edit)


def identity_code(code: str) -> bytes:
    def edit(wb):
        ws = wb["Identitas"]
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value.strip() == "DINSOS":
                    c.value = code
                    c.data_type = "s"  # typed as text, as a clerk's cell would be
    return good_workbook("DINSOS", edit=edit)


def csv_text(opd: str = "DINKES", period: str = PERIOD, change=None, lines=None) -> str:
    """The tidy CSV of a consistent submission; ``change(table, key_dict, value) -> value`` edits a cell;
    ``lines(i) -> (opd, period)`` names each line's OPD and period."""
    from pipeline.read_csv import dimension_columns
    from pipeline.specs import load_tables

    tables = load_tables()
    dims = dimension_columns(tables)
    out = io.StringIO()
    out.write(",".join(["opd", "period", "table", *dims, "value"]) + "\n")
    i = 0
    for table, cells in _values().items():
        spec = tables[table]
        for key, value in cells.items():
            d = spec.key_dict(key)
            if change is not None:
                value = change(table, d, value)
            o, p = lines(i) if lines else (opd, period)
            row = [o, p, table, *(d.get(n, "") for n in dims), value]
            out.write(",".join(_csv_field(x) for x in row) + "\n")
            i += 1
    return out.getvalue()


def _csv_field(x) -> str:
    text = str(x)
    return '"' + text.replace('"', '""') + '"' if any(ch in text for ch in ',"\n') else text


def first_cell(target: str):
    """A ``change`` that puts ``target`` into the first inner golongan cell."""
    done = []

    def change(table, d, value):
        if table == "golongan" and "JML" not in d.values() and not done:
            done.append(1)
            return target
        return value
    return change


def _cfb_encrypted() -> bytes:
    return bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 504 + "EncryptionInfo".encode("utf-16-le") + os.urandom(1024)


def _too_large(name: str, make, limit: str, what: str) -> Case:
    return Case(name, what, {"FILE_TOO_LARGE"}, limit=limit, make=make)


def _rows_of_cells(rows: int, cols: int) -> str:
    from openpyxl.utils import get_column_letter

    letters = [get_column_letter(c) for c in range(1, cols + 1)]
    return "".join(f'<row r="{r}">' + "".join(f'<c r="{l}{r}"><v>1</v></c>' for l in letters) + "</row>"
                   for r in range(1, rows + 1))


LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
          + f']><sst {NS}><si><t>&lol9;</t></si></sst>')
XXE = (f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><sst {NS}><si><t>&e;</t></si></sst>')

CASES: list[Case] = [
    # -- resource limits, workbooks
    _too_large("h-merge-whole-sheet.xlsx", lambda: with_sheet('<row r="1"><c r="A1"><v>1</v></c></row>',
                                                                _merges(["A1:XFD1048576"])),
               "merged_area", "one merged range over a whole sheet"),
    _too_large("h-merge-60000.xlsx", lambda: with_sheet("", _merges(f"A{r}:B{r}" for r in range(1, 60001))),
               "merged_ranges", "60,000 small merged ranges"),
    _too_large("h-zip-bomb.xlsx", lambda: zip_bomb(120), "unpacked_bytes", "zip bomb: a 120 MB inline string"),
    _too_large("h-ratio.xlsx", lambda: _rezip(good_workbook(), add={"xl/media/image1.png": b"\0" * (5 << 20)}),
               "ratio", "a part packed a thousand times"),
    _too_large("h-big-file.xlsx", lambda: _rezip(good_workbook(), add={"xl/media/image2.png": os.urandom(11 << 20)},
                                                 method=zipfile.ZIP_STORED), "file_bytes", "an 11 MB file"),
    _too_large("h-zip-entries.xlsx", lambda: _rezip(good_workbook(), add={f"xl/x/{i}.txt": b"x" for i in range(3000)}),
               "zip_entries", "3,000 parts"),
    _too_large("h-sheets.xlsx", lambda: good_workbook(extra_sheets=60), "sheets", "67 sheets"),
    _too_large("h-cells.xlsx", lambda: with_sheet(_rows_of_cells(2100, 100)), "cells", "210,000 cells"),
    _too_large("h-tall.xlsx", lambda: with_sheet('<row r="1048576"><c r="A1048576"><v>1</v></c></row>'),
               "rows", "a cell on row 1,048,576"),
    _too_large("h-rows.xlsx", lambda: with_sheet("".join(f'<row r="{r}"/>' for r in range(1, 20001))),
               "rows", "20,000 empty row records"),
    _too_large("h-sparse-corner.xlsx", lambda: with_sheet('<row r="10000"><c r="SF10000"><v>1</v></c></row>'),
               "sheet_area", "one cell in the last row and column allowed: 5,000,000 cells of grid"),
    _too_large("h-wide.xlsx", lambda: with_sheet('<row r="1"><c r="XFD1"><v>1</v></c></row>'), "columns",
               "a cell in column XFD (16,384)"),
    _too_large("h-shared-strings.xlsx", lambda: _shared_strings("".join(f"<si><t>{i}</t></si>" for i in range(150_000))), "shared_strings",
               "150,000 shared strings"),
    _too_large("h-long-string.xlsx", lambda: _shared_strings("<si><t>" + "x" * 100_000 + "</t></si>"),
               "text_length", "one shared string of 100,000 characters"),
    _too_large("h-long-inline.xlsx", lambda: with_sheet('<row r="1"><c r="A1" t="inlineStr"><is><t>'
                                                        + "y" * 40_000 + "</t></is></c></row>"),
               "text_length", "one inline string of 40,000 characters"),
    # -- resource limits, CSV
    _too_large("h-csv-6mb.csv", lambda: b"opd,period,table,value\n" + b"x,2022,golongan,1\n" * 350_000, "csv_bytes",
               "a 6 MB CSV"),
    _too_large("h-csv-lines.csv", lambda: b"opd,period,table,value\n" + b"x\n" * 25_000, "csv_lines",
               "25,000 lines"),
    _too_large("h-csv-long-line.csv", lambda: b"opd,period,table,value\n" + b"y" * 10_000 + b"\n", "csv_line_length",
               "a 10,000-character line"),
    _too_large("h-csv-quoted-field.csv", lambda: (csv_text("DPMPTSP").split("\n", 1)[0] + '\nDPMPTSP,2022,"'
                                                  + "abcdefghi\n" * 2000 + '",x\n').encode(),
               "csv_line_length", "a quoted field over 2,000 lines"),
    # -- XML tricks
    Case("h-billion-laughs.xlsx", "entity expansion (billion laughs)", {"FILE_CORRUPT"},
         make=lambda: _shared_strings("", LAUGHS)),
    Case("h-xxe.xlsx", "external entity (XXE)", {"FILE_CORRUPT"},
         make=lambda: _shared_strings("", XXE)),
    Case("h-bad-xml.xlsx", "malformed sheet XML", {"FILE_CORRUPT"},
         make=lambda: with_sheet('<row r="1"><c r="A1"><v>1</c></row>')),
    Case("h-lying-size.xlsx", "a part larger than its zip entry says", {"FILE_CORRUPT"}, make=lying_size),
    # -- damaged or not a workbook
    Case("h-truncated.xlsx", "a workbook cut in half", {"FILE_CORRUPT"},
         make=lambda: good_workbook()[: len(good_workbook()) // 2]),
    Case("h-crc.xlsx", "a flipped byte (CRC error)", {"FILE_CORRUPT"}, make=crc_error),
    Case("h-random.xlsx", "random bytes named .xlsx", {"FILE_UNSUPPORTED"},
         make=lambda: random.Random(1).randbytes(4096)),
    Case("h-empty.xlsx", "an empty .xlsx", {"FILE_EMPTY"}, make=lambda: b""),
    Case("h-encrypted.xlsx", "a password-protected workbook", {"FILE_ENCRYPTED"}, make=_cfb_encrypted),
    Case("h-zip-not-workbook.xlsx", "a zip that is no workbook", {"FILE_UNSUPPORTED"},
         make=lambda: _zip_of({"readme.txt": b"hello"})),
    Case("h-binary.csv", "binary bytes named .csv", {"FILE_CORRUPT"},
         make=lambda: b"opd,period\x00\x01\x02" + random.Random(2).randbytes(2048)),
    Case("h-empty.csv", "an empty CSV", {"FILE_EMPTY"}, make=lambda: b""),
    Case("h-document.pdf", "a PDF", {"FILE_UNSUPPORTED"}, make=lambda: b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n"),
    Case("DISNAKER-unicode.csv", "a UTF-16 CSV (Excel's Unicode text)", set(), exact=False, rejected=False,
         make=lambda: csv_text("DISNAKER").encode("utf-16")),
    # -- codes that must never become paths
    Case("h-dotdot.csv", "OPD code ../../../X", {"OPD_UNKNOWN"}, make=lambda: csv_text("../../../X").encode()),
    Case("h-slash.csv", "OPD code with a slash", {"OPD_UNKNOWN"}, make=lambda: csv_text("A/B/C").encode()),
    Case("h-long-code.csv", "a 300-character OPD code", {"OPD_UNKNOWN"}, make=lambda: csv_text("K" * 300).encode()),
    Case("h-control-code.csv", "an OPD code with control characters", {"OPD_UNKNOWN"},
         make=lambda: csv_text("DIN\x01KES\x1b[2J").encode()),
    Case("h-nul-code.csv", "an OPD code with a NUL", {"FILE_CORRUPT"}, make=lambda: csv_text("DIN\x00KES").encode()),
    Case("h-formula-code.xlsx", "an OPD code that is a formula", {"OPD_UNKNOWN"}, exact=False,
         make=lambda: identity_code('=HYPERLINK("http://evil","klik")')),
    # -- one file, one OPD, one period
    Case("h-two-opds.csv", "CSV lines naming two OPDs", {"CSV_MIXED_IDENTITY"},
         make=lambda: csv_text(lines=lambda i: ("RSUD" if i % 2 else "BPBD", PERIOD)).encode()),
    Case("h-two-periods.csv", "CSV lines naming two periods", {"CSV_MIXED_IDENTITY"},
         make=lambda: csv_text(lines=lambda i: ("BPKAD", "2021" if i % 2 else "2022")).encode()),
    # -- values
    Case("h-inf.csv", "inf as a value", {"VALUE_NOT_NUMBER"}, exact=False,
         make=lambda: csv_text("DPUPR", change=first_cell("inf")).encode()),
    Case("h-negative.csv", "a negative count", {"VALUE_NEGATIVE"}, exact=False,
         make=lambda: csv_text("DISPERKIM", change=first_cell("-5")).encode()),
    Case("h-plus-formula.csv", "a value +1+1", {"VALUE_NOT_NUMBER"}, exact=False,
         make=lambda: csv_text("SATPOLPP", change=first_cell("+1+1")).encode()),
    # -- formula injection into what the tool writes
    Case("h-hyperlink-value.csv", "a cell value =HYPERLINK(...)", {"VALUE_NOT_NUMBER"}, exact=False,
         make=lambda: csv_text("DISHUB", change=first_cell('=HYPERLINK("http://evil","klik")')).encode()),
    Case("=HYPERLINK(1).csv", "a file name that is a formula", set(), exact=False, rejected=False,
         make=lambda: csv_text("DISKOMINFO").encode()),
    Case("h-period-formula.csv", "a period =1+1", {"PERIOD_INVALID"}, exact=False,
         make=lambda: csv_text("DISTAN", period="=1+1").encode()),
    Case("h-sheet-formula.xlsx", "a sheet named =SUM(A1) holding a wrong cell", {"VALUE_NEGATIVE"}, exact=False,
         make=lambda: negative_on_sheet_named("=SUM(A1)")),
    Case("h-live-content.xlsx", "DDE formula, external link, data connection, macros, recalc on open",
         {"FORMULA_NO_VALUE"}, exact=False, make=live_content),
]

GOOD = {"DINKES.csv": lambda: csv_text("DINKES").encode(), "DINSOS.xlsx": lambda: good_workbook("DINSOS")}
GOOD_OPDS = {"DINKES", "DINSOS", "DISNAKER", "DISKOMINFO"}  # accepted and in the city tables after a run
ENTRIES = {"SETDA.xlsx": "symlink", "h-dangling.xlsx": "symlink", "h-pipe.csv": "fifo", "h-folder.xlsx": "folder"}


def _zip_of(parts: dict) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, body in parts.items():
            z.writestr(name, body)
    return out.getvalue()


def write_corpus(folder, good: bool = False) -> list[Case]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        (folder / case.name).write_bytes(case.make())
    if good:
        for name, make in GOOD.items():
            (folder / name).write_bytes(make())
    return CASES


def write_entries(folder, secret: Path) -> None:
    """A link to a file outside (``secret``), a dangling link, a FIFO and a folder named like a workbook."""
    folder = Path(folder)
    (folder / "SETDA.xlsx").symlink_to(secret)
    (folder / "h-dangling.xlsx").symlink_to(folder / "nowhere.xlsx")
    os.mkfifo(folder / "h-pipe.csv")
    (folder / "h-folder.xlsx").mkdir()


# -- the harness ------------------------------------------------------------------------------------------
def _vm_size() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


def check(folder: Path, out: Path) -> None:
    from pipeline.validate import validate_file

    folder = Path(folder)
    validate_file(folder / "DISNAKER-unicode.csv", PERIOD)  # load what validation loads lazily, before forking
    results = {}
    for case in CASES:
        r, w = os.pipe()
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:  # the child: one input under the limits
            os.close(r)
            try:
                ceiling = _vm_size() + GiB
                resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
                resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS + 1))
                result = validate_file(folder / case.name, PERIOD)
                answer = {"codes": [f.code for f in result.findings], "status": result.status,
                          "details": [f.params.get("detail") for f in result.findings if f.code == "FILE_TOO_LARGE"]}
                os.write(w, json.dumps(answer).encode())
            finally:
                os._exit(0)
        os.close(w)
        chunks = []
        while chunk := os.read(r, 1 << 16):
            chunks.append(chunk)
        os.close(r)
        _, status, usage = os.wait4(pid, 0)
        answer = json.loads(b"".join(chunks) or b"null")
        results[case.name] = {"answer": answer, "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                              "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                              "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
                              "wall_seconds": round(time.monotonic() - started, 3),
                              "max_rss_mib": round(usage.ru_maxrss / 1024, 1)}
    Path(out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "check":
        check(Path(sys.argv[2]), Path(sys.argv[3]))
    elif len(sys.argv) == 3 and sys.argv[1] == "write":
        write_corpus(Path(sys.argv[2]), good=True)
    else:
        sys.exit("usage: hostile.py check FOLDER OUT.json | hostile.py write FOLDER")
