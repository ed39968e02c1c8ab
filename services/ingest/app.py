"""The ingest service: a thin FastStream app that runs the inbox watcher beside its broker."""

from __future__ import annotations

import asyncio

from faststream import FastStream

from services.ingest.ingestor import Ingestor
from services.ingest.publisher import RawPublisher
from shared.redis import connect, make_broker
from shared.settings import Settings
from shared.streams import ensure_groups


def build_app(settings: Settings) -> FastStream:
    """Ingest publishes only; its broker is there for the shared lifecycle (and later health)."""
    broker = make_broker(settings)
    app = FastStream(broker)
    redis = connect(settings)
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    @app.on_startup
    async def create_groups() -> None:
        await ensure_groups(redis, settings.streams)

    @app.after_startup
    async def start_watching() -> None:
        publisher = RawPublisher(redis, settings.streams, settings.dedup_ttl_seconds)
        ingestor = Ingestor(settings, publisher)
        tasks.append(asyncio.create_task(ingestor.run(stop), name="ingest"))

    @app.on_shutdown
    async def stop_watching() -> None:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await redis.aclose()

    return app
