"""The publish gate's result as our own page, ``reports/PERIOD/gerbang-mutu.html``: offline, in the
language asked (Great Expectations' own Data Docs, in ``gx/``, load scripts and fonts from the
internet and are in English; the dashboard links to this page instead).

Each expectation of the gate's suite: what it expects, whether it blocks publishing or only warns,
how many rows it checked, how many failed and the first failing rows (the observed values).
"""

from __future__ import annotations

from pathlib import Path

from pipeline.files import atomic_write_text
from pipeline.html import check_lang, number, render

CHECKS = {
    "id": {"counts": "Jumlah pegawai", "percents": "Persentase", "sums": "Total dan rinciannya",
           "cross_equal": "Kecocokan antartabel", "cross_at_most": "Batas antartabel", "plausibility": "Kewajaran",
           "percent_totals": "Jumlah kolom persentase"},
    "en": {"counts": "Counts", "percents": "Percentages", "sums": "Totals and their parts",
           "cross_equal": "Tables agreeing", "cross_at_most": "Bounds across tables", "plausibility": "Plausibility",
           "percent_totals": "Percent columns"},
}
# The expectations' titles (pipeline/gate.py, in English) in Indonesian.
TITLES_ID = {
    "every count is present": "setiap jumlah terisi",
    "every count is >= 0": "setiap jumlah tidak negatif (≥ 0)",
    "every count is a whole number": "setiap jumlah bilangan bulat",
    "every percent is present": "setiap persentase terisi",
    "every percent is within 0..100": "setiap persentase antara 0 dan 100",
    "every percent matches its count within the printed rounding":
        "setiap persentase sesuai dengan jumlahnya (dalam batas pembulatan cetak)",
    "every total and its parts are present": "setiap total dan rinciannya terisi",
    "every total equals the sum of its parts (imbalance 0)": "setiap total sama dengan jumlah rinciannya (selisih 0)",
    "every cell a rule compares is present": "setiap sel yang dibandingkan aturan terisi",
    "the tables agree (difference 0)": "tabel-tabel saling cocok (selisih 0)",
    "no count exceeds its bound (left <= right)": "tidak ada jumlah yang melebihi batasnya (kiri ≤ kanan)",
    "ranks and posts are plausible (left <= right)": "pangkat dan jabatan masuk akal (kiri ≤ kanan)",
    "every percent of a column is present": "setiap persentase dalam satu kolom terisi",
    "every percent column sums to 100 within n x half a printed unit":
        "setiap kolom persentase berjumlah 100 (toleransi n × setengah satuan cetak)",
}
TEXT = {
    "id": {"title": "Gerbang mutu", "heading": "Gerbang mutu tabel kota", "period": "Periode", "run": "Pemeriksaan",
           "back": "Dasbor", "passed": "LULUS: tabel kota boleh diterbitkan",
           "failed": "GAGAL: tabel kota tidak diterbitkan",
           "intro": "Sebelum diterbitkan, tabel kota diperiksa dengan pemeriksaan berikut (Great Expectations). "
                    "Pemeriksaan yang gagal dengan tingkat \u201cmenghalangi\u201d menahan penerbitan.",
           "cols": ["Kelompok", "Harapan", "Tingkat", "Baris diperiksa", "Baris gagal", "Hasil"],
           "error": "menghalangi", "warning": "peringatan", "ok": "lulus", "fail": "gagal",
           "not_evaluable": "tidak dapat dinilai", "observed": "Nilai yang teramati",
           "docs": "Laporan rinci Great Expectations (bahasa Inggris, memerlukan internet): folder gx/ di samping halaman ini.",
           "none": "Gerbang mutu belum dijalankan untuk periode ini."},
    "en": {"title": "Publish gate", "heading": "Publish gate of the city tables", "period": "Period", "run": "Run",
           "back": "Dashboard", "passed": "PASSED: the city tables may be published",
           "failed": "FAILED: the city tables were not published",
           "intro": "Before publishing, the city tables are checked with the expectations below (Great "
                    "Expectations). A failing expectation whose level is \u201cblocking\u201d stops the publication.",
           "cols": ["Group", "Expectation", "Level", "Rows checked", "Rows failing", "Result"],
           "error": "blocking", "warning": "warning", "ok": "passed", "fail": "failed",
           "not_evaluable": "could not be evaluated", "observed": "Observed values",
           "docs": "Great Expectations' detailed report (English, needs the internet): the gx/ folder beside this page.",
           "none": "The publish gate has not run for this period yet."},
}
PAGE = "gerbang-mutu.html"


def gate_html(period: str, gate: dict | None, lang: str = "id") -> str:
    check_lang(lang)
    text = TEXT[lang]
    rows = []
    for o in (gate or {}).get("outcomes", []):
        title = TITLES_ID.get(o["title"], o["title"]) if lang == "id" else o["title"]
        result = "ok" if o["success"] else ("not_evaluable" if o.get("error") else "fail")
        rows.append({"group": CHECKS[lang].get(o["check"], o["check"]), "title": title,
                     "level": text[o["severity"]], "checked": number(o["checked"], lang),
                     "failed": number(o["failed"], lang), "result": result, "label": text[result],
                     "observed": o.get("rows") or ([o["error"]] if o.get("error") else [])})
    return render("gate.html", lang=lang, t=text, period=period, gate=gate, rows=rows)


def write_gate_page(path, period: str, gate: dict | None, lang: str = "id") -> Path:
    return atomic_write_text(path, gate_html(period, gate, lang))
