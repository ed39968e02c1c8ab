"""The publish sinks against a real Redis and a real folder: durable and idempotent."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from services.publish.sinks.jsonl import JsonlSink
from services.publish.sinks.redis_stream import RedisStreamSink
from shared.models import EnrichedRecord
from shared.settings import Settings
from tests.factories import make_record

pytestmark = pytest.mark.integration


async def test_jsonl_sink_writes_one_line_per_record_and_skips_redelivery(tmp_path: Path) -> None:
    sink = JsonlSink(tmp_path)
    a, b = make_record("first doc"), make_record("second doc")
    await sink.write([a, b])
    await sink.write([a])  # redelivered
    await JsonlSink(tmp_path).write([b])  # redelivered to a restarted service
    await sink.write([make_record("first doc", version="2")])  # a new enricher: written again
    day = datetime.now(UTC).date().isoformat()
    lines = (tmp_path / f"{day}.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [a.id, b.id, a.id]
    assert EnrichedRecord.model_validate_json(lines[0]) == a


async def test_published_stream_has_plain_fields_and_is_idempotent(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    sink = RedisStreamSink(redis_client, settings.streams)
    a, b = make_record("first doc"), make_record("second doc")
    first = await sink.write([a, b])
    again = await sink.write([a])
    assert again == first[:1]
    entries = await redis_client.xrange(settings.streams.published)
    assert [fields["id"] for _id, fields in entries] == [a.id, b.id]
    fields = entries[0][1]
    assert set(fields) == {"id", "schema_version", "record", "published_at"}
    assert EnrichedRecord.model_validate_json(fields["record"]) == a
