"""/metrics and /health of a running service, and readiness following Redis."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from shared.embedded import EmbeddedRedis
from shared.settings import Settings
from tests.conftest import service_env
from tests.pipeline import wait_for

pytestmark = pytest.mark.integration


def _get(port: int, path: str) -> httpx.Response | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2)
    except httpx.HTTPError:
        return None


def test_health_and_metrics_follow_redis(settings: Settings, tmp_path: Path) -> None:
    redis = EmbeddedRedis(tmp_path / "own-redis").start()  # ours to stop and restart
    own = settings.model_copy(update={"redis_url": SecretStr(redis.url)})
    port = own.ingest_http_port
    log = (tmp_path / "ingest.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "ingest"],
        env=service_env(own),
        stdout=log,
        stderr=log,
    )
    try:
        ready = wait_for(
            lambda: (r := _get(port, "/health/ready")) is not None and r.status_code == 200 and r,
            what="ready",
        )
        assert ready.json() == {"ready": True, "checks": {"redis": True, "groups": True}}
        live = _get(port, "/health/live")
        assert live is not None and live.status_code == 200

        (own.inbox / "a.txt").write_text("Title\n\nSome text about Moscow.\n")
        (own.inbox / "empty.txt").write_text("")

        def scraped() -> str | None:
            r = _get(port, "/metrics")
            text = r.text if r is not None else ""
            wanted = (
                'dropwire_files_total{outcome="failed",reason="empty"} 1.0',
                'dropwire_files_total{outcome="accepted",reason=""} 1.0',
            )
            return text if all(w in text for w in wanted) else None

        metrics = wait_for(scraped, what="file counters")
        assert f'dropwire_stream_length{{stream="{own.streams.raw}"}}' in metrics
        assert "dropwire_file_bytes_total" in metrics

        redis.stop()
        wait_for(
            lambda: (r := _get(port, "/health/ready")) is not None and r.status_code == 503,
            what="not ready without Redis",
        )
        live = _get(port, "/health/live")
        assert live is not None and live.status_code == 200  # alive, just not ready

        redis.start()  # same port, same AOF folder
        wait_for(
            lambda: (r := _get(port, "/health/ready")) is not None and r.status_code == 200,
            what="ready again",
        )
        assert proc.poll() is None
    finally:
        proc.terminate()
        assert proc.wait(30) == 0
        redis.stop()
