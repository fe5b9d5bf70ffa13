"""The publish gate: the consolidated city tables confronted with a Great Expectations suite.

Nothing is published unless the city tables pass. The gate writes no rule of its own: its
expectations are generated from the rule definitions the checking of submissions uses, evaluated
over the consolidated numbers and judged by an independent engine (GX):

1. ``counts``: every count is present, whole and >= 0 (the publishing contract of a cell);
   ``percents``: every share is within 0..100 and matches its counts within the printed rounding
   (one row per :func:`~pipeline.rules.percent.share_rules` rule);
2. ``sums``: every total equals the sum of its parts (one row per rule of :func:`sum_rules`);
3. ``cross_equal`` / ``cross_at_most``: the tables agree with each other (the rules of
   ``schemas/rules.yaml`` of scope submission or city whose severity is error, e.g. II.A at most one
   city-wide); ``plausibility``: the warning rules (reported, never blocking);
4. ``percent_totals``: the shares of each :func:`~pipeline.rules.percent.total_rules` rule sum to
   100 within n x half a printed unit.

Each check is a plain DataFrame built here (one row per cell or rule, with the compared numbers as
columns), so what GX judges is readable in its Data Docs and in ``GateResult.failures``.
All GX ceremony (context, data source, suites, validation definitions, Data Docs site) stays in
:func:`_confront`; GX is imported there, lazily (about 2.5 s of CPU), so ``rekap validate`` never loads it.

What GX judges is a pure function of the check frames, their expectations, this code and GX's version:
:func:`judged_input` hashes them. A run whose check frames are those GX passed for the live release (a
resubmission that is rejected, or that repeats its figures: the city tables do not change) is given that
judgement (:class:`Judged`) and does not import GX or rebuild the Data Docs: they are still those of
the frames it would judge.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.util
import logging
import math
import os
import shutil
import sys
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline import text
from pipeline.findings import fmt, member_text
from pipeline.values import Values, key_text
from pipeline.rules.cross import city_rules, cross_rules
from pipeline.rules.linear import EPS, Ref, severity, sides
from pipeline.rules.percent import share_rules, total_rules
from pipeline.rules.sums import sum_rules
from pipeline.shares import share, tolerance
from pipeline.specs import TableSpec, load_tables

SITE = "rekap"  # the Data Docs site name
MAX_ROWS = 20  # failing rows listed per expectation; the rest are counted


@dataclass(frozen=True)
class GateResult:
    ok: bool  # no blocking expectation failed (warnings do not block)
    failures: list[str]  # one line per failing row of a blocking expectation, or why the gate could not run
    warnings: list[str] = field(default_factory=list)  # the same for warning expectations
    docs_index: Path | None = None  # the Data Docs index.html, when it was built
    seconds: float = 0.0  # how long the gate took (GX import included)
    # every expectation: check, type, title, severity, success, rows checked, rows failing, the first
    # failing rows as text (observed values), error (for our own offline page, pipeline/gate_page.py)
    outcomes: list[dict] = field(default_factory=list)
    judged_input: str = ""  # what GX judged (judged_input): the check frames, expectations and versions
    reused_from: str | None = None  # the run whose GX judgement of the same input this is, when reused


@dataclass(frozen=True)
class Judged:
    """A passing GX judgement a run may reuse: its input hash, the run that made it, its outcomes."""

    judged_input: str
    run_id: str
    outcomes: list[dict]


@dataclass(frozen=True)
class Expect:
    """One expectation on a check frame. Its ``name`` is its entry in the text catalogue: its title
    (``gate_page.expectations``) and how a failing row is told (``gate_page.rows``), in the user's language."""

    type: str  # a class name in ``great_expectations.expectations``
    kwargs: dict
    name: str  # e.g. "count_positive"
    title: str  # what is expected, in English for GX's own Data Docs, e.g. "every count is >= 0"
    severity: str = "error"  # "error" blocks publishing, "warning" does not


@dataclass(frozen=True)
class Check:
    """A frame GX validates: one asset and one suite, named ``name``."""

    name: str
    frame: pd.DataFrame
    index: tuple[str, ...]  # columns that identify a row in GX's results
    expects: tuple[Expect, ...]


# -- the check frames (pure: no GX) ------------------------------------------------------------

def _number(value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) else math.nan


def _value(city: Values, ref: Ref) -> float:
    return _number(city.get(ref.table, {}).get(ref.key, math.nan))


def _total(city: Values, refs) -> float:
    return sum((_value(city, r) for r in refs), 0.0)


def _cell_text(cell: dict | None) -> str:
    if not cell:
        return ""
    return "|".join(f"{k}={'+'.join(map(str, v)) if isinstance(v, (list, tuple)) else v}" for k, v in cell.items())


