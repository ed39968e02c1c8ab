"""Keeps the folders truthful: when a later stage dead-letters a document, its source file
moves from archive/ to failed/ with the reason, like a file ingest itself could not read;
when an operator retries that dead letter (``dropwire dlq retry``), the file moves back.

Ingest owns the folders (in compose it is the only service with those volumes), so it
follows the dead-letter stream and the retried stream, each in its own consumer group. The
operator command only records the retry in Redis; it never touches a folder.

Both moves run under one lock in the ingest service (``folders_lock``), and a retried file
stays in failed/ while another dead letter of the same document is still there (a second
sink that failed too, or the retried entry already failing again), so the two followers
cannot leave a file in the wrong folder whatever order their entries arrive in.
"""

from __future__ import annotations

import glob
import json
from pathlib import Path
from typing import Any

import structlog
from redis.asyncio import Redis

from services.ingest.files import (
    free_destination,
    move_file,
    move_to_failed,
    write_sidecar,
)
from shared.models import content_id
from shared.settings import Settings
from shared.streams import StreamNames

log = structlog.stdlib.get_logger("dropwire.ingest")


def _text(entry: dict[str, Any], key: str) -> str:
    value = entry.get(key, "")
    return value.decode() if isinstance(value, bytes) else str(value)


def _inside(root: Path, rel: str) -> Path | None:
    """``root / rel`` when it stays inside ``root`` (a stream entry must never name a file
    elsewhere on the machine), else None."""
    path = (root / rel).resolve()
    return path if root in path.parents else None


def _holds(path: Path, doc_id: str) -> bool:
    """Whether ``path`` is a regular file whose content is document ``doc_id``."""
    if path.is_symlink() or not path.is_file():
        return False
    try:
        return content_id(path.read_bytes()) == doc_id
    except OSError:
        return False


def _archived_copy(archive: Path, source: str, doc_id: str) -> Path | None:
    """The archived file of a document: ``archive/<source>``, or the tagged name beside it
    (``name.<doc_id[:12]>.ext``) that a retried file gets when ``<source>`` was taken by
    another file meanwhile. With a document id, only a file holding that content counts, so
    a dead letter never moves another document's file that took the name."""
    path = _inside(archive, source)
    if path is None:
        log.warning("failed_files.outside_archive", source_file=source)
        return None
    if not doc_id:
        return path if path.is_file() else None
    tagged = f"{glob.escape(path.stem)}.{doc_id[:12]}*{glob.escape(path.suffix)}"
    for candidate in [path, *sorted(path.parent.glob(tagged))]:
        if _holds(candidate, doc_id):
            return candidate
    return None


def fail_archived_file(entry: dict[str, Any], settings: Settings) -> Path | None:
    """Move the archived file named by a dead-letter entry to failed/. Returns where it went,
    or None when there is nothing to move (ingest's own failures, or already moved)."""
    stage, source = _text(entry, "stage"), _text(entry, "source_file")
    if stage == "ingest" or not source:
        return None
    archive = settings.archive_dir.resolve()
    path = _archived_copy(archive, source, _text(entry, "doc_id"))
    if path is None:
        return None
    dest = move_to_failed(
        path,
        archive,
        settings.failed_dir.resolve(),
        reason=_text(entry, "error_type") or "failed",
        message=_text(entry, "message"),
        doc_id=_text(entry, "doc_id") or None,
        stage=stage,
    )
    log.warning(
        "ingest.file_failed_downstream",
        doc_id=_text(entry, "doc_id"),
        stage=stage,
        reason=_text(entry, "error_type"),
        moved_to=str(dest),
    )
    return dest


def _failed_copies(failed: Path, source: str, doc_id: str) -> list[tuple[Path, dict[str, Any]]]:
    """Sidecars in failed/ of a document that failed after ingest, with what they say. They
    sit where ``source`` would (``failed/<source>``, or a tagged name beside it)."""
    path = _inside(failed, source)
    if path is None or not path.parent.is_dir():
        return []
    pattern = f"{glob.escape(path.stem)}*{glob.escape(path.suffix)}.error.json"
    found = []
    for sidecar in sorted(path.parent.glob(pattern)):
        try:
            payload = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(payload, dict) or payload.get("stage") in (None, "ingest"):
            continue
        if (payload.get("doc_id") != doc_id) if doc_id else (payload.get("file") != source):
            continue
        stored = str(payload.get("stored_as") or "")
        if not stored or Path(stored).name != stored:  # a name beside the sidecar, no path
            continue
        found.append((sidecar, payload))
    return found


