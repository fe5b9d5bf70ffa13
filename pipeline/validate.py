"""Validate submissions: read -> stage -> check -> localise, collecting every finding in one pass.

This is the library API behind ``rekap validate``: ``validate_file`` and ``validate_files`` return
:class:`Result` objects; nothing here prints or exits. ``check_extracts`` checks a batch of what
readers extracted, staging all of them with one schema validation (:func:`pipeline.stage.stage_batch`).
It owns the order of the steps and the checking of one submission: its linear rules are built once
(:func:`submission_rules`) and evaluated once (:func:`confront`), and both are shared by the rule
findings (:func:`check_rules`) and the error localisation (:func:`pipeline.localize.localization_findings`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from pipeline.findings import Finding, has_errors
from pipeline.localize import localization_findings
from pipeline.period import normalize_period, period_of_path
from pipeline.read import read_submission
from pipeline.rules.cross import compiled, cross_rules
from pipeline.rules.linear import LinearRule, Outcome, Ref, evaluate
from pipeline.rules.percent import percent_findings
from pipeline.rules.presence import presence_findings
from pipeline.rules.sums import sum_rules
from pipeline.specs import Opd, TableSpec, load_registry, load_tables
from pipeline.stage import Staged, stage, stage_batch, warm
from pipeline.submission import Extract
from pipeline.values import Values, from_refs, refs

@dataclass
class Result:
    """One submission checked. ``extract`` and ``staged`` (the reader's and the stager's work) are
    kept by :func:`check_extract`; :func:`validate_files` gives compact results without them, with
    the file's ``kind`` and its staged cell ``values`` (what the catalog keeps)."""

    file: str
    opd: str | None
    period: str | None
    findings: list[Finding]
    extract: Extract | None = None
    staged: Staged | None = None
    kind: str = "unknown"
    values: Values = field(default_factory=dict)

    @property
    def status(self) -> str:
        return "rejected" if has_errors(self.findings) else "accepted"

    def compact(self) -> Result:
        """The result without the extract and the staged frame (small, picklable), with the staged cell
        values as :data:`pipeline.values.Values`."""
        values = from_refs(self.staged.values) if self.staged is not None else self.values
        return replace(self, extract=None, staged=None, values=values)


@dataclass
class Evidence:
    """Error localisation's evidence for every OPD, prepared once per run as plain data: each OPD's
    previous published version (:class:`pipeline.coverage.Previous`, decoded only for the OPD a file
    turns out to be) and the counts of its usable staff list, with that list's tag (the cache key)."""

    previous: object = None  # pipeline.coverage.Previous
    lists: dict[str, dict] = field(default_factory=dict)  # OPD -> {Ref: value} of a usable staff list
    tags: dict[str, str] = field(default_factory=dict)  # OPD -> the list's tag ("+staff:<sha>")

    def __call__(self, opd: str | None) -> dict:
        """``{Ref: value}`` for ``opd``: the previous period's values, a staff list's counts over them."""
        found = self.previous.values(opd) if self.previous is not None and opd else None
        return {**(refs(found[1]) if found else {}), **self.lists.get(opd or "", {})}

    def tag(self, opd: str | None) -> str:
        return self.tags.get(opd or "", "")


def check_identity(extract: Extract, path: Path, expected_period: str | None,
                   registry: dict[str, Opd]) -> tuple[str | None, str | None, list[Finding]]:
    findings = []
    opd = (extract.identity.get("opd") or "").strip().upper() or None
    stem = path.stem.upper()
    if opd is None:
        findings.append(Finding("IDENTITY_MISSING", "identity:opd", params={"field": "Kode OPD"}))
        opd = stem if stem in registry else None
    elif opd not in registry:  # a code not in the registry names nothing: no OPD, no files of its own
        shown = "".join(ch if ch.isprintable() else "\ufffd" for ch in opd)
        findings.append(Finding("OPD_UNKNOWN", "identity:opd", actual=shown[:40] + ("..." if len(shown) > 40 else ""),
                                expected=", ".join(list(registry)[:3]) + ", ..."))
        opd = None
    elif stem in registry and registry[stem].code != registry[opd].code:
        findings.append(Finding("OPD_MISMATCH", "identity:opd", actual=opd, expected=stem))
    if opd is not None:  # an agency's folder knows its OPDs by their own code too: the id is the registry's
        opd = registry[opd].code
    raw_period = extract.identity.get("period")
    period = normalize_period(raw_period)
    if raw_period in (None, ""):
        findings.append(Finding("IDENTITY_MISSING", "identity:period", params={"field": "Periode"}))
    elif period is None:
        findings.append(Finding("PERIOD_INVALID", "identity:period", actual=raw_period))
    expected = expected_period or period_of_path(path)
    if period and expected and period != expected:
        findings.append(Finding("PERIOD_MISMATCH", "identity:period", actual=period, expected=expected))
    return opd, period, findings


