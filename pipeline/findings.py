"""The one finding model: every problem, from an unreadable file to a rank warning, is a Finding.

A finding is language-neutral: a code from ``schemas/findings.yaml`` (which gives its severity) plus
structured parameters. Its title and message are rendered when it is shown, in the language asked
for, from the text catalogue (``schemas/text.yaml``, section ``findings``; see :mod:`pipeline.text`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pipeline import text
from pipeline.specs import SCHEMAS, load_tables, read_yaml

SEVERITIES = ("error", "warning", "info")
# codes whose ``expected`` is the value the cell should hold (for a sum, it is the sum of the parts:
# the error may as well be in a part, so that is no suggestion)
SUGGESTING_CODES = frozenset({"PCT_SHARE", "IMPOSSIBLE_CELL", "VALUE_NOT_WHOLE", "PERIOD_MISMATCH", "CELL_SUSPECT",
                              "STAFF_RECAP_DIFF"})
# codes whose ``detail`` is technical (an exception's text, a limit's name): in the JSON, never in a message
TECHNICAL_DETAIL = frozenset({"FILE_CORRUPT", "FILE_UNSUPPORTED", "FILE_NOT_FOUND", "FILE_TOO_LARGE", "INTERNAL_ERROR",
                              "REPORT_FAILED"})


@cache
def catalogue() -> dict[str, dict]:
    return read_yaml(SCHEMAS / "findings.yaml")


@dataclass(frozen=True)
class Finding:
    code: str
    rule: str
    table: str | None = None
    cell: dict | None = None
    sheet: str | None = None
    address: str | None = None
    expected: Any = None
    actual: Any = None
    params: dict = field(default_factory=dict)
    severity: str = ""

    def __post_init__(self):
        if self.code not in catalogue():
            raise KeyError(f"finding code {self.code!r} is not in schemas/findings.yaml")
        if not self.severity:
            object.__setattr__(self, "severity", catalogue()[self.code]["severity"])

    def with_source(self, sheet: str | None, address: str | None) -> Finding:
        return Finding(self.code, self.rule, self.table, self.cell, sheet, address, self.expected,
                       self.actual, self.params, self.severity)

    def title(self, lang: str = "id") -> str:
        return text.say(f"findings.{self.code}.title", lang)

    def message(self, lang: str = "id") -> str:
        """The message in ``lang`` from the catalogue: the entry's ``message``, or the one of its
        ``variants`` that ``params["certainty"]`` names; each of its ``parts`` (an optional fragment) is
        filled in where the parameter of the same name is set, and left out where it is not."""
        entry = text.entry(f"findings.{self.code}")
        template = text.pick(entry.get("variants", {}).get(self.params.get("certainty"), entry["message"]), lang)
        spec = load_tables().get(self.table) if self.table else None
        where = ""
        if self.cell is not None and spec is not None:
            where = describe_cell(spec, self.cell, lang)
        if self.address:
            where = f"{where} [{self.sheet}!{self.address}]" if where else f"{self.sheet}!{self.address}"
        values = {
            "where": where or "-",
            "table": text.label(spec.title, lang) if spec else (self.table or "-"),
            "actual": fmt(self.actual, lang),
            "expected": fmt(self.expected, lang),
            "rule": self.rule,
            "sheet": self.sheet or "-",
        }
        tables = load_tables()
        values.update({k: text.label(tables[v].title, lang) if k.endswith("table") and v in tables else fmt(v, lang)
                       for k, v in self.params.items()
                       if not isinstance(v, list) and not (isinstance(v, dict) and not _in_languages(v))})
        for name, items in self.params.items():  # a list of places or cells, in words
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                continue
            if name in entry.get("items", {}):
                item = text.pick(entry["items"][name], lang)
                values[name] = "; ".join(text.fill(item, {k: fmt(v, lang) for k, v in i.items()}) for i in items) or "-"
            elif spec is not None and all(set(i) <= set(spec.dim_names) for i in items):
                values[name] = " + ".join(member_text(spec, i, lang) for i in items) or "-"
        for name, words in entry.get("values", {}).items():  # a code, in words (filled with the others)
            code = self.params.get(name)
            if isinstance(code, str) and code in words:
                values[name] = text.fill(text.pick(words[code], lang), values)
        values["slip"] = f" ({words})" if (words := self.slip(lang)) else ""
        for name, fragment in entry.get("parts", {}).items():
            given = self.params.get(name)
            values[name] = text.fill(text.pick(fragment, lang), values) if given not in (None, False, 0, "", []) else ""
        return text.fill(template, values)

    def slip(self, lang: str = "id") -> str | None:
        """The recognised slip of a located cell in words (``dua angka tertukar``), or None."""
        from pipeline.suggest import slip_text

        kind = self.params.get("kind")
        if not isinstance(kind, str):
            return None
        other = self.params.get("other")
        return slip_text(kind, place_text(other, lang) if isinstance(other, dict) else "", lang)

    def suggestion(self, lang: str = "id") -> dict | None:
        """The value this finding's cell should hold, with the slip that explains it, or None.

        A located cell (``CELL_SUSPECT``) and the codes of :data:`SUGGESTING_CODES` carry it as their
        ``expected`` value; ``certain`` is False where it is only the likeliest explanation."""
        if self.code not in SUGGESTING_CODES or self.expected is None:
            return None
        certain = self.params.get("certainty", "certain") == "certain" and self.params.get("certain", True)
        return {"value": _plain(self.expected), "kind": self.params.get("kind"), "certain": bool(certain),
                "text": self.slip(lang)}

    def to_record(self) -> dict:
        """Language-neutral and JSON-ready, for storing; :meth:`from_record` reads it back."""
        return {"code": self.code, "rule": self.rule, "table": self.table, "cell": self.cell,
                "sheet": self.sheet, "address": self.address, "expected": _plain(self.expected),
                "actual": _plain(self.actual), "params": self.params, "severity": self.severity}

    @classmethod
    def from_record(cls, record: dict) -> Finding:
        return cls(**record)

    def to_dict(self, lang: str = "id") -> dict:
        return {
            "code": self.code, "severity": self.severity, "rule": self.rule, "table": self.table,
            "cell": self.cell, "sheet": self.sheet, "address": self.address,
            "expected": _plain(self.expected), "actual": _plain(self.actual), "message": self.message(lang),
            "suggestion": self.suggestion(lang),
            **({"detail": self.params["detail"]} if self.code in TECHNICAL_DETAIL and "detail" in self.params else {}),
        }


def _plain(value):
    """Whole floats as ints, so that JSON shows counts as counts."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _in_languages(value: dict) -> bool:
    """A ``{lang: text}`` parameter, as findings stored by rekap 0.1 carry (read back from old catalogs)."""
    return bool(value) and set(value) <= set(text.languages())


