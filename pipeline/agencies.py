"""Several agencies in one workspace: a province, or the national agency, collecting for its agencies.

A registry with an ``instansi`` column (:func:`pipeline.specs.load_registry`) holds agencies (*instansi*)
and their OPDs. Their submissions are in ``raw/PERIOD/<instansi>/``, one folder per agency of the
registry (a folder's name comes from the registry, never from submitted text): a file there is checked
against that agency's OPDs only, which it may name by their own code (``DISKOMINFO``) or by their id
(``KOTA-SERANG.DISKOMINFO``, what the agency's templates carry). A file directly in ``raw/PERIOD/`` must
name an id. A folder there that is no agency of the registry is skipped with a note, like any folder. A
file of an agency's folder is a version of that agency (:func:`version_key`): the same bytes in two
agencies' folders are two submissions, each of its own agency's OPD.

Consolidation gives the combined tables (the release, as for a city) and each agency's own tables
(``instansi/<INSTANSI>/`` inside the release, written like the city tables); coverage has an
``instansi`` column and the summary each agency's counts. In SQL, each agency's rows are tagged with it
(:func:`pipeline.database.publish_agencies`). An agency whose sub-release and SQL rows would be the same
(:func:`fingerprint_agencies`) is neither summed nor written again: its files are linked from the current
release, its rows left as they are. A registry without agencies changes nothing of this.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.coverage import coverage_frame, coverage_note, coverage_rows
from pipeline.findings import Finding
from pipeline.read import scan, skipped_entries
from pipeline.specs import Opd, agencies, agency_registry

if TYPE_CHECKING:
    import pandas as pd

AGENCY_FOLDER = "instansi"  # inside a release: one folder per agency with its own tables


def discover(folder: Path, registry: dict[str, Opd]) -> tuple[list[Path], list[Path], list[Finding], dict[Path, str]]:
    """The submissions, the other files and the skipped entries of ``raw/PERIOD/`` and of its agencies'
    folders, and the agency of each file (submission or not) found in an agency's folder (a one-city registry: only
    ``folder``, exactly as :func:`pipeline.read.scan` and :func:`pipeline.read.skipped_entries`)."""
    folder = Path(folder)
    files, ignored = scan(folder)
    notes = skipped_entries(folder)
    names = agencies(registry)
    if not names:
        return files, ignored, notes, {}
    mine = {n for n in names if (folder / n).is_dir() and not (folder / n).is_symlink()}
    notes = [n for n in notes if not (n.params["kind"] == "folder" and n.params["name"] in mine)]
    agency_of: dict[Path, str] = {}
    for name in names:
        if name not in mine:
            continue
        found, other = scan(folder / name)
        files += found
        ignored += other
        agency_of.update({p: name for p in found + other})
        for note in skipped_entries(folder / name):
            notes.append(Finding(note.code, note.rule, params={**note.params, "name": f"{name}/{note.params['name']}"}))
    return files, ignored, notes, agency_of


def input_name(path: Path, agency: str = "") -> str:
    """A file of ``raw/PERIOD/`` as runs record and show it: its name, after its agency's folder when it is
    in one (``KOTA-A/DINKES.xlsx``): two agencies' files of one name are two inputs."""
    return f"{agency}/{path.name}" if agency else path.name


def version_key(sha: str, agency: str = "") -> str:
    """A version's key in the catalog: the file's sha256, followed by ``@AGENCY`` for a file of an agency's
    folder. What a file there names is read against that agency's OPDs (a bare code is its own OPD), so the
    same bytes in two agencies' folders are two submissions, each of its own agency."""
    return f"{sha}@{agency}" if agency else sha


def registry_of(registry: dict[str, Opd], key: str) -> dict[str, Opd]:
    """The registry a version was checked against, by its key (:func:`version_key`): its agency's, or all."""
    agency = key.partition("@")[2]
    return agency_registry(registry, agency) if agency else registry


def registries_by_file(registry: dict[str, Opd], agency_of: dict[Path, str]) -> dict[str, dict[str, Opd]]:
    """The registry each file of an agency's folder is checked against (its agency's, by the folder it is
    in), by path; a file not listed is checked against the whole registry. One pass over the registry."""
    own = split_by_agency(registry, registry.items(), lambda item: item[0])
    mine = {agency: {**{o.local: o for _, o in opds}, **{o.code: o for _, o in opds}} for agency, opds in own.items()}
    return {str(path): mine.get(agency, {}) for path, agency in agency_of.items()}


