"""The pure enrichment core: RawDocument in, Enrichment out. No I/O, no clock.

``enrich`` and ``enrich_batch`` share one code path, so one document gives the same
Enrichment either way. Each batch runs inside ``nlp.memory_zone()`` so a long-running
worker's vocabulary does not grow; nothing that points into a Doc leaves the zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, partial

from spacy.language import Language

from services.enrich import dates
from services.enrich import document as layout
from services.enrich.document import Dateline, Zone
from services.enrich.entities import Zones, build_entities
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
ENRICHER_VERSION = "0.1.0"

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
    """The spaCy pipeline, cached per process, with dateparser's data loaded too."""
    nlp = load_spacy(name)
    dates.warm_up()
    return nlp


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
    return _Plan(
        doc=raw,
        title=title,
        byline=byline,
        dateline=dateline,
        lead=layout.lead_zone(text, dateline.zone.end if dateline else body_start),
        segments=tuple(segments),
    )


def _build(plan: _Plan, tagged: Tagged, model: str) -> Enrichment:
    meta, text = plan.doc.metadata, plan.doc.text
    published_at, published_at_source = meta.published_at, meta.published_at_source
    dateline = plan.dateline
    if published_at is None and dateline is not None and dateline.date_text:
        published_at = dates.normalise(dateline.date_text).value
        published_at_source = "dateline" if published_at else None
    reference = dates.reference_date(published_at)

    zones = Zones(length=len(text), title=plan.title, byline=plan.byline, lead=plan.lead)
    sentence_of = partial(sentence_index, tagged.sentence_starts)
    entities = build_entities(text, tagged.entities, zones, sentence_of)
    date_spans = [(s, e) for s, e, label in tagged.entities if label in dates.DATE_LABELS]
    found_dates = dates.extract_dates(
        text, date_spans, reference, (dateline.zone.start, dateline.zone.end) if dateline else None
    )
    language, confidence = layout.detect_language(text)
    if language is None and meta.language:
        language, confidence = meta.language, None
    title = meta.title or (text[plan.title.start : plan.title.end] if plan.title else None)
    return Enrichment(
        entities=entities,
        dates=found_dates,
        links=extract_links(text),
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
    """Enrich many documents with ``nlp.pipe``; same results as ``enrich`` one by one."""
    model = pipeline_label(nlp)
    results: list[Enrichment] = []
    size = max(1, batch_size)
    for offset in range(0, len(documents), size):
        plans = [_plan(raw) for raw in documents[offset : offset + size]]
        texts = [segment.text for plan in plans for segment in plan.segments]
        with nlp.memory_zone():
            docs = iter(nlp.pipe(texts, batch_size=len(texts)))
            tagged = [
                read_segments(plan.segments, [next(docs) for _ in plan.segments], plan.doc.text)
                for plan in plans
            ]
        results.extend(_build(p, t, model) for p, t in zip(plans, tagged, strict=True))
    return results


def enrich(document: RawDocument, nlp: Language) -> Enrichment:
    """Enrich one document (the batch path with a batch of one)."""
    return enrich_batch([document], nlp, batch_size=1)[0]
