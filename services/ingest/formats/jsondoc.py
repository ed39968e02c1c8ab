"""JSON documents: an object with a ``text`` field and optional metadata fields.

This is the format for systems that already have the text (a scraper, an export), so the
shape is strict: a malformed document fails loudly instead of ingesting something odd.
"""

from __future__ import annotations

import json
from typing import Any

from services.ingest.formats._common import ExtractionError, Parsed, clean_field, clean_text
from services.ingest.formats.text import iso_date_or_datetime
from shared.models import DocumentMetadata

_KNOWN = frozenset({"text", "title", "author", "authors", "published_at", "date", "language"})


def parse_json(data: bytes) -> Parsed:
    """Text and metadata of a JSON document: {"text": ..., "title": ..., ...}."""
    try:
        document = json.loads(data)
    # ValueError also covers integers longer than Python's 4,300-digit conversion limit.
    except (ValueError, RecursionError) as exc:
        raise ExtractionError("invalid_json", f"the file is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise ExtractionError(
            "invalid_json", f"expected a JSON object, got {type(document).__name__}"
        )
    raw_text = document.get("text")
    if not isinstance(raw_text, str):
        raise ExtractionError("invalid_json", 'the JSON object has no string "text" field')
    text = clean_text(raw_text)
    if not text:
        raise ExtractionError("invalid_json", 'the JSON "text" field is empty')
    return Parsed(text=text, metadata=_metadata(document))


def _metadata(document: dict[str, Any]) -> DocumentMetadata:
    metadata = DocumentMetadata(
        title=clean_field(document.get("title")),
        author=_author(document.get("author", document.get("authors"))),
        language=clean_field(document.get("language")),
    )
    for key in ("published_at", "date"):
        value = clean_field(document.get(key))
        if value is None:
            continue
        if iso_date_or_datetime(value) is not None:
            metadata.published_at = value
            metadata.published_at_source = "json"
            break
        metadata.extra[key] = value  # not ISO 8601: kept, but not as the publication date
    for key, value in document.items():
        if key not in _KNOWN and isinstance(value, str) and value.strip():
            metadata.extra[key] = value.strip()
    return metadata


def _author(value: object) -> str | None:
    """A name, or several names (a list of strings) joined by commas."""
    if isinstance(value, list):
        names = [name for item in value if (name := clean_field(item))]
        return ", ".join(names) or None
    return clean_field(value)
