"""Benchmark: the check itself (stage + rules) by rekap and by Great Expectations, side by side (prints JSON).

The same submissions (the sample period's workbooks, ``rekap sample``, read once beforehand: reading
is not timed) get the same checks from both:

* rekap: staging (numbers parsed, the pandera schema: counts whole and >= 0, percentages within
  0..100) and the sum and percent rules (:func:`pipeline.rules.sums.sum_rules`, the percent rules of
  :func:`pipeline.validate.check_rules`), with their findings; ``rekap_batch``: the whole sample staged
  as one batch (:func:`pipeline.stage.stage_batch`, one schema validation), ``rekap_one``: each
  submission staged alone (a batch of one), ``rekap_all_rules``: the batch with every rule of a
  submission (the cross-table rules too), as ``rekap validate`` checks it, localisation excepted;
* GX: the publish gate's suites that do these checks (``counts``, ``percents``, ``sums``,
  ``percent_totals`` of :mod:`pipeline.gate`, over the tables the submission has), one validation
  per suite and submission in a context, suites and validation definitions made once beforehand
  (their making, and GX's import, are reported apart: ``gx_setup_s``); the result format is the
  gate's (failing rows with their index columns). ``gx_frames``: making the check frames alone.

Both sides must reject the same submissions for the checks they share (``agree``: rekap's errors of
:data:`SHARED` codes against GX's failing critical expectations; rekap also rejects a value in a cell
that cannot exist, ``IMPOSSIBLE_CELL``, which the GX suites do not check). Times are CPU seconds of this process
(``time.process_time``, best of ``--repeat`` for rekap, one pass for GX), per submission; the
machines are shared and noisy, so read the ratios, measured in the same run.

``startup``: ``rekap --help`` and ``rekap --version`` against a bare ``python -c pass``, each in
``--starts`` fresh processes: best wall time and best CPU time (user + system; steadier on a loaded
machine), the difference to bare Python and the ratio.

    .venv/bin/python bench/check.py [--repeat 10] [--starts 10]
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline import gate  # noqa: E402
from pipeline.read import read_submission  # noqa: E402
from pipeline.rules.sums import sum_rules  # noqa: E402
from pipeline.sample import write_sample  # noqa: E402
from pipeline.specs import load_tables  # noqa: E402
from pipeline.stage import stage_batch  # noqa: E402
from pipeline.validate import check_rules, confront, submission_rules  # noqa: E402

TABLES = load_tables()
# rekap's codes for what the GX suites check: a count missing or not a number, negative, not whole; a
# percentage outside 0..100, not its share, a column not summing to 100; a total not its parts' sum
SHARED = frozenset({"VALUE_NOT_NUMBER", "VALUE_NEGATIVE", "VALUE_NOT_WHOLE", "PCT_RANGE", "SUM_MISMATCH", "PCT_SHARE",
                    "PCT_TOTAL"})


def rekap_check(extracts, batch: bool, all_rules: bool = False) -> list[list]:
    """Stage ``extracts`` (as one batch, or each alone) and apply the rules: each one's findings."""
    staged = stage_batch(extracts, TABLES) if batch else [stage_batch([ex], TABLES)[0] for ex in extracts]
    out = []
    for ex, st in zip(extracts, staged):
        present = set(ex.tables)
        rules = submission_rules(present, TABLES) if all_rules else table_rules(frozenset(present))
        out.append(st.findings + check_rules(st, present, TABLES, rules, confront(rules, st.values)))
    return out


@functools.cache
def table_rules(present: frozenset) -> tuple:
    """The sum rules of the tables present, once per set of tables (as :func:`submission_rules` keeps its rules)."""
    return tuple(r for t in sorted(present, key=lambda t: TABLES[t].number) for r in sum_rules(TABLES[t]))


def city_values(staged) -> dict:
    """A submission's staged values as the gate takes them: ``{table: {key: value}}``."""
    values: dict = {}
    for ref, value in staged.values.items():
        values.setdefault(ref.table, {})[ref.key] = value
    return values


def gx_checks(values: dict, present) -> list:
    tables = {t: TABLES[t] for t in TABLES if t in present}
    return [gate.counts_check(values, tables), gate.percents_check(values, tables), gate.sums_check(values, tables),
            gate.percent_totals_check(values, tables)]


