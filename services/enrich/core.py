"""The pure enrichment core: RawDocument in, Enrichment out. No I/O, no clock.

``enrich`` and ``enrich_batch`` share one code path, so one document gives the same
Enrichment either way. Each batch runs inside ``nlp.memory_zone()`` so a long-running
worker's vocabulary does not grow; nothing that points into a Doc leaves the zone.

Routing by language: an English-only model on Russian text finds wrong entities, so each
document goes by its detected language (else its declared one): Russian to slovnet (one
batched call per batch, models loaded on the first Russian document) with Russian names
and date rules; Ukrainian, for which no model ships, gets links and rule dates but no
entities; everything else to the spaCy pipeline (one ``nlp.pipe`` per batch). Results keep
the input order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, partial
from typing import Literal

from spacy.language import Language

from services.enrich import dates, dates_ru, russian
from services.enrich import document as layout
from services.enrich.document import Dateline, Zone
from services.enrich.entities import ENGLISH, Naming, Zones, build_entities
from services.enrich.links import extract_links
from services.enrich.nlp import (
    DEFAULT_PIPELINE,
    Segment,
    Tagged,
    load_spacy,
    pipeline_label,
    read_segments,
    sentence_index,
)
from shared.models import EnricherInfo, Enrichment, RawDocument

# Bump whenever the same input would give a different Enrichment (rules, tables, model).
ENRICHER_VERSION = "0.2.0"

__all__ = [
    "DEFAULT_PIPELINE",
    "ENRICHER_VERSION",
    "enrich",
    "enrich_batch",
    "load_pipeline",
]


# Long texts are tagged in pieces cut at paragraph breaks: spaCy refuses texts over
# nlp.max_length (1M characters) and its memory grows with the longest text in a batch.
MAX_SEGMENT_CHARS = 100_000


@cache
def load_pipeline(name: str = DEFAULT_PIPELINE) -> Language:
    """The spaCy pipeline, cached per process, with dateparser's data and lingua loaded too.

    The Russian models are not loaded here (2 s, 240 MB): ``russian.load_models`` loads
    them on the first Russian document, once per process.
    """
    nlp = load_spacy(name)
    dates.warm_up()
    for warm_up in ("Warm-up text for the detector.", "Текст для детектора.", "Це текст."):
        layout.detect_language(warm_up)  # lingua loads each language's model on first use
    return nlp


Route = Literal["en", "ru", "none"]
# What the record's ``enricher.model`` says when no NER model ran (Ukrainian text).
NO_MODEL = "rules-only"
_CYRILLIC = frozenset("абвгдеёжзийклмнопрстуфхцчшщъыьэюяі")


def _body_segments(text: str, start: int, limit: int) -> list[Segment]:
    segments = []
    while len(text) - start > limit:
        low, high = start + limit // 2, start + limit
        cut = text.rfind("\n\n", low, high)
        cut = text.rfind(" ", low, high) if cut < 0 else cut
        cut = high if cut < 0 else cut
        segments.append(Segment("body", start, text[start:cut]))
        start = cut
    segments.append(Segment("body", start, text[start:]))
    return segments


@dataclass(frozen=True, slots=True)
class _Plan:
    """What is known about a document before NER: its layout and the segments to tag."""

    doc: RawDocument
    title: Zone | None
    byline: Zone | None
    dateline: Dateline | None
    lead: Zone
    segments: tuple[Segment, ...]
    language: str | None
    confidence: float | None

    @property
    def route(self) -> Route:
        language = self.language or self.doc.metadata.language
        return "ru" if language == "ru" else "none" if language == "uk" else "en"


def _plan(raw: RawDocument) -> _Plan:
    text, meta = raw.text, raw.metadata
    title = layout.find_title(text, meta.title)
    after_title = title.end if title else 0
    byline = layout.find_byline(text, meta.author, after_title)
    body_start = byline.end if byline else after_title
    dateline = layout.find_dateline(text, meta.dateline_text, meta.dateline_place, body_start)
    segments: list[Segment] = []
    if title is not None:
        headline = text[title.start : title.end]
        cased = layout.sentence_case(headline, text[title.end :])
        segments.append(Segment("title", title.start, cased))
    if byline is not None:
        segments.append(Segment("byline", byline.start, text[byline.start : byline.end]))
    segments.extend(_body_segments(text, body_start, MAX_SEGMENT_CHARS))
    language, confidence = layout.detect_language(text)
    return _Plan(
        doc=raw,
        title=title,
        byline=byline,
        dateline=dateline,
        lead=layout.lead_zone(text, dateline.zone.end if dateline else body_start),
        segments=tuple(segments),
        language=language,
        confidence=confidence,
    )


def _date_value(date_text: str) -> str | None:
    """A dateline's date, read by the rules of its language."""
    if _CYRILLIC & set(date_text.lower()):
        return dates_ru.normalise(date_text).value
    return dates.normalise(date_text).value


