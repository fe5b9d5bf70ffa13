"""Release status: every published release is provisional (*sementara*) or *final*.

A release is final when the coverage the workspace asks for is reached (``rekap.toml``
``[release] required_share``, default 1.0: the data of every OPD that must submit is in the city
tables), or when the officer finalises it (``rekap run --final`` / ``rekap release --final``), which
is recorded with who and when. An officer's finalisation holds for the data it was given: a later
run with the same versions keeps it (and is "unchanged"); a run whose data changed is provisional
again until the coverage is reached or the officer finalises once more.

A registry of agencies: each agency's own release (``instansi/<INSTANSI>/`` of the release) has its own
status, by the same rule over its own OPDs (:func:`pipeline.agencies.agency_releases`); the combined
release lists them (``release.agencies``).

The status goes into ``manifest.json`` (``release``), the SQL tables (``rekap_release``, and a
``release`` column of ``rekap_cells``), the published workbook, the dashboard, and as a
"SEMENTARA" mark on the profile.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline import text
from pipeline.workspace import ReleasePolicy

if TYPE_CHECKING:
    import pandas as pd

PROVISIONAL, FINAL = "sementara", "final"
SHOWN = 10  # names a status line shows (the manifest and the dashboard have them all)


def needed(policy: ReleasePolicy, required: int) -> int:
    """How many of the ``required`` OPDs must be in the city tables for a final release."""
    import math

    return math.ceil(policy.required_share * required - 1e-9)


def release_status(summary: dict, registry, policy: ReleasePolicy, used: dict[str, str], previous: dict | None,
                   finalise: dict | None, now: str) -> dict:
    """The status of the release a run would publish (see the module's docstring).

    ``used``: OPD -> sha256 of the versions in the city tables; ``previous``: the published manifest;
    ``finalise``: ``{"by": name}`` when the officer finalises now."""
    required = policy.required(registry)
    included = [c for c in required if c in used]
    status = {"required": len(required), "included": len(included), "needed": needed(policy, len(required)),
              "missing": sorted(set(required) - set(included)), "finalised_by": None, "finalised_at": None}
    earlier = (previous or {}).get("release") or {}
    if earlier.get("reason") == "officer" and (previous or {}).get("used") == used:
        return {**status, "status": FINAL, "reason": "officer", "finalised_by": earlier.get("finalised_by"),
                "finalised_at": earlier.get("finalised_at")}
    if len(included) >= status["needed"]:
        return {**status, "status": FINAL, "reason": "coverage"}
    if finalise:
        return {**status, "status": FINAL, "reason": "officer", "finalised_by": finalise.get("by") or "?",
                "finalised_at": now}
    return {**status, "status": PROVISIONAL, "reason": None}


def release_text(release: dict | None, lang: str = "id") -> str:
    """One line: the status and why (``SEMENTARA: 3 dari 34 OPD wajib ...; final bila ...``); the national
    release's (``unit: instansi``) in agencies; an agency's own (``scope: instansi``) of its own tables."""
    w = text.words("release", lang)
    if not release:
        return "-"
    national = release.get("unit") == "instansi"  # the national release: counted in agencies
    count = "count_agencies" if national else "count_agency" if release.get("scope") == "instansi" else "count"
    parts = [text.fill(w[count], release)]
    if release["status"] == FINAL:
        parts.append(text.fill(w["officer"], {"by": release["finalised_by"], "at": str(release["finalised_at"])[:19]})
                     if release.get("reason") == "officer" else w["coverage"])
    else:
        parts.append(w["needs_agencies"] if national else text.fill(w["needs"], {"needed": release["needed"]}))
    if release.get("provisional"):
        parts.append(text.say("release.provisional", lang, agencies=text.first(release["provisional"], SHOWN, lang)))
    if release.get("missing"):
        parts.append(text.fill(w["missing"], {"missing": text.first(release["missing"], SHOWN, lang)}))
    return f"{w['status'][release['status']]}: " + "; ".join(parts)


def agencies_text(statuses: dict[str, str], lang: str = "id") -> str:
    """How many agencies' releases are final, and which are still provisional (agency -> status)."""
    provisional = sorted(a for a, s in statuses.items() if s != FINAL)
    line = text.say("release.agencies", lang, n=len(statuses), final=len(statuses) - len(provisional))
    if not provisional:
        return line
    return line + "; " + text.say("release.provisional", lang, agencies=text.first(provisional, SHOWN, lang))


def agencies_line(release: dict | None, lang: str = "id") -> str:
    """A line on the agencies' own releases (a registry of agencies), "" otherwise."""
    if not (release or {}).get("agencies"):
        return ""
    statuses = {a: r["status"] for a, r in release["agencies"].items()}
    return f"\n{text.say('release.agencies_head', lang)}: {agencies_text(statuses, lang)}"


def release_line(release: dict | None, lang: str = "id") -> str:
    """The run summary's closing line about the release ("" when nothing was to be released), and
    :func:`agencies_line`."""
    if not release:
        return ""
    return f"\n{text.say('release.head', lang)}: {release_text(release, lang)}" + agencies_line(release, lang)


def release_frame(period: str, run_id: str, release: dict) -> pd.DataFrame:
    """The ``rekap_release`` SQL table's row for a published release."""
    import pandas as pd

    return pd.DataFrame([{
        "period": period, "run_id": run_id, "status": release["status"], "reason": release.get("reason") or "",
        "finalised_by": release.get("finalised_by") or "", "finalised_at": release.get("finalised_at") or "",
        "opds_required": int(release["required"]), "opds_included": int(release["included"]),
        "missing": ", ".join(release.get("missing") or [])}])
