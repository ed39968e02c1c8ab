"""Ingest against a real Redis: accept once, archive, fail visibly, wait for complete files."""

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


async def _raw_docs(redis_client: aioredis.Redis, settings: Settings) -> list:
    return [decode_raw(f) for _id, f in await redis_client.xrange(settings.streams.raw)]


async def test_accepts_file_publishes_raw_document_and_archives_it(
    ingestor: Ingestor, settings: Settings, redis_client: aioredis.Redis, sample_article: Path
) -> None:
    path = settings.inbox / "sub" / "article.txt"
    path.parent.mkdir()
    shutil.copy(sample_article, path)

    assert await ingestor.handle(path) == "accepted"

    docs = await _raw_docs(redis_client, settings)
    assert len(docs) == 1
    doc = docs[0]
    assert doc.source.path == "sub/article.txt"
    assert doc.metadata.author == "Paul Goble"
    assert "t.me/SerpomPo/2527" in doc.text
    assert not path.exists()
    assert (
        settings.archive_dir / "sub" / "article.txt"
    ).read_bytes() == sample_article.read_bytes()


async def test_same_content_twice_is_one_document(
    ingestor: Ingestor, settings: Settings, redis_client: aioredis.Redis, sample_article: Path
) -> None:
    first, second = settings.inbox / "a.txt", settings.inbox / "b.txt"
    shutil.copy(sample_article, first)
    shutil.copy(sample_article, second)
    assert await ingestor.handle(first) == "accepted"
    assert await ingestor.handle(second) == "duplicate"
    assert len(await _raw_docs(redis_client, settings)) == 1
    assert sorted(p.name for p in settings.archive_dir.iterdir()) == ["a.txt", "b.txt"]


async def test_crash_after_publish_before_move_does_not_publish_twice(
    ingestor: Ingestor, settings: Settings, redis_client: aioredis.Redis, sample_article: Path
) -> None:
    path = settings.inbox / "article.txt"
    shutil.copy(sample_article, path)
    assert await ingestor.handle(path) == "accepted"
    # Simulate the crash: the file is back in the inbox as if never moved.
    shutil.copy(settings.archive_dir / "article.txt", path)
    restarted = Ingestor(settings, RawPublisher(redis_client, settings.streams))
    assert await restarted.handle(path) == "duplicate"
    assert len(await _raw_docs(redis_client, settings)) == 1
    assert not path.exists()


async def test_unsupported_and_oversized_files_fail_with_sidecar(
    ingestor: Ingestor, settings: Settings
) -> None:
    image = settings.inbox / "photo.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    assert await ingestor.handle(image) == "failed"
    error = json.loads((settings.failed_dir / "photo.png.error.json").read_text())
    assert error["reason"] == "unsupported"
    assert (settings.failed_dir / "photo.png").exists()

    small = settings.model_copy(update={"max_file_bytes": 10})
    big = settings.inbox / "big.txt"
    big.write_text("This file is longer than ten bytes.\n")
    assert await Ingestor(small, ingestor.publisher).handle(big) == "failed"
    error = json.loads((settings.failed_dir / "big.txt.error.json").read_text())
    assert error["reason"] == "too_large"
    assert "DROPWIRE_MAX_FILE_BYTES" in error["message"]


async def test_watcher_waits_for_complete_files_and_ignores_temporary_names(
    ingestor: Ingestor, settings: Settings, redis_client: aioredis.Redis
) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(ingestor.run(stop))
    try:
        await asyncio.sleep(0.3)
        partial = settings.inbox / "report.txt.part"
        partial.write_text("Title\n\nBody text about Moscow.\n")
        (settings.inbox / ".hidden.txt").write_text("Hidden\n\nnot for us\n")
        (settings.inbox / "~$lock.txt").write_text("Office lock\n\nnot for us\n")
        growing = settings.inbox / "growing.txt"
        with growing.open("w") as fh:
            fh.write("Growing report\n\n")
            fh.flush()
            for i in range(8):  # keeps changing for longer than settle_seconds
                await asyncio.sleep(0.05)
                fh.write(f"Paragraph {i} about Venezuela.\n")
                fh.flush()
        await asyncio.sleep(0.5)
        assert growing.exists() is False
        docs = await _raw_docs(redis_client, settings)
        assert len(docs) == 1
        assert "Paragraph 7" in docs[0].text  # read only once complete
        assert partial.exists()  # still being written under a temporary name
        partial.rename(settings.inbox / "report.txt")  # renamed when complete
        for _ in range(50):
            if len(await _raw_docs(redis_client, settings)) == 2:
                break
            await asyncio.sleep(0.1)
        assert len(await _raw_docs(redis_client, settings)) == 2
        assert (settings.inbox / ".hidden.txt").exists()
        assert (settings.inbox / "~$lock.txt").exists()
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def test_backpressure_pauses_ingest_until_enrich_catches_up(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    limited = settings.model_copy(update={"max_backlog": 2})
    await ensure_groups(redis_client, settings.streams)
    ingestor = Ingestor(limited, RawPublisher(redis_client, settings.streams))
    for i in range(4):
        (settings.inbox / f"r{i}.txt").write_text(f"Report {i}\n\nAbout Minsk.\n")
    stop = asyncio.Event()
    task = asyncio.create_task(ingestor.run(stop))
    try:
        for _ in range(50):
            if len(await _raw_docs(redis_client, settings)) >= 2:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.5)
        assert len(await _raw_docs(redis_client, settings)) == 2  # paused at the limit
        assert len(list(settings.inbox.glob("*.txt"))) == 2  # the rest wait, untouched
        # enrich catches up: reads and acks what is there
        got = await redis_client.xreadgroup(
            settings.enrich_group, "c", {settings.streams.raw: ">"}, count=10
        )
        await redis_client.xack(
            settings.streams.raw, settings.enrich_group, *[i for i, _f in got[0][1]]
        )
        for _ in range(50):
            if len(await _raw_docs(redis_client, settings)) == 4:
                break
            await asyncio.sleep(0.1)
        assert len(await _raw_docs(redis_client, settings)) == 4
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