def _cells(city: Values, tables: dict[str, TableSpec], percent: bool) -> pd.DataFrame:
    rows = []
    for table, spec in tables.items():
        cells = city.get(table, {})  # a table missing from the city: every cell reported missing
        for key in spec.cells:
            if spec.is_percent(key) == percent:
                rows.append({"table": table, "key": key_text(spec, key), "value": _number(cells.get(key, math.nan))})
    return pd.DataFrame(rows, columns=["table", "key", "value"])


def counts_check(city: Values, tables: dict[str, TableSpec]) -> Check:
    df = _cells(city, tables, percent=False)
    df["off_whole"] = (df["value"] - df["value"].round()).abs()
    return Check("counts", df, ("table", "key", "value"), (
        Expect("ExpectColumnValuesToNotBeNull", {"column": "value"}, "count_present", "every count is present"),
        Expect("ExpectColumnValuesToBeBetween", {"column": "value", "min_value": 0},
               "count_positive", "every count is >= 0"),
        Expect("ExpectColumnValuesToBeBetween", {"column": "off_whole", "min_value": 0, "max_value": EPS},
               "count_whole", "every count is a whole number"),
    ))


def percents_check(city: Values, tables: dict[str, TableSpec]) -> Check:
    rows = []
    for table, spec in tables.items():
        cells = city.get(table)
        if not spec.percent or not cells:
            continue
        for rule in share_rules(spec):
            num, den = _total(city, (Ref(table, k) for k in rule.part)), _total(city, (Ref(table, k) for k in rule.whole))
            exact = share(num, den) or 0.0
            value = _number(cells.get(rule.key, math.nan))
            rows.append({"table": table, "key": key_text(spec, rule.key), "value": value, "share": round(exact, 4),
                         "off_by": abs(value - exact), "tolerance": tolerance(spec)})
    df = pd.DataFrame(rows, columns=["table", "key", "value", "share", "off_by", "tolerance"])
    return Check("percents", df, ("table", "key", "value", "share"), (
        Expect("ExpectColumnValuesToNotBeNull", {"column": "value"}, "percent_present", "every percent is present"),
        Expect("ExpectColumnValuesToBeBetween", {"column": "value", "min_value": 0, "max_value": 100},
               "percent_range", "every percent is within 0..100"),
        Expect("ExpectColumnPairValuesAToBeGreaterThanB",
               {"column_A": "tolerance", "column_B": "off_by", "or_equal": True},
               "percent_share", "every percent matches its count within the printed rounding"),
    ))


def sums_check(city: Values, tables: dict[str, TableSpec]) -> Check:
    rows = []
    for table, spec in tables.items():
        if table not in city:
            continue
        for rule in sum_rules(spec):
            total, parts = sides(rule, lambda r: _value(city, r))
            rows.append({"rule": rule.rule, "table": table, "key": key_text(spec, rule.anchor.key),
                         "total": total, "parts": parts, "imbalance": total - parts})
    df = pd.DataFrame(rows, columns=["rule", "table", "key", "total", "parts", "imbalance"])
    return Check("sums", df, ("rule", "table", "key", "total", "parts"), (
        Expect("ExpectColumnValuesToNotBeNull", {"column": "imbalance"},
               "sum_present", "every total and its parts are present"),
        Expect("ExpectColumnValuesToBeBetween", {"column": "imbalance", "min_value": -EPS, "max_value": EPS},
               "sum_equal", "every total equals the sum of its parts (imbalance 0)"),
    ))


def cross_checks(city: Values, tables: dict[str, TableSpec], city_scope: bool = True) -> list[Check]:
    rules = [*cross_rules(), *(city_rules() if city_scope else ())]
    groups: dict[str, list[dict]] = {"cross_equal": [], "cross_at_most": [], "plausibility": []}
    for rule in rules:
        if any(r.table not in city for r in rule.refs):
            continue  # a table the period lacks altogether: nothing to compare
        left, right = sides(rule, lambda r: _value(city, r))
        row = {"rule": rule.rule, "cell": _cell_text(rule.anchor_cell),
               "left_table": rule.lhs[0].table if rule.lhs else "", "left": left,
               "right_table": rule.rhs[0].table if rule.rhs else "limit", "right": right,
               "difference": left - right}
        group = "cross_equal" if rule.op == "==" else (
            "cross_at_most" if severity(rule) == "error" else "plausibility")
        groups[group].append(row)
    cols = ["rule", "cell", "left_table", "left", "right_table", "right", "difference"]
    index = ("rule", "cell", "left_table", "left", "right_table", "right")
    missing = Expect("ExpectColumnValuesToNotBeNull", {"column": "difference"},
                     "cross_present", "every cell a rule compares is present")
    out = []
    for name, rows in groups.items():
        df = pd.DataFrame(rows, columns=cols)
        if name == "cross_equal":
            expects = (missing, Expect("ExpectColumnValuesToBeBetween",
                                       {"column": "difference", "min_value": -EPS, "max_value": EPS},
                                       "cross_equal", "the tables agree (difference 0)"))
        elif name == "cross_at_most":
            expects = (missing, Expect("ExpectColumnValuesToBeBetween", {"column": "difference", "max_value": EPS},
                                       "cross_at_most", "no count exceeds its bound (left <= right)"))
        else:
            expects = (Expect("ExpectColumnValuesToBeBetween", {"column": "difference", "max_value": EPS},
                              "plausible", "ranks and posts are plausible (left <= right)", severity="warning"),)
        out.append(Check(name, df, index, expects))
    return out


