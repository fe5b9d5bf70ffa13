"""Several agencies: a registry of agencies (instansi) and their OPDs, submissions in raw/PERIOD/<instansi>/,
per-agency and combined tables; agencies publishing to one shared PostgreSQL; ``rekap national``.

The end-to-end tests run the ``rekap`` command on real files in temporary workspaces."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import Callers, Submission
from pgserver import emptied
from pipeline.cli import cli
from pipeline.database import read_frame
from pipeline import text
from pipeline.specs import agencies, agency_registry, load_registry, load_tables, use_specs
from pipeline.validate import validate_files

PERIOD = "2023"
ROOT = Path(__file__).resolve().parent.parent
REGISTRY = """code,name,type,leader,instansi
DINKES,Dinas Kesehatan,dinas,II.B,KOTA-A
DINSOS,Dinas Sosial,dinas,II.B,KOTA-A
DINKES,Dinas Kesehatan,dinas,II.B,KAB-B
DINSOS,Dinas Sosial,dinas,II.B,KAB-B
"""
GRAND = {"table": "golongan", "key": "ruang=JML|gol=JML|sex=JML"}


@pytest.fixture(autouse=True)
def shipped_specs():
    yield
    use_specs()


def rekap(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def grand(sub: Submission) -> float:
    return sub.get("golongan", ruang="JML", gol="JML", sex="JML")


def registry_file(tmp_path: Path, text: str = REGISTRY) -> Path:
    path = tmp_path / "registry.csv"
    path.write_text(text, encoding="utf-8")
    return path


# -- the registry ---------------------------------------------------------------------------------------------

def test_an_opd_of_an_agency_is_known_by_agency_and_code(tmp_path):
    registry = load_registry(registry_file(tmp_path))
    assert list(registry) == ["KOTA-A.DINKES", "KOTA-A.DINSOS", "KAB-B.DINKES", "KAB-B.DINSOS"]
    assert agencies(registry) == ["KOTA-A", "KAB-B"]
    assert registry["KAB-B.DINSOS"].local == "DINSOS" and registry["KAB-B.DINSOS"].instansi == "KAB-B"
    seen = agency_registry(registry, "KAB-B")
    assert seen["DINKES"] is registry["KAB-B.DINKES"] and seen["KAB-B.DINKES"] is registry["KAB-B.DINKES"]
    assert "KOTA-A.DINKES" not in seen


def test_things_are_split_by_agency_in_one_pass_keeping_their_order(tmp_path):
    from pipeline.agencies import registries_by_file, split_by_agency

    registry = load_registry(registry_file(tmp_path, REGISTRY + "DISPAR,Dinas Pariwisata,dinas,II.B,\n"))
    items = [("KAB-B.DINSOS", "a"), (None, "KAB-B"), ("KOTA-A.DINKES", "b"), ("XX.NONE", "KOTA-A"),
             ("DISPAR", "KOTA-A"), ("KAB-B.DINKES", "c"), ("KOTA-A.DINKES", "d"), ("XX.NONE", "ELSEWHERE")]
    split = split_by_agency(registry, items, lambda i: i[0])
    assert split == {"KOTA-A": [("KOTA-A.DINKES", "b"), ("KOTA-A.DINKES", "d")],
                     "KAB-B": [("KAB-B.DINSOS", "a"), ("KAB-B.DINKES", "c")]}  # registry order; an OPD of no agency: out
    by_folder = split_by_agency(registry, items, lambda i: i[0], lambda i: i[1])  # an unknown OPD: its folder's
    assert by_folder["KOTA-A"] == [("KOTA-A.DINKES", "b"), ("XX.NONE", "KOTA-A"), ("KOTA-A.DINKES", "d")]
    assert by_folder["KAB-B"] == [("KAB-B.DINSOS", "a"), (None, "KAB-B"), ("KAB-B.DINKES", "c")]
    assert split_by_agency(registry, [], lambda i: i) == {"KOTA-A": [], "KAB-B": []}
    seen = registries_by_file(registry, {Path("raw/KAB-B/x.xlsx"): "KAB-B"})["raw/KAB-B/x.xlsx"]
    assert seen == agency_registry(registry, "KAB-B") and list(seen) == list(agency_registry(registry, "KAB-B"))


def test_a_one_city_registry_has_no_agencies():
    registry = load_registry()
    assert agencies(registry) == [] and registry["DINKES"].code == "DINKES" and registry["DINKES"].local == "DINKES"


@pytest.mark.parametrize("bad", ["kota a", "../X", "A/B", ".HIDDEN"])
def test_an_agency_code_that_is_no_plain_folder_name_is_refused(tmp_path, bad):
    with pytest.raises(ValueError, match="agency code"):
        load_registry(registry_file(tmp_path, f"code,name,type,leader,instansi\nDINKES,D,dinas,II.B,{bad}\n"))


def test_an_opd_listed_twice_in_one_agency_is_refused(tmp_path):
    with pytest.raises(ValueError, match="twice"):
        load_registry(registry_file(tmp_path, REGISTRY + "DINKES,Dinas Kesehatan,dinas,II.B,KAB-B\n"))


def test_a_submission_names_its_opd_within_its_agency_only(tmp_path):
    registry = load_registry(registry_file(tmp_path))
    own = Submission("DINSOS", PERIOD).write_csv(tmp_path / "a.csv")
    by_id = Submission("KAB-B.DINSOS", PERIOD).write_csv(tmp_path / "b.csv")
    other = Submission("KOTA-A.DINSOS", PERIOD).write_csv(tmp_path / "c.csv")
    results = validate_files([own, by_id, other], PERIOD, agency_registry(registry, "KAB-B"))
    assert [r.opd for r in results] == ["KAB-B.DINSOS", "KAB-B.DINSOS", None]
    assert [r.status for r in results] == ["accepted", "accepted", "rejected"]
    assert "OPD_UNKNOWN" in {f.code for f in results[2].findings}


# -- a province: two agencies in one workspace, and a city of its own, publishing to one PostgreSQL ------------

class Site:
    def __init__(self, root: Path, registry: str | None, db: str, instansi: str = ""):
        self.root = root
        assert rekap("init", root).exit_code == 0
        if registry is not None:
            (root / "registry.csv").write_text(registry, encoding="utf-8")
        config = root / "rekap.toml"
        text = config.read_text(encoding="utf-8")
        text = text.replace('instansi = ""', f'instansi = "{instansi}"').replace('database = ""', f'database = "{db}"')
        config.write_text(text, encoding="utf-8")

    def submit(self, sub: Submission, *where: str) -> Path:
        folder = self.root / "raw" / PERIOD / Path(*where[:-1]) if len(where) > 1 else self.root / "raw" / PERIOD
        folder.mkdir(parents=True, exist_ok=True)
        return sub.write_csv(folder / where[-1])

    def __call__(self, *args):
        return rekap(*args, "--workspace", self.root)

    def release(self) -> Path:
        return self.root / "processed" / PERIOD

    def cells(self, folder: Path) -> pd.DataFrame:
        return pd.read_csv(folder / "cells.csv", keep_default_na=False)


def value(cells: pd.DataFrame, table: str, key: str) -> float:
    return float(cells[(cells["table"] == table) & (cells["key"] == key)]["value"].item())


@pytest.fixture
def shared_db(pg_url):
    return emptied(pg_url)


def test_two_agencies_in_one_workspace_and_a_city_publish_to_one_database_then_national_tables(tmp_path, shared_db):
    province = Site(tmp_path / "provinsi", REGISTRY, shared_db)
    a_dinkes, b_dinkes, b_dinsos = (Submission("DINKES", PERIOD), Submission("DINKES", PERIOD).scaled(2),
                                    Submission("KAB-B.DINSOS", PERIOD).scaled(3))
    province.submit(a_dinkes, "KOTA-A", "DINKES.csv")
    province.submit(b_dinkes, "KAB-B", "DINKES.csv")  # the same OPD code, another agency
    province.submit(b_dinsos, "KAB-B", "dinsos-kirim.csv")  # named by its id
    province.submit(Submission("KOTA-A.DINSOS", PERIOD), "KAB-B", "salah.csv")  # another agency's OPD: unknown here
    province.submit(Submission("DINSOS", PERIOD), "KOTA-X", "DINSOS.csv")  # no agency of the registry: never read
    result = province("run", "--period", PERIOD)
    assert result.exit_code == 1, result.output  # salah.csv is rejected

    manifest = json.loads((province.release() / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["used"]) == {"KAB-B.DINKES", "KAB-B.DINSOS", "KOTA-A.DINKES"}
    assert set(manifest["coverage"]["agencies"]) == {"KOTA-A", "KAB-B"}
    assert manifest["coverage"]["agencies"]["KOTA-A"]["missing"] == ["KOTA-A.DINSOS"]
    inputs = {i["file"]: i for i in manifest["inputs"]}
    assert set(inputs) == {"KOTA-A/DINKES.csv", "KAB-B/DINKES.csv", "KAB-B/dinsos-kirim.csv", "KAB-B/salah.csv"}
    assert inputs["KAB-B/salah.csv"]["opd"] is None and inputs["KAB-B/salah.csv"]["status"] == "rejected"
    assert not any(name.startswith("KOTA-X") for name in inputs)  # KOTA-X is no agency of the registry

    combined = province.cells(province.release())
    a_cells = province.cells(province.release() / "instansi" / "KOTA-A")
    b_cells = province.cells(province.release() / "instansi" / "KAB-B")
    assert value(a_cells, **GRAND) == grand(a_dinkes)
    assert value(b_cells, **GRAND) == grand(b_dinkes) + grand(b_dinsos)
    assert value(combined, **GRAND) == grand(a_dinkes) + grand(b_dinkes) + grand(b_dinsos)
    assert (province.release() / "instansi" / "KAB-B" / "tables").is_dir()

    coverage = pd.read_csv(province.release() / "coverage.csv", keep_default_na=False)
    by_opd = coverage.set_index("opd")
    assert by_opd.loc["KAB-B.DINKES", "instansi"] == "KAB-B" and by_opd.loc["KOTA-A.DINSOS", "status"] == "not_submitted"
    assert (province.root / "reports" / PERIOD / "opd" / "KAB-B.DINKES.html").is_file()
    assert (province.root / "reports" / PERIOD / "opd" / "KOTA-A.DINKES.html").is_file()
    folder = province.root / "reports" / PERIOD
    dashboard = (folder / "index.html").read_text(encoding="utf-8")
    # each agency's line: a link to its page, its OPDs in the tables and their statuses, its own release's status
    assert '<tr data-instansi="KOTA-A"><td class="mono"><a href="instansi/KOTA-A.html">KOTA-A</a></td><td>1 dari 2</td>' \
        '<td class="small">1 diterima, 1 belum mengirim</td>' in dashboard
    assert '<td class="small">KOTA-A.DINSOS</td><td>SEMENTARA</td></tr>' in dashboard
    assert '<tr data-instansi="KAB-B"><td class="mono"><a href="instansi/KAB-B.html">KAB-B</a></td><td>2 dari 2</td>' \
        '<td class="small">2 diterima, 1 ditolak</td>' in dashboard and '<td class="small">-</td><td>FINAL</td></tr>' in dashboard
    assert "data-opd=" not in dashboard and 'id="opds-by-agency"' in dashboard  # the OPDs are on their agency's page
    # an agency's page: its own OPDs (and the file of its folder that names another agency's OPD), its release
    kota_a = (folder / "instansi" / "KOTA-A.html").read_text(encoding="utf-8")
    kab_b = (folder / "instansi" / "KAB-B.html").read_text(encoding="utf-8")
    assert re.findall(r'data-opd="([^"]+)"', kota_a) == ["KOTA-A.DINKES", "KOTA-A.DINSOS"]
    assert re.findall(r'data-opd="([^"]+)"', kab_b) == ["KAB-B.DINKES", "KAB-B.DINSOS", "?"] and "KAB-B/salah.csv" in kab_b
    assert 'href="../opd/KOTA-A.DINKES.html"' in kota_a and 'href="../opd/KOTA-A.DINKES-umpan-balik.xlsx"' in kota_a
    assert 'data-status="sementara"' in kota_a and 'data-status="final"' in kab_b
    assert "1 dari 2 OPD wajib dalam tabel instansi" in kota_a and "tabel kota" not in kota_a  # its own tables
    assert '<a href="../index.html">' in kota_a
    # and an OPD's page leads back to its agency's
    assert '<a href="../instansi/KAB-B.html">&larr; Instansi KAB-B</a>' in (folder / "opd" / "KAB-B.DINKES.html").read_text(
        encoding="utf-8")

    sql = read_frame(shared_db, "rekap_cells", PERIOD)
    assert set(sql["instansi"]) == {"KOTA-A", "KAB-B"}
    grand_sql = sql[(sql["table"] == GRAND["table"]) & (sql["key"] == GRAND["key"])].set_index("instansi")["value"]
    assert grand_sql.to_dict() == {"KOTA-A": grand(a_dinkes), "KAB-B": grand(b_dinkes) + grand(b_dinsos)}
    lineage = read_frame(shared_db, "rekap_lineage", PERIOD)
    assert set(zip(lineage["instansi"], lineage["opd"])) == {
        ("KOTA-A", "KOTA-A.DINKES"), ("KAB-B", "KAB-B.DINKES"), ("KAB-B", "KAB-B.DINSOS")}

    city = Site(tmp_path / "kota", None, shared_db, instansi="KOTA-C")  # a city on its own, tagged in the shared db
    c_dinkes = Submission("DINKES", PERIOD).scaled(5)
    city.submit(c_dinkes, "DINKES.csv")
    assert city("run", "--period", PERIOD).exit_code == 0
    assert not (city.release() / "instansi").exists()
    assert set(read_frame(shared_db, "rekap_cells", PERIOD)["instansi"]) == {"KOTA-A", "KAB-B", "KOTA-C"}

    # each agency's release states its own status: KAB-B has both its OPDs, KOTA-A one of two, KOTA-C one of 34
    statuses = read_frame(shared_db, "rekap_release", PERIOD).set_index("instansi")["status"].to_dict()
    assert statuses == {"KOTA-A": "sementara", "KAB-B": "final", "KOTA-C": "sementara"}

    national = province("national", "--period", PERIOD, "--lang", "en")
    assert national.exit_code == 0, national.output
    assert "3 agencies summed" in national.output
    assert "Release status: PROVISIONAL (sementara): 3 of 3 agencies published this period; final once every agency " \
           "has published a final release of this period; still provisional: KOTA-A, KOTA-C" in national.output
    folder = province.root / "processed" / "national" / PERIOD
    stated = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert stated["gate"] == "passed"
    assert {k: stated["release"][k] for k in ("status", "included", "required", "missing", "provisional")} == \
        {"status": "sementara", "included": 3, "required": 3, "missing": [], "provisional": ["KOTA-A", "KOTA-C"]}
    assert [(a["instansi"], a["published"], a["status"]) for a in stated["agencies"]] == \
        [("KAB-B", True, "final"), ("KOTA-A", True, "sementara"), ("KOTA-C", True, "sementara")]
    total = grand(a_dinkes) + grand(b_dinkes) + grand(b_dinsos) + grand(c_dinkes)
    assert value(province.cells(folder), **GRAND) == total
    agencies_frame = pd.read_csv(folder / "coverage.csv", keep_default_na=False)
    assert list(agencies_frame["instansi"]) == ["KAB-B", "KOTA-A", "KOTA-C"]
    contributions = pd.read_csv(folder / "lineage.csv", keep_default_na=False)
    assert set(contributions["instansi"]) == {"KAB-B", "KOTA-A", "KOTA-C"}
    stored = read_frame(shared_db, "rekap_national_cells", PERIOD)
    assert stored[(stored["table"] == GRAND["table"]) & (stored["key"] == GRAND["key"])]["value"].item() == total
    assert set(stored["release"]) == {"sementara"}
    # every total and percentage of the national tables is recomputed: the book's tables are there
    assert sorted(p.name for p in (folder / "tables").iterdir())

    # one agency's file changes: only its rows change in the shared database, the others' stay as they were
    before = read_frame(shared_db, "rekap_cells", PERIOD)
    province.submit(Submission("DINKES", PERIOD).scaled(4), "KOTA-A", "DINKES-revisi.csv")
    assert province("run", "--period", PERIOD).exit_code == 1
    after = read_frame(shared_db, "rekap_cells", PERIOD)
    for tag in ("KAB-B", "KOTA-C"):
        pd.testing.assert_frame_equal(after[after["instansi"] == tag].reset_index(drop=True),
                                      before[before["instansi"] == tag].reset_index(drop=True))
    mine = after[(after["instansi"] == "KOTA-A") & (after["table"] == GRAND["table"]) & (after["key"] == GRAND["key"])]
    assert mine["value"].item() == grand(Submission().scaled(4))

    # a national workspace whose registry names an agency that never published: it is missing, in Indonesian
    nation = Site(tmp_path / "nasional", REGISTRY + "DINKES,Dinas Kesehatan,dinas,II.B,KAB-D\n", shared_db)
    national = nation("national", "--period", PERIOD)
    assert national.exit_code == 0, national.output
    assert "SEMENTARA: 3 dari 4 instansi menerbitkan periode ini" in national.output
    assert "belum masuk: KAB-D" in national.output
    stated = json.loads((nation.root / "processed" / "national" / PERIOD / "manifest.json").read_text(encoding="utf-8"))
    assert (stated["release"]["status"], stated["release"]["missing"]) == ("sementara", ["KAB-D"])
    coverage = pd.read_csv(nation.root / "processed" / "national" / PERIOD / "coverage.csv", keep_default_na=False)
    assert coverage.set_index("instansi")["published"].to_dict() == \
        {"KAB-B": True, "KAB-D": False, "KOTA-A": True, "KOTA-C": True}

    # the national tables go through the publish gate: a published count below zero stops them, nothing written
    import sqlalchemy as sa

    with sa.create_engine(shared_db).begin() as conn:
        conn.execute(sa.text("UPDATE rekap_cells SET value = -1000 WHERE instansi = 'KOTA-C' AND \"table\" = 'golongan' "
                             "AND key = 'ruang=A|gol=I|sex=L'"))
    written = (nation.root / "processed" / "national" / PERIOD / "manifest.json").read_bytes()
    national = nation("national", "--period", PERIOD, "--lang", "en")
    assert national.exit_code == 4, national.output
    assert "National tables 2023 NOT written: the publish gate failed:" in national.output
    spec = load_tables()["golongan"]  # the table by its title, the cell by its members
    cell = " ".join(text.label(spec.dim(n).member(c).label, "en") for n, c in (("ruang", "A"), ("gol", "I"), ("sex", "L")))
    assert f"Counts: negative count: {spec.title['en']}, {cell} = " in national.output
    assert (nation.root / "processed" / "national" / PERIOD / "manifest.json").read_bytes() == written


def test_national_without_published_agencies_is_a_usage_error(tmp_path, shared_db):
    site = Site(tmp_path / "nasional", None, shared_db)
    result = site("national", "--period", PERIOD)
    assert result.exit_code == 2 and "2023" in result.output


def test_a_one_city_workspace_writes_no_agency_column(tmp_path):
    site = Site(tmp_path / "kota", None, "")
    site.submit(Submission("DINKES", PERIOD), "DINKES.csv")
    assert site("run", "--period", PERIOD).exit_code == 0
    coverage = pd.read_csv(site.release() / "coverage.csv")
    assert "instansi" not in coverage.columns and not (site.release() / "instansi").exists()
    manifest = json.loads((site.release() / "manifest.json").read_text(encoding="utf-8"))
    assert "agencies" not in manifest["coverage"] and "instansi" not in manifest
    dashboard = (site.root / "reports" / PERIOD / "index.html").read_text(encoding="utf-8")
    assert 'id="agencies"' not in dashboard and 'data-opd="DINKES"' in dashboard
    assert not (site.root / "reports" / PERIOD / "instansi").exists()


def test_a_new_period_makes_each_agency_its_folder_and_templates_carry_the_opd_id(tmp_path):
    import openpyxl

    site = Site(tmp_path / "provinsi", REGISTRY, "")
    assert site("period", "new", PERIOD).exit_code == 0
    assert sorted(p.name for p in (site.root / "raw" / PERIOD).iterdir()) == ["KAB-B", "KOTA-A"]
    template = site.root / "templates" / PERIOD / "KAB-B.DINKES.xlsx"
    cells = [c.value for row in openpyxl.load_workbook(template, read_only=True)["Identitas"].iter_rows()
             for c in row]
    assert "KAB-B.DINKES" in cells


def test_the_gate_checks_a_city_rule_per_agency_not_over_their_sum():
    from pipeline.gate import run_gate

    one_sekda = Submission("SETDA", PERIOD).set("eselon", 1, status="terisi", eselon="II.A", sex="L") \
        .set("eselon", 1, status="disiapkan", eselon="II.A", sex="JML").recompute("eselon")
    two_cities = one_sekda.copy().scaled(2).values  # the sum of two agencies, each with its one II.A post
    assert two_cities["eselon"][("terisi", "II.A", "JML")] == 2
    assert not run_gate(two_cities, PERIOD, None).ok
    assert run_gate(two_cities, PERIOD, None, city_scope=False).ok


def test_the_same_bytes_in_two_agencies_folders_reach_each_agencys_own_opd(tmp_path):
    site = Site(tmp_path / "provinsi", REGISTRY, "")
    same = Submission("DINKES", PERIOD)  # names only the bare code: which OPD it is depends on the folder
    a = site.submit(same, "KOTA-A", "DINKES.csv")
    assert site("run", "--period", PERIOD).exit_code == 0
    b = site.submit(same, "KAB-B", "DINKES.csv")  # the same bytes, seen before in the other agency's folder
    assert a.read_bytes() == b.read_bytes()

    def published() -> dict:
        return json.loads((site.release() / "manifest.json").read_text(encoding="utf-8"))

    for _ in range(2):  # the second run takes both from the catalog
        assert site("run", "--period", PERIOD).exit_code == 0
        manifest = published()
        assert set(manifest["used"]) == {"KOTA-A.DINKES", "KAB-B.DINKES"}
        assert sorted(i["opd"] for i in manifest["inputs"]) == ["KAB-B.DINKES", "KOTA-A.DINKES"]
        for agency in ("KOTA-A", "KAB-B"):
            assert value(site.cells(site.release() / "instansi" / agency), **GRAND) == grand(same)
        assert value(site.cells(site.release()), **GRAND) == 2 * grand(same)
    # a catalog rebuilt by `rekap repair` checks each version against its own agency's OPDs again
    (site.root / "processed" / "catalog.sqlite").write_bytes(b"not a database")
    assert site("repair").exit_code == 0
    again = site("run", "--period", PERIOD)
    assert again.exit_code == 0 and "TIDAK BERUBAH" in again.output, again.output
    a.unlink()  # KOTA-A withdraws its file: KAB-B's stays
    site("run", "--period", PERIOD)
    assert set(published()["used"]) == {"KAB-B.DINKES"}


def test_each_agencys_release_states_its_own_status_from_its_own_opds(tmp_path):
    site = Site(tmp_path / "provinsi", REGISTRY, "")
    site.submit(Submission("DINKES", PERIOD), "KOTA-A", "DINKES.csv")  # KOTA-A: 1 of its 2 OPDs
    site.submit(Submission("DINKES", PERIOD), "KAB-B", "DINKES.csv")  # KAB-B: both of its OPDs
    site.submit(Submission("DINSOS", PERIOD), "KAB-B", "DINSOS.csv")
    result = site("run", "--period", PERIOD, "--lang", "en")
    assert result.exit_code == 0, result.output
    assert "Release by agency: 1 of 2 agencies final; still provisional: KOTA-A" in result.output
    status = site("status", "--period", PERIOD, "--lang", "en")
    assert "Release by agency: 1 of 2 agencies final; still provisional: KOTA-A" in status.output, status.output

    def release(*agency: str) -> dict:
        folder = site.release().joinpath("instansi", *agency) if agency else site.release()
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["release"]

    assert (release()["status"], release()["included"], release()["required"]) == ("sementara", 3, 4)
    assert {a: r["status"] for a, r in release()["agencies"].items()} == {"KOTA-A": "sementara", "KAB-B": "final"}
    assert (release("KOTA-A")["status"], release("KOTA-A")["missing"]) == ("sementara", ["KOTA-A.DINSOS"])
    assert (release("KAB-B")["status"], release("KAB-B")["reason"], release("KAB-B")["missing"]) == \
        ("final", "coverage", [])
    sql = f"sqlite:///{site.root / 'processed' / 'catalog.sqlite'}"
    published = read_frame(sql, "rekap_release", PERIOD).set_index("instansi")
    assert published["status"].to_dict() == {"KOTA-A": "sementara", "KAB-B": "final"}
    cells = read_frame(sql, "rekap_cells", PERIOD)
    assert dict(cells.groupby("instansi")["release"].unique().map(list)) == \
        {"KAB-B": ["final"], "KOTA-A": ["sementara"]}

    # the officer finalises the release: each agency's data as given is final too (KAB-B by its coverage)
    result = site("release", "--final", "--by", "Siti", "--period", PERIOD)
    assert result.exit_code == 0, result.output
    assert "Rilis per instansi: 2 dari 2 instansi final" in result.output
    assert (release("KOTA-A")["status"], release("KOTA-A")["reason"], release("KOTA-A")["finalised_by"]) == \
        ("final", "officer", "Siti")
    assert (release("KAB-B")["status"], release("KAB-B")["reason"]) == ("final", "coverage")
    assert site("run", "--period", PERIOD).exit_code == 0  # nothing changed: the finalisation holds
    assert release("KOTA-A")["reason"] == "officer"


def test_status_of_a_registry_of_agencies_is_a_line_per_agency_and_lists_the_opds_of_the_one_asked_for(tmp_path):
    """A national registry has thousands of OPDs: ``rekap status`` gives each agency a line (its OPDs'
    statuses, its own release); ``--instansi`` lists the OPDs of the agencies asked for."""
    site = Site(tmp_path / "provinsi", REGISTRY, "")
    site.submit(Submission("DINKES", PERIOD), "KOTA-A", "DINKES.csv")
    site.submit(Submission("DINKES", PERIOD), "KAB-B", "DINKES.csv")
    site.submit(Submission("DINSOS", PERIOD).set("golongan", 999, ruang="A", gol="II", sex="L"), "KAB-B", "DINSOS.csv")
    site.submit(Submission("KOTA-Z.DINKES", PERIOD), "lain.csv")  # of no agency: its own line
    assert site("run", "--period", PERIOD).exit_code == 1

    status = site("status", "--period", PERIOD, "--lang", "en")
    assert status.exit_code == 0, status.output
    lines = status.output.splitlines()
    assert lines[0].startswith(f"Period {PERIOD}: status by agency")
    assert lines[1:3] == ["  KOTA-A  2 OPDs: 1 accepted, 1 not submitted  [release PROVISIONAL (sementara)]",
                          "  KAB-B   2 OPDs: 1 accepted, 1 rejected  [release PROVISIONAL (sementara)]"]
    assert lines[3].split()[-1] == "lain.csv" and "rejected (not an OPD code of the registry)" in lines[3]
    assert lines[4] == "One agency's OPDs: rekap status --instansi CODE"
    assert not [line for line in lines if line.lstrip().startswith(("KOTA-A.", "KAB-B."))]  # no OPD's own line
    assert "Release by agency: 0 of 2 agencies final" in status.output

    one = site("status", "--period", PERIOD, "--instansi", "kab-b")
    assert one.exit_code == 0, one.output
    lines = one.output.splitlines()
    assert lines[0].startswith(f"Periode {PERIOD}: status setiap OPD instansi KAB-B")
    assert [line.split()[:2] for line in lines[1:3]] == [["KAB-B.DINKES", "diterima"], ["KAB-B.DINSOS", "ditolak"]]
    assert not [line for line in lines if line.lstrip().startswith("KOTA-A.")]
    assert any(line.startswith("Rilis instansi KAB-B: SEMENTARA: 1 dari 2 OPD wajib dalam tabel instansi;")
               for line in lines), one.output  # its own tables, not the city's
    both = site("status", "--period", PERIOD, "--instansi", "KOTA-A", "--instansi", "KAB-B")
    assert sorted(line.split()[0] for line in both.output.splitlines() if line.startswith("  K")) == \
        ["KAB-B.DINKES", "KAB-B.DINSOS", "KOTA-A.DINKES", "KOTA-A.DINSOS"]

    unknown = site("status", "--period", PERIOD, "--instansi", "KOTA-Z", "--lang", "en")
    assert unknown.exit_code == 2
    assert unknown.output.strip() == "rekap: no agency 'KOTA-Z' in the registry; known: KOTA-A, KAB-B"
    city = Site(tmp_path / "kota", None, "")
    city.submit(Submission("DINKES", PERIOD), "DINKES.csv")
    assert city("run", "--period", PERIOD).exit_code == 0
    use_specs()  # the registry read is cached by path: the city's own
    plain = city("status", "--period", PERIOD)
    assert plain.exit_code == 0 and any(line.split()[:2] == ["DINKES", "diterima"] for line in plain.output.splitlines())
    refused = city("status", "--period", PERIOD, "--instansi", "KOTA-A", "--lang", "en")
    assert refused.exit_code == 2
    assert refused.output.strip() == "rekap: this registry has no agencies: --instansi does not apply"


def test_a_staff_list_in_an_agencys_folder_is_matched_to_that_agencys_opds(tmp_path):
    from test_staff import CLEAN, HEADER, write_list

    site = Site(tmp_path / "provinsi", REGISTRY, "")
    site.submit(Submission("DINKES", PERIOD), "KOTA-A", "DINKES.csv")
    (site.root / "raw" / PERIOD / "KAB-B").mkdir(parents=True)
    # one employee of "Dinas Sosial": both agencies have one; the list is in KAB-B's folder
    write_list(site.root / "raw" / PERIOD / "KAB-B" / "pegawai.csv", [CLEAN])
    result = site("run", "--period", PERIOD, "--staff-policy", "recap-first")
    assert result.exit_code == 0, result.output
    manifest = json.loads((site.release() / "manifest.json").read_text(encoding="utf-8"))
    assert [(s["file"], s["opds"], s["status"]) for s in manifest["staff_lists"]] == \
        [("KAB-B/pegawai.csv", ["KAB-B.DINSOS"], "accepted")]
    assert set(manifest["from_lists"]) == {"KAB-B.DINSOS"}
    assert set(manifest["used"]) == {"KOTA-A.DINKES", "KAB-B.DINSOS"}
    staff = {"table": "golongan", "key": "ruang=JML|gol=JML|sex=JML"}
    assert value(site.cells(site.release() / "instansi" / "KAB-B"), **staff) == 1


def test_two_agencies_files_of_one_name_are_two_inputs_each_reported_on_its_own_opd(tmp_path):
    """KOTA-A's DINKES.csv is clean, KAB-B's has a slip: the run records, publishes and reports them as two
    inputs named by folder, and each OPD's report shows its own file's findings, never the other's."""
    from pipeline.catalog import Catalog
    from pipeline.report_data import load_period

    site = Site(tmp_path / "provinsi", REGISTRY, "")
    site.submit(Submission("DINKES", PERIOD), "KOTA-A", "DINKES.csv")
    site.submit(Submission("DINKES", PERIOD).add("golongan", 5, ruang="A", gol="IV", sex="P"), "KAB-B", "DINKES.csv")
    (site.root / "raw" / PERIOD / "KAB-B" / "surat.pdf").write_bytes(b"%PDF-1.4")
    (site.root / "raw" / PERIOD / "KOTA-A" / "surat.pdf").write_bytes(b"%PDF-1.4")
    assert site("run", "--period", PERIOD).exit_code == 1
    expected = [("KAB-B/DINKES.csv", "KAB-B.DINKES", "rejected"), ("KOTA-A/DINKES.csv", "KOTA-A.DINKES", "accepted")]
    manifest = json.loads((site.release() / "manifest.json").read_text(encoding="utf-8"))
    assert sorted((i["file"], i["opd"], i["status"]) for i in manifest["inputs"]) == expected
    coverage = pd.read_csv(site.release() / "coverage.csv", keep_default_na=False).set_index("opd")
    assert coverage.loc["KAB-B.DINKES", "file"] == "KAB-B/DINKES.csv"
    assert coverage.loc["KOTA-A.DINKES", ["file", "instansi"]].tolist() == ["KOTA-A/DINKES.csv", "KOTA-A"]
    catalog = Catalog(site.root / "processed" / "catalog.sqlite")
    try:
        run = catalog.runs(PERIOD, limit=1)[0]["id"]
        assert sorted((i["file"], i["opd"], i["status"]) for i in catalog.run_inputs(run)) == expected
        assert sorted(catalog.ignored(run)) == ["KAB-B/surat.pdf", "KOTA-A/surat.pdf"]
        assert catalog.release_versions(run) == manifest["used"] and list(manifest["used"]) == ["KOTA-A.DINKES"]
        assert "instansi/KOTA-A/cells.csv" in catalog.release_outputs(run)
    finally:
        catalog.close()
    reports = {o.code: o for o in load_period(site.root / "processed", PERIOD,
                                              load_registry(site.root / "registry.csv")).opds}
    assert {f.code for f in reports["KAB-B.DINKES"].findings} >= {"SUM_MISMATCH", "CELL_SUSPECT"}
    assert reports["KAB-B.DINKES"].file == "KAB-B/DINKES.csv" and reports["KAB-B.DINKES"].status == "rejected"
    assert [f.code for f in reports["KOTA-A.DINKES"].findings if f.severity == "error"] == []
    assert reports["KOTA-A.DINKES"].file == "KOTA-A/DINKES.csv"


