"""What operators ask of a running Dropwire: stream and group state, dead letters, replays.

Plain functions over a redis-py client, so the CLI stays a thin renderer and tests can call
them directly against a real Redis.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
from redis.exceptions import ResponseError

from services.ingest.files import scan
from shared.settings import Settings


@dataclass
class GroupStatus:
    stream: str
    group: str
    pending: int
    lag: int | None
    consumers: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Status:
    streams: dict[str, int]
    groups: list[GroupStatus]
    dead_letters: int
    published_last_minute: int
    inbox_waiting: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sync_client(settings: Settings) -> redis.Redis:
    """A blocking client with the services' URL and TLS settings (``shared.redis``)."""
    from shared.redis import connect_sync

    return connect_sync(settings)


def status(client: redis.Redis, settings: Settings) -> Status:
    """Length of every stream, pending and lag of every group, and what waits in the inbox."""
    names = settings.streams
    streams = {
        key: int(client.xlen(key))
        for key in (names.raw, names.enriched, names.published, names.dead_letter, names.retried)
    }
    groups: list[GroupStatus] = []
    for stream in streams:
        try:
            infos: Any = client.xinfo_groups(stream)
        except ResponseError:
            continue
        for info in infos:
            consumers = [
                {"name": c["name"], "pending": int(c["pending"]), "idle_ms": int(c["idle"])}
                for c in client.xinfo_consumers(stream, info["name"])
            ]
            lag = info.get("lag")
            groups.append(
                GroupStatus(
                    stream=stream,
                    group=str(info["name"]),
                    pending=int(info["pending"]),
                    lag=None if lag is None else int(lag),
                    consumers=consumers,
                )
            )
    minute_ago = int(time.time() * 1000) - 60_000
    recent: Any = client.xrange(names.published, min=f"{minute_ago}-0", max="+", count=100_000)
    inbox = settings.inbox.resolve()
    waiting = len(scan(inbox)) if inbox.is_dir() else 0
    return Status(streams, groups, streams[names.dead_letter], len(recent), waiting)


def dead_letters(client: redis.Redis, settings: Settings, count: int = 100) -> list[dict[str, str]]:
    """The newest dead letters, newest first, each with its entry id as ``dlq_id``."""
    entries: Any = client.xrevrange(settings.streams.dead_letter, count=count)
    return [{"dlq_id": entry_id, **fields} for entry_id, fields in entries]


def dead_letter(client: redis.Redis, settings: Settings, dlq_id: str) -> dict[str, str] | None:
    entries: Any = client.xrange(settings.streams.dead_letter, min=dlq_id, max=dlq_id)
    return {"dlq_id": entries[0][0], **entries[0][1]} if entries else None


class RetryError(ValueError):
    """A request that cannot be carried out (dead letter not re-queueable, ambiguous id)."""


def retry_dead_letter(client: redis.Redis, settings: Settings, dlq_id: str) -> str:
    """Re-queue a dead letter to the stage that failed and remove it from the dead letters.

    enrich failures go back to the raw stream, publish failures to the enriched stream (every
    sink skips what it already holds), ingest failures move the file back into the inbox.
    For a failure after ingest, the same transaction adds the retry to the retried stream:
    ingest, which owns the folders, moves the document's file from failed/ back to archive/
    and removes its sidecar (this command may run where the folders are not mounted).
    Returns a short description of what was done.
    """
    letter = dead_letter(client, settings, dlq_id)
    if letter is None:
        raise RetryError(f"no dead letter {dlq_id}")
    names = settings.streams
    stage = letter.get("stage", "")
    entry = {k.removeprefix("entry."): v for k, v in letter.items() if k.startswith("entry.")}
    if stage == "ingest":
        target = _failed_file_back_to_inbox(settings, letter.get("source_file", ""))
        client.xdel(names.dead_letter, dlq_id)
        return f"moved {target} back to the inbox"
    if not entry:
        raise RetryError(f"dead letter {dlq_id} ({stage}) carries no entry to re-queue")
    if stage == "enrich":
        stream = names.raw
    elif stage.startswith("publish"):
        stream = names.enriched
    elif stage == "ingest-retried":  # ingest could not handle a retry: hand it over again
        stream = names.retried
    else:
        raise RetryError(f"unknown stage {stage!r}")
    source_file = letter.get("source_file", "")
    with client.pipeline(transaction=True) as pipe:
        pipe.xadd(stream, entry)  # type: ignore[arg-type]
        if source_file and stream != names.retried:
            pipe.xadd(names.retried, _retry_event(letter))  # type: ignore[arg-type]
        pipe.xdel(names.dead_letter, dlq_id)
        new_id = pipe.execute()[0]
    done = f"re-queued to {stream} as {new_id}"
    if source_file and stream != names.retried:
        done += f"; ingest moves {source_file} from failed/ back to archive/"
    return done


def _retry_event(letter: dict[str, str]) -> dict[str, str]:
    """What ingest needs to put the file of a retried dead letter back in archive/."""
    return {
        "dlq_id": letter["dlq_id"],
        "stage": letter.get("stage", ""),
        "error_type": letter.get("error_type", ""),
        "doc_id": letter.get("doc_id", ""),
        "source_file": letter.get("source_file", ""),
        "retried_at": datetime.now(UTC).isoformat(),
    }


def _failed_file_back_to_inbox(settings: Settings, source_file: str) -> Path:
    failed = settings.failed_dir.resolve()
    path = (failed / source_file).resolve()
    if failed not in path.parents or not path.is_file():
        raise RetryError(f"{source_file!r} is not in {failed}")
    target = settings.inbox.resolve() / path.name
    if target.exists():
        raise RetryError(f"{target} already exists")
    path.replace(target)
    sidecar = path.with_name(path.name + ".error.json")
    if sidecar.exists():
        sidecar.unlink()
    return target


def drop_dead_letter(client: redis.Redis, settings: Settings, dlq_id: str) -> bool:
    return bool(client.xdel(settings.streams.dead_letter, dlq_id))


def find_record(client: redis.Redis, settings: Settings, doc_id: str) -> dict[str, str] | None:
    """The published entry of a document, found by its id or an unambiguous id prefix.

    The published-stream sink keeps a marker key per (id, enricher version) holding the
    entry id, so no stream scan is needed. The newest enricher version wins.
    """
    prefix = f"{settings.streams.prefix}:published-id:"
    keys = sorted(client.scan_iter(match=f"{prefix}{doc_id}*", count=1000))
    ids = {str(k).removeprefix(prefix).split(":", 1)[0] for k in keys}
    if len(ids) > 1:
        raise RetryError(f"{doc_id!r} matches {len(ids)} documents; give more of the id")
    if not ids:
        return None
    entries: list[Any] = []
    for key in keys:
        entry_id = client.get(key)
        if entry_id:
            got: Any = client.xrange(settings.streams.published, min=entry_id, max=entry_id)
            entries += got
    if not entries:
        return None  # trimmed by retention
    entry_id, fields = max(entries, key=lambda e: e[0])
    return {"entry_id": entry_id, **fields}
