"""What a result was made with: the code version and the rule (spec) version, as short hashes.

A cached validation is reused only when both are unchanged; the published manifest records them.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from pipeline import __version__
from pipeline.specs import spec_files

PACKAGE = Path(__file__).resolve().parent


def _digest(root: Path, pattern: str) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob(pattern) if p.is_file() and "__pycache__" not in p.parts):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def rules_version() -> str:
    """A hash of every spec file in force (the shipped ones and a workspace's overrides)."""
    h = hashlib.sha256()
    for name, path in spec_files().items():
        h.update(name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


@cache
def code_version() -> str:
    return f"{__version__}+{_digest(PACKAGE, '*.py')}"


def checked_with() -> str:
    return f"{code_version()}/{rules_version()}"


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
