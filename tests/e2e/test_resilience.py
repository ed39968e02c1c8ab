"""Nothing lost, nothing duplicated: killed workers, Redis restarts, SIGTERM mid-work."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from pydantic import SecretStr

from shared.embedded import EmbeddedRedis
from shared.settings import Settings
from tests.conftest import service_env
from tests.pipeline import Pipeline, jsonl_records, wait_for

pytestmark = pytest.mark.e2e

PARAGRAPH = (
    "Vladimir Putin met Nicolas Maduro in Moscow in March 2018 to discuss oil, loans and "
    "the opposition in Caracas, while officials in Washington and Brussels watched. "
)


def _long_text(i: int, paragraphs: int) -> str:
    return f"Long report {i}\n\nJane Doe\n\n" + "\n\n".join([PARAGRAPH] * paragraphs) + "\n"


def _ids(settings: Settings) -> list[str]:
    return [r["id"] for r in jsonl_records(settings.outbox)]


def _start(service: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli", service], env=env, stdout=out, stderr=out
    )


def test_worker_killed_mid_document_is_reclaimed_and_published_once(
    settings: Settings, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"claim_idle_ms": 1500, "batch_size": 1})
    env = service_env(settings)
    env.update({"DROPWIRE_CLAIM_IDLE_MS": "1500", "DROPWIRE_BATCH_SIZE": "1"})
    client = redis.Redis.from_url(settings.redis_url.get_secret_value(), decode_responses=True)
    procs = {
        "ingest": _start("ingest", env, tmp_path / "ingest.log"),
        "publish": _start("publish", env, tmp_path / "publish.log"),
    }
    victim_env = {**env, "DROPWIRE_CONSUMER_NAME": "victim"}
    survivor_env = {
        **env,
        "DROPWIRE_CONSUMER_NAME": "survivor",
        "DROPWIRE_ENRICH_HTTP_PORT": str(settings.enrich_http_port + 1),
    }
    try:
        victim = _start("enrich", victim_env, tmp_path / "victim.log")
        wait_for(lambda: "enrich.ready" in (tmp_path / "victim.log").read_text(), what="victim")
        # A document long enough that its enrichment takes seconds.
        (settings.inbox / "long.txt").write_text(_long_text(0, 400))

        def victim_holds_it() -> bool:
            pending = client.xpending(settings.streams.raw, settings.enrich_group)
            return pending["pending"] == 1 and pending["consumers"][0]["name"] == "victim"

        wait_for(victim_holds_it, what="the victim to take the document")
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        assert not jsonl_records(settings.outbox)

        procs["survivor"] = _start("enrich", survivor_env, tmp_path / "survivor.log")
        wait_for(lambda: len(_ids(settings)) == 1, timeout=120, what="the reclaimed record")
        time.sleep(2)  # nothing else arrives later
        assert len(_ids(settings)) == 1
        pending = client.xpending(settings.streams.raw, settings.enrich_group)
        assert pending["pending"] == 0
        assert "delivery.retry" in (tmp_path / "survivor.log").read_text()
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            proc.wait(30)
        client.close()


def test_redis_restart_with_pipeline_running_loses_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    server = EmbeddedRedis(tmp_path / "redis").start()
    own = settings.model_copy(update={"redis_url": SecretStr(server.url)})
    pipeline = Pipeline(own, tmp_path / "logs")
    try:
        with pipeline:
            pipeline.wait_ready()
            for i in range(3):
                (own.inbox / f"before-{i}.txt").write_text(f"Before {i}\n\nText about Moscow.\n")
            wait_for(lambda: len(_ids(own)) == 3, what="records before the restart")
            server.stop()  # Redis goes away (AOF on disk) ...
            for i in range(3):
                (own.inbox / f"during-{i}.txt").write_text(f"During {i}\n\nText about Kyiv.\n")
            time.sleep(3)
            server.start()  # ... and comes back on the same port with its data
            wait_for(lambda: len(_ids(own)) == 6, timeout=120, what="records after the restart")
            time.sleep(2)
        ids = _ids(own)
        assert len(ids) == 6 and len(set(ids)) == 6
        events = [e.get("event") for e in pipeline.log_events()]
        assert "service.exited" not in events, "no service crashed while Redis was away"
    finally:
        server.stop()


def test_sigterm_during_work_hands_back_nothing_lost(settings: Settings, tmp_path: Path) -> None:
    pipeline = Pipeline(settings, tmp_path / "logs")
    with pipeline:
        pipeline.wait_ready()
        for i in range(12):
            (settings.inbox / f"doc-{i}.txt").write_text(_long_text(i, 30))
        wait_for(lambda: len(_ids(settings)) >= 1, what="work under way")
    # Stopped mid-work (SIGTERM); a restart finishes the rest.
    assert pipeline.process is not None and pipeline.process.returncode == 0
    with pipeline:
        wait_for(lambda: len(_ids(settings)) >= 12, timeout=180, what="all 12 records")
        time.sleep(2)
    ids = _ids(settings)
    assert len(ids) == 12 and len(set(ids)) == 12
