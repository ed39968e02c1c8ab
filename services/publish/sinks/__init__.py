"""Sink registry: the name used in ``DROPWIRE_SINKS`` -> the class that implements it."""

from __future__ import annotations

from redis.asyncio import Redis

from services.publish.sinks.base import Rejected, Sink
from shared.settings import Settings

__all__ = ["SINK_NAMES", "Rejected", "Sink", "build_sink"]

SINK_NAMES = ("jsonl", "redis_stream", "postgres", "webhook")


def build_sink(name: str, settings: Settings, redis: Redis) -> Sink:
    """Instantiate one enabled sink. Imports are lazy so unused sinks cost nothing."""
    if name == "jsonl":
        from services.publish.sinks.jsonl import JsonlSink

        return JsonlSink(settings.outbox.resolve())
    if name == "redis_stream":
        from services.publish.sinks.redis_stream import RedisStreamSink

        return RedisStreamSink(redis, settings.streams)
    if name == "postgres":
        from services.publish.sinks.postgres import PostgresSink

        return PostgresSink(settings)
    if name == "webhook":
        from services.publish.sinks.webhook import WebhookSink

        return WebhookSink(settings)
    raise ValueError(f"unknown sink {name!r}; known: {', '.join(SINK_NAMES)}")
