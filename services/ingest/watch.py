"""What happens in the inbox: paths that appeared or changed, and whether the OS says they
are complete.

On Linux, inotify tells more than "changed": a file closed after writing (IN_CLOSE_WRITE)
or renamed into the inbox (IN_MOVED_TO) is complete at that moment, so it needs no settle
wait: drop-to-record latency is then the enricher's time, not a timer. Elsewhere, or when
inotify cannot be used (the per-user watch limit is reached, say), ``watchfiles`` reports
changes and every file settles on size and mtime. On a network share, where changes made
by other machines raise no events, ``poll_ms`` makes it look at the folder instead.
"""

from __future__ import annotations

import asyncio
import enum
import os
import sys
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import structlog
from watchfiles import Change, awatch

from services.ingest.files import is_ignored_name

log = structlog.stdlib.get_logger("dropwire.ingest")


class Seen(enum.Enum):
    CHANGED = "changed"  # appeared or written to: complete once it has settled
    CLOSED = "closed"  # closed after writing: complete, unless its writer reopens it
    RENAMED_IN = "renamed_in"  # renamed into the inbox: complete
    GONE = "gone"  # deleted or renamed away
    RESCAN = "rescan"  # a folder appeared, or events were lost: look at everything in it


@dataclass(frozen=True)
class FileEvent:
    path: Path
    seen: Seen


async def watch_inbox(
    inbox: Path,
    stop: asyncio.Event,
    *,
    debounce_ms: int,
    trust_close: bool,
    poll_ms: int = 0,
) -> AsyncGenerator[list[FileEvent], None]:
    """Batches of events under ``inbox`` (recursive) until ``stop`` is set. Watches are in
    place before the first batch is awaited, so a caller can scan the folder after
    starting this without missing a file dropped in between."""
    if trust_close and not poll_ms and sys.platform == "linux":
        try:
            events = _inotify_events(inbox, stop)
            first = await anext(events)
        except OSError as exc:  # ENOSPC: the watch limit; EMFILE: the instance limit
            log.warning("ingest.inotify_unavailable", error=str(exc), fallback="watchfiles")
        else:
            yield first
            async for batch in events:
                yield batch
            return
    async for batch in _watchfiles_events(inbox, stop, debounce_ms, poll_ms):
        yield batch


async def _watchfiles_events(
    inbox: Path, stop: asyncio.Event, debounce_ms: int, poll_ms: int
) -> AsyncIterator[list[FileEvent]]:
    changes = awatch(
        inbox,
        stop_event=stop,
        debounce=debounce_ms,
        step=min(50, debounce_ms),
        recursive=True,
        ignore_permission_denied=True,
        force_polling=bool(poll_ms),
        poll_delay_ms=poll_ms or 300,
    )
    # awatch sets up its watches in its first step, before its first await: start it, let
    # it take that step, then tell the caller the watches are in place.
    following = asyncio.ensure_future(anext(changes, None))
    await asyncio.sleep(0)
    yield []
    while (batch := await following) is not None:
        yield [
            FileEvent(Path(raw), Seen.GONE if change == Change.deleted else Seen.CHANGED)
            for change, raw in batch
        ]
        following = asyncio.ensure_future(anext(changes, None))


async def _inotify_events(inbox: Path, stop: asyncio.Event) -> AsyncIterator[list[FileEvent]]:
    # Imported here: the package exists on Linux only.
    from asyncinotify import Inotify, Mask

    file_mask = (
        Mask.CREATE
        | Mask.MODIFY
        | Mask.CLOSE_WRITE
        | Mask.MOVED_TO
        | Mask.MOVED_FROM
        | Mask.DELETE
        | Mask.ONLYDIR
        | Mask.DONT_FOLLOW
    )

    # sync_timeout=0: sync_get() returns None at once when nothing more is queued.
    with Inotify(cache_size=256, sync_timeout=0) as inotify:

        def watch_tree(root: Path) -> None:
            """Watch ``root`` and every folder below it, never through a symlink."""
            for folder, subfolders, _files in os.walk(root, followlinks=False):
                subfolders[:] = [name for name in subfolders if not is_ignored_name(name)]
                try:
                    inotify.add_watch(folder, file_mask)
                except OSError as exc:
                    if Path(folder) == inbox:
                        raise
                    log.warning("ingest.watch_failed", folder=folder, error=str(exc))

        def unwatch_tree(root: Path) -> None:
            for watch in inotify.watches:
                if watch.path == root or root in watch.path.parents:
                    inotify.rm_watch(watch)

        watch_tree(inbox)
        yield []  # watches are set: the caller may scan now

        stopper = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                getter = asyncio.ensure_future(inotify.get())
                await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
                if not getter.done():
                    getter.cancel()
                    break
                batch = [getter.result()]
                while len(batch) < 1024:  # everything already queued, in one batch
                    nxt = inotify.sync_get()
                    if nxt is None:
                        break
                    batch.append(nxt)
                out: list[FileEvent] = []
                for event in batch:
                    mask, path = event.mask, event.path
                    if Mask.Q_OVERFLOW in mask:
                        log.warning("ingest.watch_overflow", inbox=str(inbox))
                        out.append(FileEvent(inbox, Seen.RESCAN))
                    elif path is None or Mask.IGNORED in mask:
                        continue
                    elif Mask.ISDIR in mask:
                        if mask & (Mask.CREATE | Mask.MOVED_TO) and not is_ignored_name(path.name):
                            watch_tree(path)  # then scan it: files may predate the watch
                            out.append(FileEvent(path, Seen.RESCAN))
                        elif Mask.MOVED_FROM in mask:
                            unwatch_tree(path)
                    elif mask & (Mask.DELETE | Mask.MOVED_FROM):
                        out.append(FileEvent(path, Seen.GONE))
                    elif Mask.MOVED_TO in mask:
                        out.append(FileEvent(path, Seen.RENAMED_IN))
                    elif Mask.CLOSE_WRITE in mask:
                        out.append(FileEvent(path, Seen.CLOSED))
                    else:
                        out.append(FileEvent(path, Seen.CHANGED))
                if out:
                    yield out
        finally:
            stopper.cancel()