def test_a_file_vanishing_in_two_agencies_folders_is_a_finding_on_each(tmp_path):
    """Two agencies' files of one name that vanish between discovery and reading are two versions (keyed by
    name and agency), each with its own finding: neither hides the other's."""
    from pipeline.run import _hash

    gone = {a: _hash(tmp_path / "2022" / a / "DINKES.xlsx", "2022", a).version for a in ("KOTA-A", "KAB-B")}
    assert gone["KOTA-A"].sha256 != gone["KAB-B"].sha256
    assert gone["KOTA-A"].sha256.endswith("@KOTA-A") and gone["KAB-B"].sha256.endswith("@KAB-B")
    assert [f.code for v in gone.values() for f in v.findings] == ["FILE_NOT_FOUND", "FILE_NOT_FOUND"]
    assert "@" not in _hash(tmp_path / "2022" / "DINKES.xlsx", "2022").version.sha256  # one city: as before


def test_an_unchanged_agencys_sub_release_is_linked_not_rewritten_and_its_rows_left_as_they_are(tmp_path):
    """One agency's file changes: the other agency's sub-release files are the current release's (the same
    inodes), only its manifest is written anew; its SQL rows are not published again (its release row still
    names the run that published them); and the whole release is what a run from scratch writes.

    Before that, a quiet night: with nothing changed each agency's coverage is counted (its summary is part of
    what tells a changed release) but no frame is made, so the run imports neither pandas nor the checkers;
    the run after the change does."""
    from test_cli import PROBE  # runs the CLI and prints which of the named libraries it imported
    from test_incremental import _files, _normal_manifest
    from test_run import NOT_ON_A_QUIET_RUN

    site = Site(tmp_path / "provinsi", REGISTRY, "")
    site.submit(Submission("DINKES", PERIOD), "KOTA-A", "DINKES.csv")
    site.submit(Submission("DINKES", PERIOD).scaled(2), "KAB-B", "DINKES.csv")
    site.submit(Submission("DINSOS", PERIOD).scaled(3), "KAB-B", "DINSOS.csv")
    assert site("run", "--period", PERIOD).exit_code == 0
    first = json.loads((site.release() / "manifest.json").read_text(encoding="utf-8"))["run_id"]
    before = {name: path.stat().st_ino for name, path in _files(site.release()).items()}

    def probed() -> tuple[str, set[str]]:
        proc = subprocess.run([sys.executable, "-c", PROBE.format(heavy=set(NOT_ON_A_QUIET_RUN)), "run", "--period",
                               PERIOD, "--workspace", str(site.root)],
                              capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert proc.returncode == 0, proc.stderr
        shown, imported = proc.stdout.rsplit("imported:", 1)
        return shown, {m.split(".")[0] for m in imported.split()}

    shown, imported = probed()
    assert "TIDAK BERUBAH" in shown and imported == set()

    site.submit(Submission("DINKES", PERIOD).scaled(4), "KOTA-A", "DINKES.csv")
    shown, imported = probed()
    assert "DITERBITKAN" in shown and {"pandas", "numpy", "pyarrow"} <= imported
    coverage = pd.read_csv(site.release() / "coverage.csv", keep_default_na=False)
    assert list(coverage.columns[:3]) == ["period", "instansi", "opd"]
    assert dict(zip(coverage["opd"], coverage["instansi"])) == {
        "KOTA-A.DINKES": "KOTA-A", "KOTA-A.DINSOS": "KOTA-A", "KAB-B.DINKES": "KAB-B", "KAB-B.DINSOS": "KAB-B"}
    mine = pd.read_csv(site.release() / "instansi" / "KOTA-A" / "coverage.csv", keep_default_na=False)
    assert list(mine["opd"]) == ["KOTA-A.DINKES", "KOTA-A.DINSOS"] and "instansi" not in mine.columns
    after = _files(site.release())
    assert set(after) == set(before)
    kept = {name for name, path in after.items() if path.stat().st_ino == before[name]}
    assert kept == {name for name in before if name.startswith("instansi/KAB-B/") and name != "instansi/KAB-B/manifest.json"}
    assert len(kept) > 5 and value(site.cells(site.release() / "instansi" / "KOTA-A"), **GRAND) == \
        grand(Submission().scaled(4))
    sql = f"sqlite:///{site.root / 'processed' / 'catalog.sqlite'}"
    runs = read_frame(sql, "rekap_release", PERIOD).set_index("instansi")["run_id"].to_dict()
    second = json.loads((site.release() / "manifest.json").read_text(encoding="utf-8"))["run_id"]
    assert runs == {"KAB-B": first, "KOTA-A": second}

    fresh = Site(tmp_path / "baru", REGISTRY, "")
    shutil.copytree(site.root / "raw", fresh.root / "raw", dirs_exist_ok=True)
    assert fresh("run", "--period", PERIOD).exit_code == 0
    theirs = _files(fresh.release())
    assert set(theirs) == set(after)
    for name, path in after.items():
        if name.endswith("manifest.json"):
            assert _normal_manifest(path.read_text()) == _normal_manifest(theirs[name].read_text()), name
        else:
            assert path.read_bytes() == theirs[name].read_bytes(), name
    for table in ("rekap_cells", "rekap_lineage", "rekap_coverage"):
        pd.testing.assert_frame_equal(read_frame(sql, table, PERIOD), read_frame(
            f"sqlite:///{fresh.root / 'processed' / 'catalog.sqlite'}", table, PERIOD))


def test_each_agencys_page_is_written_again_only_when_it_changed_and_goes_when_the_agency_leaves(tmp_path):
    """A registry of agencies: each agency's OPDs are on its own page (``reports/PERIOD/instansi/<INSTANSI>.html``),
    which a run writes again only when what it shows changed: with nothing changed neither page is written,
    with a file of KAB-B's changed KOTA-A's page is left as it is (the same inode); the pages are those a run
    from scratch writes. An agency that leaves the registry takes its page with it."""
    site = Site(tmp_path / "provinsi", REGISTRY, "")
    site.submit(Submission("DINKES", PERIOD), "KOTA-A", "DINKES.csv")
    site.submit(Submission("DINKES", PERIOD).scaled(2), "KAB-B", "DINKES.csv")
    assert site("run", "--period", PERIOD).exit_code == 0
    pages = site.root / "reports" / PERIOD / "instansi"

    def inodes() -> dict[str, int]:
        return {path.name: path.stat().st_ino for path in pages.iterdir()}

    first = inodes()
    assert set(first) == {"KOTA-A.html", "KAB-B.html"}
    assert 'data-opd="KAB-B.DINSOS" data-status="not_submitted"' in (pages / "KAB-B.html").read_text(encoding="utf-8")
    assert site("run", "--period", PERIOD).exit_code == 0
    assert inodes() == first

    site.submit(Submission("DINSOS", PERIOD).scaled(3), "KAB-B", "DINSOS.csv")
    assert site("run", "--period", PERIOD).exit_code == 0
    second = inodes()
    assert second["KOTA-A.html"] == first["KOTA-A.html"] and second["KAB-B.html"] != first["KAB-B.html"]
    assert 'data-opd="KAB-B.DINSOS" data-status="accepted"' in (pages / "KAB-B.html").read_text(encoding="utf-8")
    fresh = Site(tmp_path / "baru", REGISTRY, "")
    shutil.copytree(site.root / "raw", fresh.root / "raw", dirs_exist_ok=True)
    assert fresh("run", "--period", PERIOD).exit_code == 0
    theirs = fresh.root / "reports" / PERIOD / "instansi"
    assert sorted(p.name for p in theirs.iterdir()) == sorted(second)
    assert all((pages / name).read_bytes() == (theirs / name).read_bytes() for name in second)

    (site.root / "registry.csv").write_text("\n".join(line for line in REGISTRY.splitlines() if not line.endswith(
        "KOTA-A")) + "\n", encoding="utf-8")
    site("run", "--period", PERIOD)
    assert inodes().keys() == {"KAB-B.html"}
    dashboard = (site.root / "reports" / PERIOD / "index.html").read_text(encoding="utf-8")
    assert 'data-instansi="KAB-B"' in dashboard and 'data-instansi="KOTA-A"' not in dashboard


def test_agencies_sub_releases_are_written_by_the_workers_and_the_same_bytes_with_one_job_or_two(tmp_path, monkeypatch):
    """Each agency's sub-release is summed and written on the pool: with two jobs the writing happens in
    worker processes, and the release is the same files, byte for byte, as with one job."""
    import pipeline.publish
    from test_incremental import _files, _normal_manifest

    writers = Callers(monkeypatch, tmp_path / "writers", pipeline.publish, "write_release", lambda folder: folder.name)
    releases = {}
    for jobs in ("1", "2"):
        site = Site(tmp_path / f"jobs{jobs}", REGISTRY, "")
        site.submit(Submission("DINKES", PERIOD), "KOTA-A", "DINKES.csv")
        site.submit(Submission("DINSOS", PERIOD).scaled(2), "KOTA-A", "DINSOS.csv")
        site.submit(Submission("DINKES", PERIOD).scaled(3), "KAB-B", "DINKES.csv")
        assert site("run", "--period", PERIOD, "--jobs", jobs).exit_code == 0
        releases[jobs] = _files(site.release())
        assert writers.forked() == (set() if jobs == "1" else {"KOTA-A", "KAB-B"})  # one job: nothing forked
    one, two = releases["1"], releases["2"]
    assert set(one) == set(two)
    assert {"instansi/KOTA-A/lineage.csv", "instansi/KAB-B/cells.csv"} <= set(one)
    for name, path in one.items():
        if name.endswith("manifest.json"):
            assert _normal_manifest(path.read_text()) == _normal_manifest(two[name].read_text()), name
        else:
            assert path.read_bytes() == two[name].read_bytes(), name