def submission_rules(present: set[str], tables: dict[str, TableSpec]) -> tuple[LinearRule, ...]:
    """Every linear rule over the tables present, in book order: the sum rules of each table, then the
    rules across tables whose tables are all present. Built once per set of tables (the same tuple
    each time, so that what is derived from it can be kept: :func:`confront`, the localiser)."""
    specs = tuple(sorted((tables[t] for t in present), key=lambda spec: spec.number))
    book = compiled()
    hit = _RULES.get(specs)
    if hit is None or hit[0] is not book:
        if len(_RULES) >= 64:
            _RULES.clear()
        ids = {spec.id for spec in specs}
        rules = tuple(r for spec in specs for r in sum_rules(spec))
        hit = _RULES[specs] = (book, rules + tuple(r for r in cross_rules() if {x.table for x in r.refs} <= ids))
    return hit[1]


_RULES: dict[tuple, tuple] = {}  # tables present (their specs) -> (the rulebook compiled, their rules)


def confront(rules: tuple[LinearRule, ...], values: dict) -> list[Outcome | Exception]:
    """Each rule's outcome on ``values``; a rule that crashes gives its exception (recorded, never fatal).
    Every rule at once (:class:`RuleMatrix`) where that is exact, else one by one (:func:`evaluate`)."""
    outcomes = _matrix(rules).outcomes(values)
    if outcomes is not None:
        return outcomes
    outcomes = []
    for rule in rules:
        try:
            outcomes.append(evaluate(rule, values))
        except Exception as err:
            outcomes.append(err)
    return outcomes


class RuleMatrix:
    """Linear rules as index arrays (for each side, which rule each of its cells belongs to), so that a
    submission's rules are evaluated by a few weighted counts (``numpy.bincount``) instead of a Python
    loop per rule.

    The outcomes are :func:`evaluate`'s, float for float: :meth:`outcomes` is used only when every
    value is a whole number and every sum stays below 2**52, where float addition is exact whatever
    its order; otherwise it returns None and the rules are evaluated one by one."""

    EXACT = 2.0 ** 52

    def __init__(self, rules: tuple[LinearRule, ...]):
        import numpy as np

        self.rules = rules
        self.refs = list(dict.fromkeys(r for rule in rules for r in rule.refs))
        index = {r: i for i, r in enumerate(self.refs)}

        def side(name: str) -> tuple:
            pairs = [(k, index[r]) for k, rule in enumerate(rules) for r in getattr(rule, name)]
            return (np.array([k for k, _ in pairs], dtype=np.intp), np.array([c for _, c in pairs], dtype=np.intp))

        self.left, self.right = side("lhs"), side("rhs")  # a cell twice on one side counts twice
        self.cells = tuple(np.concatenate(pair) for pair in zip(self.left, self.right))
        self.const = np.array([float(rule.const) for rule in rules])
        self.tol = np.array([rule.tol for rule in rules], dtype=float)
        self.equal = np.array([rule.op == "==" for rule in rules])
        # a sum rule's finding reads the other way round: actual = its total (right), expected = the parts
        self.turned = [rule.anchor is not None and rule.lhs != (rule.anchor,) and rule.rhs == (rule.anchor,)
                       for rule in rules]
        self.whole_const = bool(np.all(self.const == np.floor(self.const)))

    def _sum(self, side: tuple, v):
        """Per rule, the sum of ``v`` over the cells of ``side``."""
        import numpy as np

        rows, cols = side
        return np.bincount(rows, weights=v[cols], minlength=len(self.rules))

    def outcomes(self, values: dict) -> list[Outcome] | None:
        import numpy as np

        if not self.rules or not self.whole_const:
            return None
        try:
            v = np.array([values.get(r) for r in self.refs], dtype=float)
        except (TypeError, ValueError):
            return None
        unknown = np.isnan(v)
        v[unknown] = 0.0
        if not np.all(v == np.floor(v)):  # a fraction (an infinity fails the bound below)
            return None
        if not np.all(self._sum(self.cells, np.abs(v)) + np.abs(self.const) < self.EXACT):
            return None
        left, right = self._sum(self.left, v), self._sum(self.right, v) + self.const
        holds = np.where(self.equal, np.abs(left - right) <= self.tol, left <= right + self.tol).tolist()
        missing = self._sum(self.cells, unknown.astype(float)) > 0
        out = []
        for k, (rule, held, a, b, gap) in enumerate(zip(self.rules, holds, left.tolist(), right.tolist(),
                                                        missing.tolist())):
            if gap:
                out.append(evaluate(rule, values))
            else:
                out.append(Outcome(held, b, a) if self.turned[k] else Outcome(held, a, b))
        return out