def percent_totals_check(city: Values, tables: dict[str, TableSpec]) -> Check:
    rows = []
    for table, spec in tables.items():
        cells = city.get(table)
        if not spec.percent or not cells:
            continue
        for rule in total_rules(spec):
            if not _total(city, (Ref(table, k) for k in rule.whole)):
                continue  # nobody counted: no share can add up to 100
            shares = _total(city, (Ref(table, k) for k in rule.keys))
            rows.append({"table": table, "column": _cell_text(_common(spec, rule.keys)), "n": len(rule.keys),
                         "shares": round(shares, 6), "off_by": abs(shares - 100.0),
                         "tolerance": tolerance(spec, len(rule.keys))})
    df = pd.DataFrame(rows, columns=["table", "column", "n", "shares", "off_by", "tolerance"])
    return Check("percent_totals", df, ("table", "column", "n", "shares", "tolerance"), (
        Expect("ExpectColumnValuesToNotBeNull", {"column": "off_by"},
               "percent_column_present", "every percent of a column is present"),
        Expect("ExpectColumnPairValuesAToBeGreaterThanB",
               {"column_A": "tolerance", "column_B": "off_by", "or_equal": True},
               "percent_column_total", "every percent column sums to 100 within n x half a printed unit"),
    ))


def _common(spec: TableSpec, keys) -> dict:
    """The members the shares of a percent total have in common, the dimensions shares are taken over left out."""
    dicts = [spec.key_dict(k) for k in keys]
    return {n: m for n, m in dicts[0].items() if n not in spec.percent["of"] and all(d[n] == m for d in dicts)}


def checks(city: Values, tables: dict[str, TableSpec] | None = None, city_scope: bool = True) -> list[Check]:
    """Every check frame of the gate, in the order they are reported. ``city_scope=False``: tables summed
    over several agencies, whose city rules (one II.A per city) hold per agency, not over their sum."""
    tables = tables or load_tables()
    return [counts_check(city, tables), percents_check(city, tables), sums_check(city, tables),
            *cross_checks(city, tables, city_scope), percent_totals_check(city, tables)]


# -- the GX adapter -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    check: str
    expect: Expect
    success: bool
    rows: list[dict]  # the failing rows (their index columns)
    count: int  # how many rows failed
    error: str | None = None  # the expectation could not be evaluated
    checked: int = 0  # how many rows the expectation looked at


