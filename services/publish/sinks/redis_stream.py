"""The published stream: the public contract other systems read with their own groups.

Entries are plain fields (``id``, ``schema_version``, ``record`` JSON, ``published_at``)
written with redis-py, so ``redis-cli XREAD`` and any language's client can read them.
A marker key per (document, enricher version) makes a redelivered record a no-op.
"""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

from services.publish.sinks.base import Rejected, dedup_key
from shared.models import EnrichedRecord
from shared.streams import StreamNames
from shared.wire import encode_published

_PUBLISH_ONCE = """
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV))
redis.call('SET', KEYS[1], id)
return id
"""


class RedisStreamSink:
    name = "redis_stream"

    def __init__(self, redis: Redis, names: StreamNames) -> None:
        self._redis = redis
        self._names = names
        self._script = redis.register_script(_PUBLISH_ONCE)

    async def start(self) -> None:
        return None

    async def write(self, records: Sequence[EnrichedRecord]) -> list[str | Rejected]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for record in records:
                flat: list[str] = []
                for key, value in encode_published(record).items():
                    flat += [key, value]
                marker = f"{self._names.prefix}:published-id:{dedup_key(record)}"
                await self._script(keys=[marker, self._names.published], args=flat, client=pipe)
            results = await pipe.execute()
        return [str(r) for r in results]

    async def close(self) -> None:
        return None