_MATRICES: dict[int, tuple] = {}  # id(rules) -> (rules, their RuleMatrix): the rules are kept, so the id is theirs


def _matrix(rules: tuple[LinearRule, ...]) -> RuleMatrix:
    hit = _MATRICES.get(id(rules))
    if hit is None or hit[0] is not rules:
        if len(_MATRICES) >= 64:
            _MATRICES.clear()
        hit = _MATRICES[id(rules)] = (rules, RuleMatrix(rules))
    return hit[1]


def check_rules(staged: Staged, present: set[str], tables: dict[str, TableSpec], rules: list[LinearRule],
                outcomes: list[Outcome | Exception]) -> list[Finding]:
    """The findings of the linear ``rules`` (their ``outcomes`` on the staged values) and of the percent
    rules of the tables present; a rule that cannot be evaluated is reported once per table, as info."""
    findings: list[Finding] = []
    not_evaluable: dict[str, int] = {}
    for rule, outcome in zip(rules, outcomes):
        if isinstance(outcome, Exception):
            name = f"{rule.rule} ({type(outcome).__name__}: {outcome})"
            not_evaluable[name] = not_evaluable.get(name, 0) + 1
            continue
        if outcome.holds is None:
            not_evaluable[rule.rule] = not_evaluable.get(rule.rule, 0) + 1
        elif not outcome.holds:
            findings.append(rule_finding(rule, outcome.actual, outcome.expected, staged, tables))
    for table in sorted(present):
        found, skipped = percent_findings(tables[table], staged.values)
        findings += [f.with_source(*staged.sources.get(_ref(f, tables), (None, None))) for f in found]
        for name in skipped:
            not_evaluable[name] = not_evaluable.get(name, 0) + 1
    per_table: dict[str | None, list] = {}  # one note per table (and one for the rules across tables)
    for name, n in not_evaluable.items():
        table = name.split(":", 1)[0]
        per_table.setdefault(table if table in tables else None, []).append((name, n))
    for table, names in per_table.items():
        findings.append(Finding("RULE_NOT_EVALUABLE", ", ".join(name for name, _ in names), table,
                                params={"count": sum(n for _, n in names), "on_table": table is not None}))
    return findings


def _ref(finding: Finding, tables: dict[str, TableSpec]) -> Ref | None:
    spec = tables.get(finding.table)
    if spec is None or finding.cell is None or set(finding.cell) != set(spec.dim_names):
        return None
    try:
        return Ref(finding.table, spec.key(finding.cell))
    except (KeyError, TypeError):
        return None


