"""Hands a raw document to Redis exactly once per content id.

One Lua script checks the seen-key, XADDs the entry and marks the id as seen, atomically:
a crash between publishing and moving the file leaves the file in the inbox, and on
restart the script reports it as already accepted instead of publishing it twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from shared.models import RawDocument
from shared.streams import StreamNames
from shared.wire import encode_raw

_ACCEPT_ONCE = """
local existing = redis.call('GET', KEYS[1])
if existing then return {0, existing} end
local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
local ttl = tonumber(ARGV[1])
if ttl > 0 then
  redis.call('SET', KEYS[1], id, 'EX', ttl)
else
  redis.call('SET', KEYS[1], id)
end
return {1, id}
"""


class RawPublisher:
    """Publishes raw documents to the raw stream, at most once per content id."""

    def __init__(self, redis: Redis, names: StreamNames, dedup_ttl_seconds: int = 0) -> None:
        self._redis = redis
        self._names = names
        self._ttl = dedup_ttl_seconds
        self._script = redis.register_script(_ACCEPT_ONCE)

    async def backlog(self, group: str) -> int:
        """Raw entries the enrich group has not finished: not yet delivered plus pending."""
        for info in await self._redis.xinfo_groups(self._names.raw):
            if info["name"] == group:
                lag = info.get("lag")
                if lag is None:  # Redis < 7 does not report lag: the stream length bounds it
                    return int(await self._redis.xlen(self._names.raw))
                return int(lag) + int(info["pending"])
        return int(await self._redis.xlen(self._names.raw))

    async def dead_letter(self, fields: dict[str, str]) -> None:
        """Record a failure on the dead-letter stream, where operators look for them."""
        await self._redis.xadd(self._names.dead_letter, fields)  # type: ignore[arg-type]

    async def publish(self, doc: RawDocument, *, force: bool = False) -> tuple[bool, str]:
        """Returns (True, entry id) when accepted now, (False, earlier entry id) for a duplicate.

        ``force`` publishes even a content id seen before: a replay (re-enrich what is already
        archived, e.g. after an enricher upgrade)."""
        if force:
            entry_id = await self._redis.xadd(self._names.raw, encode_raw(doc))  # type: ignore[arg-type]
            return True, str(entry_id)
        keys, args = self._script_call(doc)
        created, entry_id = await self._script(keys=keys, args=args)
        return bool(created), str(entry_id)

    async def publish_many(
        self, docs: Sequence[RawDocument]
    ) -> list[tuple[bool, str] | RedisError]:
        """``publish`` for many documents in one pipelined round trip, in order (so of two
        documents with the same content id the first is accepted, the second a duplicate).

        A document whose script failed gets its error in its place; a lost connection
        raises, and then any of the documents may or may not have been accepted."""
        if not docs:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for doc in docs:
                keys, args = self._script_call(doc)
                await self._script(keys=keys, args=args, client=pipe)
            replies = await pipe.execute(raise_on_error=False)
        return [
            reply if isinstance(reply, RedisError) else (bool(reply[0]), str(reply[1]))
            for reply in replies
        ]

    def _script_call(self, doc: RawDocument) -> tuple[list[str], list[Any]]:
        flat: list[str] = []
        for key, value in encode_raw(doc).items():
            flat += [key, value]
        return [self._names.seen_key(doc.id), self._names.raw], [self._ttl, *flat]
