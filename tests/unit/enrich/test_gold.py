"""The enricher against the hand-annotated gold set (tests/gold, 13 English and Russian
news and analysis articles): precision and recall per kind must stay above the bar."""

from __future__ import annotations

import pytest
from spacy.language import Language

from services.enrich.core import enrich_batch
from tests.gold.scoring import THRESHOLDS, Scores, evaluate, failures, load_gold, report


@pytest.fixture(scope="module")
def table(nlp: Language) -> dict[str, Scores]:
    gold = load_gold()
    return evaluate(gold, enrich_batch([g.raw() for g in gold], nlp, batch_size=16))


def test_gold_set_is_big_enough() -> None:
    gold = load_gold()
    languages = [g.language for g in gold]
    assert len(gold) >= 12 and languages.count("en") >= 6 and languages.count("ru") >= 5
    assert {g.kind for g in gold} == {"news", "analysis"}
    assert any(g.name.startswith("en-01-putin-elites-venezuela") for g in gold)


def test_quality_is_above_the_bar(table: dict[str, Scores]) -> None:
    below = failures(table)
    errors = "\n".join(
        table["all"].entities.errors + table["all"].dates.errors + table["all"].links.errors
    )
    assert not below, f"below {THRESHOLDS}: {below}\n{report(table)}\n{errors}"


def test_each_language_is_scored(table: dict[str, Scores]) -> None:
    assert set(table) == {"all", "en", "ru"}
    assert table["ru"].entities.tp > 80 and table["en"].entities.tp > 80
