"""The HTML reports as a person sees them: opened in headless Chromium (driven by Playwright).

A sample period is run once for the module (two runs: the second resubmits SETWAN with a broken sum,
so that its older accepted version is used; KEC-CURUG's file is withheld, so it has not submitted).
The pages are then written in Indonesian and English and opened in one browser. Every page must load
without a console error or warning, and every link must point at a file that exists (nothing external).
Screenshots go to the module's tmp folder (``.../pages0/shots/``).

Without Chromium or Playwright the browser tests are skipped, except under ``CI=true``, where they fail
(``.ci/run`` installs Debian's chromium).
"""

from __future__ import annotations

import os
import re
import shutil
import zlib
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from openpyxl import load_workbook

from pipeline.corrections import LOCATED, corrections, role
from pipeline import run as run_module
from pipeline.coverage import status_labels
from pipeline.findings import Finding, fmt
from pipeline.findings import SUGGESTING_CODES
from pipeline.pages import (profile_html, suggestion, workbook_name,
                            write_dashboard, write_feedback_page, write_profile)
from pipeline.report_data import load_period
from pipeline.gate_page import PAGE as GATE_PAGE, write_gate_page
from pipeline.run import run_period
from pipeline.sample import write_sample
from pipeline.specs import load_registry, load_tables
from pipeline.template import locate
from pipeline.text import words

PERIOD = "2022"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
WITHHELD = "KEC-CURUG"  # not submitted
RESUBMITTED = "SETWAN"  # accepted, then a rejected resubmission: its older version is used
A4 = (595.28, 841.89)  # points


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


# -- the period and its pages ------------------------------------------------------------------------------
def _break_a_sum(path: Path) -> None:
    """Add one to an inner golongan cell: the row and column totals no longer add up."""
    spec = load_tables()["golongan"]
    sheet, address = locate(spec, spec.key({"ruang": "B", "gol": "III", "sex": "L"}))
    wb = load_workbook(path)
    ws = wb[sheet]
    ws[address] = int(ws[address].value or 0) + 1
    wb.save(path)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("pages")
    raw, processed = root / "raw", root / "processed"
    manifest = write_sample(raw, PERIOD, log=None)
    (raw / PERIOD / f"{WITHHELD}.xlsx").unlink()
    with pytest.MonkeyPatch.context() as mp:
        # the reports are what this module builds (below); the run only validates and publishes
        mp.setattr(run_module, "_reports", lambda *args, **kwargs: None)
        run_period(PERIOD, raw, processed, root / "reports")
        _break_a_sum(raw / PERIOD / f"{RESUBMITTED}.xlsx")
        run_period(PERIOD, raw, processed, root / "reports")
    report = load_period(processed, PERIOD)
    folders = {"id": root / "reports" / PERIOD, "en": root / "reports-en" / PERIOD}
    for lang, folder in folders.items():
        (folder / "opd").mkdir(parents=True, exist_ok=True)
        for opd in report.opds:  # the marked workbook is another module's: a stand-in, to check the links
            if opd.findings:
                (folder / "opd" / workbook_name(opd.code)).write_bytes(b"PK stand-in")
        for opd in report.opds:
            write_feedback_page(folder / "opd" / f"{opd.code}.html", report, opd, lang)
        if lang == "id":
            write_profile(folder / "profil.html", folder / "profil.pdf", report, lang)
        else:  # the same code prints the PDF; only the HTML is checked in English (saves ~2 s)
            (folder / "profil.html").write_text(profile_html(report, lang, pdf=None), encoding="utf-8")
        write_gate_page(folder / GATE_PAGE, PERIOD, report.gate, lang)
        write_dashboard(folder / "index.html", report, lang)
    shots = root / "shots"
    shots.mkdir()
    return {"root": root, "report": report, "manifest": manifest, "folders": folders, "shots": shots}


