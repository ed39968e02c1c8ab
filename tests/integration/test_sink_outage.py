"""A sink that is down holds up nobody: with the webhook failing, the JSONL sink and the
published stream keep flowing; when the webhook returns it receives every record once."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis

from services.publish.sinks.webhook import verify_signature
from shared.settings import Settings
from shared.wire import encode_record
from tests.conftest import service_env
from tests.factories import make_record
from tests.pipeline import jsonl_records, published_entries, wait_for

pytestmark = pytest.mark.integration
SECRET = "outage-test-secret"


def test_webhook_outage_does_not_hold_up_other_sinks(settings: Settings, tmp_path: Path) -> None:
    down = threading.Event()
    down.set()
    received: Counter[str] = Counter()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if down.is_set():
                self.send_response(503)
                self.end_headers()
                return
            assert verify_signature(SECRET, body, self.headers["X-Dropwire-Signature"])
            received[self.headers["X-Dropwire-Id"]] += 1
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = service_env(settings)
    env.update(
        {
            "DROPWIRE_SINKS": "jsonl,redis_stream,webhook",
            "DROPWIRE_WEBHOOK_URL": f"http://127.0.0.1:{server.server_port}/hook",
            "DROPWIRE_WEBHOOK_SECRET": SECRET,
            "DROPWIRE_WEBHOOK_MAX_ATTEMPTS": "1000",
            "DROPWIRE_WEBHOOK_BACKOFF_SECONDS": "0.05",
        }
    )
    log = (tmp_path / "publish.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "publish"], env=env, stdout=log, stderr=log
    )
    client = redis.Redis.from_url(settings.redis_url.get_secret_value())
    try:
        records = [
            make_record(
                f"Report {i}\n\nVladimir Putin spoke in Moscow.\n", version="t", path=f"r{i}.txt"
            )
            for i in range(5)
        ]
        for record in records:
            client.xadd(settings.streams.enriched, encode_record(record))  # type: ignore[arg-type]
        wait_for(lambda: len(jsonl_records(settings.outbox)) == 5, what="JSONL despite outage")
        wait_for(lambda: len(published_entries(settings)) == 5, what="stream despite outage")
        assert not received
        down.clear()  # the webhook comes back
        wait_for(lambda: len(received) == 5, what="webhook deliveries after recovery")
        assert set(received) == {r.id for r in records}
        assert all(n == 1 for n in received.values())
        assert client.xlen(settings.streams.dead_letter) == 0
    finally:
        proc.terminate()
        proc.wait(30)
        server.shutdown()
        client.close()
