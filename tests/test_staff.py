"""Staff lists: reading and mapping by the spec, every row check (a passing and a failing row each),
derived recaps, reconciliation, and the sample's planted defects."""

from __future__ import annotations

import csv

import pytest

from pipeline.sample import consistent_submission, opd_rng
from pipeline.sample_staff import write_staff_sample
from pipeline.specs import load_registry, load_tables
from pipeline.staff import is_staff_list, map_rows, mask_nip, parse_rank, read_staff
from pipeline.staff_checks import check_rows
from pipeline.staff_recap import derive, people_behind, reconcile
from pipeline.staff_run import check_lists

REGISTRY = load_registry()
TABLES = load_tables()
HEADER = ["NIP BARU", "NAMA", "JENIS KELAMIN", "STATUS PEGAWAI", "GOL AKHIR NAMA", "TINGKAT PENDIDIKAN NAMA",
          "JENIS JABATAN NAMA", "ESELON NAMA", "JABATAN NAMA", "UNOR NAMA"]
# A clean row: born 1985-03-12, TMT CPNS 2010-01, a man (1), sequence 003; PNS III/b, S-1, pelaksana.
CLEAN = ["198503122010011003", "Budi Santoso", "Laki-laki", "PNS", "III/b", "S-1", "Jabatan Pelaksana", "",
         "Pengadministrasi Umum", "Dinas Sosial"]


def write_list(path, rows, header=HEADER):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def checked(tmp_path, rows, header=HEADER, period="2022"):
    staff = read_staff(write_list(tmp_path / "list.csv", rows, header))
    mapped, findings = map_rows(staff, REGISTRY)
    frame, more = check_rows(mapped, period, "list.csv", REGISTRY)
    return frame, staff.findings + findings + more


def row(**changes):
    out = dict(zip(HEADER, CLEAN))
    out.update(changes)
    return [out[h] for h in HEADER]


def codes(findings):
    return sorted(f.code for f in findings)


# -- reading and mapping -----------------------------------------------------------------------------
def test_column_and_value_variants_map_through_the_spec(tmp_path):
    header = ["NIP", "Nama Pegawai", "JK", "Status", "Gol/Ruang", "Pendidikan Terakhir", "Jenis Jabatan", "Eselon",
              "Jabatan", "Unit Kerja"]
    rows = [
        ["198503122010011003", "A", "Pria", "PNS", "III-a", "Strata 1", "Pelaksana", "", "Staf", "Dinas Sosial"],
        ["198503122010012004", "B", "P", "PNS", "Penata Muda Tk. I", "D-III", "Fungsional Tertentu", "",
         "Guru Ahli Pertama", "SD Negeri 4 Kota Serang"],
        ["197003122000011005", "C", "L", "PNS", "IV/a - Pembina", "S-2", "Struktural", "III.a", "Kepala Bidang",
         "Bidang Anggaran Badan Pengelolaan Keuangan dan Aset Daerah"],
    ]
    frame, findings = checked(tmp_path, rows, header)
    assert findings == []
    got = frame.select("sex", "gol", "ruang", "education", "position", "eselon", "post", "school", "opd",
                       "jenjang").rows()
    assert got == [("L", "III", "A", "S1", "pelaksana", None, None, None, "DINSOS", "Pertama"),
                   ("P", "III", "B", "D3", "fungsional", None, "GURU", "SD", "DINDIKBUD", "Pertama"),
                   ("L", "IV", "A", "S2", "struktural", "III.A", None, None, "BPKAD", "Madya")]


@pytest.mark.parametrize("text, expected", [
    ("III/a", ("III", "A", None)), ("III-a", ("III", "A", None)), ("IIIa", ("III", "A", None)),
    ("Penata Muda", ("III", "A", None)), ("Pembina Utama Muda", ("IV", "C", None)), ("IX", (None, None, "IX")),
    ("Golongan XVII", (None, None, "XVII")), ("tidak tahu", (None, None, None))])
def test_ranks_are_read_in_every_usual_spelling(text, expected):
    assert parse_rank(text) == expected


