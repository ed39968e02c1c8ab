"""The versioned records that cross Dropwire's streams.

``RawDocument`` goes from ingest to enrich, ``EnrichedRecord`` from enrich to publish and
out to every sink. Within a major ``schema_version`` changes are additive only, so a
consumer written for 1.x reads every 1.y record.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RAW_SCHEMA_VERSION = "1.0"
RECORD_SCHEMA_VERSION = "1.0"


def utcnow() -> datetime:
    return datetime.now(UTC)


def content_id(data: bytes) -> str:
    """The document id: sha256 of the file's bytes, so the same file dropped twice is one id."""
    return hashlib.sha256(data).hexdigest()


class _Model(BaseModel):
    # Extra fields are ignored, not rejected: an older reader must accept a newer minor version.
    model_config = ConfigDict(extra="ignore", frozen=False)


class SourceFile(_Model):
    """Where a document came from."""

    path: str = Field(description="Path relative to the inbox, as dropped.")
    name: str
    size: int
    mtime: datetime
    media_type: str = Field(description="Detected format: txt, md, html, pdf, docx, eml, json.")
    encoding: str | None = Field(default=None, description="Detected text encoding, if text.")
    archived_as: str | None = Field(
        default=None, description="Path relative to the archive folder where ingest keeps it."
    )


PublishedAtSource = Literal["metadata", "html", "email", "docx", "json", "dateline", "pdf"]


class DocumentMetadata(_Model):
    """What the extractor found about the document besides its text."""

    title: str | None = None
    author: str | None = None
    published_at: str | None = Field(
        default=None, description="ISO 8601 at its own granularity (2019-01-28, or XXXX-01-28)."
    )
    published_at_source: str | None = Field(
        default=None, description="Where published_at came from: html, email, docx, dateline..."
    )
    dateline_place: str | None = None
    dateline_text: str | None = Field(default=None, description="The dateline as written.")
    language: str | None = Field(default=None, description="Declared language, if any.")
    extra: dict[str, str] = Field(default_factory=dict, description="Format-specific fields.")


class RawDocument(_Model):
    """A file's extracted text and metadata, published by ingest to the raw stream."""

    schema_version: str = RAW_SCHEMA_VERSION
    id: str = Field(description="sha256 of the source file's bytes.")
    source: SourceFile
    text: str
    metadata: DocumentMetadata = Field(default_factory=DocumentMetadata)
    ingested_at: datetime = Field(default_factory=utcnow)
    trace_id: str | None = None


class Mention(_Model):
    start: int
    end: int
    text: str
    sentence: int | None = Field(default=None, description="Sentence index, when known.")


class Entity(_Model):
    """One distinct entity with all its mentions."""

    name: str = Field(description="Canonical surface form.")
    label: str = Field(description="PERSON, ORG, GPE, LOC, NORP, EVENT, ...")
    count: int
    salience: float = Field(ge=0.0, le=1.0)
    mentions: list[Mention]
    ids: dict[str, str] = Field(
        default_factory=dict, description="Offline links, e.g. {'iso3166': 'RU'}."
    )


class DateMention(_Model):
    """A temporal expression normalised to ISO 8601 at its own granularity."""

    text: str
    start: int
    end: int
    value: str | None = Field(description="2018-03, 2019, 2019-01-28, XXXX-01-28, 2014/2019.")
    granularity: str = Field(
        description="day, week, month, quarter, season, year, decade, century, range, time, unknown"
    )
    start_value: str | None = None
    end_value: str | None = None
    relative: bool = False
    source: str = Field(default="ner", description="ner, dateline or rule.")


class Link(_Model):
    """A URL, e-mail address or @handle found in the text."""

    text: str
    start: int
    end: int
    url: str
    host: str | None = None
    kind: str | None = Field(default=None, description="telegram_post, x_profile, doi, email...")
    details: dict[str, str] = Field(default_factory=dict)


class EnricherInfo(_Model):
    name: str = "dropwire-enrich"
    version: str
    model: str


class Enrichment(_Model):
    """The output of the pure ``enrich()`` function."""

    entities: list[Entity] = Field(default_factory=list)
    dates: list[DateMention] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)
    language: str | None = None
    language_confidence: float | None = None
    word_count: int = 0
    title: str | None = None
    author: str | None = None
    published_at: str | None = None
    published_at_source: str | None = None
    dateline_place: str | None = None
    enricher: EnricherInfo


class EnrichedRecord(_Model):
    """What every sink receives: the document, its enrichment and its provenance."""

    schema_version: str = RECORD_SCHEMA_VERSION
    id: str
    source: SourceFile
    text: str
    metadata: DocumentMetadata
    enrichment: Enrichment
    ingested_at: datetime
    enriched_at: datetime = Field(default_factory=utcnow)
    trace_id: str | None = None
