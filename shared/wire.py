"""How models become Redis stream entries and back.

Entries carry plain fields (``id``, ``schema_version`` and the model as JSON) rather than
FastStream's binary envelope, so ``redis-cli XREAD`` and any language's client read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.models import EnrichedRecord, RawDocument, utcnow

RAW_FIELD = "document"
RECORD_FIELD = "record"


def _text(fields: Mapping[Any, Any], key: str) -> str:
    value = fields.get(key)
    if value is None:
        value = fields.get(key.encode())
    if value is None:
        raise KeyError(f"stream entry has no {key!r} field")
    return value.decode() if isinstance(value, bytes) else str(value)


def encode_raw(doc: RawDocument) -> dict[str, str]:
    return {"id": doc.id, "schema_version": doc.schema_version, RAW_FIELD: doc.model_dump_json()}


def decode_raw(fields: Mapping[Any, Any]) -> RawDocument:
    return RawDocument.model_validate_json(_text(fields, RAW_FIELD))


def encode_record(record: EnrichedRecord) -> dict[str, str]:
    return {
        "id": record.id,
        "schema_version": record.schema_version,
        RECORD_FIELD: record.model_dump_json(),
    }


def encode_published(record: EnrichedRecord) -> dict[str, str]:
    """The public stream's entry: the record plus when it was published."""
    return {**encode_record(record), "published_at": utcnow().isoformat()}


def decode_record(fields: Mapping[Any, Any]) -> EnrichedRecord:
    return EnrichedRecord.model_validate_json(_text(fields, RECORD_FIELD))


def entry_id_of(fields: Mapping[Any, Any]) -> str | None:
    """The document id of an entry, if it has one (for logs and dead letters)."""
    try:
        return _text(fields, "id")
    except KeyError:
        return None
