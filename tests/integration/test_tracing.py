"""OpenTelemetry (optional, off by default): with it on, a service exports spans of its
message handling over OTLP/HTTP to the configured collector."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import redis

from shared.settings import Settings
from shared.wire import encode_record
from tests.conftest import service_env
from tests.factories import make_record
from tests.http_capture import CaptureServer, Reply
from tests.pipeline import jsonl_records, wait_for

pytestmark = pytest.mark.integration


def test_publish_exports_spans_when_enabled(
    settings: Settings, tmp_path: Path, http_capture: CaptureServer
) -> None:
    collector = http_capture  # an OTLP/HTTP collector that accepts everything
    collector.answer(Reply(200, headers={"Content-Type": "application/x-protobuf"}))
    env = service_env(settings)
    env.update(
        {
            "DROPWIRE_OTEL_ENABLED": "true",
            "DROPWIRE_OTEL_ENDPOINT": collector.url,
            "OTEL_BSP_SCHEDULE_DELAY": "200",
        }
    )
    log = (tmp_path / "publish.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "publish"], env=env, stdout=log, stderr=log
    )
    client = redis.Redis.from_url(settings.redis_url.get_secret_value())
    try:
        record = make_record("Traced report\n\nVladimir Putin in Moscow.\n")
        client.xadd(settings.streams.enriched, encode_record(record))  # type: ignore[arg-type]
        wait_for(lambda: jsonl_records(settings.outbox), what="the record")
        wait_for(lambda: collector.requests, what="an OTLP export")
    finally:
        proc.terminate()
        proc.wait(30)
        client.close()
    export = collector.requests[0]
    assert export.path == "/v1/traces"
    assert b"dropwire-publish" in export.body  # the service.name resource attribute
    assert settings.streams.enriched.encode() in export.body  # the span names its stream