def write_ods(path, rows):
    """A minimal OpenDocument spreadsheet (one sheet of text cells), as LibreOffice saves one."""
    import zipfile
    from xml.sax.saxutils import escape

    body = "".join("<table:table-row>" + "".join(
        f'<table:table-cell office:value-type="string"><text:p>{escape(str(v))}</text:p></table:table-cell>'
        for v in r) + "</table:table-row>" for r in rows)
    ns = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns} '
                   f'office:version="1.2"><office:body><office:spreadsheet><table:table table:name="Pegawai">'
                   f"{body}</table:table></office:spreadsheet></office:body></office:document-content>")
        z.writestr("META-INF/manifest.xml", '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                   'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                   '<manifest:file-entry manifest:full-path="/" manifest:media-type='
                   '"application/vnd.oasis.opendocument.spreadsheet"/></manifest:manifest>')
    return path


def test_a_list_in_xlsx_or_ods_reads_like_its_csv(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["Daftar pegawai Dinas Sosial"])  # a title above the header
    wb.active.append(HEADER)
    wb.active.append(CLEAN)
    wb.save(tmp_path / "l.xlsx")
    write_ods(tmp_path / "l.ods", [HEADER, CLEAN])
    csv_rows = read_staff(write_list(tmp_path / "l.csv", [CLEAN])).rows.drop("row")
    for name, kind, first in (("l.xlsx", "xlsx", 3), ("l.ods", "ods", 2)):
        assert is_staff_list(tmp_path / name)
        found = read_staff(tmp_path / name)
        assert (found.kind, found.findings, found.rows["row"].to_list()) == (kind, [], [first])
        assert found.rows.drop("row").equals(csv_rows)


def test_a_list_is_recognised_by_content_not_name(tmp_path):
    assert is_staff_list(write_list(tmp_path / "DINSOS.csv", [CLEAN]))
    recap = tmp_path / "pegawai.csv"
    recap.write_text("opd,period,table,status,eselon,sex,ruang,gol,pendidikan,measure,jenjang,jabatan,sekolah,value\n")
    assert not is_staff_list(recap)


def test_a_workbook_is_recognised_alike_loaded_whole_or_streamed(tmp_path, monkeypatch):
    """Workbooks within the limits are sniffed with calamine (whole), bigger ones streamed with openpyxl:
    the same answer either way, for a list (header below a title) and for a recap workbook."""
    from openpyxl import Workbook

    from pipeline import staff
    from pipeline.template import write_template

    wb = Workbook()
    wb.active.append(["Daftar pegawai Dinas Sosial"])
    wb.active.append(HEADER)
    wb.active.append(CLEAN)
    wb.save(tmp_path / "list.xlsx")
    recap = write_template(tmp_path / "DINKES.xlsx", load_registry()["DINKES"], "2022")
    answers = {}
    for whole in (True, False):
        monkeypatch.setattr(staff, "check_xlsx", lambda path, *_, whole=whole: None if whole else "beyond")
        answers[whole] = [is_staff_list(tmp_path / "list.xlsx"), is_staff_list(recap)]
    assert answers[True] == answers[False] == [True, False]


def test_a_workbook_asked_whether_it_is_a_list_then_read_as_a_recap_is_parsed_once(tmp_path, monkeypatch):
    """The staff-list question and the recap reader read one parse of a workbook's sheets: the recap
    reads the same cells as when nobody asked first, and another workbook is parsed anew."""
    from pipeline import sheets
    from pipeline.read_xlsx import read_xlsx
    from pipeline.template import write_template

    registry = load_registry()
    recaps = [write_template(tmp_path / f"{code}.xlsx", registry[code], "2022",
                             consistent_submission(registry[code], opd_rng(2022, code)))
              for code in ("DINKES", "BAPPEDA")]
    alone = [read_xlsx(recap) for recap in recaps]
    parsed = []
    real = sheets._parse
    monkeypatch.setattr(sheets, "_parse", lambda data, xlsx: parsed.append(len(data)) or real(data, xlsx))
    for n, (recap, before) in enumerate(zip(recaps, alone), start=1):
        assert not is_staff_list(recap)
        assert len(parsed) == n  # the question parsed it
        after = read_xlsx(recap)
        assert len(parsed) == n  # the reader did not again
        assert (after.cells, after.identity, after.findings) == (before.cells, before.identity, before.findings)
    assert parsed == [recap.stat().st_size for recap in recaps]


