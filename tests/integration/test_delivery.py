"""Delivery against a real Redis and a real FastStream broker: retries through the claimer,
poison entries to the dead-letter stream, and their files from archive/ to failed/."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import redis.asyncio as aioredis

from services.ingest.failed_files import fail_archived_file
from shared.consuming import subscribe_reliably
from shared.models import content_id
from shared.service import make_broker
from shared.settings import Settings
from shared.streams import ensure_groups

pytestmark = pytest.mark.integration


async def _run_consumer(settings: Settings, redis_client: aioredis.Redis, handler: Any) -> Any:
    broker = make_broker(settings, "test")
    await ensure_groups(redis_client, settings.streams)
    subscribe_reliably(
        broker,
        redis_client,
        settings,
        stream=settings.streams.raw,
        group=settings.streams.enrich_group,
        stage="enrich",
        handle=handler,
    )
    await broker.start()
    return broker


async def _until(predicate: Any, within: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


async def test_handler_failing_twice_then_succeeding_processes_entry_once(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    settings = settings.model_copy(update={"claim_idle_ms": 200, "max_deliveries": 5})
    calls: list[str] = []

    async def flaky(entries: list[dict[str, Any]]) -> None:
        calls.extend(e["id"] for e in entries)
        if len(calls) <= 2:
            raise ConnectionError("sink briefly down")

    broker = await _run_consumer(settings, redis_client, flaky)
    try:
        await redis_client.xadd(settings.streams.raw, {"id": "doc-1", "document": "{}"})

        async def acked() -> bool:
            info = await redis_client.xpending(settings.streams.raw, settings.enrich_group)
            return len(calls) >= 3 and info["pending"] == 0

        await _until(acked)
    finally:
        await broker.stop()
    assert calls == ["doc-1", "doc-1", "doc-1"]
    assert await redis_client.xlen(settings.streams.dead_letter) == 0


async def test_poison_entry_goes_to_dead_letters_after_max_deliveries(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    settings = settings.model_copy(update={"claim_idle_ms": 100, "max_deliveries": 3})
    calls = 0

    async def always_fails(entries: list[dict[str, Any]]) -> None:
        nonlocal calls
        calls += 1
        raise ValueError("cannot handle this one")

    broker = await _run_consumer(settings, redis_client, always_fails)
    document = json.dumps({"source": {"path": "in/a.txt", "archived_as": "in/a.txt"}})
    try:
        await redis_client.xadd(settings.streams.raw, {"id": "poison", "document": document})

        async def dead_lettered() -> bool:
            return bool(await redis_client.xlen(settings.streams.dead_letter))

        await _until(dead_lettered)
        await asyncio.sleep(0.5)  # nothing further happens to an entry that was given up on
    finally:
        await broker.stop()
    [(_id, fields)] = await redis_client.xrange(settings.streams.dead_letter)
    assert fields["stage"] == "enrich"
    assert fields["doc_id"] == "poison"
    assert fields["error_type"] == "MaxDeliveriesExceeded"
    assert int(fields["attempts"]) == 4
    assert fields["source_file"] == "in/a.txt"
    assert fields["entry.document"] == document  # enough to retry it after a fix
    assert calls == 3
    info = await redis_client.xpending(settings.streams.raw, settings.enrich_group)
    assert info["pending"] == 0


def test_dead_lettered_document_moves_its_file_from_archive_to_failed(
    settings: Settings,
) -> None:
    archived = settings.archive_dir / "news" / "a.txt"
    archived.parent.mkdir(parents=True)
    archived.write_bytes(b"Title\n\nBody\n")
    doc_id = content_id(b"Title\n\nBody\n")
    entry = {
        "stage": "enrich",
        "error_type": "MaxDeliveriesExceeded",
        "message": "delivered 6 times without success",
        "doc_id": doc_id,
        "source_file": "news/a.txt",
    }
    dest = fail_archived_file(entry, settings)
    assert dest == settings.failed_dir / "news" / "a.txt"
    assert not archived.exists()
    sidecar = json.loads((settings.failed_dir / "news" / "a.txt.error.json").read_text())
    assert sidecar["stage"] == "enrich"
    assert sidecar["reason"] == "MaxDeliveriesExceeded"
    assert sidecar["doc_id"] == doc_id
    # Already moved, ingest's own failures, or paths outside the archive: nothing happens.
    assert fail_archived_file(entry, settings) is None
    assert fail_archived_file({**entry, "stage": "ingest"}, settings) is None
    outside = settings.archive_dir.parent / "secret.txt"
    outside.write_text("keep me")
    assert fail_archived_file({**entry, "source_file": "../secret.txt"}, settings) is None
    assert outside.exists()
