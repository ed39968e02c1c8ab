"""Reading a stream in a consumer group without losing or looping on entries.

Each (stream, group) gets two FastStream subscribers: a reader that takes new entries in
batches, and a claimer (XAUTOCLAIM) that takes entries left pending longer than
``claim_idle_ms`` by a worker that failed or died. The claimer dead-letters an entry once
it has been delivered ``max_deliveries`` times, and acks it, so a poison entry never loops.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from faststream.redis import RedisBroker, RedisStreamMessage, StreamSub
from redis.asyncio import Redis

from shared.deadletter import dead_letter_fields
from shared.metrics import DEAD_LETTERS
from shared.settings import Settings
from shared.wire import entry_id_of

BatchHandler = Callable[[list[dict[str, Any]]], Awaitable[None]]
log = structlog.stdlib.get_logger("dropwire.consuming")


def subscribe_reliably(
    broker: RedisBroker,
    redis: Redis,
    settings: Settings,
    *,
    stream: str,
    group: str,
    stage: str,
    handle: BatchHandler,
) -> None:
    """Attach a batch reader and a claimer for ``group`` on ``stream`` to ``handle``.

    ``handle`` raises to leave its entries pending (a transient failure: they are retried
    by the claimer after ``claim_idle_ms``); returning acks them.
    """

    @broker.subscriber(
        stream=StreamSub(
            stream,
            group=group,
            consumer=settings.consumer_name,
            batch=True,
            max_records=settings.batch_size,
            polling_interval=settings.polling_interval_ms,
            declare=False,  # groups are created from id 0 by shared.streams.ensure_groups
        ),
        title=f"{stage}-reader",
    )
    async def read(entries: list[dict[str, Any]]) -> None:
        await handle(entries)

    @broker.subscriber(
        stream=StreamSub(
            stream,
            group=group,
            consumer=settings.consumer_name,
            min_idle_time=settings.claim_idle_ms,
            polling_interval=max(settings.polling_interval_ms, 1000),
            declare=False,
        ),
        title=f"{stage}-claimer",
    )
    async def claim(entry: dict[str, Any], message: RedisStreamMessage) -> None:
        deliveries = await message.get_delivery_count()
        doc_id = entry_id_of(entry)
        if deliveries > settings.max_deliveries:
            log.error("delivery.gave_up", stage=stage, doc_id=doc_id, deliveries=deliveries)
            DEAD_LETTERS.labels(stage).inc()
            await redis.xadd(
                settings.streams.dead_letter,
                dead_letter_fields(  # type: ignore[arg-type]
                    stage=stage,
                    error_type="MaxDeliveriesExceeded",
                    message=f"delivered {deliveries} times without success",
                    doc_id=doc_id,
                    source_file=_source_file(entry),
                    attempts=deliveries,
                    entry=entry,
                ),
            )
            return
        log.warning("delivery.retry", stage=stage, doc_id=doc_id, deliveries=deliveries)
        await handle([entry])


def _source_file(entry: dict[str, Any]) -> str | None:
    """The archived file behind a raw or enriched entry, for the dead letter."""
    for key in ("document", "record"):
        if key in entry:
            try:
                source = json.loads(entry[key])["source"]
                return str(source.get("archived_as") or source.get("path"))
            except (ValueError, KeyError, TypeError):
                return None
    return None