def judged_input(found: list[Check]) -> str:
    """A hash of everything GX's verdict on ``found`` depends on: each check's frame (columns, types,
    values), index and expectations, this code's version and GX's."""
    from importlib.metadata import version

    from pipeline.versions import code_version

    h = hashlib.sha256(f"{code_version()}|great-expectations {version('great-expectations')}".encode())
    for check in found:
        h.update(repr((check.name, check.index, check.expects, list(check.frame.columns),
                       [str(t) for t in check.frame.dtypes], len(check.frame))).encode())
        h.update(pd.util.hash_pandas_object(check.frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


def _confront(found: list[Check], docs_dir: Path | None, period: str) -> tuple[list[Outcome], Path | None]:
    """Validate every check frame with GX and build the Data Docs site under ``docs_dir`` (if any)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    first_import = "great_expectations" not in sys.modules
    # GX's imports raise DeprecationWarnings (sre_constants, ...); what it imports for unused expectations is not run
    with warnings.catch_warnings(), _lazily(UNUSED_BY_GX):
        warnings.simplefilter("ignore", DeprecationWarning)
        import great_expectations as gx
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.base import (DataContextConfig, InMemoryStoreBackendDefaults,
                                                                ProgressBarsConfig)

    if first_import:
        logging.captureWarnings(False)  # GX turns it on at import; keep Python warnings on stderr as usual

    sites = {}
    if docs_dir is not None:
        docs_dir = Path(docs_dir).resolve()
        for stale in ("index.html", "validations", "expectations"):  # only this run's pages
            path = docs_dir / stale
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        docs_dir.mkdir(parents=True, exist_ok=True)
        sites[SITE] = {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder", "show_cta_footer": False},
        }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        data_docs_sites=sites,
    )
    context = gx.get_context(project_config=config, mode="ephemeral")
    source = context.data_sources.add_pandas("rekap")
    run_id = RunIdentifier(run_name=f"rekap-{period}")
    outcomes = []
    for check in found:
        batch = source.add_dataframe_asset(check.name).add_batch_definition_whole_dataframe("city")
        suite = context.suites.add(gx.ExpectationSuite(name=check.name))
        configs = []
        for e in check.expects:
            expectation = getattr(gx.expectations, e.type)(
                **e.kwargs, severity="critical" if e.severity == "error" else "warning", description=e.title)
            configs.append((suite.add_expectation(expectation), e))
        definition = context.validation_definitions.add(gx.ValidationDefinition(name=check.name, data=batch,
                                                                                suite=suite))
        result = definition.run(batch_parameters={"dataframe": check.frame}, run_id=run_id, result_format={
            "result_format": "COMPLETE", "unexpected_index_column_names": list(check.index)})
        by_id = {r.expectation_config.id: r for r in result.results}
        for added, e in configs:
            r = by_id[added.id]
            error = _exception(r.exception_info)
            res = r.result or {}
            rows = res.get("unexpected_index_list") or []
            outcomes.append(Outcome(check.name, e, bool(r.success), list(rows),
                                    int(res.get("unexpected_count") or len(rows)), error,
                                    int(res.get("element_count") or len(check.frame))))
    if docs_dir is None:
        return outcomes, None
    context.build_data_docs(site_names=[SITE])
    index = docs_dir / "index.html"
    return outcomes, index if index.exists() else None


# Imported by GX's modules for expectations the gate never uses (KL divergence, KS tests: ``scipy.stats``,
# and their ``altair`` charts); loaded lazily they are not executed, which halves GX's import (4.3 s -> 2.4 s
# of CPU). An attribute of one, if GX ever reads it, loads the module then.
UNUSED_BY_GX = frozenset({"scipy", "altair"})


class _LazyFinder(importlib.abc.MetaPathFinder):
    """Finds the modules of ``roots`` (and their submodules) as usual, their loader wrapped in
    :class:`importlib.util.LazyLoader`: a module runs when one of its attributes is first read."""

    def __init__(self, roots: frozenset[str]):
        self.roots = roots

    def find_spec(self, name, path, target=None):
        if name.partition(".")[0] not in self.roots:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = importlib.util.LazyLoader(spec.loader)
                return spec
        return None


@contextmanager
def _lazily(roots: frozenset[str]):
    """While inside, modules of ``roots`` not yet imported are imported lazily."""
    finder = _LazyFinder(roots)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def _exception(info) -> str | None:
    """The message(s) of an expectation GX could not evaluate: ``exception_info`` is either one
    record or a mapping of metric id -> record."""
    if not isinstance(info, dict):
        return None
    records = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    messages = list(dict.fromkeys(str(r.get("exception_message") or "exception")
                                  for r in records if r.get("raised_exception")))
    return "; ".join(messages) or None


# -- the gate -----------------------------------------------------------------------------------

def _plain(value):
    if isinstance(value, float) or hasattr(value, "dtype"):
        v = float(value)
        if math.isnan(v):
            return "NaN"
        return int(v) if v.is_integer() else round(v, 4)
    return value


def _said(section: str, name: str, lang: str) -> str:
    """A group's or an expectation's words in ``lang`` (``gate_page.<section>.<name>``); a name the
    catalogue lacks (a check made by a test) as it is."""
    leaf = text.entry(f"gate_page.{section}").get(name)
    return text.pick(leaf, lang) if leaf else name


def _cell(text_: str, specs: list[TableSpec], lang: str) -> str:
    """A cell as a check frame writes it (``ruang=A|gol=I|sex=L``, a list as ``II.A+II.B``) in words: its
    members' labels (:func:`~pipeline.findings.member_text`), by the first of ``specs`` with all its
    dimensions."""
    cell = {}
    for part in str(text_ or "").split("|"):
        if "=" in part:
            name, code = part.split("=", 1)
            cell[name] = code.split("+") if "+" in code else code
    spec = next((s for s in specs if set(cell) <= set(s.dim_names)), None)
    if spec is None:
        return " ".join("+".join(v) if isinstance(v, list) else v for v in cell.values())
    return member_text(spec, cell, lang)


def _row_words(row: dict, tables: dict[str, TableSpec], rule_codes: dict[str, str], lang: str) -> dict:
    """A failing row's index columns as a person reads them: tables by title, cells by their members,
    a rule across tables by what it checks, numbers with the language's marks (no internal id)."""
    specs = [tables[t] for t in (row.get("table"), row.get("left_table"), row.get("right_table")) if t in tables]
    out = {}
    for name, value in row.items():
        if name in ("table", "left_table", "right_table"):
            out[name] = text.say("gate_page.limit", lang) if value == "limit" else (
                text.label(tables[value].title, lang) if value in tables else str(value))
        elif name in ("key", "cell", "column"):
            out["cell" if name == "key" else name] = _cell(value, specs, lang)
        elif name == "rule":
            code = rule_codes.get(value)
            out[name] = text.say(f"findings.{code}.title", lang) if code else str(value)
        else:
            out[name] = fmt(_plain(value), lang)
    return out


def _lines(outcome: Outcome, lang: str = "id", tables: dict[str, TableSpec] | None = None) -> list[str]:
    """A failing expectation told in ``lang``: one line per failing row (at most :data:`MAX_ROWS`, then how
    many more), led by its group's name."""
    tables = tables or load_tables()
    group = _said("checks", outcome.check, lang)
    expectation = _said("expectations", outcome.expect.name, lang)
    if outcome.error:
        return [f"{group}: " + text.say("gate_page.cannot_check", lang, expectation=expectation, error=outcome.error)]
    rule_codes = {r.rule: r.code for r in (*cross_rules(), *city_rules())}
    lines = [f"{group}: " + text.say(f"gate_page.rows.{outcome.expect.name}", lang,
                                     **_row_words(row, tables, rule_codes, lang))
             for row in outcome.rows[:MAX_ROWS]]
    if outcome.count > len(lines):
        lines.append(f"{group}: " + text.say("gate_page.more", lang, n=outcome.count - len(lines)))
    return lines or [f"{group}: " + text.say("gate_page.none_listed", lang, expectation=expectation)]


def run_gate(city: Values, period: str, docs_dir: Path | None,
             tables: dict[str, TableSpec] | None = None, city_scope: bool = True,
             judged: Judged | None = None, lang: str = "id") -> GateResult:
    """Confront the consolidated city tables with the gate's GX suite; Data Docs go to ``docs_dir``.

    GX's pages (``index.html``, ``expectations/``, ``validations/``) in ``docs_dir`` are replaced by
    this run's; ``static/`` is rewritten. ``docs_dir=None`` validates without building Data Docs.
    ``judged``: the passing judgement of the live release; when the check frames are what it judged
    (and its Data Docs are in ``docs_dir``), it is the result, and GX is neither imported nor run.
    The failing rows are told in ``lang`` (tables by title, cells by their members, no internal id).

    Never raises for bad data or a GX fault: a check that cannot run fails the gate with a line saying
    so instead.
    """
    start = time.perf_counter()
    tables = tables or load_tables()
    try:
        found = checks(city, tables, city_scope)
        judging = judged_input(found)
        if judged is not None and judged.judged_input == judging and (
                docs_dir is None or (Path(docs_dir) / "index.html").is_file()):
            warned = [line for o in judged.outcomes if not o["success"] for line in o["rows"]]
            return GateResult(True, [], warned, Path(docs_dir).resolve() / "index.html" if docs_dir else None,
                              time.perf_counter() - start, judged.outcomes, judging, judged.run_id)
        outcomes, index = _confront(found, docs_dir, period)
        told = {id(o): _lines(o, lang, tables) for o in outcomes if not o.success}
    except Exception as exc:  # a GX internal fault (or a bug here) must block publishing, not crash the run
        return GateResult(False, [text.say("gate_page.fault", lang, error=f"{type(exc).__name__}: {exc}")],
                          seconds=time.perf_counter() - start)
    failures, warned = [], []
    for o in outcomes:
        if not o.success:
            (warned if o.expect.severity == "warning" and not o.error else failures).extend(told[id(o)])
    summary = [{"check": o.check, "type": o.expect.type, "title": o.expect.title, "severity": o.expect.severity,
                "success": o.success, "checked": o.checked, "failed": o.count, "error": o.error,
                "rows": told.get(id(o), [])} for o in outcomes]
    return GateResult(not failures, failures, warned, index, time.perf_counter() - start, summary, judging)
