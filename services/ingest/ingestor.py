"""The ingest loop: find complete files, extract them, publish, then archive or fail them.

Files come from a start-up scan and from ``watchfiles`` events. A file is handled once its
size and mtime have been stable for ``settle_seconds``, so half-copied files are never read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from redis.exceptions import RedisError

from services.ingest.files import (
    FileState,
    destination,
    file_state,
    is_candidate,
    move_file,
    move_to_failed,
    safe_name,
)
from services.ingest.files import scan as scan_inbox
from services.ingest.publisher import RawPublisher
from services.ingest.reader import ReadError, read_document
from services.ingest.watch import FileEvent, Seen, watch_inbox
from shared import metrics
from shared.deadletter import dead_letter_fields
from shared.models import RawDocument
from shared.settings import Settings

log = structlog.stdlib.get_logger("dropwire.ingest")

# Ready files are handled this many at a time: one thread hop reads them, one pipelined
# Redis round trip publishes them, one more thread hop archives them.
BATCH_FILES = 64


def _read_all(
    paths: list[Path], inbox: Path, settings: Settings
) -> list[RawDocument | ReadError | FileNotFoundError]:
    """``read_document`` for each file (in a worker thread), the error in place of a
    document that cannot be read."""
    out: list[RawDocument | ReadError | FileNotFoundError] = []
    for path in paths:
        try:
            out.append(read_document(path, str(path.relative_to(inbox)), settings))
        except (ReadError, FileNotFoundError) as exc:
            out.append(exc)
    return out


def _unchanged_since(state: FileState | None, now: float, settle: float) -> float:
    """When (on the monotonic clock) a file seen for the first time ``now`` last changed,
    going by its mtime: a file finished before it was seen (renamed in, or copied in one go)
    waits only what is left of ``settle``. An mtime in the future, or in whole seconds (a
    file system with coarse timestamps, where it says too little), counts from ``now``;
    a change seen later always counts from when it was seen."""
    if state is None or state.mtime_ns % 1_000_000_000 == 0:
        return now
    age = time.time() - state.mtime_ns / 1e9
    return now - min(max(age, 0.0), settle)


@dataclass
class _Pending:
    state: FileState | None
    stable_since: float


@dataclass
class IngestStats:
    accepted: int = 0
    duplicates: int = 0
    failed: int = 0


@dataclass
class Ingestor:
    """Watches the inbox and turns every complete file into a raw document on the stream."""

    settings: Settings
    publisher: RawPublisher
    stats: IngestStats = field(default_factory=IngestStats)
    _pending: dict[Path, _Pending] = field(default_factory=dict)
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    _room: int = 0

    @property
    def inbox(self) -> Path:
        return self.settings.inbox.resolve()

    def offer(self, path: Path, *, complete_after: float | None = None) -> None:
        """Consider ``path``: it is handled once it has been unchanged for the settle time
        or, when the OS said it is complete, for ``complete_after`` seconds."""
        settle = self.settings.settle_seconds
        pending = self._pending.get(path)
        if pending is None:
            state = file_state(path)
            since = _unchanged_since(state, time.monotonic(), settle)
            self._pending[path] = pending = _Pending(state, since)
        elif complete_after is None:
            return  # already settling: the settle loop sees it change
        if complete_after is not None:
            pending.state = file_state(path)
            pending.stable_since = time.monotonic() - settle + min(complete_after, settle)
        self._wakeup.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Scan, then watch and settle until ``stop`` is set."""
        self.inbox.mkdir(parents=True, exist_ok=True)
        events = watch_inbox(
            self.inbox,
            stop,
            debounce_ms=self.settings.watch_debounce_ms,
            trust_close=self.settings.trust_close_write,
            poll_ms=self.settings.watch_poll_ms,
        )
        # Watch first, then scan, so a file dropped meanwhile is not missed: the first
        # (empty) batch comes once the watches are in place.
        await anext(events)
        for path in scan_inbox(self.inbox):
            self.offer(path)
        log.info("ingest.watching", inbox=str(self.inbox), backlog=len(self._pending))
        watcher = asyncio.create_task(self._watch(events))
        try:
            await self._settle_loop(stop)
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
            await events.aclose()

    async def _watch(self, events: AsyncGenerator[list[FileEvent], None]) -> None:
        async for batch in events:
            self._on_events(batch)

    def _on_events(self, batch: list[FileEvent]) -> None:
        for event in batch:
            path = event.path
            if event.seen is Seen.GONE:
                self._pending.pop(path, None)
            elif event.seen is Seen.CHANGED and path in self._pending:
                continue  # already settling: the settle loop sees it change
            elif event.seen is Seen.RESCAN or (event.seen is Seen.CHANGED and path.is_dir()):
                # A folder moved in at once brings files no event announced. (inotify says
                # so itself, RESCAN; watchfiles only says "changed", hence the stat.)
                for inner in scan_inbox(path):
                    if is_candidate(inner, self.inbox):
                        self.offer(inner)
            elif is_candidate(path, self.inbox):
                self.offer(path, complete_after=self._complete_after(event.seen))

    def _complete_after(self, seen: Seen) -> float | None:
        """How long a file the OS called complete must stay unchanged: a rename is atomic;
        a close gets a grace time, for writers that close and append again at once
        (``echo title > f; cat body >> f``)."""
        if seen is Seen.RENAMED_IN:
            return 0.0
        if seen is Seen.CLOSED:
            return self.settings.close_grace_seconds
        return None

    async def _settle_loop(self, stop: asyncio.Event) -> None:
        settle = self.settings.settle_seconds
        tick = max(0.02, settle / 4)
        while not stop.is_set():
            self._wakeup.clear()
            if not self._pending:
                await self._doze(stop, None)
                continue
            now = time.monotonic()
            ready: list[Path] = []
            next_due = now + tick
            for path, pending in list(self._pending.items()):
                state = file_state(path)
                if state is None:  # gone (renamed or deleted) before it settled
                    del self._pending[path]
                elif state != pending.state:
                    pending.state, pending.stable_since = state, now
                elif now - pending.stable_since >= settle:
                    ready.append(path)
                else:
                    next_due = min(next_due, pending.stable_since + settle)
            while ready:
                granted = await self._wait_for_room(stop, min(len(ready), BATCH_FILES))
                if stop.is_set():
                    return
                batch, ready = ready[:granted], ready[granted:]
                for path in batch:
                    del self._pending[path]
                try:
                    await self.handle_batch(batch)
                except RedisError as exc:
                    # The files stay in the inbox; try again once Redis answers. (Any that
                    # were published and moved before the error are dropped as gone.)
                    log.warning(
                        "ingest.redis_unavailable",
                        file=str(batch[0]),
                        files=len(batch),
                        error=str(exc),
                    )
                    for path in batch:
                        self.offer(path)
                    await asyncio.sleep(1.0)
                    break
            else:
                # Poll until the next file is due (no later than a tick, to see changes),
                # or until a file is offered: one the OS says is complete goes at once.
                await self._doze(stop, max(0.005, next_due - time.monotonic()))

    async def _doze(self, stop: asyncio.Event, seconds: float | None) -> None:
        """Sleep until a file is offered, ``stop`` is set, or ``seconds`` pass."""
        waiters = {asyncio.ensure_future(self._wakeup.wait()), asyncio.ensure_future(stop.wait())}
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()

    async def _wait_for_room(self, stop: asyncio.Event, wanted: int) -> int:
        """Back-pressure: while enrich is ``max_backlog`` entries behind, files wait in the
        inbox (nothing is trimmed or dropped). One check grants room for as many files as the
        backlog has left, so Redis is asked rarely while documents flow. Returns how many of
        the ``wanted`` files may go now (at least one, unless ``stop`` is set meanwhile)."""
        limit = self.settings.max_backlog
        if not limit:
            return wanted
        if self._room <= 0:
            backlog = await self.publisher.backlog(self.settings.enrich_group)
            if backlog >= limit:
                log.warning("ingest.backpressure", backlog=backlog, limit=limit)
                while not stop.is_set() and backlog >= limit:
                    await asyncio.sleep(0.5)
                    backlog = await self.publisher.backlog(self.settings.enrich_group)
                log.info("ingest.resumed", backlog=backlog, limit=limit)
            self._room = limit - backlog
        granted = max(0, min(wanted, self._room))
        self._room -= granted
        return granted

    async def handle(self, path: Path) -> str:
        """Ingest one complete file. Returns "accepted", "duplicate", "failed" or "skipped"."""
        return (await self.handle_batch([path]))[0]

    async def handle_batch(self, paths: list[Path]) -> list[str]:
        """Ingest complete files together, each with the outcome ``handle`` gives it: one
        thread hop reads them all, one pipelined Redis call publishes them (in order, one
        atomic script per file), one more thread hop moves them to the archive.

        Raises ``RedisError`` when Redis fails: the files not yet moved stay in the inbox."""
        outcomes = ["skipped"] * len(paths)
        inbox = self.inbox
        archive_root = self.settings.archive_dir.resolve()
        todo = [(i, path) for i, path in enumerate(paths) if is_candidate(path, inbox)]
        files = [path for _i, path in todo]
        reads = await asyncio.to_thread(_read_all, files, inbox, self.settings) if files else []
        good: list[tuple[int, Path, str, RawDocument, Path]] = []
        for (i, path), read in zip(todo, reads, strict=True):
            rel = safe_name(str(path.relative_to(inbox)))
            if isinstance(read, FileNotFoundError):
                continue  # gone (renamed or deleted) meanwhile: nothing to fail
            if isinstance(read, ReadError):
                outcomes[i] = await self._fail(path, rel, read.reason, read.message, read.doc_id)
                continue
            doc = read
            archive_dest = destination(path, inbox, archive_root, doc.id[:12])
            doc.source.archived_as = str(archive_dest.relative_to(archive_root))
            good.append((i, path, rel, doc, archive_dest))
        results = await self.publisher.publish_many([doc for _i, _p, _r, doc, _d in good])
        published = [
            (entry, result)
            for entry, result in zip(good, results, strict=True)
            if not isinstance(result, RedisError)
        ]
        if published:
            moves = [(path, dest) for (_i, path, _r, _doc, dest), _result in published]
            moved = await asyncio.to_thread(lambda: [move_file(p, d) for p, d in moves])
            for ((i, _p, rel, doc, _d), (created, entry_id)), archived in zip(
                published, moved, strict=True
            ):
                outcomes[i] = self._report(doc, rel, created, entry_id, archived)
        errors = [result for result in results if isinstance(result, RedisError)]
        if errors:
            raise errors[0]
        return outcomes

    def _report(
        self, doc: RawDocument, rel: str, created: bool, entry_id: str, archived: Path
    ) -> str:
        metrics.FILE_BYTES.inc(doc.source.size)
        if created:
            metrics.FILES.labels("accepted", "").inc()
            self.stats.accepted += 1
            log.info(
                "ingest.accepted",
                doc_id=doc.id,
                trace_id=doc.trace_id,
                file=rel,
                media_type=doc.source.media_type,
                chars=len(doc.text),
                entry_id=entry_id,
                archived_as=str(archived),
            )
            return "accepted"
        metrics.FILES.labels("duplicate", "").inc()
        self.stats.duplicates += 1
        log.info("ingest.duplicate", doc_id=doc.id, file=rel, first_entry_id=entry_id)
        return "duplicate"

    async def _fail(
        self, path: Path, rel: str, reason: str, message: str, doc_id: str | None
    ) -> str:
        dest = move_to_failed(
            path,
            self.inbox,
            self.settings.failed_dir.resolve(),
            reason=reason,
            message=message,
            doc_id=doc_id,
        )
        metrics.FILES.labels("failed", reason).inc()
        self.stats.failed += 1
        log.warning(
            "ingest.failed",
            doc_id=doc_id,
            file=rel,
            reason=reason,
            error=message,
            moved_to=str(dest),
        )
        try:
            await self.publisher.dead_letter(
                dead_letter_fields(
                    stage="ingest",
                    error_type=reason,
                    message=message,
                    doc_id=doc_id,
                    source_file=str(dest.relative_to(self.settings.failed_dir.resolve())),
                )
            )
        except RedisError as exc:  # the file and its sidecar in failed/ already tell the story
            log.warning("ingest.dead_letter_unavailable", doc_id=doc_id, error=str(exc))
        return "failed"
