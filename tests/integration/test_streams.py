"""Groups are created from id 0, so entries written before any consumer started are read."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from shared.settings import Settings
from shared.streams import ensure_group, ensure_groups

pytestmark = pytest.mark.integration


async def test_entries_written_before_the_group_exists_are_delivered(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    names = settings.streams
    await redis_client.xadd(names.raw, {"id": "early"})
    await ensure_groups(redis_client, names)
    assert await ensure_group(redis_client, names.raw, names.enrich_group) is False  # idempotent
    got = await redis_client.xreadgroup(names.enrich_group, "c1", {names.raw: ">"}, count=10)
    assert [fields["id"] for _id, fields in got[0][1]] == ["early"]
    groups = {g["name"] for g in await redis_client.xinfo_groups(names.enriched)}
    assert groups == {"publish-jsonl", "publish-redis_stream"}
    dead_groups = {g["name"] for g in await redis_client.xinfo_groups(names.dead_letter)}
    assert dead_groups == {"ingest-failed"}
