"""Entity merging, labels, names and ids: with the real model, and on hand-made spans."""

from __future__ import annotations

from collections.abc import Callable

from spacy.language import Language

from services.enrich.core import enrich
from services.enrich.document import Zone
from services.enrich.entities import Zones, build_entities, country_code
from shared.models import Entity, RawDocument


def _spans(text: str, *items: tuple[str, str, int]) -> list[tuple[int, int, str]]:
    """(surface, label, occurrence) -> character spans, so tests read like the text."""
    spans = []
    for surface, label, occurrence in items:
        start = -1
        for _ in range(occurrence + 1):
            start = text.index(surface, start + 1)
        spans.append((start, start + len(surface), label))
    return spans


def _build(text: str, *items: tuple[str, str, int]) -> dict[str, Entity]:
    entities = build_entities(text, _spans(text, *items), Zones(length=len(text)), lambda _: None)
    return {e.name: e for e in entities}


def test_surname_joins_the_full_name_with_the_real_model(
    make_doc: Callable[..., RawDocument], nlp: Language
) -> None:
    text = (
        "Vladimir Putin met officials in the Kremlin on Monday. Later, Putin said the Kremlin "
        "would not intervene in Venezuela. Putin's spokesman Dmitry Peskov agreed."
    )
    entities = {e.name: e for e in enrich(make_doc(text), nlp).entities}
    putin = entities["Vladimir Putin"]
    assert (putin.label, putin.count) == ("PERSON", 3)
    assert [m.text for m in putin.mentions] == ["Vladimir Putin", "Putin", "Putin"]
    assert [m.sentence for m in putin.mentions] == [0, 1, 2]
    assert "Putin" not in entities
    kremlin = entities["Kremlin"]
    assert (kremlin.label, kremlin.count) == ("ORG", 2)
    assert entities["Dmitry Peskov"].count == 1
    assert entities["Venezuela"].ids == {"iso3166": "VE"}
    assert {e.label for e in entities.values()} == {"PERSON", "ORG", "GPE"}  # Monday is a date


def test_ambiguous_surname_joins_nobody() -> None:
    text = "Lyudmila Putin and Vladimir Putin arrived. Putin spoke."
    entities = _build(
        text,
        ("Lyudmila Putin", "PERSON", 0),
        ("Vladimir Putin", "PERSON", 0),
        ("Putin", "PERSON", 2),
    )
    assert set(entities) == {"Lyudmila Putin", "Vladimir Putin", "Putin"}
    assert all(e.count == 1 for e in entities.values())


def test_surname_chain_ends_at_the_fullest_name() -> None:
    text = "Vladimir Vladimirovich Putin, also Vladimir Putin, or just Putin."
    entities = _build(
        text,
        ("Vladimir Vladimirovich Putin", "PERSON", 0),
        ("Vladimir Putin", "PERSON", 0),
        ("Putin", "PERSON", 2),
    )
    assert list(entities) == ["Vladimir Vladimirovich Putin"]
    assert entities["Vladimir Vladimirovich Putin"].count == 3


def test_majority_label_and_the_stripped_from_names() -> None:
    text = "Maduro spoke. Maduro left. Maduro won. The Kremlin and the Kremlin’s men."
    entities = _build(
        text,
        ("Maduro", "PERSON", 0),
        ("Maduro", "ORG", 1),
        ("Maduro", "PERSON", 2),
        ("The Kremlin", "ORG", 0),
        ("the Kremlin’s", "ORG", 0),
    )
    assert entities["Maduro"].label == "PERSON" and entities["Maduro"].count == 3
    kremlin = entities["Kremlin"]
    assert [m.text for m in kremlin.mentions] == ["Kremlin", "Kremlin"]
    assert kremlin.mentions[0].start == text.index("Kremlin")


def test_the_hague_keeps_its_article() -> None:
    text = "Judges in The Hague ruled; the Hague court agreed."
    entities = _build(text, ("The Hague", "GPE", 0), ("the Hague court", "ORG", 0))
    assert set(entities) == {"The Hague", "Hague court"}


def test_org_prefix_and_suffix_join_but_not_across_families() -> None:
    text = (
        "the SerpomPo Telegram Channel says; SerpomPo adds; the Telegram Channel continues. "
        "Ford Motor sells cars; Ford the president; Ford again."
    )
    entities = _build(
        text,
        ("SerpomPo Telegram Channel", "ORG", 0),
        ("SerpomPo", "ORG", 1),
        ("Telegram Channel", "PRODUCT", 1),
        ("Ford Motor", "ORG", 0),
        ("Ford", "PERSON", 1),
        ("Ford", "PERSON", 2),
    )
    channel = entities["SerpomPo Telegram Channel"]
    assert (channel.label, channel.count) == ("ORG", 3)
    assert entities["Ford"].label == "PERSON" and entities["Ford"].count == 2
    assert entities["Ford Motor"].count == 1


def test_numeric_and_date_labels_are_not_entities() -> None:
    text = "Three million people in 2019 paid $5, 10% more, the first time."
    entities = _build(
        text,
        ("Three million", "CARDINAL", 0),
        ("2019", "DATE", 0),
        ("$5", "MONEY", 0),
        ("10%", "PERCENT", 0),
        ("first", "ORDINAL", 0),
    )
    assert entities == {}


def test_salience_weighs_title_and_lead() -> None:
    text = "Putin Wins\n\nRussia voted. Later Putin spoke.\n\nRussia again. Russia once more."
    spans = _spans(
        text,
        ("Putin", "PERSON", 0),
        ("Russia", "GPE", 0),
        ("Putin", "PERSON", 1),
        ("Russia", "GPE", 1),
        ("Russia", "GPE", 2),
    )
    zones = Zones(length=len(text), title=Zone(0, 10), lead=Zone(12, 44))
    entities = {e.name: e for e in build_entities(text, spans, zones, lambda _: None)}
    # 3 (title) + 2 (lead) vs 2 (lead) + two late mentions under 1 each
    assert entities["Putin"].salience > entities["Russia"].salience
    assert entities["Putin"].salience + entities["Russia"].salience == 1.0


def test_country_codes_are_never_guessed() -> None:
    assert country_code("Russia") == "RU"
    assert country_code("Russian Federation") == "RU"
    assert country_code("venezuela") == "VE"
    assert country_code("Bolivarian Republic of Venezuela") == "VE"
    assert country_code("U.S.") == "US"
    assert country_code("Georgia") is None  # the country or the US state
    assert country_code("Staunton") is None
    assert country_code("Russ") is None
