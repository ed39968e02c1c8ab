"""Keeps the folders truthful: when a later stage dead-letters a document, its source file
moves from archive/ to failed/ with the reason, like a file ingest itself could not read.

Ingest owns the folders (in compose it is the only service with those volumes), so it
follows the dead-letter stream in its own consumer group.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import structlog

from services.ingest.files import move_to_failed
from shared.settings import Settings

log = structlog.stdlib.get_logger("dropwire.ingest")


def _text(entry: dict[str, Any], key: str) -> str:
    value = entry.get(key, "")
    return value.decode() if isinstance(value, bytes) else str(value)


def fail_archived_file(entry: dict[str, Any], settings: Settings) -> Path | None:
    """Move the archived file named by a dead-letter entry to failed/. Returns where it went,
    or None when there is nothing to move (ingest's own failures, or already moved)."""
    stage, source = _text(entry, "stage"), _text(entry, "source_file")
    if stage == "ingest" or not source:
        return None
    archive = settings.archive_dir.resolve()
    path = (archive / source).resolve()
    if archive not in path.parents:  # a dead letter must never move files outside the archive
        log.warning("failed_files.outside_archive", source_file=source)
        return None
    if not path.is_file():
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
