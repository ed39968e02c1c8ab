"""The interface every sink implements. Adding a sink is one module with one class,
registered in ``services/publish/sinks/__init__.py``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from shared.models import EnrichedRecord


@dataclass(frozen=True)
class Rejected:
    """A record the sink gave up on (after its own retries): it goes to the dead letters."""

    reason: str


class Sink(Protocol):
    """Writes records durably and idempotently: writing a record twice leaves one copy.

    ``write`` returns, in order, where each record went (a path, an entry id, a row id) or
    ``Rejected`` for a record that can never be written. Raising means "try the whole batch
    again later": the entries stay pending and are redelivered.
    """

    name: str

    async def start(self) -> None:
        """Connect, create tables (migrations); called once before the first write."""
        ...

    async def write(self, records: Sequence[EnrichedRecord]) -> list[str | Rejected]:
        """Must not return before the records are durable: the caller acks after it."""
        ...

    async def close(self) -> None: ...


def dedup_key(record: EnrichedRecord) -> str:
    """Identity of a record for idempotent sinks: the document and the enricher version,
    so a replay after an enricher upgrade is written again but a redelivery is not."""
    return f"{record.id}:{record.enrichment.enricher.version}"
