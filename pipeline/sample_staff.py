"""Sample staff lists: the sample's own employees, one row each, with planted row defects.

The people are those :mod:`pipeline.sample` counts into each OPD's recap (same seed, same people),
so a clean list reproduces the OPD's recap exactly (posts available aside). Each person gets a
synthetic name and an NIP that obeys the NIP structure (birth date, TMT CPNS, sex digit, sequence);
education is redistributed among the ordinary staff of one sex (which leaves every count as it is)
so that each CPNS holds the entry rank of their education.

:data:`STAFF_PLAN` says which lists are written for which OPDs and which defects are planted; the
staff manifest records every list, every planted defect (file, row, OPD, expected finding code) and
every recap cell expected to differ from its list.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

from pipeline.files import atomic_write, atomic_write_text, save_workbook
from pipeline.sample import RANKS, JENJANG, _people, consistent_submission, opd_rng
from pipeline.specs import load_registry, load_tables
from pipeline.staff import staff_spec

HEADER = ["NIP BARU", "NAMA", "JENIS KELAMIN", "STATUS PEGAWAI", "GOL AKHIR NAMA", "TINGKAT PENDIDIKAN NAMA",
          "JENIS JABATAN NAMA", "ESELON NAMA", "JABATAN NAMA", "UNOR NAMA"]

# Which list holds which OPDs (a list may hold one OPD or several), and the defects planted in them.
STAFF_PLAN = {
    "lists": {
        "pegawai-dindikbud.csv": ["DINDIKBUD"],
        "daftar-pegawai-siasn.xlsx": ["BAPPEDA", "DISKOMINFO", "DINSOS", "DLH"],
    },
    "defects": [
        ("bad_birth_date", "DINSOS"),  # a birth date in the NIP that is no date (31 February)
        ("sex_digit", "DINSOS"),  # the NIP's sex digit disagrees with the sex column
        ("duplicate_nip", "DLH"),  # a DLH employee given the NIP of a DINSOS employee
        ("pppk_rank", "DLH"),  # a PPPK employee listed with a PNS rank
        ("unknown_unit", None),  # a row whose unit is no registry OPD
        ("recap_differs", "DISKOMINFO"),  # one employee's rank in the list differs from the recap's count
    ],
}
DEFECT_CODES = {"bad_birth_date": "STAFF_NIP_BIRTH", "sex_digit": "STAFF_NIP_SEX",
                "duplicate_nip": "STAFF_NIP_DUPLICATE", "pppk_rank": "STAFF_PPPK_RANK",
                "unknown_unit": "STAFF_UNIT_UNKNOWN", "recap_differs": "STAFF_RECAP_DIFF"}

MEN = ("Ahmad", "Budi", "Dedi", "Eko", "Fajar", "Hendra", "Iwan", "Joko", "Rahmat", "Agus", "Yusuf", "Rizky",
       "Andi", "Hadi", "Surya", "Taufik", "Wahyu", "Asep", "Ujang", "Dadang", "Irfan", "Bambang")
WOMEN = ("Siti", "Dewi", "Rina", "Sri", "Nur", "Lestari", "Fitri", "Yuli", "Ratna", "Indah", "Ayu", "Wulan",
         "Neneng", "Euis", "Rosita", "Mulyani", "Aisyah", "Tuti", "Yanti", "Novi")
FAMILY_MEN = ("Hidayat", "Saputra", "Kurniawan", "Setiawan", "Wijaya", "Pratama", "Nugroho", "Maulana",
              "Firmansyah", "Sudrajat", "Gunawan", "Suherman")
FAMILY_WOMEN = ("Rahmawati", "Susanti", "Handayani", "Suryani", "Puspitasari", "Anggraini", "Kartika",
                "Permatasari", "Wulandari", "Nurhayati", "Fitriani", "Maryati")
EDU_TEXT = {"SD": ["SD"], "SLTP": ["SMP", "SLTP"], "SLTA": ["SLTA", "SMA"], "SLTA_KEJURUAN": ["SMK"],
            "D1": ["D-I"], "D2": ["D-II"], "D3": ["D-III", "Diploma III"], "D4": ["D-IV"],
            "S1": ["S-1", "Strata 1", "S1"], "S2": ["S-2", "Strata 2"], "S3": ["S-3"]}
RANK_NAMES = {v: k.title().replace("Tingkat I", "Tk. I") for k, v in staff_spec()["rank"]["names"].items()}
POST_TEXT = {"GURU": "Guru", "PENGAWAS": "Pengawas Sekolah", "PENILIK": "Penilik", "PAMONG": "Pamong Belajar"}
PELAKSANA = ("Pengadministrasi Umum", "Pengelola Keuangan", "Pengolah Data", "Pengemudi", "Operator Layanan",
             "Pengelola Barang Milik Negara")


def _entry_educations(people, rng) -> list:
    """People with education swapped among the staff of one sex so that each CPNS holds
    the entry rank of their education (counts by education and sex stay as they were)."""
    entry = staff_spec()["checks"]["entry_rank"]
    people = list(people)
    for sex in ("L", "P"):
        idx = [i for i, p in enumerate(people) if p.sex == sex]
        pool = Counter(people[i].edu for i in idx)
        cpns = [i for i in idx if people[i].cpns]
        fixed = {}
        for i in cpns:
            rank = f"{RANKS[people[i].rank][0]}/{RANKS[people[i].rank][1].lower()}"
            wanted = [e for e, r in entry.items() if r == rank]
            choice = people[i].edu if people[i].edu in wanted and pool[people[i].edu] else \
                next((e for e in sorted(wanted, key=lambda e: -pool[e]) if pool[e] > 0), None)
            if choice is not None:
                pool[choice] -= 1
                fixed[i] = choice
        rest = [i for i in idx if i not in fixed]
        waiting = []
        for i in rest:
            if pool[people[i].edu] > 0:
                pool[people[i].edu] -= 1
                fixed[i] = people[i].edu
            else:
                waiting.append(i)
        leftover = [e for e, n in sorted(pool.items()) for _ in range(n)]
        for i, e in zip(waiting, leftover):
            fixed[i] = e
        for i, e in fixed.items():
            people[i] = replace(people[i], edu=e)
    return people


def _nip(birth: tuple[int, int, int], tmt: tuple[int, int], sex: str, seq: int) -> str:
    return f"{birth[0]:04d}{birth[1]:02d}{birth[2]:02d}{tmt[0]:04d}{tmt[1]:02d}{1 if sex == 'L' else 2}{seq:03d}"


def _rows_for(opd, period: str, seed: int, used: set[str]) -> list[dict]:
    """One row per person of the OPD's sample recap."""
    rng = opd_rng(seed, opd.code)
    people, _ = _people(opd, rng)
    values = consistent_submission(opd, opd_rng(seed, opd.code))
    people = _entry_educations(people, np.random.default_rng([seed, 7]))
    end_y, end_m = (int(x) for x in (period.split("-") + ["12"])[:2])
    r = np.random.default_rng([seed, len(opd.code), sum(map(ord, opd.code))])
    schools = []
    guru = load_tables()["guru"]
    if "guru" in values:
        schools = ["SD"] * int(values["guru"][guru.key({"sekolah": "SD"})]) + \
                  ["SMP"] * int(values["guru"][guru.key({"sekolah": "SMP"})])
    rows = []
    teacher = 0
    for p in people:
        gol, ruang = RANKS[p.rank]
        rank = f"{gol}/{ruang.lower()}"
        if p.cpns:
            age = int(r.integers(23, 35))
            tmt = (end_y, int(r.integers(1, end_m + 1)))
        else:
            age = int(r.integers(30 if (p.eselon or p.jabatan) else 26, 56))
        birth = (end_y - age, int(r.integers(1, 13)), int(r.integers(1, 29)))
        if not p.cpns:
            tmt = (int(r.integers(birth[0] + 21, end_y - 1)), int(r.integers(1, 13)))
        seq = int(r.integers(1, 400))
        nip = _nip(birth, tmt, p.sex, seq)
        while nip in used:
            seq += 1
            nip = _nip(birth, tmt, p.sex, seq)
        used.add(nip)
        first = (MEN if p.sex == "L" else WOMEN)[int(r.integers(0, 22 if p.sex == "L" else 20))]
        family = (FAMILY_MEN if p.sex == "L" else FAMILY_WOMEN)[int(r.integers(0, 12))]
        unit = opd.name
        if p.eselon:
            position, post = "Jabatan Struktural", f"Kepala Seksi {int(r.integers(1, 9))}"
        elif p.jabatan:
            position = "Jabatan Fungsional"
            post = f"{POST_TEXT[p.jabatan]} Ahli {JENJANG[(gol, ruang)]}"
            if p.jabatan == "GURU" and teacher < len(schools):
                level = schools[teacher]
                unit = f"{level} Negeri {1 + int(r.integers(0, 40))} Kota Serang"
                teacher += 1
        else:
            position, post = "Jabatan Pelaksana", PELAKSANA[int(r.integers(0, len(PELAKSANA)))]
        style = r.random()
        rank_text = rank if style < 0.7 else (rank.replace("/", "-") if style < 0.9 else RANK_NAMES[rank])
        edu = EDU_TEXT[p.edu][int(r.integers(0, len(EDU_TEXT[p.edu])))]
        rows.append({"NIP BARU": nip, "NAMA": f"{first} {family}",
                     "JENIS KELAMIN": ("Laki-laki" if p.sex == "L" else "Perempuan") if r.random() < 0.8 else p.sex,
                     "STATUS PEGAWAI": "CPNS" if p.cpns else "PNS", "GOL AKHIR NAMA": rank_text,
                     "TINGKAT PENDIDIKAN NAMA": edu, "JENIS JABATAN NAMA": position,
                     "ESELON NAMA": p.eselon or "", "JABATAN NAMA": post, "UNOR NAMA": unit,
                     "_opd": opd.code, "_sex": p.sex, "_status": "CPNS" if p.cpns else "PNS",
                     "_rank": rank, "_pelaksana": not (p.eselon or p.jabatan)})
    return rows


