"""Retention against a real Redis: processed entries go, entries a group needs stay."""

from __future__ import annotations

import time

import pytest
import redis.asyncio as aioredis

from shared.retention import apply_retention
from shared.settings import Settings
from shared.streams import ensure_groups

pytestmark = pytest.mark.integration


async def test_trims_only_what_every_group_has_acked(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    names = settings.streams
    await ensure_groups(redis_client, names)
    ids = [await redis_client.xadd(names.enriched, {"id": str(i)}) for i in range(6)]
    jsonl, stream = names.sink_group("jsonl"), names.sink_group("redis_stream")
    # jsonl read and acked 4 entries; redis_stream read 3 and acked only the first 2.
    for _id, _fields in (await redis_client.xreadgroup(jsonl, "c", {names.enriched: ">"}, 4))[0][1]:
        await redis_client.xack(names.enriched, jsonl, _id)
    got = (await redis_client.xreadgroup(stream, "c", {names.enriched: ">"}, 3))[0][1]
    await redis_client.xack(names.enriched, stream, got[0][0], got[1][0])

    await apply_retention(redis_client, settings)

    left = [entry_id for entry_id, _ in await redis_client.xrange(names.enriched)]
    assert left == ids[2:]  # entry 2 is still pending for redis_stream


async def test_a_group_that_never_read_keeps_everything(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    names = settings.streams
    await ensure_groups(redis_client, names)
    for i in range(3):
        await redis_client.xadd(names.raw, {"id": str(i)})
    await apply_retention(redis_client, settings)
    assert await redis_client.xlen(names.raw) == 3


async def test_retries_ingest_has_handled_are_trimmed(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    names = settings.streams
    await ensure_groups(redis_client, names)
    ids = [await redis_client.xadd(names.retried, {"dlq_id": f"1-{i}"}) for i in range(3)]
    got = (await redis_client.xreadgroup(names.retried_group, "c", {names.retried: ">"}, 2))[0][1]
    await redis_client.xack(names.retried, names.retried_group, got[0][0])
    await apply_retention(redis_client, settings)
    left = [entry_id for entry_id, _ in await redis_client.xrange(names.retried)]
    assert left == ids[1:]  # the second is still pending, the third unread


async def test_published_stream_is_trimmed_by_age(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    names = settings.streams
    old_ms = int((time.time() - 3 * 3600) * 1000)
    for i in range(200):  # approximate trimming works on whole nodes: make several
        await redis_client.xadd(names.published, {"id": f"old{i}"}, id=f"{old_ms}-{i}")
    await redis_client.xadd(names.published, {"id": "new"})
    aged = settings.model_copy(update={"published_max_age_hours": 1.0})
    await apply_retention(redis_client, aged)
    left = [f["id"] for _id, f in await redis_client.xrange(names.published)]
    assert "new" in left
    assert len(left) < 201
