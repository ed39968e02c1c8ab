"""The publish service: one consumer group per sink on the enriched stream.

Each sink reads and acks on its own, so a slow or failing sink never holds up the others.
Entries are acked (by FastStream, when a handler returns) only after the sink has written
them durably; an exception leaves them pending for a later delivery; a record a sink
rejects for good goes to the dead-letter stream.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

import structlog
from faststream.asgi import AsgiFastStream
from faststream.redis import RedisBroker
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.publish.sinks import Rejected, Sink, build_sink
from shared import metrics
from shared.consuming import subscribe_reliably
from shared.deadletter import dead_letter_fields
from shared.models import EnrichedRecord
from shared.periodic import Periodic
from shared.redis import connect, wait_until_ready
from shared.retention import apply_retention
from shared.service import build_service_app, make_broker
from shared.settings import Settings
from shared.streams import StreamNames, ensure_groups
from shared.wire import decode_record, encode_record, entry_id_of

log = structlog.stdlib.get_logger("dropwire.publish")


class DeliveryTracker:
    """Says once per document, in one log line, when every enabled sink has written it."""

    def __init__(self, sinks: list[str], limit: int = 10_000) -> None:
        self._sinks = set(sinks)
        self._seen: OrderedDict[str, dict[str, str]] = OrderedDict()
        self._limit = limit

    def written(self, record: EnrichedRecord, sink: str, where: str) -> None:
        places = self._seen.setdefault(record.id, {})
        places[sink] = where
        if set(places) >= self._sinks:
            del self._seen[record.id]
            log.info(
                "publish.published",
                doc_id=record.id,
                trace_id=record.trace_id,
                title=record.enrichment.title or record.metadata.title,
                file=record.source.path,
                entities=len(record.enrichment.entities),
                **places,
            )
        while len(self._seen) > self._limit:  # a sink down for long must not grow memory
            self._seen.popitem(last=False)


def build_app(settings: Settings) -> AsgiFastStream:
    names = settings.streams
    broker = make_broker(settings, "publish")
    redis = connect(settings)
    app = build_service_app(broker, redis, settings)
    sinks = [build_sink(name, settings, redis) for name in settings.enabled_sinks]
    tracker = DeliveryTracker([sink.name for sink in sinks])
    retention = Periodic(
        "retention",
        lambda: _retention_round(redis, settings),
        every=settings.retention_interval_seconds,
        at_start=False,
    )

    @app.on_startup
    async def start() -> None:
        await wait_until_ready(redis, "publish")
        await ensure_groups(redis, names)
        for sink in sinks:
            await sink.start()

    @app.after_startup
    async def ready() -> None:
        retention.start()
        log.info("publish.ready", sinks=[s.name for s in sinks], consumer=settings.consumer_name)

    @app.on_shutdown
    async def close() -> None:
        await retention.stop()
        for sink in sinks:
            await sink.close()
        await redis.aclose()

    for sink in sinks:
        _subscribe(broker, redis, names, settings, sink, tracker)
    return app


async def _retention_round(redis: Redis, settings: Settings) -> None:
    """Apply retention once; a failure is logged and tried again next time."""
    try:
        await apply_retention(redis, settings)
    except RedisError as exc:
        log.warning("retention.failed", error=str(exc))


def _subscribe(
    broker: RedisBroker,
    redis: Redis,
    names: StreamNames,
    settings: Settings,
    sink: Sink,
    tracker: DeliveryTracker,
) -> None:
    """Attach one sink to the enriched stream in its own consumer group."""
    stage = f"publish:{sink.name}"

    async def on_enriched(entries: list[dict[str, Any]]) -> None:
        records: list[EnrichedRecord] = []
        dead: list[dict[str, str]] = []
        for entry in entries:
            try:
                records.append(decode_record(entry))
            except (KeyError, ValidationError, ValueError) as exc:
                doc_id = entry_id_of(entry)
                log.error("publish.bad_entry", sink=sink.name, doc_id=doc_id, error=str(exc)[:500])
                dead.append(
                    dead_letter_fields(
                        stage=stage,
                        error_type=type(exc).__name__,
                        message=str(exc),
                        doc_id=doc_id,
                        entry=entry,
                    )
                )
        started = time.perf_counter()
        try:
            results = await sink.write(records) if records else []
        except Exception:
            metrics.SINK_FAILURES.labels(sink.name, "transient").inc()
            raise
        metrics.SINK_SECONDS.labels(sink.name).observe(time.perf_counter() - started)
        for record, result in zip(records, results, strict=True):
            if isinstance(result, Rejected):
                metrics.SINK_FAILURES.labels(sink.name, "rejected").inc()
                log.error(
                    "publish.rejected", sink=sink.name, doc_id=record.id, reason=result.reason
                )
                dead.append(
                    dead_letter_fields(
                        stage=stage,
                        error_type="Rejected",
                        message=result.reason,
                        doc_id=record.id,
                        source_file=record.source.archived_as or record.source.path,
                        entry=encode_record(record),
                    )
                )
            else:
                metrics.SINK_WRITES.labels(sink.name).inc()
                log.debug("publish.written", sink=sink.name, doc_id=record.id, where=result)
                tracker.written(record, sink.name, result)
        if dead:
            metrics.DEAD_LETTERS.labels(stage).inc(len(dead))
            async with redis.pipeline(transaction=False) as pipe:
                for fields in dead:
                    pipe.xadd(names.dead_letter, fields)  # type: ignore[arg-type]
                await pipe.execute()

    subscribe_reliably(
        broker,
        redis,
        settings,
        stream=names.enriched,
        group=names.sink_group(sink.name),
        stage=stage,
        handle=on_enriched,
    )
