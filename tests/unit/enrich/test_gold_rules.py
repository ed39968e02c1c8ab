"""Rules added for what the gold set showed: links inside NER spans, acronyms, one entity per
country, surnames tagged ORG, durations, dates anchored to other dates, weekdays."""

from __future__ import annotations

from datetime import date

from services.enrich.dates import extract_dates, normalise
from services.enrich.entities import Zones, build_entities
from services.enrich.links import extract_links
from shared.models import Entity


def _entities(text: str, *items: tuple[str, str]) -> dict[str, Entity]:
    spans = [(text.index(s), text.index(s) + len(s), label) for s, label in items]
    links = [(link.start, link.end) for link in extract_links(text)]
    entities = build_entities(text, spans, Zones(length=len(text)), lambda _: None, links=links)
    return {e.name: e for e in entities}


def test_mentions_stop_before_links() -> None:
    text = "Video was posted by the Estonian Defence Forces on vk.com/wall-5548_9931 and www.a.am."
    found = _entities(
        text,
        ("Estonian Defence Forces on vk.com/wall-5548_9931", "ORG"),
        ("www.a.am", "PERSON"),
    )
    assert list(found) == ["Estonian Defence Forces"]


def test_acronym_joins_its_full_name() -> None:
    text = (
        "The Organization of the Petroleum Exporting Countries met. OPEC said no. "
        "ФСБ и Федеральная служба безопасности."
    )
    found = _entities(
        text,
        ("Organization of the Petroleum Exporting Countries", "ORG"),
        ("OPEC", "ORG"),
        ("ФСБ", "ORG"),
        ("Федеральная служба безопасности", "ORG"),
    )
    assert found["Organization of the Petroleum Exporting Countries"].count == 2
    assert found["Федеральная служба безопасности"].count == 2


def test_one_entity_per_country_and_country_names_are_places() -> None:
    text = "The U.S. and the United States are one. Armenia's parliament voted."
    found = _entities(text, ("U.S.", "GPE"), ("United States", "GPE"), ("Armenia", "ORG"))
    assert found["United States"].count == 2 and found["United States"].ids == {"iso3166": "US"}
    assert found["Armenia"].label == "GPE"


def test_surname_tagged_org_joins_the_person() -> None:
    text = "Alexander Novak spoke. Novak said more. Novak left."
    found = _entities(text, ("Alexander Novak", "PERSON"), ("Novak", "ORG"))
    assert list(found) == ["Alexander Novak"] and found["Alexander Novak"].label == "PERSON"


def test_person_of_organisation_keeps_the_person() -> None:
    text = "Critics such as Alexander Isavnin of Roskomsvoboda argue."
    found = _entities(text, ("Alexander Isavnin of Roskomsvoboda", "PERSON"))
    assert list(found) == ["Alexander Isavnin"]


def _dates(text: str, ner: list[str], reference: date | None) -> list[tuple[str, str | None]]:
    spans = [(text.index(s), text.index(s) + len(s)) for s in ner]
    return [(d.text, d.value) for d in extract_dates(text, spans, reference)]


def test_durations_and_sets_are_not_dates() -> None:
    text = "A six-year term, a day, weeks of talks, monthly reports, every few minutes in 2019."
    ner = ["six-year", "a day", "weeks", "monthly", "every few minutes"]
    assert _dates(text, ner, date(2019, 3, 5)) == [("2019", "2019")]


def test_dates_anchored_to_an_earlier_date() -> None:
    text = (
        "The court ruled on April 13, 2018.\nThe blocking began three days later.\nThe same day, X."
    )
    found = _dates(text, ["April 13, 2018", "three days later", "The same day"], date(2019, 3, 20))
    assert found == [
        ("April 13, 2018", "2018-04-13"),
        ("three days later", "2018-04-16"),
        ("The same day", "2019-03-20"),  # no date in its paragraph: the reference
    ]


def test_rule_replaces_a_valueless_ner_span() -> None:
    text = "Output rose in the week to February 22, the agency said."
    assert _dates(text, ["the week to February 22"], date(2019, 3, 5)) == [
        ("February 22", "2019-02-22")
    ]


def test_today_is_found_without_ner() -> None:
    assert _dates("Today the bill passed.", [], date(2019, 3, 20)) == [("Today", "2019-03-20")]


def test_weekdays_quarters_and_near_future_months() -> None:
    tuesday = date(2019, 3, 5)
    assert normalise("Tuesday", tuesday).value == "2019-03-05"
    assert normalise("Monday", tuesday).value == "2019-03-04"
    assert normalise("the fourth quarter", tuesday).value == "2018-Q4"
    assert normalise("the second quarter", tuesday).value == "2019-Q2"
    assert normalise("Q3 2017").value == "2017-Q3"
    assert normalise("June", tuesday).value == "2019-06"
    assert normalise("October", tuesday).value == "2018-10"
    assert normalise("April 17-18", tuesday).value == "2019-04-17/2019-04-18"
