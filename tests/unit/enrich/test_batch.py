"""enrich_batch gives the same results as enrich one by one."""

from __future__ import annotations

from collections.abc import Callable

from spacy.language import Language

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
