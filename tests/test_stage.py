"""Staging a batch of submissions: one schema validation, the same findings as each submission alone."""

from __future__ import annotations

import pandera.pandas as pa

from conftest import Submission
from pipeline.submission import Extract, RawCell
from pipeline.validate import check_extract, check_extracts


def _seen(result) -> tuple:
    """What a result says, comparable (a NaN value compares by its text)."""
    findings = [(f.code, f.rule, f.table, f.cell, f.sheet, f.address, repr(f.expected), repr(f.actual), repr(f.params))
                for f in result.findings]
    values = None if result.staged is None else sorted((r, repr(v)) for r, v in result.staged.values.items())
    return result.file, result.opd, result.period, result.status, findings, values


def _batch() -> list[Extract]:
    negative = Submission("DINKES").set("golongan", -3, ruang="A", gol="III", sex="L")
    decimal = Submission("BAPPEDA").set("golongan", 1.5, ruang="B", gol="III", sex="P")
    percent = Submission("DLH").set("pendidikan", 150.0, pendidikan="S1", sex="JML", measure="pct")
    words = Submission("DINSOS").set("golongan", "12 orang", ruang="C", gol="III", sex="L")
    empty = Extract(file="SETDA.xlsx", kind="unknown")  # nothing could be read
    sheets = Submission("RSUD").extract()
    sheets.kind = "xlsx"
    sheets.cells = [RawCell(c.table, c.key, str(c.value) if i % 7 == 0 else c.value, "Sheet", f"B{i}")
                    for i, c in enumerate(sheets.cells)]
    return [negative.extract(), Submission().extract(), decimal.extract(), empty, percent.extract(), words.extract(),
            sheets]


def test_a_batch_finds_what_each_submission_finds_alone():
    batch = _batch()
    together = check_extracts(batch, "2022")
    alone = [check_extract(ex, "2022") for ex in batch]
    assert [_seen(r) for r in together] == [_seen(r) for r in alone]
    codes = [{f.code for f in r.findings} for r in together]
    assert "VALUE_NEGATIVE" in codes[0] and codes[1] == set() and "VALUE_NOT_WHOLE" in codes[2]
    assert "PCT_RANGE" in codes[4] and "VALUE_WITH_UNIT" in codes[5] and "VALUE_AS_TEXT" in codes[6]


def test_a_batch_is_validated_by_the_schema_once(monkeypatch):
    calls = []
    real = pa.DataFrameSchema.validate

    def counted(self, frame, *args, **kwargs):
        calls.append(len(frame))
        return real(self, frame, *args, **kwargs)

    monkeypatch.setattr(pa.DataFrameSchema, "validate", counted)
    batch = _batch()
    check_extracts(batch, "2022")
    assert len(calls) == 1 and calls[0] > len(batch[0].cells)


def test_a_fault_on_one_submission_of_a_batch_is_a_finding_on_it_alone():
    batch = _batch()
    broken = Submission("DISHUB").extract()
    broken.cells.append(RawCell("no-such-table", ("X",), 1))  # a reader bug: a table no spec has
    results = check_extracts([*batch[:2], broken, *batch[2:]], "2022")
    assert [f.code for f in results[2].findings] == ["INTERNAL_ERROR"]
    assert "no-such-table" in results[2].findings[0].params["detail"]
    assert [_seen(r) for r in results[:2] + results[3:]] == [_seen(check_extract(ex, "2022")) for ex in batch]


def test_a_negative_decimal_count_is_negative_and_not_whole_with_its_value():
    result = Submission().set("golongan", -2.5, ruang="A", gol="III", sex="L").check()
    found = [(f.code, f.actual) for f in result.findings if f.rule.startswith("schema:")]
    assert found == [("VALUE_NEGATIVE", -2.5), ("VALUE_NOT_WHOLE", -2.5)]
