"""Regenerate the generated parts of the README (``make docs``)."""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.findings import catalogue_markdown

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"(<!-- findings:start -->\n).*?(<!-- findings:end -->)", re.S)


def render(text: str) -> str:
    return BLOCK.sub(lambda m: m.group(1) + catalogue_markdown() + m.group(2), text)


if __name__ == "__main__":
    README.write_text(render(README.read_text(encoding="utf-8")), encoding="utf-8")