def test_a_row_is_asked_once_by_its_texts_and_a_new_spec_asks_again(monkeypatch):
    """The header test is remembered by a row's texts (the same label rows recur in every template-made
    workbook): asked once for the same texts, never confused with a row of other texts, forgotten when
    another spec is in force. A row with fewer texts than a header holds is none, unasked."""
    from pipeline import staff

    asked = []
    real = staff.header_fields
    monkeypatch.setattr(staff, "header_fields", lambda h: asked.append(list(h)) or real(h))
    header = ["NIP BARU", "NAMA", "JENIS KELAMIN", "GOL AKHIR NAMA", "memo test"]  # texts no other test asks
    assert staff._is_header(header) and staff._is_header([None, *header, 7, ""])  # same texts, with other cells
    assert len(asked) == 1
    assert not staff._is_header([t if t != "NAMA" else "NAMA IBU" for t in header])  # other texts, asked
    assert len(asked) == 2
    assert staff._is_header(["NIP", "NAMA", "JK", "GOL", 2022.0]) is True  # as many texts as recognised fields
    assert not staff._is_header(["NIP", "NAMA", "JK", 1.0, 2.0]) and len(asked) == 3  # one fewer: never asked
    spec = dict(staff.staff_spec())
    monkeypatch.setattr(staff, "staff_spec", lambda path=None: {**spec, "recognise": [*spec["recognise"], "unit"]})
    assert not staff._is_header(header)  # no unit column: the former spec's answer is forgotten
    units = {**spec, "recognise": ["unit", "workplace"]}  # two fields sharing an alias: one text may do
    monkeypatch.setattr(staff, "staff_spec", lambda path=None: units)
    assert staff._is_header(["UNOR NAMA"]) and not staff._is_header(["NAMA"])


def test_the_lists_among_recaps_are_found_alike_on_one_and_two_processes(tmp_path, monkeypatch):
    """A folder of recaps (template workbooks, CSV) holding a list in xlsx and one in CSV: the same lists,
    in the files' order, with one job and with two; a file whose sniff kills its worker is no list, and
    the others are still found."""
    import os

    from openpyxl import Workbook

    from conftest import Submission
    from pipeline import staff
    from pipeline.staff_run import find_lists
    from pipeline.template import write_template

    for opd in ("BAPPEDA", "DINKES", "DISHUB"):
        write_template(tmp_path / f"{opd}.xlsx", REGISTRY[opd], "2022")
        Submission(opd).write_csv(tmp_path / f"{opd}.csv")
    wb = Workbook()
    wb.active.append(["Daftar pegawai Dinas Sosial"])
    wb.active.append(HEADER)
    wb.active.append(CLEAN)
    wb.save(tmp_path / "DINSOS-pegawai.xlsx")
    write_list(tmp_path / "DLH-pegawai.csv", [CLEAN])
    (tmp_path / "BOOM.csv").write_text(",".join(HEADER) + "\n")
    paths = sorted(tmp_path.iterdir())
    lists = [tmp_path / "BOOM.csv", tmp_path / "DINSOS-pegawai.xlsx", tmp_path / "DLH-pegawai.csv"]
    assert find_lists(paths, 1) == find_lists(paths, 2) == lists
    real = staff._csv_head
    monkeypatch.setattr(staff, "_csv_head", lambda path, limit: os._exit(9) if path.name == "BOOM.csv"
                        else real(path, limit))  # inherited by the forked workers
    assert find_lists(paths, 2) == lists[1:]


def test_a_missing_required_column_is_a_finding(tmp_path):
    header = [h for h in HEADER if h != "TINGKAT PENDIDIKAN NAMA"]
    staff = read_staff(write_list(tmp_path / "l.csv", [[v for h, v in zip(HEADER, CLEAN) if h in header]], header))
    assert [(f.code, f.params["column"]) for f in staff.findings] == [("STAFF_COLUMN_MISSING", "TINGKAT PENDIDIKAN NAMA")]


def test_an_unmatched_unit_is_one_finding_with_its_row_count_and_its_rows_are_not_counted(tmp_path):
    rows = [row(), row(**{"UNOR NAMA": "Kantor Entah", "NIP BARU": "198503122010011004"}),
            row(**{"UNOR NAMA": "Kantor Entah", "NIP BARU": "198503122010011005"})]
    frame, findings = checked(tmp_path, rows)
    assert [(f.code, f.params["unit"], f.params["count"], f.params["row"]) for f in findings] == [
        ("STAFF_UNIT_UNKNOWN", "Kantor Entah", 2, "3")]
    assert frame["ok"].to_list() == [True, False, False]


