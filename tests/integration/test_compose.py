"""The compose file is real: it parses, its Redis is durable and healthy-gated, and each
service's command, run with the compose environment against the test Redis, works.

Docker cannot run here, so the services run as local processes: the Redis URL is pointed
at the test Redis (the compose one carries a per-service ACL user; tests/integration/
test_redis_security.py runs those users against a real ACL Redis), the HTTP ports at free
ones, and each container path is mapped to a temporary folder.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.settings import Settings
from tests.conftest import service_env
from tests.pipeline import jsonl_records, wait_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
_VAR = re.compile(r"\$\{(\w+)(?::([-?])([^}]*))?\}")
# What a user puts in deploy/.env for the ${VAR:?message} variables compose requires.
REQUIRED = {
    "REDIS_ADMIN_PASSWORD": "test-admin-password",
    "REDIS_INGEST_PASSWORD": "test-ingest-password",
    "REDIS_ENRICH_PASSWORD": "test-enrich-password",
    "REDIS_PUBLISH_PASSWORD": "test-publish-password",
    "GRAFANA_ADMIN_PASSWORD": "test-grafana-password",
}


def _interpolate(value: str) -> str:
    """Compose's ${VAR:-default} with nothing set: the default; ${VAR:?message}: the value a
    user sets in deploy/.env (compose refuses to start without it)."""

    def one(m: re.Match[str]) -> str:
        if m.group(2) == "?":
            return REQUIRED[m.group(1)]
        return m.group(3) or ""

    return _VAR.sub(one, value)


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def test_compose_redis_is_durable_and_services_wait_for_it() -> None:
    services = _compose()["services"]
    redis = services["redis"]
    assert "--appendonly" in redis["command"]
    assert redis["command"][redis["command"].index("--appendonly") + 1] == "yes"
    assert "redis-cli ping" in redis["healthcheck"]["test"][-1]
    for name in ("ingest", "enrich", "publish"):
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
        assert services[name]["build"]["target"] == name
    # --scale enrich=N needs no fixed name and no published port on enrich.
    assert "container_name" not in services["enrich"]
    assert "ports" not in services["enrich"]


def test_every_compose_variable_is_a_real_setting() -> None:
    fields = {f"DROPWIRE_{name.upper()}" for name in Settings.model_fields}
    for name, service in _compose()["services"].items():
        for var in service.get("environment", {}) or {}:
            if var.startswith("DROPWIRE_"):
                assert var in fields, f"{name}: {var} is not a Dropwire setting"


def test_ingest_image_does_not_carry_spacy() -> None:
    text = DOCKERFILE.read_text()
    stages = dict(re.findall(r"FROM \S+ AS (\w+)\n(.*?)(?=\nFROM |\Z)", text, flags=re.S))
    assert set(stages) >= {"ingest", "enrich", "publish"}
    assert "--extra enrich" not in stages["ingest"]
    assert "--all-extras" not in stages["ingest"]
    assert "--extra enrich" in stages["enrich"]
    for stage in ("ingest", "enrich", "publish"):
        assert "USER dropwire" in stages[stage]


def _service_env(service: dict[str, Any], settings: Settings, tmp: Path) -> dict[str, str]:
    env = service_env(settings)
    for key in ("DROPWIRE_INBOX", "DROPWIRE_ARCHIVE_DIR", "DROPWIRE_FAILED_DIR", "DROPWIRE_OUTBOX"):
        env.pop(key)
    for key, raw in service["environment"].items():
        value = _interpolate(str(raw))
        if key == "DROPWIRE_REDIS_URL":
            assert value.startswith(f"redis://{service['command'][0]}:test-")  # its ACL user
            value = settings.redis_url.get_secret_value()
        elif key.endswith("_HTTP_PORT"):
            value = env[key]  # a free port, not the container's fixed one
        elif value.startswith("/data/"):
            value = str(tmp / value.removeprefix("/data/"))
        env[key] = value
    return env


def test_each_compose_command_runs_the_pipeline(
    settings: Settings, sample_article: Path, tmp_path: Path
) -> None:
    services = _compose()["services"]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for name in ("ingest", "enrich", "publish"):
            service = services[name]
            env = _service_env(service, settings, tmp_path / "data")
            assert env["DROPWIRE_STREAM_PREFIX"] == "dropwire"  # the compose default...
            env["DROPWIRE_STREAM_PREFIX"] = settings.stream_prefix  # ...isolated for this test
            log = (tmp_path / f"{name}.log").open("wb")
            argv = [sys.executable, "-m", "services.cli", *service["command"]]
            procs.append(subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT))
        inbox = tmp_path / "data" / "inbox"
        wait_for(inbox.exists, what="ingest to create its inbox")
        shutil.copy(sample_article, inbox / "article.txt")
        outbox = tmp_path / "data" / "outbox"
        records = wait_for(lambda: jsonl_records(outbox), timeout=90, what="a record")
        assert records[0]["metadata"]["author"] == "Paul Goble"
        assert (tmp_path / "data" / "archive" / "article.txt").exists()
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                assert proc.wait(30) == 0
            except subprocess.TimeoutExpired:
                proc.kill()
                raise
