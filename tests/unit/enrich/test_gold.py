"""The enricher against the hand-annotated gold sets in tests/gold: precision and recall
per kind must stay above the bar.

Two sets: the tuned set (tests/gold, 13 English and Russian news and analysis articles the
rules were developed on) must stay above ``THRESHOLDS``; the held-out set (tests/gold/heldout,
8 articles no rule was tuned on) must stay above ``HELDOUT_FLOORS``, per language.

The held-out documents must never be used to tune rules: do not read their error lists to
fix a miss, add a name or date form because it occurs there, or edit their annotations to
match the output. Their figures are only honest as long as nobody looks at them while
changing the enricher. If a rule change makes the held-out test fail, that is a regression
on unseen text: fix the rule in general terms (with a test of its own), not for these texts.
"""

from __future__ import annotations

import pytest
from spacy.language import Language

from services.enrich.core import enrich_batch
from tests.gold.scoring import (
    HELDOUT_FLOORS,
    THRESHOLDS,
    Scores,
    evaluate,
    failures,
    load_gold,
    load_heldout,
    report,
)


@pytest.fixture(scope="module")
def table(nlp: Language) -> dict[str, Scores]:
    gold = load_gold()
    return evaluate(gold, enrich_batch([g.raw() for g in gold], nlp, batch_size=16))


@pytest.fixture(scope="module")
def heldout_table(nlp: Language) -> dict[str, Scores]:
    gold = load_heldout()
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


def test_heldout_set_is_separate_from_the_tuned_set() -> None:
    tuned, heldout = load_gold(), load_heldout()
    languages = [g.language for g in heldout]
    assert languages.count("en") == 4 and languages.count("ru") == 4
    assert {g.kind for g in heldout} == {"news", "analysis"}
    assert not {g.name for g in tuned} & {g.name for g in heldout}
    # No held-out paragraph is copied from a tuned article.
    tuned_paragraphs = {p.strip() for g in tuned for p in g.text.split("\n") if len(p) > 40}
    for document in heldout:
        copied = [p for p in document.text.split("\n") if p.strip() in tuned_paragraphs]
        assert not copied, f"{document.name} repeats tuned text: {copied[0][:80]!r}"


def test_heldout_quality_is_above_the_floor(heldout_table: dict[str, Scores]) -> None:
    # A regression floor, not a target: see the module docstring before touching it. Only
    # the figures are shown on failure, not the held-out error list, so that a fix is made
    # for the rule in general rather than for the held-out sentences.
    assert set(heldout_table) == {"all", "en", "ru"}
    below = failures(heldout_table, HELDOUT_FLOORS)
    assert not below, f"held out below {HELDOUT_FLOORS}: {below}\n{report(heldout_table)}"