def test_an_unknown_value_is_a_finding_and_the_row_is_not_counted(tmp_path):
    frame, findings = checked(tmp_path, [row(**{"TINGKAT PENDIDIKAN NAMA": "Pesantren kilat"})])
    assert codes(findings) == ["STAFF_VALUE_UNKNOWN"] and frame["ok"].to_list() == [False]


# -- row checks: each has a passing row (CLEAN, above) and a failing one ---------------------------------
@pytest.mark.parametrize("changes, code", [
    ({"NIP BARU": "19850312201001100"}, "STAFF_NIP_FORMAT"),
    ({"NIP BARU": "19850312201001100X"}, "STAFF_NIP_FORMAT"),
    ({"NIP BARU": "198502302010011003"}, "STAFF_NIP_BIRTH"),
    ({"NIP BARU": "198503122010131003"}, "STAFF_NIP_TMT"),  # month 13
    ({"NIP BARU": "198503122001011003"}, "STAFF_NIP_TMT"),  # 15 years old at TMT
    ({"NIP BARU": "198503122023011003", "STATUS PEGAWAI": "CPNS", "GOL AKHIR NAMA": "III/a"},
     "STAFF_NIP_TMT"),  # after period 2022
    ({"NIP BARU": "198503122010012003"}, "STAFF_NIP_SEX"),
    ({"GOL AKHIR NAMA": "III/e"}, "STAFF_RANK_INVALID"),
    ({"GOL AKHIR NAMA": "IX"}, "STAFF_RANK_INVALID"),  # a PPPK grade on a PNS
    ({"STATUS PEGAWAI": "PPPK"}, "STAFF_PPPK_RANK"),  # a PPPK with a PNS rank
    ({"NIP BARU": "196403122010011003"}, "STAFF_RETIREMENT"),  # 58 at the end of 2022, pelaksana
    ({"NIP BARU": "199503122020011003", "STATUS PEGAWAI": "CPNS", "GOL AKHIR NAMA": "III/a"}, "STAFF_CPNS_LONG"),
    ({"NIP BARU": "199503122022011003", "STATUS PEGAWAI": "CPNS", "GOL AKHIR NAMA": "II/a"}, "STAFF_ENTRY_RANK"),
    ({"JENIS JABATAN NAMA": "Jabatan Struktural", "ESELON NAMA": "II.B", "UNOR NAMA": "Kecamatan Curug",
      "GOL AKHIR NAMA": "IV/b"}, "STAFF_ESELON_OPD"),
])
def test_each_row_check_fails_its_row(tmp_path, changes, code):
    _, clean = checked(tmp_path, [row()])
    assert clean == []
    _, findings = checked(tmp_path, [row(**changes)])
    assert codes(findings) == [code]
    assert findings[0].params["row"] == "2"
    assert findings[0].params["nip"] == mask_nip(changes.get("NIP BARU", CLEAN[0]))


def test_plausible_rows_pass_the_plausibility_checks(tmp_path):
    rows = [row(**{"NIP BARU": "196503122010011003"}),  # 57: not yet retired
            row(**{"NIP BARU": "196303122010011004", "JENIS JABATAN NAMA": "Jabatan Fungsional",
                   "JABATAN NAMA": "Guru Ahli Madya", "GOL AKHIR NAMA": "IV/a"}),  # a teacher at 59 (BUP 60)
            row(**{"NIP BARU": "199503122022011005", "STATUS PEGAWAI": "CPNS", "GOL AKHIR NAMA": "III/a"}),
            row(**{"JENIS JABATAN NAMA": "Jabatan Struktural", "ESELON NAMA": "III.A", "GOL AKHIR NAMA": "IV/a",
                   "NIP BARU": "198503122010011006", "UNOR NAMA": "Kecamatan Curug"}),
            row(**{"STATUS PEGAWAI": "PPPK", "GOL AKHIR NAMA": "IX", "NIP BARU": "198503122021011007"})]
    _, findings = checked(tmp_path, rows)
    assert codes(findings) == ["STAFF_PPPK"]  # counted apart, a note


