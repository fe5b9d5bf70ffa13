"""Starting a collection period: the folder submissions go to, the templates and what to send with them.

``new_period(ws, "2023")`` creates ``raw/2023/`` (where the OPDs' files are put) and writes, into
``templates/2023/``, one template per OPD that must submit (the registry less the release policy's
exemptions) and ``PETUNJUK.txt``, a short instruction text to send with them (its words are in the
text catalogue's ``period`` section). ``latest_period(raw)`` is the period ``rekap run`` takes when
none is given, so a nightly job needs no edit when the year changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline import text
from pipeline.files import atomic_write_text
from pipeline.validate import normalize_period

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
    letter = atomic_write_text(folder / text.say("period.letter_name", lang), text.say(
        "period.letter", lang, agency=ws.agency, period=period, count=len(required), codes=", ".join(required)))
    return NewPeriod(raw, folder, written, letter)


def latest_period(raw) -> str | None:
    """The latest period that has a folder in ``raw/`` (``2023`` after ``2022``, ``2023-02`` after ``2023-01``)."""
    raw = Path(raw)
    if not raw.is_dir():
        return None
    periods = [p.name for p in raw.iterdir() if p.is_dir() and normalize_period(p.name) == p.name]
    return max(periods, default=None)