def rule_finding(rule: LinearRule, actual, expected, staged: Staged, tables) -> Finding:
    sheet, address = staged.sources.get(rule.anchor, (None, None)) if rule.anchor else (None, None)
    params = dict(rule.params)
    if rule.code == "SUM_MISMATCH":
        params["parts"] = parts_label(rule, tables)
    table = rule.anchor.table if rule.anchor else rule.lhs[0].table
    return Finding(rule.code, rule.rule, table, rule.anchor_cell, sheet, address,
                   expected=expected, actual=actual, params=params, severity=rule.severity)


def parts_label(rule: LinearRule, tables) -> list[dict]:
    """The parts of a sum rule by the members that tell them apart (``[{"gol": "I", "sex": "L"}, ...]``),
    put in words when shown (``GOL I L + GOL I P + ...``: :func:`pipeline.findings.member_text`)."""
    spec = tables[rule.anchor.table]
    dims = [i for i, n in enumerate(spec.dim_names) if len({r.key[i] for r in rule.rhs}) > 1]
    return [{spec.dim_names[i]: r.key[i] for i in dims} for r in rule.rhs] if dims else []


def validate_file(path, expected_period: str | None = None, registry: dict[str, Opd] | None = None,
                  reference=None) -> Result:
    return check_extract(read_submission(Path(path)), expected_period, registry, reference)


def check_extract(extract: Extract, expected_period: str | None = None,
                  registry: dict[str, Opd] | None = None, reference=None) -> Result:
    """Stage and check what a reader (or a test) extracted from one submission (a batch of one)."""
    return check_extracts([extract], expected_period, registry, reference)[0]


def check_extracts(extracts: list[Extract], expected_period: str | None = None,
                   registry: dict[str, Opd] | None = None, reference=None) -> list[Result]:
    """Stage and check a batch of extracts, one Result each, in their order: one schema validation over
    all their cells, then each one's identity, rules and localisation. A fault while checking one is a
    finding on it (``INTERNAL_ERROR``), never a stop for the others.

    ``reference`` is evidence for error localisation: ``{Ref: value}`` that a cell probably holds (the
    OPD's previous accepted period, a staff list's count), or a function ``opd -> {Ref: value}``."""
    tables, registry = load_tables(), registry or load_registry()
    try:
        batch = iter(stage_batch([ex for ex in extracts if ex.cells], tables))
    except Exception:  # a fault on some submission's cells: stage each alone, so that only it fails
        batch = None
    results = []
    for extract in extracts:
        try:
            staged = (next(batch) if batch is not None else stage(extract, tables)) if extract.cells else None
            results.append(_check(extract, staged, expected_period, registry, reference, tables))
        except Exception as err:  # a bug, not bad data: record it and go on
            results.append(internal_error(extract.file, err))
    return results


def _check(extract: Extract, staged: Staged | None, expected_period: str | None, registry: dict[str, Opd],
           reference, tables: dict[str, TableSpec]) -> Result:
    path = Path(extract.file)
    # an unreadable file still belongs to the OPD its name names, so that OPD hears about it
    opd, period, findings = (registry[path.stem.upper()].code if path.stem.upper() in registry else None), None, []
    if extract.cells or extract.identity:
        opd, period, findings = check_identity(extract, path, expected_period, registry)
    findings = list(extract.findings) + findings
    if staged is not None:
        findings += staged.findings
        findings += presence_findings(staged.filled, staged.values, set(extract.tables), tables)
        present = set(extract.tables)
        rules = submission_rules(present, tables)
        outcomes = confront(rules, staged.values)
        findings += check_rules(staged, present, tables, rules, outcomes)
        if callable(reference):
            reference = reference(opd)
        findings = localization_findings(findings, staged, present, tables, rules, outcomes, registry.get(opd),
                                         reference)
    return Result(str(path), opd, period, findings, extract, staged, kind=extract.kind)


CHUNK = 32  # files read and checked together (see iter_validate)


@dataclass
class _Job:
    """What every check of one :func:`iter_validate` shares (handed to each worker once)."""

    expected_period: str | None
    registry: dict[str, Opd]
    reference: object
    registry_of: dict[str, dict[str, Opd]]  # a file's own registry (its agency's), by path
    lists: bool = False  # each file asked first whether it is a staff list


STAFF_LIST = "staff-list"  # the kind of the result of a file that is a staff list: not checked as a recap


