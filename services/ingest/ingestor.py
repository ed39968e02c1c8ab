"""The ingest loop: find complete files, extract them, publish, then archive or fail them.

Files come from a start-up scan and from ``watchfiles`` events. A file is handled once its
size and mtime have been stable for ``settle_seconds``, so half-copied files are never read.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from redis.exceptions import RedisError
from watchfiles import Change, awatch

from services.ingest.files import (
    FileState,
    destination,
    file_state,
    is_candidate,
    move_file,
    move_to_failed,
)
from services.ingest.files import scan as scan_inbox
from services.ingest.publisher import RawPublisher
from services.ingest.reader import ReadError, read_document
from shared import metrics
from shared.deadletter import dead_letter_fields
from shared.settings import Settings

log = structlog.stdlib.get_logger("dropwire.ingest")


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

    def offer(self, path: Path) -> None:
        """Consider ``path``: it will be handled once it has settled."""
        if path not in self._pending:
            self._pending[path] = _Pending(file_state(path), time.monotonic())
            self._wakeup.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Scan, then watch and settle until ``stop`` is set."""
        self.inbox.mkdir(parents=True, exist_ok=True)
        for path in scan_inbox(self.inbox):
            self.offer(path)
        log.info("ingest.watching", inbox=str(self.inbox), backlog=len(self._pending))
        watcher = asyncio.create_task(self._watch(stop))
        try:
            await self._settle_loop(stop)
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)

    async def _watch(self, stop: asyncio.Event) -> None:
        async for changes in awatch(
            self.inbox,
            stop_event=stop,
            debounce=self.settings.watch_debounce_ms,
            step=min(50, self.settings.watch_debounce_ms),
            recursive=True,
            ignore_permission_denied=True,
        ):
            for change, raw_path in changes:
                path = Path(raw_path)
                if change == Change.deleted:
                    self._pending.pop(path, None)
                elif path.is_dir():  # noqa: ASYNC240 - one stat per event
                    # A folder moved in at once brings files no event announced.
                    for inner in scan_inbox(path):
                        if is_candidate(inner, self.inbox):
                            self.offer(inner)
                elif is_candidate(path, self.inbox):
                    self.offer(path)

    async def _settle_loop(self, stop: asyncio.Event) -> None:
        settle = self.settings.settle_seconds
        tick = max(0.02, settle / 4)
        while not stop.is_set():
            if not self._pending:
                self._wakeup.clear()
                waiter = asyncio.create_task(self._wakeup.wait())
                stopper = asyncio.create_task(stop.wait())
                await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                stopper.cancel()
                continue
            now = time.monotonic()
            ready: list[Path] = []
            for path, pending in list(self._pending.items()):
                state = file_state(path)
                if state is None:  # gone (renamed or deleted) before it settled
                    del self._pending[path]
                elif state != pending.state:
                    pending.state, pending.stable_since = state, now
                elif now - pending.stable_since >= settle:
                    ready.append(path)
            for path in ready:
                if stop.is_set():
                    return
                try:
                    await self._wait_for_room(stop)
                    if stop.is_set():
                        return
                    del self._pending[path]
                    await self.handle(path)
                except RedisError as exc:
                    # The file stays in the inbox; try again once Redis answers.
                    log.warning("ingest.redis_unavailable", file=str(path), error=str(exc))
                    self.offer(path)
                    await asyncio.sleep(1.0)
                    break
            if not ready:
                await asyncio.sleep(tick)

    async def _wait_for_room(self, stop: asyncio.Event) -> None:
        """Back-pressure: while enrich is ``max_backlog`` entries behind, files wait in the
        inbox (nothing is trimmed or dropped). One check grants room for as many files as the
        backlog has left, so Redis is asked rarely while documents flow."""
        limit = self.settings.max_backlog
        if not limit:
            return
        if self._room > 0:
            self._room -= 1
            return
        backlog = await self.publisher.backlog(self.settings.enrich_group)
        if backlog >= limit:
            log.warning("ingest.backpressure", backlog=backlog, limit=limit)
            while not stop.is_set() and backlog >= limit:
                await asyncio.sleep(0.5)
                backlog = await self.publisher.backlog(self.settings.enrich_group)
            log.info("ingest.resumed", backlog=backlog, limit=limit)
        self._room = limit - backlog - 1

    async def handle(self, path: Path) -> str:
        """Ingest one complete file. Returns "accepted", "duplicate", "failed" or "skipped"."""
        if not is_candidate(path, self.inbox):
            return "skipped"
        rel = str(path.relative_to(self.inbox))
        try:
            doc = await asyncio.to_thread(read_document, path, rel, self.settings)
        except FileNotFoundError:
            return "skipped"  # gone (renamed or deleted) meanwhile: nothing to fail
        except ReadError as exc:
            return await self._fail(path, rel, exc.reason, exc.message, exc.doc_id)
        doc_id = doc.id
        archive_root = self.settings.archive_dir.resolve()
        archive_dest = destination(path, self.inbox, archive_root, doc_id[:12])
        doc.source.archived_as = str(archive_dest.relative_to(archive_root))
        created, entry_id = await self.publisher.publish(doc)
        archived = move_file(path, archive_dest)
        metrics.FILE_BYTES.inc(doc.source.size)
        if created:
            metrics.FILES.labels("accepted", "").inc()
            self.stats.accepted += 1
            log.info(
                "ingest.accepted",
                doc_id=doc_id,
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
        log.info("ingest.duplicate", doc_id=doc_id, file=rel, first_entry_id=entry_id)
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
