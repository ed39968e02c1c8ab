"""OpenTelemetry (optional, off by default): with it on, a service exports spans of its
message handling over OTLP/HTTP to the configured collector."""

from __future__ import annotations

import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis

from shared.settings import Settings
from shared.wire import encode_record
from tests.conftest import service_env
from tests.factories import make_record
from tests.pipeline import jsonl_records, wait_for

pytestmark = pytest.mark.integration


def test_publish_exports_spans_when_enabled(settings: Settings, tmp_path: Path) -> None:
    bodies: list[tuple[str, bytes]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = service_env(settings)
    env.update(
        {
            "DROPWIRE_OTEL_ENABLED": "true",
            "DROPWIRE_OTEL_ENDPOINT": f"http://127.0.0.1:{server.server_port}",
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
        wait_for(lambda: bodies, what="an OTLP export")
    finally:
        proc.terminate()
        proc.wait(30)
        server.shutdown()
        client.close()
    path, body = bodies[0]
    assert path == "/v1/traces"
    assert b"dropwire-publish" in body  # the service.name resource attribute
    assert settings.streams.enriched.encode() in body  # the span names the stream it consumed
