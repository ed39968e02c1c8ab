"""The publish service: reads enriched records in batches and writes them to every sink.

Entries are acked (by FastStream, when the handler returns) only after every sink has
written them durably; a failure leaves them pending for a later delivery.
"""

from __future__ import annotations

from typing import Any

import structlog
from faststream import FastStream
from faststream.redis import StreamSub
from pydantic import ValidationError

from services.publish.sinks.base import Sink
from services.publish.sinks.jsonl import JsonlSink
from services.publish.sinks.redis_stream import RedisStreamSink
from shared.deadletter import dead_letter_fields
from shared.models import EnrichedRecord
from shared.redis import connect, make_broker
from shared.settings import Settings
from shared.streams import ensure_groups
from shared.wire import decode_record, entry_id_of

log = structlog.stdlib.get_logger("dropwire.publish")


def build_app(settings: Settings) -> FastStream:
    names = settings.streams
    broker = make_broker(settings)
    app = FastStream(broker)
    redis = connect(settings)
    sinks: list[Sink] = [JsonlSink(settings.outbox.resolve()), RedisStreamSink(redis, names)]

    @app.on_startup
    async def create_groups() -> None:
        await ensure_groups(redis, names)

    @app.on_shutdown
    async def close() -> None:
        for sink in sinks:
            await sink.close()
        await redis.aclose()

    @broker.subscriber(
        stream=StreamSub(
            names.enriched,
            group=names.publish_group,
            consumer=settings.consumer_name,
            batch=True,
            max_records=settings.batch_size,
            polling_interval=settings.polling_interval_ms,
            declare=False,
        )
    )
    async def on_enriched(entries: list[dict[str, Any]]) -> None:
        records: list[EnrichedRecord] = []
        for entry in entries:
            try:
                records.append(decode_record(entry))
            except (KeyError, ValidationError, ValueError) as exc:
                doc_id = entry_id_of(entry)
                log.error("publish.bad_entry", doc_id=doc_id, error=str(exc)[:500])
                await redis.xadd(
                    names.dead_letter,
                    dead_letter_fields(  # type: ignore[arg-type]
                        stage="publish",
                        error_type=type(exc).__name__,
                        message=str(exc),
                        doc_id=doc_id,
                    ),
                )
        if not records:
            return
        where: dict[str, list[str]] = {}
        for sink in sinks:
            where[sink.name] = await sink.write(records)
        for i, record in enumerate(records):
            log.info(
                "publish.published",
                doc_id=record.id,
                title=record.enrichment.title or record.metadata.title,
                file=record.source.path,
                entities=len(record.enrichment.entities),
                **{f"{name}": places[i] for name, places in where.items()},
            )

    return app