def place_text(place: dict, lang: str) -> str:
    """A cell named by a ``{"table", "cell", "sheet", "address"}`` dict, as a clerk reads it."""
    spec = load_tables().get(place.get("table"))
    words = describe_cell(spec, place["cell"], lang) if spec is not None and place.get("cell") else ""
    if place.get("sheet") and place.get("address"):
        return f"{place['sheet']}!{place['address']}" + (f" {words}" if words else "")
    return words


def describe_cell(spec, cell: dict, lang: str) -> str:
    """``(Ruang B, GOL IV, L)``: member labels, with the dimension's name where a dimension asks for it."""
    parts = []
    for name in spec.dim_names:
        dim = spec.dim(name)
        if name not in cell or len(dim.members) == 1 or dim.show == "none":
            continue
        value = cell[name]
        labels = []
        for code in (value if isinstance(value, list) else [value]):
            try:
                labels.append(text.label(dim.member(code).label, lang) or code)
            except KeyError:
                labels.append(str(code))
        joined = "/".join(labels)
        parts.append(f"{text.label(dim.label, lang) or name} {joined}" if dim.show == "name" else joined)
    return "(" + ", ".join(parts) + ")" if parts else ""


def member_text(spec, cell: dict, lang: str) -> str:
    """``GOL I L``: the labels of a cell's members, in the order of the table's dimensions (a list of
    members, as an aggregate names them, joined by ``+``)."""
    def one(name, code):
        if isinstance(code, (list, tuple)):
            return "+".join(one(name, c) for c in code)
        try:
            return text.label(spec.dim(name).member(code).label, lang) or str(code)
        except KeyError:
            return str(code)
    return " ".join(one(name, cell[name]) for name in spec.dim_names if name in cell)


def fmt(value: Any, lang: str = "id") -> str:
    """A parameter as people read it: numbers with the language's marks (:func:`pipeline.text.number`)."""
    if isinstance(value, dict) and _in_languages(value):
        return text.label(value, lang)
    return text.number(value, lang)


def catalogue_markdown() -> str:
    """The finding catalogue as the README's table (``make docs`` writes it there)."""
    rows = ["| code | severity | what it means |", "|---|---|---|"]
    rows += [f"| `{code}` | {e['severity']} | {text.say(f'findings.{code}.title', 'en')} "
             f"({text.say(f'findings.{code}.title', 'id')}) |" for code, e in catalogue().items()]
    return "\n".join(rows) + "\n"


def has_errors(findings) -> bool:
    return any(f.severity == "error" for f in findings)


def flatten(findings) -> list[tuple]:
    """Findings as ``(code, table, cell)`` tuples, with the cell as sorted ``(dim, member)`` pairs."""
    def freeze(cell):
        if cell is None:
            return None
        return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in cell.items()))
    return sorted(((f.code, f.table, freeze(f.cell)) for f in findings), key=repr)
