"""The Node.js example consumer reads what the publish service writes (a non-Python client)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from services.publish.sinks.redis_stream import RedisStreamSink
from shared.models import EnrichedRecord
from shared.settings import Settings
from tests.factories import make_entity, make_record

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "node-consumer"
NODE = shutil.which("node") or "/usr/bin/node"


@pytest.fixture(scope="module")
def node_example() -> Path:
    """The example folder with its locked dependencies installed (``npm ci`` once)."""
    if not (EXAMPLE / "node_modules" / "redis").is_dir():
        npm = shutil.which("npm")
        assert npm, "npm is needed to install the example's dependencies"
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=EXAMPLE,
            check=True,
            timeout=300,
            capture_output=True,
        )
    return EXAMPLE


def _record() -> EnrichedRecord:
    title = "Putin and Venezuela's elites"
    return make_record(
        "MOSCOW, Jan 28 - Vladimir Putin met Venezuela's elites in Moscow.",
        title=title,
        enrichment_title=title,
        version="1.0.0",
        path="putin.txt",
        entities=[
            make_entity("Putin", "PERSON", salience=0.9, start=26),
            make_entity("Venezuela", "GPE", start=36, ids={"iso3166": "VE"}),
        ],
    )


def _run(settings: Settings, example: Path, group: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "REDIS_URL": settings.redis_url.get_secret_value(),
        "STREAM": settings.streams.published,
        "GROUP": group,
    }
    return subprocess.run(
        [NODE, "consumer.mjs", "--once"],
        cwd=example,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_node_consumer_reads_published_records(
    settings: Settings, redis_client: aioredis.Redis, node_example: Path
) -> None:
    record = _record()
    sink = RedisStreamSink(redis_client, settings.streams)
    (stream_id,) = await sink.write([record])

    done = _run(settings, node_example, "node-test")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(lines) == 1, done.stdout
    (line,) = lines
    assert line["id"] == record.id
    assert line["stream_id"] == stream_id
    assert line["title"] == "Putin and Venezuela's elites"
    assert "Putin" in line["entities"]

    # Acked: the group has nothing pending and a second run prints nothing.
    pending = await redis_client.xpending(settings.streams.published, "node-test")
    assert pending["pending"] == 0
    again = _run(settings, node_example, "node-test")
    assert again.returncode == 0 and again.stdout == "", again.stderr

    # A new group starts from the beginning of the stream, independently.
    other = _run(settings, node_example, "another-app")
    assert [json.loads(x)["id"] for x in other.stdout.splitlines()] == [record.id]
