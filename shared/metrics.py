"""Prometheus metrics of a Dropwire process: one registry per process (one service).

Counters and histograms are updated where the work happens; stream gauges (length,
pending, lag per group) are refreshed by a background task so a scrape never waits on Redis.
"""

from __future__ import annotations

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from shared.streams import StreamNames

REGISTRY = CollectorRegistry(auto_describe=True)
log = structlog.stdlib.get_logger("dropwire.metrics")

FILES = Counter(
    "dropwire_files_total",
    "Files handled by ingest, by outcome (accepted, duplicate, failed) and failure reason.",
    ["outcome", "reason"],
    registry=REGISTRY,
)
FILE_BYTES = Counter(
    "dropwire_file_bytes_total", "Bytes of files read by ingest.", registry=REGISTRY
)
DOCUMENTS = Counter(
    "dropwire_documents_total",
    "Documents processed by a stage, by outcome (ok, failed).",
    ["stage", "outcome"],
    registry=REGISTRY,
)
ENRICH_SECONDS = Histogram(
    "dropwire_enrich_seconds",
    "Time to enrich one document (a batch's time divided among its documents).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
ENTITIES = Histogram(
    "dropwire_entities_per_document",
    "Distinct entities found per document.",
    buckets=(0, 1, 2, 5, 10, 20, 50, 100, 200),
    registry=REGISTRY,
)
LINKS = Histogram(
    "dropwire_links_per_document",
    "Links found per document.",
    buckets=(0, 1, 2, 5, 10, 20, 50),
    registry=REGISTRY,
)
SINK_WRITES = Counter(
    "dropwire_sink_writes_total", "Records written by a sink.", ["sink"], registry=REGISTRY
)
SINK_FAILURES = Counter(
    "dropwire_sink_failures_total",
    "Sink failures: transient (batch retried) or rejected (record dead-lettered).",
    ["sink", "kind"],
    registry=REGISTRY,
)
SINK_SECONDS = Histogram(
    "dropwire_sink_write_seconds", "Time of one sink batch write.", ["sink"], registry=REGISTRY
)
DEAD_LETTERS = Counter(
    "dropwire_dead_letters_total",
    "Entries this process sent to the dead-letter stream, by stage.",
    ["stage"],
    registry=REGISTRY,
)
STREAM_LENGTH = Gauge(
    "dropwire_stream_length", "Entries in a stream.", ["stream"], registry=REGISTRY
)
GROUP_PENDING = Gauge(
    "dropwire_group_pending",
    "Entries delivered to a group but not yet acked.",
    ["stream", "group"],
    registry=REGISTRY,
)
GROUP_LAG = Gauge(
    "dropwire_group_lag",
    "Entries in the stream not yet delivered to the group.",
    ["stream", "group"],
    registry=REGISTRY,
)


async def refresh_stream_gauges(redis: Redis, names: StreamNames) -> None:
    """Read stream lengths and group state once into the gauges."""
    for stream in (names.raw, names.enriched, names.published, names.dead_letter):
        STREAM_LENGTH.labels(stream).set(await redis.xlen(stream))
        try:
            groups = await redis.xinfo_groups(stream)
        except ResponseError:
            continue
        for info in groups:
            GROUP_PENDING.labels(stream, info["name"]).set(int(info["pending"]))
            if info.get("lag") is not None:
                GROUP_LAG.labels(stream, info["name"]).set(int(info["lag"]))


async def refresh_gauges(redis: Redis, names: StreamNames) -> None:
    """One refresh of the stream gauges (run every few seconds); Redis errors are logged,
    not fatal."""
    try:
        await refresh_stream_gauges(redis, names)
    except RedisError as exc:
        log.debug("metrics.refresh_failed", error=str(exc))