def split_by_agency(registry: dict[str, Opd], items, opd_of, folder_of=None) -> dict[str, list]:
    """``items`` split by the agency of their OPD (``opd_of(item)``), in one pass and in their order, every
    agency of the registry in registry order (an agency with none: an empty list). An item whose OPD is in no
    agency of the registry is left out, unless ``folder_of(item)`` names the agency (its file's folder) and
    its OPD is not in the registry at all. Bookkeeping per agency stays one pass per run, whatever the
    number of agencies."""
    out: dict[str, list] = {name: [] for name in agencies(registry)}
    for item in items:
        opd = registry.get(opd_of(item))
        name = opd.instansi if opd is not None else (folder_of(item) if folder_of is not None else None)
        if name in out:
            out[name].append(item)
    return out


def agency_groups(chosen: dict, registry: dict[str, Opd]) -> list[dict]:
    """``chosen`` (OPD -> version) split by agency, over which a city's rules hold (one II.A per city);
    a one-city registry: one group, all of it."""
    if not agencies(registry):
        return [chosen]
    return [dict(items) for items in split_by_agency(registry, chosen.items(), lambda item: item[0]).values()]


def agency_of_opd(registry: dict[str, Opd]) -> dict[str, str]:
    """OPD id -> its agency, for the registry's OPDs that belong to one."""
    return {code: o.instansi for code, o in registry.items() if o.instansi}


def tag_coverage(rows: list[dict], registry: dict[str, Opd], inputs, agency_of: dict[Path, str]) -> list[dict]:
    """The coverage rows (:func:`pipeline.coverage.coverage_rows`) with an ``instansi`` after ``period`` (an
    unknown OPD's file: the agency whose folder it was in)."""
    by_opd = agency_of_opd(registry)
    by_file = {i.name: agency_of.get(i.file, "") for i in inputs}
    return [{"period": row["period"], "instansi": by_opd.get(row["opd"]) or by_file.get(row["file"], ""), **row}
            for row in rows]


def per_agency(registry: dict[str, Opd], inputs, chosen: dict, sources: list, agency_of: dict[Path, str]):
    """For each agency of the registry: its registry, its inputs, its chosen versions and its sources
    (what consolidation sums), in registry order."""
    subs = split_by_agency(registry, registry.items(), lambda item: item[0])
    mine = split_by_agency(registry, inputs, lambda i: i.opd, lambda i: agency_of.get(i.file))
    used = split_by_agency(registry, chosen.items(), lambda item: item[0])
    summed = split_by_agency(registry, sources, lambda s: s.opd)
    return {name: (dict(subs[name]), mine[name], dict(used[name]), summed[name]) for name in subs}


@dataclass
class Agency:
    """One agency's part of a run: its OPDs, what its tables sum, its coverage rows and summary, and (once
    known) its own release status and the fingerprint of everything its sub-release is made of."""

    registry: dict[str, Opd]
    sources: list
    coverage_rows: list[dict]
    summary: dict
    release: dict | None = None
    fingerprint: str = ""

    @functools.cached_property
    def coverage(self) -> pd.DataFrame:
        """Its coverage frame (made where it is written: a run that publishes nothing never needs it)."""
        return coverage_frame(self.coverage_rows)

    def tables(self) -> tuple[dict, pd.DataFrame]:
        """Its tables and their lineage, summed where asked (its sub-release is written in a worker, its SQL
        rows are made here) and not kept: an agency whose sub-release and SQL rows stand as they are is never
        summed, and no agency's sums outlive their use."""
        from pipeline.consolidate import consolidate

        return consolidate(self.sources)


def agency_tables(period: str, registry: dict[str, Opd], inputs, chosen: dict, sources: list,
                  agency_of: dict[Path, str], previous, withdrawn: set[str]) -> dict[str, Agency]:
    """Each agency's part (:class:`Agency`): its OPDs, its sources, its coverage rows and summary."""
    out = {}
    for name, (sub, mine, used, summed) in per_agency(registry, inputs, chosen, sources, agency_of).items():
        rows, summary = coverage_rows(period, sub, mine, used, previous, withdrawn=withdrawn & set(sub))
        out[name] = Agency(sub, summed, rows, summary)
    return out


def agency_releases(parts: dict[str, Agency], policy, used: dict[str, str], published: Path, finalise: dict | None,
                    now: str) -> dict[str, dict]:
    """Each agency's own release status (:func:`pipeline.release.release_status` over its own OPDs' coverage;
    an officer's finalisation of the release holds for each agency's data it was given), kept in its part as
    ``release``; returns them by agency. ``published``: the current release folder (``processed/PERIOD``),
    whose agencies' manifests are the previous ones."""
    from pipeline.publish import read_manifest
    from pipeline.release import release_status

    out = {}
    for name, part in parts.items():
        previous = read_manifest(published / AGENCY_FOLDER / name)
        mine = _own(used, part)
        own = release_status(part.summary, part.registry, policy, mine, previous, finalise, now)
        part.release = out[name] = {**own, "scope": "instansi"}  # its own tables, not the combined ones
    return out