def _entry_order(dlq_id: str) -> tuple[int, int]:
    ms, _, seq = dlq_id.partition("-")
    return (int(ms), int(seq or 0)) if ms.isdigit() and (seq or "0").isdigit() else (0, 0)


def restore_retried_file(
    event: dict[str, Any], settings: Settings, still_dead: list[dict[str, Any]]
) -> Path | None:
    """Move the file of a retried dead letter from failed/ back to archive/ and remove its
    sidecar. Returns where it went, or None when it stays put:

    * nothing of it in failed/ (a person cleaned it up, or it never got there): the retry
      itself went ahead all the same; logged as ``ingest.retry_file_missing``;
    * ``still_dead`` names other dead letters of the same document: it has not succeeded
      yet, so the file stays in failed/, its sidecar now telling the newest of them.

    ``archive/<source>`` taken meanwhile by another file: the file goes back under a free
    tagged name beside it (``name.<doc_id[:12]>.ext``); nothing is overwritten.
    """
    stage, source = _text(event, "stage"), _text(event, "source_file")
    doc_id, dlq_id = _text(event, "doc_id"), _text(event, "dlq_id")
    if stage == "ingest" or not source:
        return None
    archive, failed = settings.archive_dir.resolve(), settings.failed_dir.resolve()
    target = _inside(archive, source)
    if target is None:
        log.warning("failed_files.outside_archive", source_file=source)
        return None
    present: list[tuple[Path, Path, dict[str, Any]]] = []
    for sidecar, payload in _failed_copies(failed, source, doc_id):
        stored = sidecar.parent / str(payload["stored_as"])
        if stored.is_file() and not stored.is_symlink():
            present.append((sidecar, stored, payload))
        elif not still_dead:
            sidecar.unlink(missing_ok=True)  # its file is gone: nothing left for it to explain
    if not present:
        log.warning("ingest.retry_file_missing", doc_id=doc_id, dlq_id=dlq_id, source_file=source)
        return None
    if still_dead:
        newest = max(still_dead, key=lambda d: _entry_order(_text(d, "dlq_id")))
        for sidecar, _stored, payload in present:
            write_sidecar(
                sidecar,
                {
                    **payload,
                    "stage": _text(newest, "stage"),
                    "reason": _text(newest, "error_type") or "failed",
                    "message": _text(newest, "message"),
                    "failed_at": _text(newest, "failed_at") or payload.get("failed_at"),
                },
            )
        log.info(
            "ingest.retry_file_kept",
            doc_id=doc_id,
            dlq_id=dlq_id,
            source_file=source,
            still_dead=[_text(d, "dlq_id") for d in still_dead],
        )
        return None
    restored: list[Path] = []
    for sidecar, stored, _payload in present:
        dest = move_file(stored, free_destination(target, (doc_id or "retried")[:12]))
        sidecar.unlink(missing_ok=True)  # after the move: a crash between leaves the file
        restored.append(dest)
        log.info(
            "ingest.file_restored",
            doc_id=doc_id,
            dlq_id=dlq_id,
            source_file=source,
            moved_to=str(dest),
            renamed=dest != target,
        )
    return restored[0]


async def dead_letters_of(
    redis: Redis, names: StreamNames, doc_id: str, source_file: str
) -> list[dict[str, Any]]:
    """Dead letters of a document from a stage after ingest still in the dead-letter stream
    (by document id, or by source file when there is none), each with its ``dlq_id``."""
    found: list[dict[str, Any]] = []
    start = "-"
    while True:
        chunk: Any = await redis.xrange(names.dead_letter, min=start, max="+", count=500)
        for entry_id, fields in chunk:
            if _text(fields, "stage").startswith("ingest"):  # ingest's own, or its followers'
                continue
            same = (
                _text(fields, "doc_id") == doc_id
                if doc_id
                else _text(fields, "source_file") == source_file
            )
            if same:
                found.append({**fields, "dlq_id": entry_id})
        if len(chunk) < 500:
            return found
        start = f"({chunk[-1][0]}"