def test_a_nip_twice_across_two_lists_is_an_error_naming_both(tmp_path):
    write_list(tmp_path / "a.csv", [row()])
    write_list(tmp_path / "b.csv", [row(**{"UNOR NAMA": "Dinas Lingkungan Hidup"})])
    lists = check_lists([tmp_path / "a.csv", tmp_path / "b.csv"], "2022", REGISTRY)
    found = [(f.code, f.params["opd"], f.params["others"]) for s in lists for f in s.findings]
    assert found == [("STAFF_NIP_DUPLICATE", "DINSOS", [{"opd": "DLH", "file": "b.csv", "row": "2"}]),
                     ("STAFF_NIP_DUPLICATE", "DLH", [{"opd": "DINSOS", "file": "a.csv", "row": "2"}])]
    assert "juga di DLH (b.csv, baris 2)" in lists[0].findings[0].message("id")
    assert "also at DINSOS (a.csv, row 2)" in lists[1].findings[0].message("en")
    assert not lists[0].usable("DINSOS") and not lists[1].usable("DLH")


# -- derived recaps and reconciliation -----------------------------------------------------------------
def test_a_list_derives_every_table_with_totals_and_leaves_posts_available_out(tmp_path):
    rows = [row(), row(**{"NIP BARU": "198503122010012004", "JENIS KELAMIN": "Perempuan"}),
            row(**{"NIP BARU": "197003122000011005", "GOL AKHIR NAMA": "IV/a", "JENIS JABATAN NAMA": "Struktural",
                   "ESELON NAMA": "III.A", "TINGKAT PENDIDIKAN NAMA": "S-2"})]
    frame, _ = checked(tmp_path, rows)
    derived, outside = derive(frame)
    assert outside == [] and list(derived) == ["DINSOS"]
    gol, edu, es = TABLES["golongan"], TABLES["pendidikan"], TABLES["eselon"]
    values = derived["DINSOS"]
    assert values["golongan"][gol.key({"ruang": "B", "gol": "III", "sex": "L"})] == 1
    assert values["golongan"][gol.key({"ruang": "JML", "gol": "JML", "sex": "JML"})] == 3
    assert values["pendidikan"][edu.key({"pendidikan": "S1", "sex": "JML", "measure": "pct"})] == 66.67
    assert values["eselon"][es.key({"status": "terisi", "eselon": "III.A", "sex": "L"})] == 1
    assert not any(k[0] == "disiapkan" for k in values["eselon"])
    assert "guru" not in values  # table 6 is the education office's only


def test_a_clean_sample_list_reproduces_the_sample_recap_exactly(tmp_path):
    manifest = write_staff_sample(tmp_path, "2022")
    lists = check_lists(sorted(tmp_path.glob("*.*")), "2022", REGISTRY)
    clean = {"BAPPEDA", "DINDIKBUD", "DLH", "DINSOS"}
    for s in lists:
        for opd in clean & set(s.opds):
            recap = consistent_submission(REGISTRY[opd], opd_rng(2022, opd))
            assert reconcile(recap, s.derived[opd], "error") == [], opd
    assert {o for s in lists for o in s.opds} == set(manifest["reconciled"])


def test_reconciliation_finds_every_differing_cell_with_the_list_value_as_the_suggestion(tmp_path):
    frame, _ = checked(tmp_path, [row(), row(**{"NIP BARU": "198503122010011004"})])
    derived, _ = derive(frame)
    gol = TABLES["golongan"]
    recap = {t: dict(v) for t, v in derived["DINSOS"].items()}
    moved = gol.key({"ruang": "B", "gol": "III", "sex": "L"})
    recap["golongan"][moved] = 3  # typed 3 where the list counts 2 (and the totals through it)
    found = reconcile(recap, derived["DINSOS"], "error", {("golongan", moved): ("Golongan", "G7")})
    assert [(f.cell, f.actual, f.expected) for f in found] == [({"ruang": "B", "gol": "III", "sex": "L"}, 3, 2)]
    assert found[0].address == "G7" and found[0].suggestion()["value"] == 2 and found[0].severity == "error"
    behind = people_behind(frame, "DINSOS", "golongan", {"ruang": "JML", "gol": "III", "sex": "L"})
    assert behind["nip"].to_list() == ["198503122010011003", "198503122010011004"]


