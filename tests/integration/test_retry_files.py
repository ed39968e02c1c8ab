"""A retried dead letter takes its file from failed/ back to archive/: `dropwire dlq retry`
records the retry in Redis, the running ingest service (the folders' one owner) moves the
file and removes its sidecar. Real Redis, real folders, the real ingest service."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from services.ingest.failed_files import (
    dead_letters_of,
    fail_archived_file,
    restore_retried_file,
)
from shared.deadletter import dead_letter_fields
from shared.models import content_id
from shared.redis import connect
from shared.settings import Settings
from tests.conftest import service_env
from tests.pipeline import wait_for

pytestmark = pytest.mark.integration

BODY = b"Report\n\nVladimir Putin met officials in Moscow.\n"
DOC_ID = content_id(BODY)


class Ingest:
    """`dropwire ingest` in a child process, its JSON log in a file."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.settings = settings
        self.log_path = log_path
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "ingest"],
                env=service_env(settings),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(self._ready, timeout=30, what="ingest ready")

    def _ready(self) -> bool:
        try:
            url = f"http://127.0.0.1:{self.settings.ingest_http_port}/health/ready"
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def events(self, name: str) -> list[dict[str, Any]]:
        found = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == name:
                found.append(event)
        return found

    def stop(self) -> int:
        self.process.terminate()
        try:
            return self.process.wait(30)
        finally:
            if self.process.poll() is None:
                self.process.kill()


@pytest.fixture
def ingest(settings: Settings, tmp_path: Path) -> Iterator[Ingest]:
    service = Ingest(settings, tmp_path / "ingest.log")
    try:
        yield service
    finally:
        assert service.stop() == 0


@pytest.fixture
def client(settings: Settings) -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(settings.redis_url.get_secret_value(), decode_responses=True)
    yield c
    c.close()


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env=service_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _archive(settings: Settings, rel: str, data: bytes = BODY) -> Path:
    path = settings.archive_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _dead_letter(
    client: redis.Redis,
    settings: Settings,
    source_file: str = "news/a.txt",
    stage: str = "enrich",
    error_type: str = "ValueError",
) -> str:
    """What enrich adds when it cannot handle the document: the entry to re-queue, and the
    archived file it came from."""
    fields = dead_letter_fields(
        stage=stage,
        error_type=error_type,
        message=f"{stage} could not handle it",
        doc_id=DOC_ID,
        source_file=source_file,
        entry={"id": DOC_ID, "schema_version": "1.0", "document": "{}"},
    )
    return str(client.xadd(settings.streams.dead_letter, fields))  # type: ignore[arg-type]


