"""A sink that is down holds up nobody: with the webhook failing, the JSONL sink and the
published stream keep flowing; when the webhook returns it receives every record once."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import redis

from services.publish.sinks.webhook import verify_signature
from shared.settings import Settings
from shared.wire import encode_record
from tests.conftest import service_env
from tests.factories import make_record
from tests.http_capture import CaptureServer
from tests.pipeline import jsonl_records, published_entries, wait_for

pytestmark = pytest.mark.integration
SECRET = "outage-test-secret"


def test_webhook_outage_does_not_hold_up_other_sinks(
    settings: Settings, tmp_path: Path, http_capture: CaptureServer
) -> None:
    http_capture.answer(503)  # the webhook is down

    def received() -> Counter[str]:
        """Deliveries the webhook accepted, by record id."""
        accepted = [r for r in http_capture.requests if r.status == 204]
        assert all(
            verify_signature(SECRET, r.body, r.header("X-Dropwire-Signature")) for r in accepted
        )
        return Counter(r.header("X-Dropwire-Id") for r in accepted)

    env = service_env(settings)
    env.update(
        {
            "DROPWIRE_SINKS": "jsonl,redis_stream,webhook",
            "DROPWIRE_WEBHOOK_URL": f"{http_capture.url}/hook",
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
        assert not received()
        http_capture.answer(204)  # the webhook comes back
        wait_for(lambda: len(received()) == 5, what="webhook deliveries after recovery")
        assert set(received()) == {r.id for r in records}
        assert all(n == 1 for n in received().values())
        assert {r.path for r in http_capture.requests} == {"/hook"}
        assert client.xlen(settings.streams.dead_letter) == 0
    finally:
        proc.terminate()
        proc.wait(30)
        client.close()