# -- the sample's planted defects ----------------------------------------------------------------------
def test_every_planted_row_defect_of_the_sample_is_found(tmp_path):
    manifest = write_staff_sample(tmp_path, "2022")
    lists = {s.file.name: s for s in check_lists(sorted(tmp_path.glob("*.*")), "2022", REGISTRY)}
    planted = [d for d in manifest["defects"] if d["kind"] != "recap_differs"]
    assert {d["kind"] for d in planted} == {"bad_birth_date", "sex_digit", "duplicate_nip", "pppk_rank",
                                            "unknown_unit"}
    expected = set()
    for d in planted:
        for r in d.get("rows", [d.get("row")]):
            expected.add((d["file"], d["code"], str(r)))
    found = {(name, f.code, f.params.get("row")) for name, s in lists.items() for f in s.findings
             if f.severity != "info"}
    assert found == expected  # each planted defect, and nothing else
    assert manifest["lists"]["pegawai-dindikbud.csv"]["rows"] == lists["pegawai-dindikbud.csv"].rows.height


def test_sample_lists_are_owner_only_and_obey_the_nip_structure(tmp_path):
    import os

    write_staff_sample(tmp_path, "2022")
    for path in tmp_path.glob("*.*"):
        assert os.stat(path).st_mode & 0o077 == 0
    staff = read_staff(tmp_path / "pegawai-dindikbud.csv")
    nips = staff.rows["nip"].to_list()
    assert len(set(nips)) == len(nips) and all(len(n) == 18 and n.isdigit() for n in nips)


