"""Show validation results: short text grouped by table, or JSON for machines."""

from __future__ import annotations

import json

from pipeline.findings import SEVERITIES
from pipeline.specs import load_tables

WORDS = {
    "id": {"accepted": "DITERIMA", "rejected": "DITOLAK", "error": "galat", "warning": "peringatan",
           "info": "catatan", "file": "Berkas", "general": "Umum", "table": "Tabel", "clean": "tidak ada temuan",
           "summary": "{n} berkas: {ok} diterima, {bad} ditolak"},
    "en": {"accepted": "ACCEPTED", "rejected": "REJECTED", "error": "error", "warning": "warning",
           "info": "note", "file": "File", "general": "General", "table": "Table", "clean": "no findings",
           "summary": "{n} files: {ok} accepted, {bad} rejected"},
}
MARK = {"error": "E", "warning": "W", "info": "i"}


def to_json(results, lang: str = "id") -> str:
    return json.dumps({"submissions": [
        {"file": r.file, "opd": r.opd, "period": r.period, "status": r.status,
         "findings": [f.to_dict(lang) for f in r.findings]} for r in results
    ]}, ensure_ascii=False, indent=2, default=str)


def to_text(results, lang: str = "id") -> str:
    w = WORDS[lang]
    tables = load_tables()
    lines = []
    for r in results:
        counts = {s: sum(f.severity == s for f in r.findings) for s in SEVERITIES}
        tally = ", ".join(f"{n} {w[s]}" for s, n in counts.items() if n) or w["clean"]
        lines.append(f"{r.opd or '?'} {r.period or '?'}  {w[r.status]}  ({tally})  {r.file}")
        groups: dict[str | None, list] = {}
        for f in r.findings:
            groups.setdefault(f.table, []).append(f)
        order = sorted(groups, key=lambda t: (t is not None, tables[t].number if t in tables else 99))
        for table in order:
            spec = tables.get(table)
            title = f"{w['table']} {spec.number}. {spec.title[lang]}" if spec else (table or w["general"])
            lines.append(f"  {title}")
            for f in sorted(groups[table], key=lambda f: SEVERITIES.index(f.severity)):
                lines.append(f"    [{MARK[f.severity]}] {f.code}: {f.message(lang)}")
    ok = sum(r.status == "accepted" for r in results)
    lines.append(w["summary"].format(n=len(results), ok=ok, bad=len(results) - ok))
    return "\n".join(lines)
