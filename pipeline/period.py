"""Starting a collection period: the folder submissions go to, the templates and what to send with them.

``new_period(ws, "2023")`` creates ``raw/2023/`` (where the OPDs' files are put) and writes, into
``templates/2023/``, one template per OPD that must submit (the registry less the release policy's
exemptions) and ``PETUNJUK.txt``, a short instruction text to send with them (its words are in the
text catalogue's ``period`` section). ``latest_period(raw)`` is the period ``rekap run`` takes when
none is given, so a nightly job needs no edit when the year changes. ``normalize_period`` and
``period_of_path`` say what a period is (``2022``, ``2022-12``); they import nothing heavy, for the CLI.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pipeline import text

PERIOD = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2]))?$")


def normalize_period(text: str | None) -> str | None:
    """A period as rekap writes it (``2022``, ``2022-07``) from what a person typed (``2022/7``), or None."""
    if text is None:
        return None
    text = str(text).strip().replace("/", "-")
    m = re.match(r"^(\d{4})-(\d{1,2})$", text)
    if m and 1 <= int(m.group(2)) <= 12:
        return f"{m.group(1)}-{int(m.group(2)):02d}"
    return text if PERIOD.match(text) else None


def period_of_path(path: Path) -> str | None:
    """The period a file's folder names (``raw/2022/X.xlsx`` -> ``2022``), if any."""
    return path.parent.name if PERIOD.match(path.parent.name) else None


@dataclass
class NewPeriod:
    raw: Path  # raw/PERIOD/, where submissions go
    folder: Path  # templates/PERIOD/
    templates: list[Path]
    letter: Path


def new_period(ws, period: str, lang: str = "id", progress=lambda items: items, jobs: int | None = 1) -> NewPeriod:
    """Create ``raw/PERIOD/`` (and ``raw/PERIOD/<instansi>/`` of each agency of the registry) and write the
    templates of the OPDs that must submit, with the letter. The templates are written on ``jobs``
    processes (:func:`pipeline.pool.ordered_map`; ``None``: the command's, else every core): a national
    registry's 20,000 take about 10 minutes of one core. Each is the same bytes whatever the number."""
    from pipeline.files import atomic_write_text
    from pipeline import template  # noqa: F401 - openpyxl loaded once, here, before the workers fork
    from pipeline.pool import ordered_map
    from pipeline.specs import agencies, load_registry

    registry = load_registry()
    required = ws.release.required(registry)
    raw = ws.raw / period
    raw.mkdir(parents=True, exist_ok=True)
    for instansi in agencies(registry):  # a registry of agencies: one folder each (pipeline.agencies)
        (raw / instansi).mkdir(exist_ok=True)
    folder = ws.templates / period
    todo = [(folder / f"{code}.xlsx", registry[code]) for code in required]
    # the bar counts the templates handed to the workers: a few chunks ahead of those written, and it knows the total
    written = list(ordered_map(_template, progress(todo), jobs, chunk=4, shared=(period, lang)))
    letter = atomic_write_text(folder / text.say("period.letter_name", lang), text.say(
        "period.letter", lang, agency=ws.agency, period=period, count=len(required), codes=", ".join(required)))
    return NewPeriod(raw, folder, written, letter)


def _template(shared: tuple[str, str], item: tuple[Path, object]) -> Path:
    """(In a worker.) One OPD's template: ``item`` is its path and its registry entry."""
    from pipeline.template import write_template

    period, lang = shared
    path, opd = item
    return write_template(path, opd, period, lang=lang)


def latest_period(raw) -> str | None:
    """The latest period that has a folder in ``raw/`` (``2023`` after ``2022``, ``2023-02`` after ``2023-01``)."""
    raw = Path(raw)
    if not raw.is_dir():
        return None
    periods = [p.name for p in raw.iterdir() if p.is_dir() and normalize_period(p.name) == p.name]
    return max(periods, default=None)