def test_validate_checks_a_staff_list_in_a_folder_as_a_list(tmp_path):
    from click.testing import CliRunner

    from pipeline.cli import cli

    folder = tmp_path / "2022"
    folder.mkdir()
    write_list(folder / "kiriman.csv", [row()])
    result = CliRunner().invoke(cli, ["validate", str(folder), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "DINSOS: 1 PNS & CPNS" in result.output and "TABLE_MISSING" not in result.output
    write_list(folder / "kiriman.csv", [row(**{"NIP BARU": "198502302010011003"})])
    result = CliRunner().invoke(cli, ["validate", str(folder)])
    assert result.exit_code == 1 and "STAFF_NIP_BIRTH" in result.output and "198502302010011003" not in result.output


def test_validate_proves_each_workbook_once_and_a_list_outside_a_period_folder_needs_one(tmp_path, monkeypatch):
    """Each file is asked whether it is a list by the process that then reads it: a workbook's limits are
    proved once, not once to ask and once to read. A list outside a period folder needs --period."""
    import json

    from click.testing import CliRunner
    from openpyxl import Workbook

    from pipeline import limits
    from pipeline.cli import cli
    from pipeline.template import write_template

    folder = tmp_path / "2022"
    folder.mkdir()
    for opd in ("DINKES", "DINSOS"):
        write_template(folder / f"{opd}.xlsx", REGISTRY[opd], "2022")
    wb = Workbook()
    wb.active.append(HEADER)
    wb.active.append(CLEAN)
    wb.save(folder / "kiriman.xlsx")
    proved, real = [], limits._within
    monkeypatch.setattr(limits, "_within", lambda z, infos, parts=None: proved.append(z.filename) or real(z, infos, parts))
    result = CliRunner().invoke(cli, ["validate", str(folder), "--jobs", "1", "--format", "json", "--lang", "en"])
    assert result.exit_code == 1, result.output  # the empty templates miss every table
    doc, end = json.JSONDecoder().raw_decode(result.output)  # the recaps' document, then the lists'
    assert sorted(s["file"].rsplit("/", 1)[-1] for s in doc["submissions"]) == ["DINKES.xlsx", "DINSOS.xlsx"]
    assert "kiriman.xlsx" in result.output[end:] and "DINSOS" in result.output[end:]  # checked as a list
    assert len(proved) == 3  # three workbooks, each proved once

    alone = tmp_path / "kiriman.xlsx"
    (folder / "kiriman.xlsx").rename(alone)
    result = CliRunner().invoke(cli, ["validate", str(alone), "--lang", "en"])
    assert result.exit_code == 2 and "give --period" in result.output
    result = CliRunner().invoke(cli, ["validate", str(alone), "--period", "2022", "--lang", "en"])
    assert result.exit_code == 0 and "DINSOS: 1 PNS & CPNS" in result.output


def test_policies_decide_which_opds_are_counted_from_their_list(tmp_path):
    from pipeline.catalog import Version
    from pipeline.values import key_text
    from pipeline.staff_run import apply_policy, check_list, sources

    staff = check_list(write_list(tmp_path / "l.csv", [row()]), "2022", REGISTRY)
    es = TABLES["eselon"]
    posts = es.key({"status": "disiapkan", "eselon": "IV.A", "sex": "JML"})
    recap = Version("r" * 64, "2022", "DINSOS", "DINSOS.xlsx", "xlsx", None, "", "", "accepted", "", [],
                    {"eselon": {posts: 4.0}, "golongan": {}})
    assert apply_policy([staff], {"DINSOS": recap}, [], "reconcile", "2022") == {}
    chosen = {"DINSOS": recap}
    assert apply_policy([staff], chosen, [], "recap-first", "2022") == {} and chosen["DINSOS"] is recap
    origins = apply_policy([staff], chosen, [], "list-first", "2022")
    assert origins["DINSOS"]["recap_cells"] == [f"eselon:{key_text(es, posts)}"] and chosen["DINSOS"].kind == "staff"
    parts = sources(chosen, origins)
    assert [(s.kind, s.sha256) for s in parts] == [("list", staff.sha256), ("recap", "r" * 64)]
    assert parts[1].values == {"eselon": {posts: 4.0}}
    alone: dict = {}  # no recap at all: counted from the list, without the echelon table
    origins = apply_policy([staff], alone, [], "recap-first", "2022")
    assert origins["DINSOS"]["recap_sha256"] is None and "eselon" not in alone["DINSOS"].values
    assert [f.code for f in staff.findings] == ["STAFF_POSTS_MISSING"]


def test_the_lists_counts_tell_the_localiser_which_cell_is_wrong(tmp_path):
    """A total that does not add up has three single-cell explanations; the list says which one."""
    from pipeline.read_csv import write_csv
    from pipeline.staff_run import reference_for
    from pipeline.validate import validate_files

    write_staff_sample(tmp_path / "lists", "2022")
    lists = check_lists(sorted((tmp_path / "lists").glob("*.*")), "2022", REGISTRY)
    values = consistent_submission(REGISTRY["DINDIKBUD"], opd_rng(2022, "DINDIKBUD"))
    guru = TABLES["guru"]
    sd = guru.key({"sekolah": "SD"})
    typed, true = values["guru"][sd] + 1, values["guru"][sd]
    values["guru"][sd] = typed  # SD Negeri one too many; SMP and the total as counted
    write_csv(tmp_path / "DINDIKBUD.csv", "DINDIKBUD", "2022", values)

    def located(reference):
        result = validate_files([tmp_path / "DINDIKBUD.csv"], "2022", REGISTRY, reference=reference)[0]
        return sorted((f.code, f.cell["sekolah"], (f.suggestion() or {}).get("value")) for f in result.findings
                      if f.code in ("CELL_SUSPECT", "CELL_CANDIDATE"))

    assert len(located(None)) == 3  # without evidence: SD, SMP or the total
    assert located(reference_for(lists, "DINDIKBUD")) == [("CELL_SUSPECT", "SD", true)]


def test_a_fault_while_checking_one_list_is_a_finding_and_the_others_are_checked(tmp_path, monkeypatch):
    import pipeline.staff_run as staff_run

    write_list(tmp_path / "a.csv", [row()])
    write_list(tmp_path / "b.csv", [row(**{"NIP BARU": "198503122010011004"})])
    real = staff_run.check_list
    monkeypatch.setattr(staff_run, "check_list", lambda p, *a: (_ for _ in ()).throw(RuntimeError("bug"))
                        if p.name == "a.csv" else real(p, *a))
    lists = check_lists([tmp_path / "a.csv", tmp_path / "b.csv"], "2022", REGISTRY)
    assert [f.code for f in lists[0].findings] == ["INTERNAL_ERROR"] and lists[0].status == "rejected"
    assert lists[1].findings == [] and lists[1].opds == ["DINSOS"]
