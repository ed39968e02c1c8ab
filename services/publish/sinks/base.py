"""The interface every sink implements. Adding a sink is one module with one class."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from shared.models import EnrichedRecord


class Sink(Protocol):
    """Writes records durably and idempotently: writing a record twice leaves one copy."""

    name: str

    async def write(self, records: Sequence[EnrichedRecord]) -> list[str]:
        """Write ``records``; return where each went (a path, an entry id...), same order.

        Must not return before the records are durable: the caller acks after it.
        """
        ...

    async def close(self) -> None: ...


def dedup_key(record: EnrichedRecord) -> str:
    """Identity of a record for idempotent sinks: the document and the enricher version,
    so a replay after an enricher upgrade is written again but a redelivery is not."""
    return f"{record.id}:{record.enrichment.enricher.version}"
