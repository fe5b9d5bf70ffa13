"""Label matching: how the reader recognises ``Gol. III``, ``S-1`` or ``SLTA/SMA`` as spec members."""

from __future__ import annotations

import re
import unicodedata


def normalize(text) -> str:
    """Upper case, dots, dashes and underscores as spaces, spaces collapsed, no space inside `X 1`."""
    if text is None:
        return ""
    s = unicodedata.normalize("NFKC", str(text)).upper().strip()
    s = re.sub(r"[._\-–—:]+", " ", s)
    s = re.sub(r"\s*/\s*", "/", s)
    s = re.sub(r"\s+", " ", s).strip()
    s = re.sub(r"^(GOL|GOLONGAN) (?=[IV]+\b)", "GOL ", s)
    return s


def variants(*labels: str) -> frozenset[str]:
    """The normalised forms a label may take, with and without spaces."""
    out = set()
    for label in labels:
        n = normalize(label)
        if n:
            out.add(n)
            out.add(n.replace(" ", ""))
    return frozenset(out)


def matches(text, accepted: frozenset[str]) -> bool:
    n = normalize(text)
    return bool(n) and (n in accepted or n.replace(" ", "") in accepted)
