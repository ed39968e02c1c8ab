"""Builders of the records the sinks and consumers receive, shared by the tests."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.models import (
    DocumentMetadata,
    EnrichedRecord,
    EnricherInfo,
    Enrichment,
    Entity,
    Mention,
    SourceFile,
    content_id,
)


def make_entity(
    name: str,
    label: str,
    *,
    count: int = 1,
    salience: float = 0.5,
    start: int = 0,
    ids: dict[str, str] | None = None,
) -> Entity:
    """An entity with one mention of ``name`` at ``start`` in the text."""
    mention = Mention(start=start, end=start + len(name), text=name)
    return Entity(
        name=name, label=label, count=count, salience=salience, mentions=[mention], ids=ids or {}
    )


def make_record(
    text: str,
    *,
    title: str | None = None,
    enrichment_title: str | None = None,
    version: str = "1",
    entities: list[Entity] | None = None,
    path: str = "a.txt",
    published_at: str | None = None,
    language: str | None = None,
) -> EnrichedRecord:
    """An enriched record of ``text``, as enrich would publish it.

    Its id is the hash of ``text``; ``metadata.title`` is ``title`` or the text's first line;
    ``enrichment.word_count`` is the number of words in ``text``; ``version`` is the
    enricher version (a new one makes a sink write the record again). ``language`` goes in the
    metadata, ``enrichment_title`` and ``published_at`` in the enrichment.
    """
    now = datetime.now(UTC)
    name = path.rsplit("/", 1)[-1]
    return EnrichedRecord(
        id=content_id(text.encode()),
        source=SourceFile(path=path, name=name, size=len(text), mtime=now, media_type="txt"),
        text=text,
        metadata=DocumentMetadata(title=title or text.split("\n")[0], language=language),
        enrichment=Enrichment(
            enricher=EnricherInfo(version=version, model="test"),
            entities=entities or [],
            title=enrichment_title,
            published_at=published_at,
            word_count=len(text.split()),
        ),
        ingested_at=now,
    )