def _check_paths(job: _Job, paths: list) -> list[Result]:
    """A batch of files read, staged (one schema validation), checked and localised, as compact
    results; a fault is a finding on its file only. With ``job.lists``, a staff list is only named
    (kind :data:`STAFF_LIST`), in the process that would read it (a workbook's limits are proved once)."""
    from pipeline.staff import is_staff_list

    extracts, results = [], {}
    for i, path in enumerate(paths):
        try:
            if job.lists and is_staff_list(path):
                results[i] = Result(str(path), None, None, [], kind=STAFF_LIST)
                continue
            extracts.append((i, read_submission(Path(path))))
        except Exception as err:  # a bug in a reader, not bad data: record it and go on
            results[i] = internal_error(path, err)
    groups: dict[int, list] = {}  # the files checked against one registry (an agency's), together
    for i, extract in extracts:
        groups.setdefault(id(job.registry_of.get(str(paths[i]), job.registry)), []).append((i, extract))
    for members in groups.values():
        registry = job.registry_of.get(str(paths[members[0][0]]), job.registry)
        checked = check_extracts([ex for _, ex in members], job.expected_period, registry, job.reference)
        results.update((i, r) for (i, _), r in zip(members, checked))
    return [results[i].compact() for i in range(len(paths))]


def iter_validate(paths, expected_period: str | None = None, registry: dict[str, Opd] | None = None,
                  reference=None, jobs: int | None = 1,
                  registry_of: dict[str, dict[str, Opd]] | None = None, lists: bool = False) -> Iterator[Result]:
    """Compact results (:meth:`Result.compact`) of ``paths``, in their order, as they come, checked on
    ``jobs`` processes (:func:`pipeline.pool.ordered_map`; ``None``: every core). Each file on its
    own: a fault while checking one, even one that kills its worker process, is a finding on that file
    (INTERNAL_ERROR), never a stop for the rest. ``reference``: see :func:`check_extract` (plain data,
    e.g. an :class:`Evidence`, when jobs > 1 on a system that cannot fork). ``registry_of``: the registry
    a file is checked against, by path (an agency's folder: :func:`pipeline.agencies.registries_by_file`);
    else ``registry``. ``lists``: a file that is a staff list (:func:`pipeline.staff.is_staff_list`) gives a
    result of kind :data:`STAFF_LIST`, with no finding, instead of being checked as a recap (the run asks
    before it validates: its lists are evidence for the recaps)."""
    from pipeline.pool import forks, ordered_map, resolve_jobs

    job = _Job(expected_period, registry or load_registry(), reference, registry_of or {}, lists)
    load_tables()  # loaded once here, so that forked workers inherit it
    paths, jobs = list(paths), resolve_jobs(jobs)
    if jobs > 1 and paths and forks():
        warm()  # pandera's backends too
    # a chunk's files are staged by one schema validation (its fixed cost is paid per chunk): chunks of
    # CHUNK files, smaller where that would leave a worker without about four chunks
    chunk = CHUNK if jobs == 1 else max(8, min(CHUNK, -(-len(paths) // (4 * jobs))))
    yield from ordered_map(_check_paths, paths, jobs, chunk=chunk, shared=job, batched=True,
                           on_crash=lambda p: internal_error(p, "the process checking it stopped (killed or crashed)"))


def internal_error(file, err: Exception | str) -> Result:
    """The result of a submission whose checking hit a bug (or killed its process: ``err`` says how):
    one ``INTERNAL_ERROR`` naming it."""
    detail = err if isinstance(err, str) else f"{type(err).__name__}: {err}"
    finding = Finding("INTERNAL_ERROR", "internal", params={"file": Path(file).name, "detail": detail})
    return Result(str(file), None, None, [finding], Extract(str(file), "unknown"))


def validate_files(paths, expected_period: str | None = None, registry: dict[str, Opd] | None = None,
                   reference=None, jobs: int | None = 1) -> list[Result]:
    """Every result of :func:`iter_validate` in a list (for a few files: a folder streams)."""
    return list(iter_validate(paths, expected_period, registry, reference, jobs))