def _own(by_opd: dict, part: Agency) -> dict:
    """The entries of ``by_opd`` (OPD -> anything) that are the agency's, in OPD order: looked up from its
    own OPDs, so that every agency's share costs its own size, not the whole registry's."""
    return {o: by_opd[o] for o in sorted(part.registry) if o in by_opd}


def agency_manifest(period: str, name: str, part: Agency, manifest: dict) -> dict:
    """An agency's own manifest, from the combined one: its release status, its used versions, its summary."""
    return {"period": period, "instansi": name, "release": part.release,
            "used": _own(manifest["used"], part),
            "coverage": part.summary, "code_version": manifest.get("code_version"),
            "rules_version": manifest.get("rules_version"), "run_id": manifest.get("run_id")}


def fingerprint_agencies(period: str, parts: dict[str, Agency], manifest: dict, lang: str, book_csv: str) -> None:
    """Each agency's fingerprint (kept in its part): a hash of everything its sub-release and its SQL rows are
    made of (its manifest but the run id, its coverage rows, the staff lists its counts came from, the
    language and the book's CSV dialect); the same fingerprint, the same bytes."""
    import hashlib
    import json

    for name, part in parts.items():
        own = {**agency_manifest(period, name, part, manifest), "run_id": None,
               "from_lists": _own(manifest.get("from_lists", {}), part),
               "coverage_rows": part.coverage_rows, "lang": lang, "book_csv": book_csv}
        part.fingerprint = hashlib.sha256(json.dumps(own, sort_keys=True).encode()).hexdigest()


def write_agency_releases(release: Path, period: str, parts: dict[str, Agency], manifest: dict, lang: str,
                          book_csv: str, published: Path, jobs: int | None = None) -> list[str]:
    """Each agency's tables into ``release/instansi/<INSTANSI>/``, written like the combined ones (cells,
    lineage, coverage, the book's tables and workbook, a manifest of its own); an agency whose fingerprint is
    that of its sub-release in ``published`` (the current release folder) gets that one's files linked, only
    its manifest written. The others are summed and written on ``jobs`` processes
    (:func:`pipeline.pool.ordered_map`; ``None``: the command's). Returns the files of the release."""
    from pipeline.pool import ordered_map, resolve_jobs
    from pipeline.publish import link_release

    outputs, todo = {}, []
    for name, part in parts.items():
        own = {**agency_manifest(period, name, part, manifest), "fingerprint": part.fingerprint}
        linked = link_release(release / AGENCY_FOLDER / name, published / AGENCY_FOLDER / name, own)
        if linked is None:
            todo.append((name, own))
        else:
            outputs[name] = linked
    job = _Writing(release, period, parts, lang, book_csv)
    written = ordered_map(_write_agency, todo, min(resolve_jobs(jobs), len(todo)) or 1, chunk=1, shared=job)
    outputs.update(zip((name for name, _ in todo), written))
    return [f"{AGENCY_FOLDER}/{name}/{o}" for name in parts for o in outputs[name]]


@dataclass
class _Writing:
    """What every agency's sub-release of one run shares (handed to each worker once)."""

    release: Path
    period: str
    parts: dict[str, Agency]
    lang: str
    book_csv: str


def _write_agency(job: _Writing, item: tuple[str, dict]) -> list[str]:
    """One agency's sub-release, summed and written (:func:`write_agency_releases`); its file names."""
    from pipeline.publish import write_release

    name, own = item
    part = job.parts[name]
    city, lineage = part.tables()
    return write_release(job.release / AGENCY_FOLDER / name, job.period, city, lineage, part.coverage,
                         coverage_note(part.summary, job.lang), own, job.lang, book_csv=job.book_csv)


def sql_frames(period: str, run_id: str, city, lineage: pd.DataFrame, coverage: pd.DataFrame,
               release: dict) -> dict[str, pd.DataFrame]:
    """The SQL tables of one city or agency: ``rekap_cells``, ``rekap_lineage``, ``rekap_coverage`` and
    ``rekap_release`` (:func:`pipeline.database.publish_agencies` tags them with the agency)."""
    from pipeline.publish import integer_values, published_cells
    from pipeline.release import release_frame
    from pipeline.values import long_cells

    return {"rekap_cells": published_cells(long_cells(city, period)).assign(release=release["status"]),
            "rekap_lineage": integer_values(lineage.assign(period=period)), "rekap_coverage": coverage,
            "rekap_release": release_frame(period, run_id, release)}


def agency_frames(period: str, run_id: str, part: Agency) -> dict[str, pd.DataFrame]:
    """An agency's SQL tables (:func:`sql_frames`) with its own release status, as a city publishes its own."""
    return sql_frames(period, run_id, *part.tables(), part.coverage, part.release)