@pytest.fixture(scope="module")
def browser():
    reason = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "Playwright is not installed (pip install -e '.[test]')"
    if reason is None and not Path(CHROMIUM).exists():
        reason = f"Chromium is not at {CHROMIUM} (apt-get install chromium)"
    if reason:
        if in_ci():
            pytest.fail(f"{reason}; under CI=true the browser tests must run (.ci/run installs chromium)",
                        pytrace=False)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Visit:
    """One page as loaded in the browser, with every problem the visit met."""

    LINKS = """() => Array.from(document.querySelectorAll('[href], [src], [action], [data]')).flatMap(e =>
        ['href', 'src', 'action', 'data', 'xlink:href'].filter(a => e.hasAttribute(a)).map(a => e.getAttribute(a)))"""

    def __init__(self, page, path: Path, shot: Path | None = None):
        self.path = path
        self.problems: list[str] = []
        self.page = page
        listeners = {
            "console": lambda m: self.problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None,
            "pageerror": lambda e: self.problems.append(f"page error: {e}"),
            "requestfailed": lambda r: self.problems.append(f"request failed: {r.url}"),
            "request": lambda r: None if r.url.startswith(("file:", "data:"))
            else self.problems.append(f"external request: {r.url}"),
        }
        for event, listener in listeners.items():
            page.on(event, listener)
        try:
            page.goto(path.as_uri(), wait_until="load")
        finally:
            for event, listener in listeners.items():
                page.remove_listener(event, listener)
        if shot is not None:
            self.page.screenshot(path=str(shot), full_page=True)
        self.problems += self.broken_links()

    def broken_links(self) -> list[str]:
        broken = []
        ids = set(self.page.evaluate("() => Array.from(document.querySelectorAll('[id]')).map(e => e.id)"))
        for link in self.page.evaluate(self.LINKS):
            parts = urlsplit(link)
            if link.startswith("data:"):
                continue
            if parts.scheme or parts.netloc or link.startswith("//"):
                broken.append(f"external link: {link}")
            elif not parts.path:
                if parts.fragment and unquote(parts.fragment) not in ids:
                    broken.append(f"no anchor for {link}")
            elif not (self.path.parent / unquote(parts.path)).is_file():
                broken.append(f"broken link: {link}")
        return broken

    def text(self, selector: str = "body") -> str:
        return self.page.inner_text(selector)

    def close(self):
        self.page.close()


@pytest.fixture
def visit(browser, site):
    opened = []

    def open_page(relative: str, lang: str = "id", shot: bool = True) -> Visit:
        path = site["folders"][lang] / relative
        name = f"{lang}-{relative.replace('/', '-')}.png"
        page = Visit(browser.new_page(viewport={"width": 1280, "height": 900}), path,
                     site["shots"] / name if shot else None)
        opened.append(page)
        assert not page.problems, f"{relative} ({lang}): {page.problems}"
        return page

    yield open_page
    for page in opened:
        page.close()


def _opd(report, code):
    return next(o for o in report.opds if o.code == code)


# -- every page -------------------------------------------------------------------------------------------
def test_every_page_loads_cleanly_and_links_resolve(browser, site):
    """Every Indonesian page (the English ones share the templates; test_english_pages opens four)."""
    folder = site["folders"]["id"]
    pages = sorted(p for p in folder.rglob("*.html") if "gx" not in p.relative_to(folder).parts)
    assert len(pages) == len(site["report"].opds) + 3  # + dashboard, profile, gate page
    problems = {}
    tab = browser.new_page()
    try:
        for path in pages:
            page = Visit(tab, path)
            if page.problems:
                problems[str(path)] = page.problems
    finally:
        tab.close()
    assert not problems


# -- the dashboard --------------------------------------------------------------------------------------
def expected_statuses(site) -> dict[str, str]:
    statuses = {}
    for code in load_registry():
        codes = site["manifest"].get(code, {}).get("codes", [])
        errors = [c for c in codes if Finding(c, "test").severity == "error"]
        warnings = [c for c in codes if Finding(c, "test").severity == "warning"]
        statuses[code] = ("not_submitted" if code == WITHHELD else "older_version" if code == RESUBMITTED
                          else "rejected" if errors else "accepted_with_warnings" if warnings else "accepted")
    return statuses


