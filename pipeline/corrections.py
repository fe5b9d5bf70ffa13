"""Corrections: what a clerk should change, one item per cell, built from a submission's findings.

Findings say what is wrong; a correction says what to do about it. Built from findings alone (so the
reports rebuilt from the catalog show the same), in this order:

* ``change``: a cell to change -- a cell the localiser located (``CELL_SUSPECT``; ``certainty``
  *certain* when no other change as small makes every rule hold and the value is forced, *probable*
  when it is the one best explanation), or a cell that is itself wrong (a value in a cell that cannot
  exist, not a whole number, not a number, negative, a % out of range, a formula without a value);
* ``one_of``: the slip is in one of several cells and the evidence does not tell which
  (``CELL_CANDIDATE``): all of them are named, no single value is asserted;
* ``rule``: a broken rule that no located cell explains.

Each item lists the broken rules it repairs. A broken rule whose cell is not one to change is
*affected* (``params["affected"]``): it will hold once the cells to change are corrected, and it is
never shown as a cell to overwrite. :func:`role` gives every finding its colour in the reports:
``change`` (red: change this cell), ``check`` (one of these cells, or a rule nobody located),
``affected``, ``warning``, ``info``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline import text
from pipeline.findings import Finding, fmt, place_text
from pipeline.specs import load_tables

# codes whose finding sits on the very cell that must change
CELL_CODES = frozenset({"IMPOSSIBLE_CELL", "VALUE_NOT_WHOLE", "VALUE_NOT_NUMBER", "VALUE_NEGATIVE", "PCT_RANGE",
                        "FORMULA_NO_VALUE"})
LOCATED = frozenset({"CELL_SUSPECT", "CELL_CANDIDATE"})
PERCENT_CODES = frozenset({"SUM_MISMATCH", "PCT_SHARE", "PCT_TOTAL"})
GAVE_UP = frozenset({"LOCALIZE_TOO_MANY", "LOCALIZE_UNRESOLVED"})  # localisation's own word, first of the rules


def rule_codes() -> frozenset[str]:
    """The codes of broken rules (sums, percentages, the rules across tables)."""
    from pipeline.rules.cross import cross_rules

    return PERCENT_CODES | {r.code for r in cross_rules()}
ROLES = ("change", "check", "affected", "warning", "info")

@dataclass
class Correction:
    type: str  # "change", "one_of" or "rule"
    certainty: str | None  # change: "certain" / "probable" / None (value unknown); one_of: "one_of"
    cells: list[Finding]  # change: the finding on the cell; one_of: one finding per candidate cell; rule: it
    repairs: list[Finding] = field(default_factory=list)  # the broken rules' findings it repairs

    @property
    def finding(self) -> Finding:
        return self.cells[0]

    def why(self, lang: str = "id") -> str:
        """The certainty in words, with the slip (``pasti (dua angka tertukar)``), for the reports' tables."""
        t = text.words("corrections", lang)
        f = self.finding
        if self.type == "change":
            slip = f" ({words})" if (words := f.slip(lang)) else ""
            return (t[self.certainty] if self.certainty else t["unknown"]) + slip
        if self.type == "one_of":
            return text.fill(t["one_of"], {"n": f.params.get("options", len(self.cells)),
                                           "more": t["more"] if f.params.get("capped") else ""})
        return f.message(lang) if f.code in GAVE_UP else text.fill(t["rule_text"], {"message": f.message(lang)})

    def lines(self) -> list[tuple[Finding, object, bool]]:
        """One line per cell, for the reports' tables: (its finding, the value it should have or would
        need, whether that value is only "if this is the cell")."""
        if self.type == "one_of":
            return [(c, c.params.get("if_this"), True) for c in self.cells]
        return [(self.finding, self.finding.expected if self.type == "change" else None, False)]

    def repaired(self) -> list[Finding]:
        """The broken rules it repairs, other than its own cell's."""
        return [r for r in self.repairs if r is not self.finding]

    def text(self, lang: str = "id") -> str:
        """One line: ``Golongan!G9: 93 → 39 (dua angka tertukar) — pasti``."""
        t = text.words("corrections", lang)
        f = self.finding
        if self.type == "change":
            head = f"{_where(f, lang)}: {typed(f.actual, lang)} → "
            if f.expected is None:
                return head + "? (" + t["unknown"] + ")"
            slip = f" ({words})" if (words := f.slip(lang)) else ""
            return f"{head}{typed(f.expected, lang)}{slip} — {t[self.certainty or 'probable']}"
        if self.type == "one_of":
            options: dict[int, list[Finding]] = {}
            for c in self.cells:
                options.setdefault(c.params.get("option", 0), []).append(c)
            single = all(len(o) == 1 for o in options.values())
            cells = "; ".join(
                " + ".join(f"{_where(c, lang)}: {typed(c.actual, lang)} → {typed(c.params.get('if_this'), lang)}"
                           for c in o) if not single else
                f"{_where(o[0], lang)} = {typed(o[0].actual, lang)} ({text.fill(t['if_this'], {'value': typed(o[0].params.get('if_this'), lang)})})"
                for o in options.values())
            more = t["more"] if f.params.get("capped") else ""
            count = text.fill(t["one_of"], {"n": f.params.get("options", len(self.cells)), "more": more}) if single \
                else text.fill(t["one_of_sets"], {"n": f.params.get("options", len(options)), "more": more})
            return f"{count[0].upper()}{count[1:]}: " + text.fill(t["one_of_text"], {"cells": cells})
        return f.message(lang) if f.code in GAVE_UP else text.fill(t["rule_text"], {"message": f.message(lang)})

    def to_dict(self, lang: str = "id") -> dict:
        f = self.finding
        out = {"type": self.type, "certainty": self.certainty, "text": self.text(lang),
               "repairs": [_place_dict(r, lang) | {"code": r.code, "rule": r.rule, "message": r.message(lang)}
                           for r in self.repairs]}
        if self.type == "change":
            out.update(_place_dict(f, lang), actual=_num(f.actual), expected=_num(f.expected), code=f.code,
                       slip={"kind": f.params.get("kind"), "text": f.slip(lang)} if f.slip(lang) else None)
        elif self.type == "one_of":
            out.update(count=f.params.get("options", len(self.cells)), capped=bool(f.params.get("capped")),
                       candidates=[_place_dict(c, lang) | {"actual": _num(c.actual), "if_this": _num(c.params.get("if_this")),
                                                           "option": c.params.get("option")} for c in self.cells])
        else:
            out.update(_place_dict(f, lang), code=f.code, message=f.message(lang), actual=_num(f.actual),
                       expected=_num(f.expected))
        return out


