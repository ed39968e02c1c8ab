"""The ingest service: a thin FastStream app that runs the inbox watcher beside its broker."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import structlog
from faststream.asgi import AsgiFastStream

from services.ingest import sandbox
from services.ingest.failed_files import (
    dead_letters_of,
    fail_archived_file,
    restore_retried_file,
)
from services.ingest.ingestor import Ingestor
from services.ingest.publisher import RawPublisher
from shared.consuming import subscribe_reliably
from shared.redis import connect, wait_until_ready
from shared.service import build_service_app, make_broker
from shared.settings import Settings
from shared.streams import ensure_groups

log = structlog.stdlib.get_logger("dropwire.ingest")


def build_app(settings: Settings) -> AsgiFastStream:
    """Ingest watches the inbox and publishes raw documents; its broker also follows the
    dead-letter stream to move the files of documents that failed downstream to failed/, and
    the retried stream to move them back to archive/ when an operator retries them."""
    broker = make_broker(settings, "ingest")
    redis = connect(settings)
    app = build_service_app(broker, redis, settings)
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    @app.on_startup
    async def create_groups() -> None:
        await wait_until_ready(redis, "ingest")
        await ensure_groups(redis, settings.streams)

    @app.after_startup
    async def start_watching() -> None:
        publisher = RawPublisher(redis, settings.streams, settings.dedup_ttl_seconds)
        ingestor = Ingestor(settings, publisher)
        task = asyncio.create_task(ingestor.run(stop), name="ingest")
        task.add_done_callback(_exit_on_crash)
        tasks.append(task)
        if settings.extract_timeout_seconds > 0:
            warming = asyncio.to_thread(
                sandbox.warm_up, settings.extract_timeout_seconds, settings.extract_memory_mb
            )
            tasks.append(asyncio.create_task(warming, name="sandbox-warm-up"))

    def _exit_on_crash(task: asyncio.Task[None]) -> None:
        # A dead watcher must not leave a live-looking process: stop gracefully (SIGTERM) so
        # the supervisor or compose restarts the service.
        if not task.cancelled() and task.exception() is not None:
            log.error("ingest.crashed", error=repr(task.exception()))
            os.kill(os.getpid(), signal.SIGTERM)

    @app.on_shutdown
    async def stop_watching() -> None:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await redis.aclose()

    # One mover at a time: a dead letter and a retry of the same document must not both
    # look at its file before either has moved it (see services.ingest.failed_files).
    folders_lock = asyncio.Lock()

    async def on_dead_letter(entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            async with folders_lock:
                await asyncio.to_thread(fail_archived_file, entry, settings)

    async def on_retried(entries: list[dict[str, Any]]) -> None:
        for event in entries:
            async with folders_lock:
                still_dead = await dead_letters_of(
                    redis,
                    settings.streams,
                    str(event.get("doc_id", "")),
                    str(event.get("source_file", "")),
                )
                await asyncio.to_thread(restore_retried_file, event, settings, still_dead)

    subscribe_reliably(
        broker,
        redis,
        settings,
        stream=settings.streams.dead_letter,
        group=settings.streams.failed_files_group,
        stage="ingest-failed",
        handle=on_dead_letter,
    )
    subscribe_reliably(
        broker,
        redis,
        settings,
        stream=settings.streams.retried,
        group=settings.streams.retried_group,
        stage="ingest-retried",
        handle=on_retried,
    )
    return app