def test_dashboard_lists_every_opd_with_its_status(visit, site):
    page = visit("index.html")
    rows = page.page.locator("table#opds tbody tr")
    registry = load_registry()
    assert rows.count() == len(registry) == 34
    expected = expected_statuses(site)
    assert {s for s in expected.values()} >= {"accepted", "rejected", "older_version", "not_submitted"}
    for i in range(rows.count()):
        row = rows.nth(i)
        code = row.get_attribute("data-opd")
        assert row.get_attribute("data-status") == expected[code], code
        cells = row.locator("td")
        assert cells.nth(1).inner_text().strip() == code
        assert status_labels("id")[expected[code]] in cells.nth(3).inner_text()
        report = _opd(site["report"], code)
        counts = [int(cells.nth(j).inner_text()) for j in (4, 5, 6)]
        assert counts == [report.counts["error"], report.counts["warning"], report.counts["info"]], code
        assert row.locator(f'a[href="opd/{code}.html"]').count() == 1
        workbook = row.locator(f'a[href="opd/{workbook_name(code)}"]').count()
        assert workbook == (1 if report.findings else 0), code
    text = page.text()
    assert "Tabel ini mencakup" in text and f"{site['report'].coverage['opds_used']} dari 34" in text
    assert page.page.locator("table#runs tbody tr").count() == 2
    for href in ("profil.html", "profil.pdf", "gerbang-mutu.html"):
        assert page.page.locator(f'nav a[href="{href}"]').count() == 1, href
    assert page.page.locator('a[href^="gx/"]').count() == 0  # GX's Data Docs load from CDNs: not linked
    release = page.page.locator("#release")
    assert release.get_attribute("data-status") == "sementara" and "SEMENTARA" in release.inner_text()


def test_gate_page_is_offline_and_indonesian(visit, site):
    """Our own page of the publish gate's result: every expectation, pass or fail, observed values."""
    gate = site["report"].gate
    assert gate is not None and gate["ok"]
    page = visit("gerbang-mutu.html")
    assert not page.problems  # no external request, no console error
    assert "LULUS" in page.text("#gate-result")
    rows = page.page.locator("table#expectations tbody tr")
    assert rows.count() == len(gate["outcomes"]) > 10
    text = page.text()
    assert "setiap total sama dengan jumlah rinciannya" in text and "menghalangi" in text
    for i, outcome in enumerate(gate["outcomes"]):
        assert rows.nth(i).get_attribute("data-result") == ("ok" if outcome["success"] else "fail")


def test_provisional_release_is_marked_on_the_profile(visit, site):
    page = visit("profil.html")
    mark = page.page.locator("#provisional-mark")
    assert mark.count() == 1 and mark.is_visible() and mark.inner_text().strip() == "SEMENTARA"
    assert "SEMENTARA" in page.text("#release")


# -- feedback pages ---------------------------------------------------------------------------------------
def test_rejected_opd_sees_each_finding_with_cell_and_numbers(visit, site):
    code = "BPKAD"
    report = _opd(site["report"], code)
    assert report.status == "rejected" and report.findings
    page = visit(f"opd/{code}.html")
    text = page.text()
    assert report.name in text and PERIOD in text
    assert status_labels("id")["rejected"].upper() in page.text(".status-big").upper()
    rows = page.page.locator("tr.finding")
    listed = [f for f in report.findings if f.code not in LOCATED]  # the located cell heads the corrections
    assert rows.count() == len(listed)
    shown = [(rows.nth(i).get_attribute("data-code"), rows.nth(i).get_attribute("data-role"), rows.nth(i).inner_text())
             for i in range(rows.count())]
    items = corrections(report.findings)
    for finding in listed:
        _, shown_role, row = next(x for x in shown if x[0] == finding.code and finding.message("id") in x[2])
        assert f"{finding.sheet}!{finding.address}" in row and fmt(finding.actual) in row
        assert shown_role == role(finding, items)
        if shown_role == "affected":  # a correct total: the rule's arithmetic, never a value to write in
            assert page.page.locator(f'tr.finding[data-role="affected"] td.expected').all_inner_texts() == [""] * sum(
                1 for f in listed if role(f, items) == "affected")
        else:
            assert fmt(finding.expected) in row
    # the corrections come first: the wrong total, typed and true values, certain
    first = page.page.locator("table.corrections tbody tr").first
    (suspect,) = [f for f in report.findings if f.code == "CELL_SUSPECT"]
    assert f"{suspect.sheet}!{suspect.address}" in first.inner_text()
    assert str(suspect.actual) in first.inner_text() and str(suspect.expected) in first.inner_text()
    assert text.index(words("pages.feedback", "id")["corrections"]) < text.index(words("pages.feedback", "id")["findings"])
    assert page.page.locator(f'a#workbook-link[href="{workbook_name(code)}"]').count() == 1
    assert page.page.locator('a[href="../index.html"]').count() >= 1


