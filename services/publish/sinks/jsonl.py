"""JSONL sink: one line per record in ``<outbox>/<YYYY-MM-DD>.jsonl`` (UTC publication day).

Each batch is one ``write`` on a file opened with O_APPEND, then fsync, so lines are never
interleaved or half-written by us. Records already in the day's file are skipped.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from services.publish.sinks.base import Rejected, dedup_key
from shared.models import EnrichedRecord


class JsonlSink:
    name = "jsonl"

    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox
        self._day: str | None = None
        self._written: set[str] = set()

    def path_for(self, day: str) -> Path:
        return self.outbox / f"{day}.jsonl"

    def _load_index(self, path: Path) -> set[str]:
        keys: set[str] = set()
        if not path.exists():
            return keys
        with path.open("rb") as fh:
            for line in fh:
                try:
                    obj = json.loads(line)
                    keys.add(f"{obj['id']}:{obj['enrichment']['enricher']['version']}")
                except (ValueError, KeyError, TypeError):
                    continue  # a torn last line from a crash elsewhere is not ours to fix
        return keys

    def _write_sync(self, records: Sequence[EnrichedRecord]) -> list[str | Rejected]:
        day = datetime.now(UTC).date().isoformat()
        path = self.path_for(day)
        if day != self._day:
            self.outbox.mkdir(parents=True, exist_ok=True)
            self._day, self._written = day, self._load_index(path)
        lines: list[bytes] = []
        for record in records:
            key = dedup_key(record)
            if key in self._written:
                continue
            self._written.add(key)
            lines.append(record.model_dump_json().encode() + b"\n")
        if lines:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, b"".join(lines))
                os.fsync(fd)
            finally:
                os.close(fd)
        where: list[str | Rejected] = [str(path)] * len(records)
        return where

    async def start(self) -> None:
        return None

    async def write(self, records: Sequence[EnrichedRecord]) -> list[str | Rejected]:
        return await asyncio.to_thread(self._write_sync, records)

    async def close(self) -> None:
        return None
