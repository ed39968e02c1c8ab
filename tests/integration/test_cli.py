"""The operator commands against a real Redis holding real records."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from services.publish.sinks.redis_stream import RedisStreamSink
from shared.deadletter import dead_letter_fields
from shared.models import EnrichedRecord
from shared.settings import Settings
from shared.streams import ensure_groups
from shared.wire import decode_raw
from tests.conftest import service_env
from tests.factories import make_entity, make_record

pytestmark = pytest.mark.integration


def _cli(settings: Settings, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env=service_env(settings),
        capture_output=True,
        text=True,
        timeout=180,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def _record(title: str) -> EnrichedRecord:
    putin = make_entity("Vladimir Putin", "PERSON", salience=0.9, start=len(title) + 2)
    return make_record(
        f"{title}\n\nVladimir Putin met Nicolas Maduro.\n",
        title=title,
        enrichment_title=title,
        version="t",
        entities=[putin],
    )


async def test_status_reports_streams_groups_and_dead_letters(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    names = settings.streams
    await ensure_groups(redis_client, names)
    await RedisStreamSink(redis_client, names).write([_record("One"), _record("Two")])
    await redis_client.xadd(names.raw, {"id": "waiting"})
    await redis_client.xadd(
        names.dead_letter,
        dead_letter_fields(stage="enrich", error_type="E", message="m", doc_id="x"),
    )
    (settings.inbox / "waiting.txt").write_text("Title\n\nbody\n")

    out = json.loads(_cli(settings, "status", "--json").stdout)

    assert out["streams"][names.published] == 2
    assert out["streams"][names.raw] == 1
    assert out["dead_letters"] == 1
    assert out["published_last_minute"] == 2
    assert out["inbox_waiting"] == 1
    enrich = next(g for g in out["groups"] if g["group"] == names.enrich_group)
    assert enrich["lag"] == 1 and enrich["pending"] == 0
    table = _cli(settings, "status").stdout
    assert names.published in table and "dead letters: 1" in table


async def test_tail_prints_one_line_per_record(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    await RedisStreamSink(redis_client, settings.streams).write([_record("Venezuela report")])
    line = _cli(settings, "tail", "--from-start", "--count", "1").stdout.strip()
    assert "Venezuela report" in line and "Vladimir Putin (PERSON)" in line
    raw = _cli(settings, "tail", "--from-start", "--count", "1", "--json").stdout
    assert json.loads(raw)["metadata"]["title"] == "Venezuela report"


async def test_dlq_retry_requeues_to_the_failed_stage_and_drop_deletes(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    names = settings.streams
    entry = {"id": "doc1", "schema_version": "1.0", "document": "{}"}
    first = await redis_client.xadd(
        names.dead_letter,
        dead_letter_fields(
            stage="enrich", error_type="ValueError", message="bad", doc_id="doc1", entry=entry
        ),
    )
    second = await redis_client.xadd(
        names.dead_letter,
        dead_letter_fields(
            stage="publish:webhook", error_type="Rejected", message="410", doc_id="d2"
        ),
    )
    listed = json.loads(_cli(settings, "dlq", "list", "--json").stdout)
    assert [d["dlq_id"] for d in listed] == [second, first]
    shown = json.loads(_cli(settings, "dlq", "show", first).stdout)
    assert shown["message"] == "bad"

    assert "re-queued" in _cli(settings, "dlq", "retry", first).stdout
    [(_id, fields)] = await redis_client.xrange(names.raw)
    assert fields == entry
    refused = _cli(settings, "dlq", "retry", second, check=False)
    assert refused.returncode == 1 and "carries no entry" in refused.stderr

    assert "dropped" in _cli(settings, "dlq", "drop", second).stdout
    assert await redis_client.xlen(names.dead_letter) == 0


def test_errors_are_one_line_without_traceback(settings: Settings) -> None:
    env = service_env(settings)
    env["DROPWIRE_REDIS_URL"] = "redis://127.0.0.1:1/0"
    proc = subprocess.run(
        [sys.executable, "-m", "services.cli", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("dropwire: ") and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


async def test_show_prints_the_record_with_its_entities(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    record = _record("Caracas talks")
    await RedisStreamSink(redis_client, settings.streams).write([record])
    out = _cli(settings, "show", record.id[:10]).stdout
    assert "Caracas talks" in out
    assert "Vladimir Putin met Nicolas Maduro." in out
    assert "PERSON" in out and record.id in out
    missing = _cli(settings, "show", "0000000000", check=False)
    assert missing.returncode == 1 and "no published record" in missing.stderr


async def test_ingest_paths_is_a_backfill_with_a_summary(
    settings: Settings, redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    source = tmp_path / "old-archive"
    (source / "2019").mkdir(parents=True)
    (source / "2019" / "a.txt").write_text("Report A\n\nText about Caracas.\n")
    (source / "2019" / "b.md").write_text("# Report B\n\nText about Moscow.\n")
    (source / "copy-of-a.txt").write_text("Report A\n\nText about Caracas.\n")
    (source / "empty.txt").write_text("")
    single = tmp_path / "single.txt"
    single.write_text("Single\n\nOne more file.\n")

    proc = _cli(settings, "ingest", str(source), str(single), check=False)

    assert proc.returncode == 1  # one file failed
    assert "5 files: 3 accepted, 1 duplicate, 1 failed" in proc.stdout
    assert "failed: empty.txt: empty" in proc.stderr
    raw = await redis_client.xrange(settings.streams.raw)
    assert sorted(f["id"] for _i, f in raw) == sorted({f["id"] for _i, f in raw})
    assert len(raw) == 3
    assert (source / "2019" / "a.txt").exists()  # a backfill moves nothing

    again = _cli(settings, "ingest", str(single))
    assert "1 files: 0 accepted, 1 duplicate, 0 failed" in again.stdout


async def test_replay_republishes_archived_documents(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    (settings.archive_dir / "2019").mkdir(parents=True)
    (settings.archive_dir / "2019" / "a.txt").write_text("Report A\n\nText about Caracas.\n")
    (settings.archive_dir / "b.txt").write_text("Report B\n\nText about Moscow.\n")
    assert (
        "1 files: 1 accepted"
        in _cli(settings, "ingest", str(settings.archive_dir / "b.txt")).stdout
    )

    out = _cli(settings, "replay").stdout

    assert "2 files: 2 replayed, 0 failed" in out
    raw = [decode_raw(f) for _i, f in await redis_client.xrange(settings.streams.raw)]
    assert len(raw) == 3  # b.txt was published before, and again by the replay
    assert sorted(d.source.archived_as or "" for d in raw[1:]) == ["2019/a.txt", "b.txt"]
    outside = _cli(settings, "replay", str(settings.inbox), check=False)
    assert outside.returncode == 1 and "not inside the archive" in outside.stderr
