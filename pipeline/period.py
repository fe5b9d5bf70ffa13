"""Starting a collection period: the folder submissions go to, the templates and what to send with them.

``new_period(ws, "2023")`` creates ``raw/2023/`` (where the OPDs' files are put) and writes, into
``templates/2023/``, one template per OPD that must submit (the registry less the release policy's
exemptions) and ``PETUNJUK.txt``, a short instruction text to send with them. ``latest_period(raw)``
is the period ``rekap run`` takes when none is given, so a nightly job needs no edit when the year
changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.files import atomic_write_text
from pipeline.validate import normalize_period

LETTER = {
    "id": """Kepada Yth.
Pengelola kepegawaian setiap OPD

Perihal: Rekap kepegawaian periode {period}

Bersama ini kami kirimkan templat rekap kepegawaian periode {period}, satu berkas untuk setiap OPD
(nama berkas = kode OPD, misalnya DINKES.xlsx). Mohon:

1. Buka templat OPD Anda dan isi lembar Identitas (nama petugas, kontak, tanggal). Kode OPD dan
   periode sudah terisi; jangan diubah.
2. Isi setiap tabel dengan jumlah pegawai per sel (bilangan bulat, tanpa desimal). Sel abu-abu
   tidak diisi. Jumlah (TOTAL, JML) boleh diisi; BKPSDM menghitungnya ulang dan memeriksa
   kecocokannya.
3. Simpan sebagai .xlsx (boleh juga .xls atau .ods) dan kirimkan ke BKPSDM. Nama berkas boleh
   apa saja: OPD dikenali dari lembar Identitas.
4. BKPSDM mengirimkan umpan balik: halaman <OPD>.html dan salinan berkas Anda yang ditandai
   (<OPD>-umpan-balik.xlsx) yang menunjukkan sel mana yang perlu diperbaiki.
5. Untuk perbaikan, kirim berkas baru (nama apa saja, misalnya DINKES-revisi.xlsx). Berkas yang
   paling akhir diterima yang dipakai; berkas sebelumnya tidak perlu ditarik.

Templat: {count} OPD ({codes}).

Hormat kami,
{agency}
""",
    "en": """To the staffing officer
of every OPD

Subject: Staffing recap for period {period}

Attached are the staffing recap templates for period {period}, one file per OPD (file name = OPD
code, e.g. DINKES.xlsx). Please:

1. Open your OPD's template and fill in the Identitas sheet (officer, contact, date). The OPD code
   and period are filled in; do not change them.
2. Fill every table with the number of staff per cell (whole numbers). Grey cells stay empty.
   Totals (TOTAL, JML) may be filled; BKPSDM recomputes and checks them.
3. Save as .xlsx (.xls or .ods are fine too) and send it to BKPSDM. Any file name will do: the OPD
   is recognised from the Identitas sheet.
4. BKPSDM sends feedback: the page <OPD>.html and a marked copy of your file
   (<OPD>-umpan-balik.xlsx) showing which cells need correcting.
5. To correct, send a new file (any name, e.g. DINKES-revisi.xlsx). The file received last is the
   one used; earlier files need not be withdrawn.

Templates: {count} OPDs ({codes}).

Regards,
{agency}
""",
}
LETTER_NAME = {"id": "PETUNJUK.txt", "en": "INSTRUCTIONS.txt"}


@dataclass
class NewPeriod:
    raw: Path  # raw/PERIOD/, where submissions go
    folder: Path  # templates/PERIOD/
    templates: list[Path]
    letter: Path


def new_period(ws, period: str, lang: str = "id", progress=lambda items: items) -> NewPeriod:
    """Create ``raw/PERIOD/`` and write the templates of the OPDs that must submit, with the letter."""
    from pipeline.specs import load_registry
    from pipeline.template import write_template

    registry = load_registry()
    required = ws.release.required(registry)
    raw = ws.raw / period
    raw.mkdir(parents=True, exist_ok=True)
    folder = ws.templates / period
    written = [write_template(folder / f"{code}.xlsx", registry[code], period, lang=lang)
               for code in progress(required)]
    letter = atomic_write_text(folder / LETTER_NAME[lang], LETTER[lang].format(
        agency=ws.agency, period=period, count=len(required), codes=", ".join(required)))
    return NewPeriod(raw, folder, written, letter)


def latest_period(raw) -> str | None:
    """The latest period that has a folder in ``raw/`` (``2023`` after ``2022``, ``2023-02`` after ``2023-01``)."""
    raw = Path(raw)
    if not raw.is_dir():
        return None
    periods = [p.name for p in raw.iterdir() if p.is_dir() and normalize_period(p.name) == p.name]
    return max(periods, default=None)