def gx_prepare(example: list):
    """An ephemeral GX context with one suite and validation definition per check, as the gate makes them."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import great_expectations as gx
        from great_expectations.data_context.types.base import (DataContextConfig, InMemoryStoreBackendDefaults,
                                                                ProgressBarsConfig)
    logging.captureWarnings(False)
    config = DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
                               analytics_enabled=False, data_docs_sites={},
                               progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False))
    context = gx.get_context(project_config=config, mode="ephemeral")
    source = context.data_sources.add_pandas("bench")
    definitions = {}
    for check in example:
        batch = source.add_dataframe_asset(check.name).add_batch_definition_whole_dataframe("submission")
        suite = context.suites.add(gx.ExpectationSuite(name=check.name))
        for e in check.expects:
            suite.add_expectation(getattr(gx.expectations, e.type)(
                **e.kwargs, severity="critical" if e.severity == "error" else "warning", description=e.title))
        definitions[check.name] = context.validation_definitions.add(
            gx.ValidationDefinition(name=check.name, data=batch, suite=suite))
    return definitions


def gx_check(definitions, checks) -> bool:
    """Whether the submission passes every blocking expectation of the suites."""
    ok = True
    for check in checks:
        result = definitions[check.name].run(batch_parameters={"dataframe": check.frame}, result_format={
            "result_format": "COMPLETE", "unexpected_index_column_names": list(check.index)})
        ok &= all(r.success for r in result.results
                  if r.expectation_config.severity.value == "critical")
    return ok


def cpu(fn, repeat: int = 1):
    """``fn()``'s result and its best CPU time over ``repeat`` runs."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.process_time()
        result = fn()
        best = min(best, time.process_time() - start)
    return result, best


def started(args: list[str], starts: int) -> tuple[float, float]:
    """Best wall time and best CPU time (user + system) of ``args`` run ``starts`` times."""
    best_wall = best_cpu = float("inf")
    for _ in range(starts):
        before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        took, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
        best_wall = min(best_wall, took)
        best_cpu = min(best_cpu, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return best_wall, best_cpu


def startup(starts: int) -> dict:
    bare = started([sys.executable, "-c", "pass"], starts)
    rekap = [sys.executable, "-c", "import sys; from pipeline.cli import main; sys.argv[0] = 'rekap'; main()"]
    out = {"bare_python": {"wall_s": round(bare[0], 3), "cpu_s": round(bare[1], 3)}}
    for name, args in (("help", ["--help"]), ("version", ["--version"])):
        took = started([*rekap, *args], starts)
        out[name] = {f"{what}_s": round(t, 3) for what, t in zip(("wall", "cpu"), took)}
        out[name].update({f"{what}_over_bare_s": round(t - b, 3) for what, t, b in zip(("wall", "cpu"), took, bare)})
        out[name].update({f"{what}_ratio_to_bare": round(t / b, 2) for what, t, b in zip(("wall", "cpu"), took, bare)})
    out["target"] = "help and version <= 0.1 s over bare Python"
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--starts", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        write_sample(Path(tmp), "2022", log=None)
        extracts = [read_submission(p) for p in sorted((Path(tmp) / "2022").glob("*.xlsx"))]
    n = len(extracts)
    rekap_check(extracts, batch=True)  # warm: specs, rules and the schema are built once per process
    batch_findings, batch = cpu(lambda: rekap_check(extracts, batch=True), args.repeat)
    one_findings, one = cpu(lambda: rekap_check(extracts, batch=False), args.repeat)
    _, all_rules = cpu(lambda: rekap_check(extracts, batch=True, all_rules=True), args.repeat)
    assert batch_findings == one_findings, "a batch must find what each submission alone finds"

    staged = stage_batch(extracts, TABLES)
    frames, frames_cpu = cpu(lambda: [gx_checks(city_values(st), ex.tables) for ex, st in zip(extracts, staged)])
    start = time.process_time()
    definitions = gx_prepare(frames[0])
    setup = time.process_time() - start
    gx_ok, gx_cpu = cpu(lambda: [gx_check(definitions, checks) for checks in frames])

    rekap_ok = [not any(f.severity == "error" and f.code in SHARED for f in found) for found in batch_findings]
    per = {name: 1000 * seconds / n for name, seconds in
           (("rekap_batch", batch), ("rekap_one", one), ("rekap_all_rules", all_rules),
            ("gx_frames", frames_cpu), ("gx", gx_cpu + frames_cpu))}
    print(json.dumps({
        "submissions": n,
        "cells_per_submission": round(sum(len(ex.cells) for ex in extracts) / n),
        "per_submission_cpu_ms": {k: round(v, 3) for k, v in per.items()},
        "ratio_gx_to_rekap_batch": round(per["gx"] / per["rekap_batch"], 1),
        "ratio_gx_to_rekap_one": round(per["gx"] / per["rekap_one"], 1),
        "ratio_gx_to_rekap_all_rules": round(per["gx"] / per["rekap_all_rules"], 1),
        "target_ratio": 50,
        "gx_setup_s": round(setup, 2),
        "rejected": {"rekap": rekap_ok.count(False), "gx": gx_ok.count(False)},
        "agree": sum(a == b for a, b in zip(rekap_ok, gx_ok)),
        "startup": startup(args.starts),
        "note": f"CPU time; rekap best of {args.repeat}, GX one pass (after its setup)",
    }, indent=2))


if __name__ == "__main__":
    main()
