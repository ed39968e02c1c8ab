"""One-shot bulk ingest of files or folder trees (``dropwire ingest PATH...``).

Files are read where they are (nothing is moved: they are the operator's, not the inbox's)
and published with the same once-per-content-id guarantee as the watcher.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from services.ingest.files import scan
from services.ingest.publisher import RawPublisher
from services.ingest.reader import ReadError, read_document
from shared.redis import connect
from shared.settings import Settings
from shared.streams import ensure_groups


@dataclass
class BackfillResult:
    accepted: int = 0
    duplicates: int = 0
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (file, reason, message)


def expand(paths: Iterable[Path]) -> list[tuple[Path, str]]:
    """Every file under ``paths`` with the name it is published under (relative to the
    folder given, or its own name for a single file). Links are never followed."""
    files: list[tuple[Path, str]] = []
    for given in paths:
        if given.is_symlink():
            continue
        if given.is_dir():
            root = given.resolve()
            files += [(p, str(p.relative_to(root))) for p in scan(root)]
        elif given.is_file():
            files.append((given.resolve(), given.name))
        else:
            raise FileNotFoundError(f"no such file or folder: {given}")
    return files


async def backfill(
    files: list[tuple[Path, str]],
    settings: Settings,
    on_file: Callable[[str, str], None] = lambda name, outcome: None,
    *,
    replay: bool = False,
) -> BackfillResult:
    """Publish every file; ``on_file(name, outcome)`` reports progress. ``replay`` re-publishes
    archived files even though their content ids were seen (``name`` is their archive path)."""
    result = BackfillResult()
    redis = connect(settings)
    try:
        await ensure_groups(redis, settings.streams)
        publisher = RawPublisher(redis, settings.streams, settings.dedup_ttl_seconds)
        for path, name in files:
            try:
                doc = await asyncio.to_thread(read_document, path, name, settings)
            except (ReadError, FileNotFoundError) as exc:
                reason = exc.reason if isinstance(exc, ReadError) else "missing"
                message = exc.message if isinstance(exc, ReadError) else str(exc)
                result.failed.append((name, reason, message))
                on_file(name, "failed")
                continue
            if replay:
                doc.source.archived_as = name
            created, _entry = await publisher.publish(doc, force=replay)
            if created:
                result.accepted += 1
            else:
                result.duplicates += 1
            on_file(name, "accepted" if created else "duplicate")
    finally:
        await redis.aclose()
    return result
