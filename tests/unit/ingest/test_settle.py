"""When a file first seen by the watcher counts as unchanged since: its mtime, within limits."""

from __future__ import annotations

import time

from services.ingest.files import FileState
from services.ingest.ingestor import _unchanged_since


def _state(mtime: float) -> FileState:
    ns = int(mtime * 1e9)
    return FileState(size=10, mtime_ns=ns if ns % 1_000_000_000 else ns + 1)


def test_a_file_finished_long_ago_counts_as_settled_at_once() -> None:
    since = _unchanged_since(_state(time.time() - 3600), now=100.0, settle=0.2)
    assert since <= 100.0 - 0.2


def test_a_file_written_just_now_counts_from_its_mtime() -> None:
    since = _unchanged_since(_state(time.time() - 0.05), now=100.0, settle=0.2)
    assert 100.0 - 0.2 < since < 100.0


def test_an_mtime_in_the_future_counts_from_now() -> None:
    assert _unchanged_since(_state(time.time() + 60), now=100.0, settle=0.2) == 100.0


def test_whole_second_timestamps_say_too_little_and_count_from_now() -> None:
    coarse = FileState(size=10, mtime_ns=int(time.time() - 3600) * 1_000_000_000)
    assert _unchanged_since(coarse, now=100.0, settle=0.2) == 100.0


def test_an_unreadable_file_counts_from_now() -> None:
    assert _unchanged_since(None, now=100.0, settle=0.2) == 100.0
