"""The inbox watcher on the real file system: inotify's word on complete files, the
watchfiles fallback, and what the ingestor makes of both."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncGenerator, Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from services.ingest.ingestor import Ingestor
from services.ingest.publisher import RawPublisher
from services.ingest.watch import FileEvent, Seen, watch_inbox
from shared.settings import Settings
from shared.streams import ensure_groups
from shared.wire import decode_raw

pytestmark = pytest.mark.integration

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="inotify is Linux's")


class Recorder:
    """Runs ``watch_inbox`` in the background and keeps every event it reports."""

    def __init__(self, inbox: Path, *, trust_close: bool) -> None:
        self.inbox = inbox
        self.trust_close = trust_close
        self.events: list[FileEvent] = []
        self.stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Recorder:
        events = watch_inbox(self.inbox, self.stop, debounce_ms=20, trust_close=self.trust_close)
        assert await anext(events) == []  # the watches are in place

        async def follow() -> None:
            async for batch in events:
                self.events.extend(batch)

        self._task = asyncio.create_task(follow())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    def seen(self, path: Path) -> list[Seen]:
        return [event.seen for event in self.events if event.path == path]

    async def until(self, check: Callable[[], bool], seconds: float = 5.0) -> None:
        for _ in range(int(seconds / 0.02)):
            if check():
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"not seen in {seconds} s; events: {self.events}")


@linux_only
async def test_inotify_says_a_file_is_complete_only_once_closed_or_renamed_in(
    tmp_path: Path,
) -> None:
    inbox, staging = tmp_path / "inbox", tmp_path / "staging"
    inbox.mkdir()
    staging.mkdir()
    async with Recorder(inbox, trust_close=True) as watcher:
        written = inbox / "written.txt"
        with written.open("w") as fh:
            fh.write("Half a report\n")
            fh.flush()
            await watcher.until(lambda: Seen.CHANGED in watcher.seen(written))
            await asyncio.sleep(0.1)
            assert Seen.CLOSED not in watcher.seen(written)  # still open for writing
            fh.write("and the rest.\n")
        await watcher.until(lambda: Seen.CLOSED in watcher.seen(written))

        (staging / "renamed.txt").write_text("Written elsewhere, renamed in.\n")
        os.rename(staging / "renamed.txt", inbox / "renamed.txt")
        await watcher.until(lambda: watcher.seen(inbox / "renamed.txt") == [Seen.RENAMED_IN])

        written.unlink()
        await watcher.until(lambda: watcher.seen(written)[-1:] == [Seen.GONE])


@linux_only
async def test_inotify_follows_new_folders_but_never_a_symlink(tmp_path: Path) -> None:
    inbox, elsewhere = tmp_path / "inbox", tmp_path / "elsewhere"
    inbox.mkdir()
    elsewhere.mkdir()
    (inbox / "link").symlink_to(elsewhere, target_is_directory=True)
    async with Recorder(inbox, trust_close=True) as watcher:
        sub = inbox / "2026" / "11"
        sub.mkdir(parents=True)
        await watcher.until(lambda: Seen.RESCAN in watcher.seen(inbox / "2026"))
        await asyncio.sleep(0.05)  # the new folder's watch is set while handling its event
        (sub / "deep.txt").write_text("Deep in the tree.\n")
        await watcher.until(lambda: Seen.CLOSED in watcher.seen(sub / "deep.txt"))

        (elsewhere / "outside.txt").write_text("Not in the inbox.\n")
        (inbox / "marker.txt").write_text("Events after the outside file.\n")
        await watcher.until(lambda: Seen.CLOSED in watcher.seen(inbox / "marker.txt"))
        assert not [e for e in watcher.events if e.path.name == "outside.txt"]


async def test_watchfiles_fallback_reports_changes_and_deletions(tmp_path: Path) -> None:
    async with Recorder(tmp_path, trust_close=False) as watcher:
        path = tmp_path / "note.txt"
        path.write_text("A note.\n")
        await watcher.until(lambda: Seen.CHANGED in watcher.seen(path))
        assert not {Seen.CLOSED, Seen.RENAMED_IN} & set(watcher.seen(path))  # inotify's words
        path.unlink()
        await watcher.until(lambda: Seen.GONE in watcher.seen(path))


@pytest.fixture
async def slow_settle_ingestor(
    settings: Settings, redis_client: aioredis.Redis
) -> AsyncGenerator[Ingestor, None]:
    """An ingestor whose settle wait (30 s) outlasts the test: whatever it reads, it read
    because the OS said the file was complete."""
    await ensure_groups(redis_client, settings.streams)
    slow = settings.model_copy(update={"settle_seconds": 30.0})
    ingestor = Ingestor(slow, RawPublisher(redis_client, slow.streams))
    stop = asyncio.Event()
    task = asyncio.create_task(ingestor.run(stop))
    await asyncio.sleep(0.2)
    yield ingestor
    stop.set()
    await asyncio.wait_for(task, 10)


async def _entries(redis_client: aioredis.Redis, settings: Settings, count: int) -> int:
    for _ in range(250):
        if (n := await redis_client.xlen(settings.streams.raw)) >= count:
            return int(n)
        await asyncio.sleep(0.02)
    return int(await redis_client.xlen(settings.streams.raw))


@linux_only
async def test_closed_files_skip_the_settle_wait_open_ones_wait(
    slow_settle_ingestor: Ingestor, settings: Settings, redis_client: aioredis.Redis
) -> None:
    inbox = settings.inbox
    staging = settings.data_dir / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    (staging / "renamed.txt").write_text("Renamed in\n\nA finished report about Caracas.\n")

    with (inbox / "open.txt").open("w") as held:
        held.write("Still being written\n\nFirst part about Moscow.\n")
        held.flush()
        (inbox / "closed.txt").write_text("Closed\n\nA finished note about Minsk.\n")
        os.rename(staging / "renamed.txt", inbox / "renamed.txt")
        assert await _entries(redis_client, settings, 2) == 2
        assert sorted(p.name for p in settings.archive_dir.iterdir()) == [
            "closed.txt",
            "renamed.txt",
        ]
        await asyncio.sleep(0.3)
        assert (inbox / "open.txt").exists()  # open for writing: not read
        held.write("Second part about Kyiv.\n")
    assert await _entries(redis_client, settings, 3) == 3
    last = [decode_raw(f) for _id, f in await redis_client.xrange(settings.streams.raw)][-1]
    assert last.source.path == "open.txt"
    assert "Second part about Kyiv." in last.text


async def test_without_trust_every_file_waits_for_the_settle_time(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    await ensure_groups(redis_client, settings.streams)
    cautious = settings.model_copy(update={"settle_seconds": 1.0, "trust_close_write": False})
    ingestor = Ingestor(cautious, RawPublisher(redis_client, cautious.streams))
    stop = asyncio.Event()
    task = asyncio.create_task(ingestor.run(stop))
    try:
        await asyncio.sleep(0.2)
        (settings.inbox / "note.txt").write_text("Note\n\nClosed at once, read after 1 s.\n")
        await asyncio.sleep(0.4)
        assert await redis_client.xlen(settings.streams.raw) == 0
        assert await _entries(redis_client, settings, 1) == 1
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


@linux_only
async def test_a_file_reopened_within_the_close_grace_is_read_whole(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    """``echo title > f; cat body >> f``: the first close must not get half the file read."""
    await ensure_groups(redis_client, settings.streams)
    graced = settings.model_copy(update={"settle_seconds": 30.0, "close_grace_seconds": 0.5})
    ingestor = Ingestor(graced, RawPublisher(redis_client, graced.streams))
    stop = asyncio.Event()
    task = asyncio.create_task(ingestor.run(stop))
    try:
        await asyncio.sleep(0.2)
        target = settings.inbox / "appended.txt"
        writer = await asyncio.create_subprocess_exec(
            "sh",
            "-c",
            'printf "Appended\\n\\nFirst part about Riga.\\n" > "$1"; sleep 0.1; '
            'printf "Second part about Vilnius.\\n" >> "$1"',
            "sh",
            str(target),
        )
        assert await writer.wait() == 0
        assert await _entries(redis_client, settings, 1) == 1
        [doc] = [decode_raw(f) for _id, f in await redis_client.xrange(settings.streams.raw)]
        assert "First part about Riga." in doc.text
        assert "Second part about Vilnius." in doc.text
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def test_polling_sees_files_that_raise_no_events(tmp_path: Path) -> None:
    """Polling mode (network shares): a change is found by looking, not by an event."""
    events = watch_inbox(tmp_path, asyncio.Event(), debounce_ms=20, trust_close=True, poll_ms=50)
    assert await anext(events) == []
    path = tmp_path / "from-another-machine.txt"
    path.write_text("Written over NFS.\n")
    batch = await asyncio.wait_for(anext(events), 5)
    assert FileEvent(path, Seen.CHANGED) in batch
    await events.aclose()
