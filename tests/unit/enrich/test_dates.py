"""Date normalisation: each form, the XXXX rule, ranges, relative expressions."""

from __future__ import annotations

from datetime import date

import pytest

from services.enrich import dates
from services.enrich.dates import Normalised, extract_dates, normalise, reference_date

REF = date(2019, 1, 28)


@pytest.mark.parametrize(
    ("text", "value", "granularity"),
    [
        ("March 2018", "2018-03", "month"),
        ("28 January 2019", "2019-01-28", "day"),
        ("January 28, 2019", "2019-01-28", "day"),
        ("Sept. 11, 2001", "2001-09-11", "day"),
        ("the 28th of January 2019", "2019-01-28", "day"),
        ("2019-01-28", "2019-01-28", "day"),
        ("2019-01", "2019-01", "month"),
        ("2014", "2014", "year"),
        ("in 2014", "2014", "year"),
        ("early 2018", "2018", "year"),
        ("the end of 2018", "2018", "year"),
        ("the 1990s", "199X", "decade"),
        ("the early 2000s", "200X", "decade"),
        ("the 20th century", "19", "century"),
        ("the twenty-first century", "20", "century"),
        ("the summer of 2018", "2018-SU", "season"),
        ("1/2/2019", "2019-01-02", "day"),
    ],
)
def test_explicit_forms(text: str, value: str, granularity: str) -> None:
    for reference in (None, REF):
        reading = normalise(text, reference)
        assert (reading.value, reading.granularity) == (value, granularity)
        assert not reading.relative


@pytest.mark.parametrize(
    ("text", "without", "with_reference"),
    [
        ("January 28", "XXXX-01-28", "2019-01-28"),
        ("Jan. 28", "XXXX-01-28", "2019-01-28"),
        ("28 January", "XXXX-01-28", "2019-01-28"),
        # past-preferring, except within FUTURE_WINDOW (four months) ahead
        ("December 30", "XXXX-12-30", "2018-12-30"),
        ("February 29", "XXXX-02-29", "2016-02-29"),
        ("early March", "XXXX-03", "2019-03"),
        ("June", "XXXX-06", "2018-06"),
        ("May 20", "XXXX-05-20", "2019-05-20"),
        ("June 10", "XXXX-06-10", "2018-06-10"),
    ],
)
def test_missing_year_is_never_invented(text: str, without: str, with_reference: str) -> None:
    assert normalise(text).value == without
    assert normalise(text, REF).value == with_reference


def test_impossible_day_has_no_value() -> None:
    assert normalise("February 30").value is None


@pytest.mark.parametrize(
    ("text", "value", "granularity"),
    [
        ("today", "2019-01-28", "day"),
        ("yesterday", "2019-01-27", "day"),
        ("yesterday morning", "2019-01-27", "day"),
        ("last year", "2018", "year"),
        ("two years ago", "2017", "year"),
        ("last week", "2019-W04", "week"),
        ("this month", "2019-01", "month"),
        ("Monday", "2019-01-28", "day"),  # a story dated on a Monday means that Monday
        ("Sunday", "2019-01-27", "day"),
        ("fourth quarter", "2018-Q4", "quarter"),
        ("the 28th", "2019-01-28", "day"),
    ],
)
def test_relative_expressions(text: str, value: str, granularity: str) -> None:
    resolved = normalise(text, REF)
    assert (resolved.value, resolved.granularity, resolved.relative) == (value, granularity, True)
    unresolved = normalise(text)
    assert unresolved.relative and unresolved.value is None


def test_relative_without_a_value_anywhere() -> None:
    reading = normalise("recent years", REF)
    assert reading.relative and reading.value is None


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("between 2014 and 2019", "2014", "2019"),
        ("from 2014 to 2019", "2014", "2019"),
        ("2014-2019", "2014", "2019"),
        ("2014–19", "2014", "2019"),
        ("1998–2002", "1998", "2002"),
        ("from March to May 2018", "2018-03", "2018-05"),
        ("Jan. 5-7, 2019", "2019-01-05", "2019-01-07"),
        ("the 1980s to the 1990s", "198X", "199X"),
    ],
)
def test_ranges(text: str, start: str, end: str) -> None:
    assert normalise(text) == Normalised(f"{start}/{end}", "range", start, end, False)


def test_and_alone_is_not_a_range() -> None:
    assert normalise("2014 and 2019").granularity != "range"
    assert normalise("2019-01").granularity == "month"  # not the years 2019 to 2001


def test_clock_times() -> None:
    assert normalise("10 a.m.", REF) == Normalised(None, "time")


def test_reference_date() -> None:
    assert reference_date("2019-01-28") == REF
    assert reference_date("2019-01-28T10:30:00+03:00") == REF
    assert reference_date("XXXX-01-28") is None
    assert reference_date("2019") is None
    assert reference_date("2019-02-30") is None
    assert reference_date(None) is None


@pytest.mark.parametrize(
    "text",
    ["January 28", "28 January 2019", "March 2018", "2019-01-28", "December 30", "the 1990s"],
)
def test_fast_path_agrees_with_dateparser(text: str) -> None:
    """Our regexes and dateparser read the explicit forms alike, with or without a reference."""
    for reference in (None, REF):
        ours = dates._explicit(dates._strip(text), reference)
        assert ours is not None
        if ours.granularity == "decade":
            continue  # dateparser has no decades (it reads "the 1990s" as a time of day)
        assert dates._with_dateparser(dates._strip(text), reference, relative=False) == ours


def _found(
    text: str, ner: list[str], reference: date | None = None
) -> list[tuple[str, str | None, str]]:
    spans = [(text.index(s), text.index(s) + len(s)) for s in ner]
    return [(d.text, d.value, d.source) for d in extract_dates(text, spans, reference)]


def test_split_ner_range_is_merged() -> None:
    text = "Living standards under Putin between 2014 and 2019 have fallen."
    assert _found(text, ["between 2014", "2019"]) == [("between 2014 and 2019", "2014/2019", "ner")]
    assert _found(text, ["2014", "2019"]) == [("between 2014 and 2019", "2014/2019", "ner")]


def test_rule_pass_finds_what_ner_missed() -> None:
    text = (
        "On January 28 they met; the law of 28 January 2019 (in force 2019-02-01) "
        "replaced one passed in 2014, amended from 2015 to 2017, valid 2016-2018."
    )
    assert _found(text, []) == [
        ("January 28", "XXXX-01-28", "rule"),
        ("28 January 2019", "2019-01-28", "rule"),
        ("2019-02-01", "2019-02-01", "rule"),
        ("2014", "2014", "rule"),
        ("from 2015 to 2017", "2015/2017", "rule"),
        ("2016-2018", "2016/2018", "rule"),
    ]


def test_rule_pass_swallows_partial_ner_spans_and_respects_whole_ones() -> None:
    text = "Talks on January 28, 2019 and in March 2018 failed."
    assert _found(text, ["January 28", "March 2018"]) == [
        ("January 28, 2019", "2019-01-28", "rule"),
        ("March 2018", "2018-03", "ner"),
    ]


def test_rule_pass_ignores_lowercase_months_and_bare_numbers() -> None:
    assert _found("They may 5 times say 2014 people came.", []) == []


def test_dateline_source() -> None:
    text = "Staunton, January 28 – The regime said on January 28 it would act."
    first = text.index("January 28")
    found = extract_dates(text, [(first, first + 10)], None, dateline=(0, text.index("–") + 1))
    assert [(d.source, d.value) for d in found] == [
        ("dateline", "XXXX-01-28"),
        ("rule", "XXXX-01-28"),
    ]