def _num(value):
    return int(value) if isinstance(value, float) and value.is_integer() else value


def typed(value, lang: str) -> str:
    """A count as the clerk types it (``1009``: no thousands point, which is the slip being fixed);
    a percentage in the language's decimals."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer():
        return str(int(value))
    return fmt(value, lang)


def _where(f: Finding, lang: str) -> str:
    if f.sheet and f.address:
        return f"{f.sheet}!{f.address}"
    return place_text({"table": f.table, "cell": f.cell}, lang) or "-"


def _place_dict(f: Finding, lang: str) -> dict:
    return {"sheet": f.sheet, "address": f.address, "table": f.table, "cell": f.cell,
            "where": place_text({"table": f.table, "cell": f.cell}, lang)}


def _same_cell(a: Finding, b: Finding) -> bool:
    if a.sheet and a.address and b.sheet and b.address:
        return (a.sheet, a.address) == (b.sheet, b.address)
    return a.table == b.table and a.cell == b.cell and a.cell is not None


def _by(f: Finding, cell: Finding) -> bool:
    """Whether the affected finding ``f`` is repaired by a change of ``cell``."""
    return any((p.get("sheet"), p.get("address")) == (cell.sheet, cell.address) if cell.address else
               (p.get("table"), p.get("cell")) == (cell.table, cell.cell) for p in f.params.get("by", []))


def corrections(findings: list[Finding]) -> list[Correction]:
    """The corrections of one submission, cells to change first (certain, then probable, in book order),
    then ties, then broken rules that nobody located."""
    numbers = {t.id: t.number for t in load_tables().values()}
    errors = [f for f in findings if f.severity == "error"]
    items: list[Correction] = []
    located = [f for f in findings if f.code == "CELL_SUSPECT"]
    for f in located:
        repairs = [e for e in errors if e.rule in f.params.get("repairs", []) and (_same_cell(e, f) or _by(e, f))]
        repairs += [e for e in errors if _same_cell(e, f) and e not in repairs]
        items.append(Correction("change", f.params.get("certainty", "certain"), [f], repairs))
    for e in errors:
        if e.code in CELL_CODES and not any(_same_cell(e, f) for f in located):
            items.append(Correction("change", "certain" if e.suggestion() else None, [e], [e]))
    candidates = [f for f in findings if f.code == "CELL_CANDIDATE"]
    if candidates:
        rules = {r for c in candidates for r in c.params.get("repairs", [])}
        repairs = [e for e in errors if e.rule in rules and (e.params.get("affected")
                                                              or any(_same_cell(e, c) for c in candidates))]
        items.append(Correction("one_of", "one_of", candidates, repairs))
    for f in findings:  # localisation gave up: say so before the rules it could not explain
        if f.code in GAVE_UP:
            items.append(Correction("rule", None, [f], []))
    covered = {id(r) for c in items for r in c.repairs}
    codes = rule_codes()
    for e in errors:
        if id(e) not in covered and e.code in codes:
            items.append(Correction("rule", None, [e], [e]))

    def order(c: Correction):
        f = c.finding
        rank = {"change": 0, "one_of": 1, "rule": 2}[c.type] + (0 if f.code not in GAVE_UP else -0.5)
        sure = 0 if c.certainty == "certain" else 1
        return (rank, sure if c.type == "change" else 0, numbers.get(f.table, 99), f.sheet or "",
                _row_col(f.address))
    return sorted(items, key=order)


def _row_col(address) -> tuple:
    if not address:
        return (0, 0)
    from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
    try:
        column, row = coordinate_from_string(str(address).split(":")[0].replace("$", ""))
        return (row, column_index_from_string(column))
    except Exception:
        return (0, 0)


def role(f: Finding, items: list[Correction]) -> str:
    """How a finding's cell is shown: ``change`` (red: change this cell), ``check`` (one of several cells,
    or a broken rule nobody located), ``affected`` (leave it: it adds up once the red cells are fixed),
    else by severity (``warning``, ``info``)."""
    for c in items:
        if c.type == "change" and any(f is x or _same_cell(f, x) for x in c.cells):
            return "change"
    if f.code == "CELL_CANDIDATE":
        return "check"
    if f.params.get("affected") and f.severity == "error":
        return "affected"
    if f.severity == "error":
        return "check" if any(c.type == "rule" and c.finding is f for c in items) else "change"
    return f.severity


def affected_text(f: Finding, lang: str = "id") -> str:
    """``terdampak, jangan diubah: akan cocok setelah Golongan!G9 diperbaiki``."""
    cells = ", ".join(place_text(p, lang).split(" (")[0] for p in f.params.get("by", []))
    return text.say("corrections.affected_by", lang, cells=cells)