def _plant(lists: dict[str, list[dict]], period: str) -> list[dict]:
    """Apply :data:`STAFF_PLAN`'s defects in place; returns their manifest entries (row numbers later)."""
    planted = []
    by_opd = {}
    for file, rows in lists.items():
        for row in rows:
            by_opd.setdefault(row["_opd"], []).append((file, row))
    for kind, code in STAFF_PLAN["defects"]:
        if kind == "bad_birth_date":
            file, row = next((f, r) for f, r in by_opd[code] if r["_status"] == "PNS")
            row["NIP BARU"] = row["NIP BARU"][:4] + "0231" + row["NIP BARU"][8:]
        elif kind == "sex_digit":
            file, row = [(f, r) for f, r in by_opd[code] if r["_status"] == "PNS"][1]
            digit = row["NIP BARU"][14]
            row["NIP BARU"] = row["NIP BARU"][:14] + ("2" if digit == "1" else "1") + row["NIP BARU"][15:]
        elif kind == "duplicate_nip":
            source = [r for _, r in by_opd["DINSOS"] if r["_status"] == "PNS"][2]
            file, row = next((f, r) for f, r in by_opd[code] if r["_status"] == "PNS" and r["_sex"] == source["_sex"])
            row["NIP BARU"] = source["NIP BARU"]
            planted.append({"kind": kind, "file": file, "nip": source["NIP BARU"], "opd": "DINSOS",
                            "code": DEFECT_CODES[kind]})
        elif kind == "pppk_rank":
            file = next(f for f, r in by_opd[code])
            template = by_opd[code][0][1]
            row = {**template, "NIP BARU": template["NIP BARU"][:8] + f"{int(period[:4]) - 1}05" +
                   template["NIP BARU"][14:15] + "901", "NAMA": "Pegawai Kontrak Contoh",
                   "STATUS PEGAWAI": "PPPK", "GOL AKHIR NAMA": "III/a", "JENIS JABATAN NAMA": "Jabatan Pelaksana",
                   "ESELON NAMA": "", "JABATAN NAMA": "Pengadministrasi Umum", "_status": "PPPK"}
            lists[file].append(row)
        elif kind == "unknown_unit":
            file = next(f for f, opds in STAFF_PLAN["lists"].items() if len(opds) > 1)
            template = next(r for r in lists[file] if r["_status"] == "PNS")
            row = {**template, "NIP BARU": template["NIP BARU"][:15] + "902", "NAMA": "Pegawai Unit Lain",
                   "UNOR NAMA": "Unit Layanan Pengadaan Barang/Jasa", "_opd": None}
            lists[file].append(row)
        elif kind == "recap_differs":
            file, row = next((f, r) for f, r in by_opd[code] if r["_pelaksana"] and r["_status"] == "PNS"
                             and r["_rank"] == "III/a")
            row["GOL AKHIR NAMA"] = "III/b"
            planted.append({"kind": kind, "file": file, "opd": code, "code": DEFECT_CODES[kind],
                            "cells": [{"table": "golongan", "cell": {"ruang": r, "gol": g, "sex": s}}
                                      for r, g, s in (("A", "III", row["_sex"]), ("B", "III", row["_sex"]),
                                                      ("A", "JML", "JML"), ("B", "JML", "JML"))]})
            row["_marked"] = kind
            continue
        row["_marked"] = kind
        if kind != "duplicate_nip":
            planted.append({"kind": kind, "file": file, "opd": code, "code": DEFECT_CODES[kind]})
    return planted


