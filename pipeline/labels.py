"""Label matching: how the reader recognises ``Gol. III``, ``S-1`` or ``SLTA/SMA`` as spec members."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

CACHED_LENGTH = 200  # labels are short and repeat in every workbook; longer text is normalised uncached


def normalize(text) -> str:
    """Upper case, dots, dashes and underscores as spaces, spaces collapsed, no space inside `X 1`."""
    if text is None:
        return ""
    text = str(text)
    return _normalized(text) if len(text) <= CACHED_LENGTH else _normalize(text)


@lru_cache(maxsize=1 << 16)  # bounded: at most 65,536 texts of at most CACHED_LENGTH characters
def _normalized(text: str) -> str:
    return _normalize(text)


def _normalize(text: str) -> str:
    s = unicodedata.normalize("NFKC", text).upper().strip()
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