def test_percentage_finding_suggests_the_right_value(visit, site):
    report = _opd(site["report"], "DINKES")
    share = next(f for f in report.findings if f.code == "PCT_SHARE")
    page = visit("opd/DINKES.html")
    row = page.page.locator('tr.finding[data-code="PCT_SHARE"]')
    # the share the counts give, in Indonesian format ("48,94 %"; "(mungkin)" when localisation is unsure)
    assert row.locator("td.suggestion").inner_text().strip().startswith(f"{fmt(share.expected)} %")
    sums = page.page.locator('tr.finding[data-code="SUM_MISMATCH"] td.suggestion')
    assert all(not sums.nth(i).inner_text().strip() for i in range(sums.count()))


def test_suggestion_column():
    assert "SUM_MISMATCH" not in SUGGESTING_CODES
    total = Finding("SUM_MISMATCH", "t", "golongan", expected=21, actual=24)
    assert suggestion(total) == ""
    assert suggestion(Finding("CELL_SUSPECT", "t", "golongan", expected=1009, actual=1.009,
                              params={"certainty": "certain"})) == "1009"
    assert suggestion(Finding("VALUE_NOT_WHOLE", "t", "golongan", expected=1009, actual=1.009)) == "1009"
    assert suggestion(Finding("PCT_SHARE", "t", "pendidikan", expected=48.94, actual=48.49), "en") == "48.94 %"


def test_clean_opd_gets_a_confirmation(visit, site):
    report = _opd(site["report"], "SETDA")
    assert report.status == "accepted" and not report.findings
    page = visit("opd/SETDA.html")
    assert words("pages.feedback", "id")["explain"]["clean"] in page.text()
    assert page.page.locator("tr.finding").count() == 0
    assert page.page.locator("a#workbook-link").count() == 0


def test_not_submitted_and_older_version_pages(visit, site):
    page = visit(f"opd/{WITHHELD}.html")
    assert status_labels("id")["not_submitted"].upper() in page.text(".status-big").upper()
    assert "belum menerima" in page.text()
    older = visit(f"opd/{RESUBMITTED}.html")
    assert "versi lama" in older.text(".status-big")
    assert older.page.locator('tr.finding[data-code="SUM_MISMATCH"]').count() >= 1


def test_english_pages(visit, site):
    page = visit("index.html", lang="en")
    assert page.page.get_attribute("html", "lang") == "en"
    assert "These tables cover" in page.text()
    assert status_labels("en")["rejected"] in page.page.locator('tr[data-opd="BPKAD"]').inner_text()
    assert page.page.locator('nav a[href="gerbang-mutu.html"]').count() == 1
    assert "Publish gate" in visit("gerbang-mutu.html", lang="en").text()
    feedback = visit("opd/BPKAD.html", lang="en")
    text = feedback.text()
    assert "Suggested correction" in text and "Expected" in text and "but its parts add up to" in text
    clean = visit("opd/SETDA.html", lang="en")
    assert words("pages.feedback", "en")["explain"]["clean"] in clean.text()
    profile = visit("profil.html", lang="en")
    assert "Staffing Profile" in profile.text() and profile.page.locator("svg.chart").count() >= 4