def staff_lists(period: str, seed: int = 2022) -> tuple[dict[str, list[dict]], dict]:
    """The rows of every list of :data:`STAFF_PLAN` (defects planted) and the staff manifest."""
    registry = load_registry()
    used: set[str] = set()
    lists = {file: [row for code in opds for row in _rows_for(registry[code], str(period), seed, used)]
             for file, opds in STAFF_PLAN["lists"].items()}
    # DINDIKBUD also has a few PPPK teachers: counted apart, not a defect
    for file, opds in STAFF_PLAN["lists"].items():
        if "DINDIKBUD" in opds:
            template = next(r for r in lists[file] if r["JABATAN NAMA"].startswith("Guru"))
            for n in range(3):
                lists[file].append({**template, "NIP BARU": template["NIP BARU"][:8] + f"{int(period[:4])}01" +
                                    template["NIP BARU"][14] + f"{950 + n:03d}", "NAMA": f"Guru PPPK {n + 1}",
                                    "STATUS PEGAWAI": "PPPK", "GOL AKHIR NAMA": "IX"})
    planted = _plant(lists, str(period))
    first_row = 2  # the header is row 1
    for item in planted:
        rows = lists[item["file"]]
        if item["kind"] == "duplicate_nip":
            nip = item.pop("nip")
            item["rows"] = [first_row + i for i, r in enumerate(rows) if r["NIP BARU"] == nip]
        else:
            item["row"] = first_row + next(i for i, r in enumerate(rows) if r.get("_marked") == item["kind"])
    manifest = {
        "lists": {file: {"opds": STAFF_PLAN["lists"][file], "rows": len(rows)} for file, rows in lists.items()},
        "defects": planted,
        "reconciled": sorted(code for opds in STAFF_PLAN["lists"].values() for code in opds),
    }
    return lists, manifest


def _csv_bytes(rows: list[dict]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER)
    w.writerows([[r[h] for h in HEADER] for r in rows])
    return buf.getvalue().encode("utf-8")


def _write_xlsx(path, rows: list[dict]) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Data Pegawai")
    ws.append(HEADER)
    for r in rows:
        ws.append([r[h] for h in HEADER])
    save_workbook(wb, path)


def write_staff_sample(folder, period: str, seed: int = 2022, manifest_path=None) -> dict:
    """Write the sample's staff lists into ``folder`` (existing files are left alone) and return the
    staff manifest; ``manifest_path``, if given, gets it as JSON. The lists hold personal-looking
    data (synthetic), so they are written owner-only like any staff list."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lists, manifest = staff_lists(period, seed)
    for file, rows in lists.items():
        path = folder / file
        if path.exists():
            continue
        if file.endswith(".csv"):
            data = _csv_bytes(rows)
            atomic_write(path, lambda tmp: Path(tmp).write_bytes(data), mode=0o600)
        else:
            atomic_write(path, lambda tmp: _write_xlsx(tmp, rows), mode=0o600)
    if manifest_path is not None:
        atomic_write_text(manifest_path, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest
