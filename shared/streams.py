"""The one place that names Dropwire's streams and consumer groups, and creates the groups.

Groups are created from id ``0`` with MKSTREAM before any subscriber reads: FastStream's
own default (``$``) would silently skip entries written before the group existed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from redis.asyncio import Redis
from redis.exceptions import ResponseError

if TYPE_CHECKING:
    from shared.settings import Settings


@dataclass(frozen=True)
class StreamNames:
    """Redis keys of the pipeline's streams and the groups that read them."""

    prefix: str
    raw: str
    enriched: str
    published: str
    dead_letter: str
    # Dead letters an operator re-queued (``dropwire dlq retry``): ingest follows them to move
    # their files from failed/ back to archive/, as the only service that sees the folders.
    retried: str
    enrich_group: str
    publish_group: str
    sinks: tuple[str, ...] = ()
    failed_files_group: str = "ingest-failed"
    retried_group: str = "ingest-retried"

    @classmethod
    def from_settings(cls, settings: Settings) -> StreamNames:
        p = settings.stream_prefix
        return cls(
            prefix=p,
            raw=f"{p}:{settings.raw_stream}",
            enriched=f"{p}:{settings.enriched_stream}",
            published=f"{p}:{settings.published_stream}",
            dead_letter=f"{p}:{settings.dead_letter_stream}",
            retried=f"{p}:{settings.retried_stream}",
            enrich_group=settings.enrich_group,
            publish_group=settings.publish_group,
            sinks=tuple(settings.enabled_sinks),
        )

    def seen_key(self, doc_id: str) -> str:
        """Key marking a content id as already accepted by ingest."""
        return f"{self.prefix}:seen:{doc_id}"

    def sink_group(self, sink: str) -> str:
        """Each sink reads the enriched stream in its own group, so one slow or failing sink
        never holds up the others."""
        return f"{self.publish_group}-{sink}"

    @property
    def groups(self) -> list[tuple[str, str]]:
        """Every (stream, group) pair the pipeline itself reads."""
        return [
            (self.raw, self.enrich_group),
            *[(self.enriched, self.sink_group(sink)) for sink in self.sinks],
            (self.dead_letter, self.failed_files_group),
            (self.retried, self.retried_group),
        ]


async def ensure_group(redis: Redis, stream: str, group: str) -> bool:
    """Create ``group`` on ``stream`` from id 0 (MKSTREAM). Returns False if it existed."""
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" in str(exc):
            return False
        raise
    return True


async def ensure_groups(redis: Redis, names: StreamNames) -> None:
    """Create every group the pipeline reads, so no entry is ever skipped."""
    for stream, group in names.groups:
        await ensure_group(redis, stream, group)
