"""Ingest in batches: each file gets the outcome it gets alone, with one Redis round trip."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from services.ingest.ingestor import Ingestor
from services.ingest.publisher import RawPublisher
from shared.settings import Settings
from shared.streams import ensure_groups
from shared.wire import decode_raw

pytestmark = pytest.mark.integration


@pytest.fixture
async def ingestor(settings: Settings, redis_client: aioredis.Redis) -> Ingestor:
    await ensure_groups(redis_client, settings.streams)
    return Ingestor(settings, RawPublisher(redis_client, settings.streams))


async def test_a_batch_gives_each_file_its_own_outcome(
    ingestor: Ingestor, settings: Settings, redis_client: aioredis.Redis, sample_article: Path
) -> None:
    inbox = settings.inbox
    shutil.copy(sample_article, inbox / "first.txt")
    shutil.copy(sample_article, inbox / "same-again.txt")  # same content: one document
    (inbox / "other.txt").write_text("Other report\n\nAbout Minsk and Vilnius.\n")
    (inbox / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    paths = [inbox / n for n in ("first.txt", "same-again.txt", "other.txt", "photo.png")]
    paths.append(inbox / "gone.txt")  # vanished before it was read

    outcomes = await ingestor.handle_batch(paths)

    assert outcomes == ["accepted", "duplicate", "accepted", "failed", "skipped"]
    entries = await redis_client.xrange(settings.streams.raw)
    docs = [decode_raw(fields) for _id, fields in entries]
    assert [d.source.path for d in docs] == ["first.txt", "other.txt"]
    assert docs[0].source.archived_as == "first.txt"
    archived = sorted(p.name for p in settings.archive_dir.iterdir())
    assert archived == ["first.txt", "other.txt", "same-again.txt"]
    error = json.loads((settings.failed_dir / "photo.png.error.json").read_text())
    assert error["reason"] == "unsupported"
    assert list(inbox.iterdir()) == []
    assert (ingestor.stats.accepted, ingestor.stats.duplicates, ingestor.stats.failed) == (2, 1, 1)


async def test_publish_many_accepts_each_content_id_once_in_order(
    ingestor: Ingestor, settings: Settings, redis_client: aioredis.Redis, sample_article: Path
) -> None:
    shutil.copy(sample_article, settings.inbox / "a.txt")
    assert await ingestor.handle(settings.inbox / "a.txt") == "accepted"
    ((first_id, fields),) = await redis_client.xrange(settings.streams.raw)
    doc = decode_raw(fields)

    results = await ingestor.publisher.publish_many([doc, doc])

    assert results == [(False, first_id), (False, first_id)]
    assert await redis_client.xlen(settings.streams.raw) == 1


async def test_the_watcher_ingests_many_files_dropped_at_once(
    ingestor: Ingestor, settings: Settings, redis_client: aioredis.Redis
) -> None:
    count = 150  # more than one batch
    staging = settings.inbox.parent / "staging"
    staging.mkdir()
    stop = asyncio.Event()
    task = asyncio.create_task(ingestor.run(stop))
    try:
        await asyncio.sleep(0.2)
        for i in range(count):
            (staging / f"r{i}.txt").write_text(f"Report {i}\n\nAbout Minsk, item {i}.\n")
            (staging / f"r{i}.txt").rename(settings.inbox / f"r{i}.txt")
        for _ in range(300):
            if await redis_client.xlen(settings.streams.raw) >= count:
                break
            await asyncio.sleep(0.1)
        assert await redis_client.xlen(settings.streams.raw) == count
        for _ in range(50):
            if not any(settings.inbox.iterdir()):
                break
            await asyncio.sleep(0.1)
        assert len(list(settings.archive_dir.iterdir())) == count
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
