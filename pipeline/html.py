"""Shared helpers of the HTML reports: the Jinja environment, number filters, charts as inline SVG.

The pages open offline: CSS is inlined from ``templates/style.css``, charts are inline ``<svg>``, and
nothing points outside the report folder (no CDN, no web fonts; DejaVu Sans is the system font).
"""

from __future__ import annotations

import io
import re
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from pipeline.findings import fmt
from pipeline.text import languages, number as text_number

TEMPLATES = Path(__file__).resolve().parent / "templates"


def check_lang(lang: str) -> None:
    if lang not in languages():
        raise ValueError(f"unknown language {lang!r}")


# -- numbers -------------------------------------------------------------------------------------------
def number(value, lang: str = "id") -> str:
    """A count as people write it (``1.009`` / ``1,009``); empty for a missing value."""
    if value is None or _is_na(value):
        return ""
    if hasattr(value, "item"):  # numpy and pandas scalars (a book_frame cell) as Python numbers
        value = value.item()
    return fmt(value, lang)


def percent(value, lang: str = "id", decimals: int = 2) -> str:
    """A percentage with fixed decimals and a sign: ``68,04 %`` (``68.04 %`` in English)."""
    if value is None or _is_na(value):
        return ""
    return f"{text_number(float(value), lang, decimals)} %"


def _is_na(value) -> bool:
    try:
        return bool(value != value)  # NaN and pd.NA (pd.NA != pd.NA is NA, which bool() refuses)
    except TypeError:
        return True


# -- Jinja ---------------------------------------------------------------------------------------------
@cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["number"] = number
    env.filters["percent"] = percent
    return env


def render(template: str, **context) -> str:
    return environment().get_template(template).render(**context)


# -- charts --------------------------------------------------------------------------------------------
_ID = re.compile(r'\bid="([^"]+)"')
_REF = re.compile(r'(\bid="|url\(#|href="#)([^")]+)')
_GLOBAL_STYLE = re.compile(
    r'\s*<defs>\s*<style type="text/css">\*\{stroke-linejoin: round; stroke-linecap: butt\}</style>\s*</defs>')
_STYLE = re.compile(r'<(\w+)([^<>]*?) style="([^"]*)"')


def _presentation(match: re.Match) -> str:
    """``style="fill: #fff; stroke-width: 0.8"`` as SVG attributes ``fill="#fff" stroke-width="0.8"``.

    Browsers read both; WeasyPrint's HTML parser also reads an inline SVG's style attributes as HTML
    CSS and warns about every SVG property, so the charts carry presentation attributes instead."""
    tag, attrs, style = match.groups()
    extra = []
    for declaration in style.split(";"):
        name, _, value = declaration.partition(":")
        name, value = name.strip(), value.strip()
        if name and f' {name}="' not in attrs:
            extra.append(f'{name}="{value}"')
    return f"<{tag}{attrs} {' '.join(extra)}" if extra else f"<{tag}{attrs}"


@cache
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # svg.fonttype none: a chart's words are SVG text in the page's own font (DejaVu Sans, as the tables), not
    # glyph outlines: searchable, selectable and read aloud; half the page's bytes and a third faster to print
    plt.rcParams.update({
        "font.family": "DejaVu Sans", "font.size": 9, "svg.fonttype": "none", "svg.hashsalt": "rekap",
        "axes.spines.top": False, "axes.spines.right": False, "axes.axisbelow": True,
    })
    return plt


def pyplot():
    """matplotlib's pyplot on the Agg backend, with the reports' fonts and a fixed SVG hash salt."""
    return _pyplot()


def svg(fig, prefix: str, title: str) -> Markup:
    """A figure as an inline ``<svg>`` element (no XML prolog), its ids prefixed to be unique on the page.

    The figure is closed. ``title`` becomes the SVG's accessible name.
    """
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    # fig.tight_layout() leaves a placeholder engine on the figure (it lays out nothing), and savefig draws
    # any figure with an engine once more, with drawing switched off, before drawing it into the SVG: a third
    # of a chart's time spent for no change. Without it the figure is drawn once, into the same bytes.
    if isinstance(fig.get_layout_engine(), PlaceHolderLayoutEngine):
        fig.set_layout_engine(None)
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    pyplot().close(fig)
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    ids = set(_ID.findall(text))
    text = _REF.sub(lambda m: m.group(1) + (f"{prefix}-" if m.group(2) in ids else "") + m.group(2), text)
    text = _STYLE.sub(_presentation, text)
    # matplotlib's <style>*{...}</style> would style the whole HTML page: its two defaults go on the root
    text = _GLOBAL_STYLE.sub("", text, count=1)
    text = text.replace("<svg", '<svg stroke-linejoin="round" stroke-linecap="butt"', 1)
    # Scale with the page: the width/height in pt become a viewBox-only, 100 %-wide image.
    text = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1', text, count=1)
    text = text.replace("<svg", f'<svg role="img" aria-label="{_attr(title)}" class="chart"', 1)
    return Markup(text)


def _attr(text: str) -> str:
    return (text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;"))
