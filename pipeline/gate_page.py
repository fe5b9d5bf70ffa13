"""The publish gate's result as our own page, ``reports/PERIOD/gerbang-mutu.html``: offline, in the
language asked (Great Expectations' own Data Docs, in ``gx/``, load scripts and fonts from the
internet and are in English; the dashboard links to this page instead).

Each expectation of the gate's suite: what it expects, whether it blocks publishing or only warns,
how many rows it checked, how many failed and the first failing rows (the observed values).
"""

from __future__ import annotations

from pathlib import Path

from pipeline import text
from pipeline.files import atomic_write_text
from pipeline.html import check_lang, number, render

PAGE = "gerbang-mutu.html"


def gate_html(period: str, gate: dict | None, lang: str = "id") -> str:
    check_lang(lang)
    words = text.words("gate_page", lang)
    # the gate names each expectation by its English title (pipeline/gate.py): its words are found by it
    titles = {leaf["en"]: text.pick(leaf, lang) for leaf in text.entry("gate_page.expectations").values()}
    rows = []
    for o in (gate or {}).get("outcomes", []):
        result = "ok" if o["success"] else ("not_evaluable" if o.get("error") else "fail")
        rows.append({"group": words["checks"].get(o["check"], o["check"]), "title": titles.get(o["title"], o["title"]),
                     "level": words[o["severity"]], "checked": number(o["checked"], lang),
                     "failed": number(o["failed"], lang), "result": result, "label": words[result],
                     "observed": o.get("rows") or ([o["error"]] if o.get("error") else [])})
    return render("gate.html", lang=lang, t=words, period=period, gate=gate, rows=rows)


def write_gate_page(path, period: str, gate: dict | None, lang: str = "id") -> Path:
    return atomic_write_text(path, gate_html(period, gate, lang))