def _dateline_place(
    text: str, dateline: Dateline | None, found: Sequence[tuple[int, int, str]]
) -> list[tuple[int, int, str]]:
    """The dateline's place as a GPE mention when NER missed it: a dateline names a place."""
    if dateline is None or not dateline.place:
        return []
    zone = text[dateline.zone.start : dateline.zone.end].casefold()
    index = zone.find(dateline.place.casefold())
    if index < 0:
        return []
    start = dateline.zone.start + index
    end = start + len(dateline.place)
    if any(s < end and start < e for s, e, _ in found):
        return []
    return [(start, end, "GPE")]


def _russian_naming() -> Naming:
    return Naming(
        forms=partial(russian.name_forms, russian.load_models().morph),
        place_label=russian.place_label,
        country=russian.country_code,
    )


def _build(plan: _Plan, tagged: Tagged, model: str) -> Enrichment:
    meta, text = plan.doc.metadata, plan.doc.text
    published_at, published_at_source = meta.published_at, meta.published_at_source
    dateline = plan.dateline
    if published_at is None and dateline is not None and dateline.date_text:
        published_at = _date_value(dateline.date_text)
        published_at_source = "dateline" if published_at else None
    reference = dates.reference_date(published_at)

    zones = Zones(length=len(text), title=plan.title, byline=plan.byline, lead=plan.lead)
    sentence_of = partial(sentence_index, tagged.sentence_starts)
    route = plan.route
    naming = _russian_naming() if route == "ru" else ENGLISH
    links = extract_links(text)
    spans = tagged.entities + _dateline_place(text, dateline, tagged.entities)
    link_spans = [(link.start, link.end) for link in links]
    entities = build_entities(text, spans, zones, sentence_of, naming, link_spans)
    dateline_zone = (dateline.zone.start, dateline.zone.end) if dateline else None
    if route == "en":
        date_spans = [(s, e) for s, e, label in tagged.entities if label in dates.DATE_LABELS]
        found_dates = dates.extract_dates(text, date_spans, reference, dateline_zone)
    else:
        found_dates = dates_ru.extract_dates(text, reference, dateline_zone)
    language, confidence = plan.language, plan.confidence
    if language is None and meta.language:
        language, confidence = meta.language, None
    title = meta.title or (text[plan.title.start : plan.title.end] if plan.title else None)
    return Enrichment(
        entities=entities,
        dates=found_dates,
        links=links,
        language=language,
        language_confidence=confidence,
        word_count=layout.word_count(text),
        title=title,
        author=meta.author or (text[plan.byline.start : plan.byline.end] if plan.byline else None),
        published_at=published_at,
        published_at_source=published_at_source,
        dateline_place=meta.dateline_place or (dateline.place if dateline else None),
        enricher=EnricherInfo(version=ENRICHER_VERSION, model=model),
    )


def enrich_batch(
    documents: Sequence[RawDocument], nlp: Language, batch_size: int = 16
) -> list[Enrichment]:
    """Enrich many documents, each by its language's model; same results as ``enrich``."""
    results: list[Enrichment] = []
    size = max(1, batch_size)
    for offset in range(0, len(documents), size):
        plans = [_plan(raw) for raw in documents[offset : offset + size]]
        tagged: dict[int, tuple[Tagged, str]] = {}
        english = [i for i, plan in enumerate(plans) if plan.route == "en"]
        if english:
            model = pipeline_label(nlp)
            texts = [segment.text for i in english for segment in plans[i].segments]
            with nlp.memory_zone():
                docs = iter(nlp.pipe(texts, batch_size=len(texts)))
                for i in english:
                    segments = plans[i].segments
                    found = read_segments(
                        segments, [next(docs) for _ in segments], plans[i].doc.text
                    )
                    tagged[i] = (found, model)
        if to_russian := [i for i, plan in enumerate(plans) if plan.route == "ru"]:
            found_ru = russian.tag(russian.load_models(), [plans[i].segments for i in to_russian])
            tagged.update(
                (i, (t, russian.MODEL_LABEL)) for i, t in zip(to_russian, found_ru, strict=True)
            )
        for i, plan in enumerate(plans):
            found, model = tagged.get(i, (Tagged(entities=[], sentence_starts=[]), NO_MODEL))
            results.append(_build(plan, found, model))
    return results


def enrich(document: RawDocument, nlp: Language) -> Enrichment:
    """Enrich one document (the batch path with a batch of one)."""
    return enrich_batch([document], nlp, batch_size=1)[0]
