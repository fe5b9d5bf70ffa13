"""Show validation results: short text grouped by table, or JSON for machines."""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from collections.abc import Iterator

from pipeline import text
from pipeline.corrections import LOCATED, affected_text, corrections, role
from pipeline.findings import SEVERITIES, place_text
from pipeline.specs import load_tables

MARK = {"error": "E", "warning": "W", "info": "i"}
# a run's summary is read at a console or in the scheduler's mail: a city's lists (a few dozen OPDs) are
# shown whole; a national registry's (thousands) are cut here, and the dashboard has every one
NAMES_SHOWN = 50  # OPDs named in a line (not included, no earlier figures)
REJECTED_SHOWN = 50  # rejected files, one a line


def _short(f, lang: str) -> str:
    """Where a finding is, in a few words: ``Golongan!J9``, or the cell in words."""
    if f.sheet and f.address:
        return f"{f.sheet}!{f.address}"
    return place_text({"table": f.table, "cell": f.cell}, lang) or f.title(lang)


def to_json(results, lang: str = "id") -> str:
    return "".join(json_chunks(results, lang))


def json_chunks(results, lang: str = "id") -> Iterator[str]:
    """``{"submissions": [...]}`` written one submission at a time, as the results come (``results``
    may be a stream): the pieces joined are the same bytes as one ``json.dumps(..., indent=2)``."""
    yield '{\n  "submissions": ['
    first = True
    for r in results:
        body = json.dumps({"file": r.file, "opd": r.opd, "period": r.period, "status": r.status,
                           "corrections": [c.to_dict(lang) for c in corrections(r.findings)],
                           "findings": [f.to_dict(lang) for f in r.findings]},
                          ensure_ascii=False, indent=2, default=str)
        yield ("\n" if first else ",\n") + textwrap.indent(body, "    ")
        first = False
    yield "]\n}" if first else "\n  ]\n}"


def to_text(results, lang: str = "id") -> str:
    return "\n".join(text_chunks(results, lang))


def text_chunks(results, lang: str = "id") -> Iterator[str]:
    """The text report, one submission's lines at a time as the results come, then the tally."""
    w = text.words("render", lang)
    ctext = text.words("corrections", lang)
    tables = load_tables()
    total = ok = 0
    for r in results:
        total, ok = total + 1, ok + (r.status == "accepted")
        lines = []
        counts = {s: sum(f.severity == s for f in r.findings) for s in SEVERITIES}
        tally = ", ".join(text.fill(w["tally"]["one" if n == 1 else "other"][s], {"n": n})
                          for s, n in counts.items() if n) or w["clean"]
        lines.append(f"{r.opd or '?'} {r.period or '?'}  {w[r.status]}  ({tally})  {r.file}")
        items = corrections(r.findings)
        if items:
            lines.append(f"  {ctext['heading']}")
            for i, c in enumerate(items, 1):
                lines.append(f"    {i}. {c.text(lang)}")
                if c.type != "rule" and (fixes := [x for x in c.repairs if x not in c.cells]):
                    lines.append(f"       {ctext['repairs']}: " + ", ".join(_short(x, lang) for x in fixes))
        groups: dict[str | None, list] = {}
        for f in r.findings:
            if f.code in LOCATED:  # shown as corrections above
                continue
            groups.setdefault(f.table, []).append(f)
        order = sorted(groups, key=lambda t: (t is not None, tables[t].number if t in tables else 99))
        for table in order:
            spec = tables.get(table)
            title = text.fill(w["table"], {"number": spec.number, "title": text.label(spec.title, lang)}) if spec \
                else (table or w["general"])
            lines.append(f"  {title}")
            for f in sorted(groups[table], key=lambda f: (role(f, items) == "affected", SEVERITIES.index(f.severity))):
                if role(f, items) == "affected":
                    lines.append(f"    [~] {f.code}: {f.message(lang)} ({affected_text(f, lang)})")
                    continue
                lines.append(f"    [{MARK[f.severity]}] {f.code}: {f.message(lang)}")
        yield "\n".join(lines)
    yield text.fill(w["summary"], {"n": total, "ok": ok, "bad": total - ok})


def _codes(findings, severity="error") -> str:
    return ", ".join(sorted({f.code for f in findings if f.severity == severity}))


def run_summary(result, lang: str = "id") -> str:
    w = text.words("render.run", lang)
    if result.outcome == "failed":  # one line for the scheduler's mail; the traceback is in the log
        return text.fill(w["failed"], {"message": text.shown(result.message, lang), "log": result.log})
    lines = [text.fill(w["head"], {"run": result.run_id, "period": result.period, "outcome": w[result.outcome],
                                   "files": len(result.inputs), "validated": result.validated,
                                   "accepted": sum(i.status == "accepted" for i in result.inputs),
                                   "rejected": sum(i.status == "rejected" for i in result.inputs)})]
    if result.message:
        lines.append(f"  {text.shown(result.message, lang)}")
    if result.coverage is not None:
        from pipeline.coverage import coverage_note, status_labels
        counts = Counter(row["status"] for row in result.coverage)
        labels = status_labels(lang)
        lines.append("  " + ", ".join(f"{labels[s]}: {counts[s]}" for s in labels if s in counts))
        lines.append("  " + coverage_note(result.coverage_summary, lang, shown=NAMES_SHOWN))
    bad = [i for i in result.inputs if i.status == "rejected"]
    if bad:
        lines.append(w["rejected"])
        lines += [f"  {i.opd or '?':<20} {i.file.name:<28} {_codes(i.all_findings)}" for i in bad[:REJECTED_SHOWN]]
        if len(bad) > REJECTED_SHOWN:
            lines.append("  " + text.fill(w["more_rejected"], {"n": len(bad) - REJECTED_SHOWN}))
        if result.dashboard:
            lines.append("  " + text.fill(w["details"], {"folder": result.dashboard.parent / "opd"}))
    from pipeline.staff_run import summary_lines  # staff lists: read, reconciled, used

    lines += summary_lines(result, lang)
    if result.gate_failures:
        lines.append(w["gate"])
        lines += [f"  {f}" for f in result.gate_failures]
    if result.dashboard:
        lines.append(text.fill(w["dashboard"], {"path": result.dashboard}))
    if result.log:
        lines.append(text.fill(w["log"], {"log": result.log}))
    return "\n".join(lines)