def _files(root: Path) -> set[str]:
    return (
        {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
        if root.exists()
        else set()
    )


def test_retry_moves_the_file_back_to_archive_and_a_new_failure_moves_it_again(
    settings: Settings, client: redis.Redis, ingest: Ingest
) -> None:
    _archive(settings, "news/a.txt")
    first = _dead_letter(client, settings)
    wait_for(lambda: _files(settings.failed_dir) == {"news/a.txt", "news/a.txt.error.json"})
    assert _files(settings.archive_dir) == set()

    proc = _cli(settings, "dlq", "retry", first)

    assert proc.returncode == 0, proc.stderr
    assert "re-queued to" in proc.stdout
    assert "ingest moves news/a.txt from failed/ back to archive/" in proc.stdout
    wait_for(lambda: _files(settings.archive_dir) == {"news/a.txt"}, what="file restored")
    wait_for(lambda: _files(settings.failed_dir) == set(), what="failed/ emptied")
    assert (settings.archive_dir / "news" / "a.txt").read_bytes() == BODY
    [(_id, requeued)] = client.xrange(settings.streams.raw)
    assert requeued["id"] == DOC_ID
    assert client.xlen(settings.streams.dead_letter) == 0
    [restored] = ingest.events("ingest.file_restored")
    assert restored["dlq_id"] == first and restored["renamed"] is False

    # The retried document fails again: its file goes back to failed/, with the new reason.
    _dead_letter(client, settings, stage="publish:webhook", error_type="Rejected")
    wait_for(lambda: (settings.failed_dir / "news" / "a.txt.error.json").exists())
    sidecar = json.loads((settings.failed_dir / "news" / "a.txt.error.json").read_text())
    assert (sidecar["stage"], sidecar["reason"]) == ("publish:webhook", "Rejected")
    assert _files(settings.archive_dir) == set()


def test_retry_when_archive_name_is_taken_restores_beside_it_and_never_moves_the_other(
    settings: Settings, client: redis.Redis, ingest: Ingest
) -> None:
    _archive(settings, "news/a.txt")
    first = _dead_letter(client, settings)
    wait_for(lambda: (settings.failed_dir / "news" / "a.txt").exists(), what="file failed")
    # Meanwhile another document of the same name was ingested and archived.
    other = _archive(settings, "news/a.txt", b"Another report\n\nDifferent text.\n")

    assert _cli(settings, "dlq", "retry", first).returncode == 0

    tagged = f"news/a.{DOC_ID[:12]}.txt"
    wait_for(lambda: _files(settings.archive_dir) == {"news/a.txt", tagged}, what="restored")
    wait_for(lambda: _files(settings.failed_dir) == set(), what="failed/ emptied")
    assert other.read_bytes() == b"Another report\n\nDifferent text.\n"
    assert (settings.archive_dir / tagged).read_bytes() == BODY
    [restored] = ingest.events("ingest.file_restored")
    assert restored["renamed"] is True and restored["moved_to"].endswith(tagged)

    # It fails again: the dead letter still names news/a.txt (the entry was re-queued as it
    # was), yet the file that moves is the document's own, not the one that took the name.
    _dead_letter(client, settings)
    wait_for(lambda: _files(settings.archive_dir) == {"news/a.txt"}, what="tagged file failed")
    assert other.read_bytes() == b"Another report\n\nDifferent text.\n"
    [sidecar_path] = (settings.failed_dir / "news").glob("*.error.json")
    sidecar = json.loads(sidecar_path.read_text())
    assert sidecar["doc_id"] == DOC_ID
    assert (sidecar_path.parent / sidecar["stored_as"]).read_bytes() == BODY


def test_retry_of_a_file_someone_removed_from_failed_still_requeues_and_says_so(
    settings: Settings, client: redis.Redis, ingest: Ingest
) -> None:
    _archive(settings, "news/a.txt")
    first = _dead_letter(client, settings)
    wait_for(lambda: (settings.failed_dir / "news" / "a.txt.error.json").exists())
    for path in (settings.failed_dir / "news").iterdir():  # a person cleaned up failed/
        path.unlink()

    proc = _cli(settings, "dlq", "retry", first)

    assert proc.returncode == 0, proc.stderr
    assert "re-queued to" in proc.stdout
    [(_id, requeued)] = client.xrange(settings.streams.raw)
    assert requeued["id"] == DOC_ID
    assert client.xlen(settings.streams.dead_letter) == 0
    [missing] = wait_for(lambda: ingest.events("ingest.retry_file_missing"), what="the log")
    assert missing["dlq_id"] == first and missing["source_file"] == "news/a.txt"
    assert missing["level"] == "warning"
    assert _files(settings.archive_dir) == set()
    assert _files(settings.failed_dir) == set()
    # The retry was handled: nothing is left pending for ingest.
    group = settings.streams.retried_group
    wait_for(lambda: client.xpending(settings.streams.retried, group)["pending"] == 0)


async def test_file_stays_in_failed_while_another_dead_letter_of_the_document_remains(
    settings: Settings, client: redis.Redis
) -> None:
    """Two sinks dead-lettered the same record: retrying one leaves the file in failed/ (the
    document is still failed), its sidecar telling the other; retrying both restores it."""
    _archive(settings, "a.txt")
    jsonl = _dead_letter(client, settings, "a.txt", stage="publish:jsonl", error_type="OSError")
    webhook = _dead_letter(client, settings, "a.txt", stage="publish:webhook", error_type="Gone")
    for dlq_id in (jsonl, webhook):
        fail_archived_file({"dlq_id": dlq_id, **_letter(client, settings, dlq_id)}, settings)
    assert _files(settings.failed_dir) == {"a.txt", "a.txt.error.json"}
    redis_async = connect(settings)
    try:
        for dlq_id in (jsonl, webhook):
            assert _cli(settings, "dlq", "retry", dlq_id).returncode == 0
            [(_id, event)] = [
                e for e in client.xrange(settings.streams.retried) if e[1]["dlq_id"] == dlq_id
            ]
            still = await dead_letters_of(redis_async, settings.streams, DOC_ID, "a.txt")
            restore_retried_file(event, settings, still)
            if dlq_id == jsonl:
                assert [d["dlq_id"] for d in still] == [webhook]
                assert _files(settings.failed_dir) == {"a.txt", "a.txt.error.json"}
                sidecar = json.loads((settings.failed_dir / "a.txt.error.json").read_text())
                assert (sidecar["stage"], sidecar["reason"]) == ("publish:webhook", "Gone")
                assert _files(settings.archive_dir) == set()
    finally:
        await redis_async.aclose()
    assert _files(settings.failed_dir) == set()
    assert _files(settings.archive_dir) == {"a.txt"}


async def test_entry_failing_again_before_ingest_sees_the_retry_keeps_its_file_in_failed(
    settings: Settings, client: redis.Redis
) -> None:
    """The retried entry is dead-lettered again before ingest handles the retry: the new
    dead letter finds no file in archive/, so the retry must not move it there either."""
    _archive(settings, "a.txt")
    first = _dead_letter(client, settings, "a.txt")
    fail_archived_file(_letter(client, settings, first), settings)
    assert _cli(settings, "dlq", "retry", first).returncode == 0
    again = _dead_letter(client, settings, "a.txt", error_type="MaxDeliveriesExceeded")
    assert fail_archived_file(_letter(client, settings, again), settings) is None

    [(_id, event)] = client.xrange(settings.streams.retried)
    redis_async = connect(settings)
    try:
        still = await dead_letters_of(redis_async, settings.streams, DOC_ID, "a.txt")
    finally:
        await redis_async.aclose()
    assert restore_retried_file(event, settings, still) is None

    assert _files(settings.failed_dir) == {"a.txt", "a.txt.error.json"}
    sidecar = json.loads((settings.failed_dir / "a.txt.error.json").read_text())
    assert sidecar["reason"] == "MaxDeliveriesExceeded"
    assert _files(settings.archive_dir) == set()


def _letter(client: redis.Redis, settings: Settings, dlq_id: str) -> dict[str, str]:
    [(_id, fields)] = client.xrange(settings.streams.dead_letter, min=dlq_id, max=dlq_id)
    return dict(fields)


def test_a_dead_letter_moves_only_a_file_holding_its_document(settings: Settings) -> None:
    """The archived name may hold another document by now; that file is not moved."""
    other = _archive(settings, "a.txt", b"Another document\n")
    entry = dead_letter_fields(
        stage="enrich", error_type="E", message="m", doc_id=DOC_ID, source_file="a.txt"
    )
    assert fail_archived_file(entry, settings) is None
    assert other.exists() and _files(settings.failed_dir) == set()
