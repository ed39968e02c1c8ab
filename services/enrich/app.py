"""The enrich service: a FastStream consumer-group member around the pure ``enrich_batch``.

Reads up to ``batch_size`` raw entries at a time, runs them through spaCy in one
``nlp.pipe`` call, writes the records with one pipelined XADD, and only then returns, so
FastStream acks the entries after their output is in Redis.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog
from faststream.asgi import AsgiFastStream
from pydantic import ValidationError

from services.enrich.core import enrich, enrich_batch, load_pipeline
from shared import metrics
from shared.consuming import subscribe_reliably
from shared.deadletter import dead_letter_fields
from shared.memory import release_free_memory
from shared.models import EnrichedRecord, Enrichment, RawDocument
from shared.redis import connect, wait_until_ready
from shared.service import build_service_app, make_broker
from shared.settings import Settings
from shared.streams import ensure_groups
from shared.wire import decode_raw, encode_raw, encode_record, entry_id_of

log = structlog.stdlib.get_logger("dropwire.enrich")


def build_app(settings: Settings) -> AsgiFastStream:
    names = settings.streams
    broker = make_broker(settings, "enrich")
    redis = connect(settings)
    nlp = load_pipeline(settings.spacy_pipeline)  # once per process, before any read

    async def model_loaded() -> bool:
        return "ner" in nlp.pipe_names

    app = build_service_app(broker, redis, settings, extra_checks={"model": model_loaded})

    @app.on_startup
    async def create_groups() -> None:
        await wait_until_ready(redis, "enrich")
        await ensure_groups(redis, names)

    @app.after_startup
    async def ready() -> None:
        log.info(
            "enrich.ready",
            pipeline=settings.spacy_pipeline,
            group=names.enrich_group,
            consumer=settings.consumer_name,
        )

    @app.on_shutdown
    async def close() -> None:
        await redis.aclose()

    async def on_raw(entries: list[dict[str, Any]]) -> None:
        docs: list[RawDocument] = []
        dead: list[dict[str, str]] = []
        for entry in entries:
            try:
                docs.append(decode_raw(entry))
            except (KeyError, ValidationError, ValueError) as exc:
                doc_id = entry_id_of(entry)
                log.error("enrich.bad_entry", doc_id=doc_id, error=str(exc)[:500])
                dead.append(
                    dead_letter_fields(
                        stage="enrich",
                        error_type=type(exc).__name__,
                        message=str(exc),
                        doc_id=doc_id,
                        entry=entry,
                    )
                )
        started = time.perf_counter()
        results = await asyncio.to_thread(_enrich_isolating_failures, docs, nlp, settings)
        per_doc = (time.perf_counter() - started) / max(1, len(docs))
        async with redis.pipeline(transaction=False) as pipe:
            for doc, result in zip(docs, results, strict=True):
                if isinstance(result, Enrichment):
                    record = EnrichedRecord(
                        id=doc.id,
                        source=doc.source,
                        text=doc.text,
                        metadata=doc.metadata,
                        enrichment=result,
                        ingested_at=doc.ingested_at,
                        trace_id=doc.trace_id,
                    )
                    pipe.xadd(names.enriched, encode_record(record))  # type: ignore[arg-type]
                else:
                    dead.append(
                        dead_letter_fields(
                            stage="enrich",
                            error_type=type(result).__name__,
                            message=str(result),
                            doc_id=doc.id,
                            source_file=doc.source.archived_as or doc.source.path,
                            entry=encode_raw(doc),
                        )
                    )
            for fields in dead:
                pipe.xadd(names.dead_letter, fields)  # type: ignore[arg-type]
            await pipe.execute()
        metrics.DEAD_LETTERS.labels("enrich").inc(len(dead))
        # The records are out: hand the batch's scratch memory back (see shared.memory).
        await asyncio.to_thread(release_free_memory)
        for doc, result in zip(docs, results, strict=True):
            if isinstance(result, Enrichment):
                metrics.DOCUMENTS.labels("enrich", "ok").inc()
                metrics.ENRICH_SECONDS.observe(per_doc)
                metrics.ENTITIES.observe(len(result.entities))
                metrics.LINKS.observe(len(result.links))
                log.info(
                    "enrich.done",
                    doc_id=doc.id,
                    trace_id=doc.trace_id,
                    entities=len(result.entities),
                    dates=len(result.dates),
                    links=len(result.links),
                )
            else:
                metrics.DOCUMENTS.labels("enrich", "failed").inc()
                log.error("enrich.failed", doc_id=doc.id, error=repr(result)[:500])

    subscribe_reliably(
        broker,
        redis,
        settings,
        stream=names.raw,
        group=names.enrich_group,
        stage="enrich",
        handle=on_raw,
    )
    return app


def _enrich_isolating_failures(
    docs: list[RawDocument], nlp: Any, settings: Settings
) -> list[Enrichment | Exception]:
    """Enrich the batch in one ``nlp.pipe``; if that fails, redo it one by one so a single
    poison document fails alone and the rest of the batch is still published."""
    if not docs:
        return []
    try:
        return list(enrich_batch(docs, nlp, batch_size=settings.batch_size))
    except Exception:
        out: list[Enrichment | Exception] = []
        for doc in docs:
            try:
                out.append(enrich(doc, nlp))
            except Exception as exc:
                out.append(exc)
        return out