# -- the profile ---------------------------------------------------------------------------------------
def test_profile_has_the_six_tables_in_book_format_and_charts(visit, site):
    page = visit("profil.html")
    tables = load_tables()
    books = page.page.locator("section.book-table")
    assert books.count() == len(tables) == 6
    for i, spec in enumerate(tables.values()):
        section = books.nth(i)
        assert spec.title["id"] in section.locator("h2").inner_text()
        assert section.locator("table.book thead th").count() >= 2
    city = site["report"].city
    staff = city["golongan"][tables["golongan"].key({"ruang": "JML", "gol": "JML", "sex": "JML"})]
    assert staff >= 1000
    golongan = page.text('section[data-table="golongan"] table')
    assert fmt(staff) in golongan and re.search(r"\b\d\.\d{3}\b", golongan)  # 3.722, not 3722 or 3,722
    pendidikan = page.text('section[data-table="pendidikan"] table')
    assert "100,00 %" in pendidikan and re.search(r"\b\d{1,2},\d\d %", pendidikan)
    assert not re.search(r"\b\d+\.\d\d %", pendidikan)
    # merged headers as in the book: GOL I over L and P, TOTAL over both header rows
    golongan_headers = page.page.locator('section[data-table="golongan"] thead th')
    assert golongan_headers.filter(has_text=re.compile(r"^GOL I$")).get_attribute("colspan") == "2"
    assert golongan_headers.filter(has_text=re.compile(r"^TOTAL$")).get_attribute("rowspan") == "2"
    assert page.page.locator("svg.chart").count() >= 4
    # the charts' words are text in the page's font (found, selected and read aloud), not drawn glyphs
    chart = page.page.locator('section[data-table="golongan"] svg.chart')
    assert chart.locator("text", has_text=re.compile(r"^GOL III$")).count() == 1
    assert "DejaVu Sans" in chart.locator("text").first.get_attribute("font-family")
    assert page.page.locator("img").count() == 0
    assert "Tabel ini mencakup" in page.text("#coverage-note")


def _drawing(data: bytes) -> list[bytes]:
    """Every decompressed stream of a PDF (what it draws, whatever objects hold it; object streams)."""
    out = []
    for stream in re.finditer(rb"stream\r?\n", data):
        try:  # a decompressor stops at the end of the deflate data, whatever follows
            out.append(zlib.decompressobj().decompress(data[stream.end():]))
        except zlib.error:
            pass
    return out


def pdf_pages(data: bytes) -> list[tuple[float, float]]:
    """The size (points) of each page of a PDF, reading page objects also inside compressed streams."""
    sizes = []
    for chunk in [data, *_drawing(data)]:
        for obj in re.finditer(rb"<<(?:[^<>]|<<(?:[^<>]|<<[^<>]*>>)*>>)*>>", chunk):
            body = obj.group(0)
            if re.search(rb"/Type\s*/Page(?![s\w])", body):
                box = re.search(rb"/MediaBox\s*\[\s*([\d.\s-]+)\]", body)
                numbers = [float(x) for x in box.group(1).split()] if box else []
                sizes.append((numbers[2] - numbers[0], numbers[3] - numbers[1]) if numbers else None)
    return sizes


def test_profile_pdf_is_a4_with_a_page_per_table(site):
    data = (site["folders"]["id"] / "profil.pdf").read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    sizes = pdf_pages(data)
    assert len(sizes) >= 6
    for size in sizes:
        assert size is None or (abs(size[0] - A4[0]) < 1 and abs(size[1] - A4[1]) < 1), size
    assert any(size is not None for size in sizes)
    if shutil.which("pdfinfo"):  # poppler's view, when it is there
        import subprocess

        info = subprocess.run(["pdfinfo", str(site["folders"]["id"] / "profil.pdf")], capture_output=True,
                              text=True, check=True).stdout
        assert re.search(r"Pages:\s+(\d+)", info) and int(re.search(r"Pages:\s+(\d+)", info).group(1)) >= 6
        assert "(A4)" in info


