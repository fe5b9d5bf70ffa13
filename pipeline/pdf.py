"""Printing HTML to PDF: the same HTML gives the same bytes, whenever and wherever it is printed.

Owns the one call to WeasyPrint. What could make two prints of the same page differ, and how it is
fixed here:

* the document id: fixed (``pdf_identifier``); the second half of the PDF's ``/ID`` is a hash of the
  content, which is itself deterministic;
* the dates: WeasyPrint writes a creation or modification date only when the HTML names one (our
  templates do not) or for attachments (we have none);
* the embedded fonts: WeasyPrint subsets them with HarfBuzz where ``libharfbuzz-subset`` is installed
  (deterministic), and with fontTools where it is not, which stamps each subset font's ``head``
  table with the current time (``head.modified``): two prints a second apart then differ, with the
  same length. fontTools takes that time from ``SOURCE_DATE_EPOCH`` when it is set (the
  reproducible-builds convention), so the print sets it to :data:`EPOCH` unless the caller set it.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import re
from pathlib import Path

from weasyprint import HTML

from pipeline.files import atomic_write

EPOCH = "0"  # SOURCE_DATE_EPOCH for the fonts' timestamps when the caller sets none: 1970-01-01
IDENTIFIER = b"rekap-profil"


@contextlib.contextmanager
def _source_date_epoch():
    """``SOURCE_DATE_EPOCH`` set for the duration of a print (the caller's own value is kept)."""
    if "SOURCE_DATE_EPOCH" in os.environ:
        yield
        return
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        yield
    finally:
        os.environ.pop("SOURCE_DATE_EPOCH", None)


_INLINE_SVG = re.compile(r"<svg\b([^>]*)>.*?</svg>", re.S)
_LABEL = re.compile(r'\baria-label="([^"]*)"')
_CLASS = re.compile(r'\bclass="([^"]*)"')


def _as_image(match: re.Match) -> str:
    attrs = match.group(1)
    label, cls = _LABEL.search(attrs), _CLASS.search(attrs)
    data = base64.b64encode(match.group(0).encode("utf-8")).decode("ascii")
    alt = label.group(1) if label else ""  # already escaped as an attribute (pipeline/html.py)
    css = f' class="{cls.group(1)}"' if cls else ""
    return f'<img src="data:image/svg+xml;base64,{data}" alt="{alt}"{css}>'


def images_for_print(html: str) -> str:
    """``html`` with each inline ``<svg>`` (a chart, pipeline/html.py) as an ``<img>`` of the same SVG.

    WeasyPrint builds an inline SVG from the HTML parser's elements, styled by the page's cascade (hundreds
    per chart); as an image it is read by an XML parser and drawn by the same SVG code, the same shapes
    and text at the same place, in 40 % less time."""
    return _INLINE_SVG.sub(_as_image, html)


def write_pdf(path, html: str, base_url) -> Path:
    """Print ``html`` to a PDF with WeasyPrint (print CSS, A4), atomically and reproducibly."""
    logging.getLogger("fontTools").setLevel(logging.WARNING)  # subsetting chatter
    document = HTML(string=images_for_print(html), base_url=str(base_url)).render()
    with _source_date_epoch():
        return atomic_write(Path(path), lambda tmp: document.write_pdf(tmp, pdf_identifier=IDENTIFIER))
