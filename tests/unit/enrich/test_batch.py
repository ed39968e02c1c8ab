"""enrich_batch gives the same results as enrich one by one."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from spacy.language import Language

from services.enrich import core
from services.enrich.core import enrich, enrich_batch
from shared.models import RawDocument


def test_batch_equals_one_by_one(
    sample_doc: Callable[..., RawDocument],
    make_doc: Callable[..., RawDocument],
    nlp: Language,
) -> None:
    documents = [
        sample_doc(),
        make_doc("Vladimir Putin met Nicolas Maduro in Moscow on December 5, 2018. See x.com/a."),
        make_doc(""),
        make_doc("Путин встретился с Мадуро в Москве."),
        sample_doc(published_at="2019-01-28"),
    ]
    one_by_one = [enrich(d, nlp) for d in documents]
    for batch_size in (2, 16):
        assert enrich_batch(documents, nlp, batch_size=batch_size) == one_by_one
    assert one_by_one[2].entities == [] and one_by_one[2].word_count == 0
    assert one_by_one[3].language == "ru"
    assert one_by_one[0] != one_by_one[4]  # the reference date changes the dates


def test_empty_batch(nlp: Language) -> None:
    assert enrich_batch([], nlp) == []


def test_vocabulary_does_not_grow(make_doc: Callable[..., RawDocument], nlp: Language) -> None:
    enrich_batch([make_doc("Warmup text with Putin.")], nlp)
    before = len(nlp.vocab.strings)
    documents = [make_doc(f"Zyxwv{i} Qwerty{i} met Putin in Moscow.") for i in range(20)]
    enrich_batch(documents, nlp, batch_size=8)
    assert len(nlp.vocab.strings) == before


def test_long_texts_are_tagged_in_pieces_with_true_offsets(
    make_doc: Callable[..., RawDocument], nlp: Language, monkeypatch: pytest.MonkeyPatch
) -> None:
    paragraph = "Officials in Moscow said nothing new about the budget this week.\n\n"
    text = "Vladimir Putin spoke in Moscow.\n\n" + paragraph * 40 + "Later Putin left Moscow."
    whole = enrich(make_doc(text), nlp)
    monkeypatch.setattr(core, "MAX_SEGMENT_CHARS", 500)
    plan = core._plan(make_doc(text))
    assert len(plan.segments) > 5
    assert all(len(s.text) <= 500 for s in plan.segments)
    assert "".join(s.text for s in plan.segments) == text
    pieces = enrich(make_doc(text), nlp)
    for result in (whole, pieces):
        putin = next(e for e in result.entities if e.name == "Vladimir Putin")
        assert [m.text for m in putin.mentions] == ["Vladimir Putin", "Putin"]
        assert [text[m.start : m.end] for m in putin.mentions] == ["Vladimir Putin", "Putin"]
        moscow = next(e for e in result.entities if e.name == "Moscow")
        assert moscow.count == 42