def test_the_print_draws_each_chart_as_the_page_shows_it(site, tmp_path, monkeypatch):
    """The PDF is printed with the page's inline SVG charts as images of the same SVG (faster to lay
    out): the same shapes and text at the same place as printing the page itself."""
    import base64

    from weasyprint import HTML

    from pipeline.pdf import EPOCH, images_for_print, write_pdf

    html = profile_html(site["report"], "id")
    printed = images_for_print(html)
    charts = re.findall(r"<svg\b.*?</svg>", html, re.S)
    images = re.findall(r'<img src="data:image/svg\+xml;base64,([^"]+)" alt="([^"]*)" class="chart">', printed)
    assert len(charts) == len(images) == 4 and "<svg" not in printed
    assert [base64.b64decode(data).decode() for data, _ in images] == charts
    assert [alt for _, alt in images] == re.findall(r'<svg role="img" aria-label="([^"]*)"', html)
    assert re.sub(r"<img src=\"data:[^>]*>", "", printed) == re.sub(r"<svg\b.*?</svg>", "", html, flags=re.S)
    # the plain print's fonts stamped with the time write_pdf gives them (fontTools, where HarfBuzz-Subset is not
    # installed, stamps each subset font with SOURCE_DATE_EPOCH, else the current second)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    write_pdf(tmp_path / "images.pdf", html, tmp_path)
    HTML(string=html, base_url=str(tmp_path)).write_pdf(tmp_path / "inline.pdf")
    assert _drawing((tmp_path / "images.pdf").read_bytes()) == _drawing((tmp_path / "inline.pdf").read_bytes())


def test_each_chart_is_drawn_once_into_the_svg_savefig_would_draw_twice(site, monkeypatch):
    """A chart laid out by tight_layout is drawn once into its SVG, not once more beforehand by savefig
    for a layout already done; the SVG is the same text either way."""
    import matplotlib.layout_engine
    from matplotlib.figure import Figure

    from pipeline.pages import charts

    drawn = []
    draw = Figure.draw
    monkeypatch.setattr(Figure, "draw", lambda fig, renderer: (drawn.append(fig), draw(fig, renderer))[1])

    def svgs() -> tuple[dict, int]:
        drawn.clear()
        out = {table: str(chart["svg"]) for table, chart in charts(site["report"].city, "id").items()}
        return out, len(drawn)

    once, draws = svgs()
    assert len(once) == draws == 4
    # savefig as it is, given the placeholder engine tight_layout leaves: each figure drawn twice, same SVG
    monkeypatch.setattr(matplotlib.layout_engine, "PlaceHolderLayoutEngine", type("Unmatched", (), {}))
    assert svgs() == (once, 8)


def test_profile_is_reproducible(site, tmp_path):
    folder = site["folders"]["id"]
    write_profile(tmp_path / "profil.html", tmp_path / "profil.pdf", site["report"], "id")
    assert (tmp_path / "profil.html").read_bytes() == (folder / "profil.html").read_bytes()
    assert (tmp_path / "profil.pdf").read_bytes() == (folder / "profil.pdf").read_bytes()


PRINT_AT = """
import sys, time
now = float(sys.argv[1])
time.time = lambda: now  # the clock of this process, a day apart between the two
from pathlib import Path
import weasyprint.pdf.fonts
from pipeline.pages import write_profile
from pipeline.report_data import load_period
report = load_period(Path(sys.argv[2]), sys.argv[3])
out = Path(sys.argv[4])
write_profile(out / "profil.html", out / "profil.pdf", report, "id")
weasyprint.pdf.fonts.harfbuzz_subset = None  # as where libharfbuzz-subset is missing: fontTools subsets
write_profile(out / "fonttools.html", out / "fonttools.pdf", report, "id")
"""


def test_profile_pdf_is_the_same_bytes_in_another_process_on_another_day(site, tmp_path):
    """Two processes whose clocks are a day apart print the same profile to the same bytes, with either
    font subsetter (fontTools stamps fonts with the clock unless told the time: pipeline/pdf.py)."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    outs = []
    for now in (1_790_000_000, 1_790_086_400):
        out = tmp_path / str(now)
        out.mkdir()
        done = subprocess.run([sys.executable, "-c", PRINT_AT, str(now), str(site["root"] / "processed"), PERIOD,
                               str(out)], capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        outs.append(out)
    for name in ("profil.pdf", "fonttools.pdf"):
        first, second = ((out / name).read_bytes() for out in outs)
        assert first.startswith(b"%PDF-") and first == second, name
    assert (outs[0] / "profil.pdf").read_bytes() == (site["folders"]["id"] / "profil.pdf").read_bytes()
