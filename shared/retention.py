"""Stream retention that never loses work.

Internal streams (raw, enriched, retried) are trimmed only below the oldest entry some
Dropwire group still needs: its oldest pending entry, or the first entry after its last
delivered one. The published stream is trimmed by age (MINID) or length (MAXLEN), as
configured; it is the public contract, so its retention is the operator's choice, not
derived from readers.
"""

from __future__ import annotations

import time

import structlog
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from shared.settings import Settings

log = structlog.stdlib.get_logger("dropwire.retention")


def _parse(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def _next_id(entry_id: str) -> str:
    ms, seq = _parse(entry_id)
    return f"{ms}-{seq + 1}"


async def oldest_needed_id(redis: Redis, stream: str, groups: list[str]) -> str | None:
    """The smallest entry id any of ``groups`` still needs on ``stream`` (None: keep all).

    A group that does not exist yet needs everything, so nothing is trimmed for it.
    """
    try:
        infos = {g["name"]: g for g in await redis.xinfo_groups(stream)}
    except ResponseError:  # no such stream
        return None
    needed: list[tuple[int, int]] = []
    for group in groups:
        info = infos.get(group)
        if info is None:
            return None
        if int(info["pending"]) > 0:
            summary = await redis.xpending(stream, group)
            needed.append(_parse(str(summary["min"])))
        else:
            needed.append(_parse(_next_id(str(info["last-delivered-id"]))))
    if not needed:
        return None
    ms, seq = min(needed)
    return f"{ms}-{seq}"


async def apply_retention(redis: Redis, settings: Settings) -> dict[str, int]:
    """Trim every stream per the settings. Returns how many entries each stream lost."""
    names = settings.streams
    trimmed: dict[str, int] = {}
    if settings.trim_processed:
        readers: dict[str, list[str]] = {}
        for stream, group in names.groups:
            if stream in (names.raw, names.enriched, names.retried):
                readers.setdefault(stream, []).append(group)
        for stream, groups in readers.items():
            minid = await oldest_needed_id(redis, stream, groups)
            if minid is not None:
                n = await redis.xtrim(stream, minid=minid, approximate=False)
                trimmed[stream] = int(n)
    if settings.published_max_age_hours > 0:
        cutoff_ms = int((time.time() - settings.published_max_age_hours * 3600) * 1000)
        trimmed[names.published] = int(
            await redis.xtrim(names.published, minid=f"{cutoff_ms}-0", approximate=True)
        )
    if settings.published_maxlen > 0:
        n = await redis.xtrim(names.published, maxlen=settings.published_maxlen, approximate=True)
        trimmed[names.published] = trimmed.get(names.published, 0) + int(n)
    if any(trimmed.values()):
        log.info("retention.trimmed", **{k.rsplit(":", 1)[-1]: v for k, v in trimmed.items()})
    return trimmed
