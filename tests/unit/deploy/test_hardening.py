"""The compose deployment is locked down by default: no root, no capabilities, a read-only
file system with writable data folders only, resource limits, health checks on readiness,
and Redis behind one ACL user per service with passwords that must come from deploy/.env.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
DOCKERFILE = DEPLOY / "Dockerfile"
ACL_TEMPLATE = DEPLOY / "redis" / "users.acl.template"
START_REDIS = DEPLOY / "redis" / "start-redis.sh"
ENV_EXAMPLE = DEPLOY / ".env.example"
DROPWIRE = ("ingest", "enrich", "publish")
WRITABLE = {
    "ingest": {"/data/inbox", "/data/archive", "/data/failed"},
    "enrich": set(),
    "publish": {"/data/outbox"},
}
SECRETS = (
    "REDIS_ADMIN_PASSWORD",
    "REDIS_INGEST_PASSWORD",
    "REDIS_ENRICH_PASSWORD",
    "REDIS_PUBLISH_PASSWORD",
    "GRAFANA_ADMIN_PASSWORD",
)


def _services() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]
    return services


@pytest.mark.parametrize("name", ["redis", *DROPWIRE, "prometheus", "grafana"])
def test_every_container_is_locked_down(name: str) -> None:
    service = _services()[name]
    assert service["read_only"] is True
    assert any(t.split(":")[0] == "/tmp" for t in service["tmpfs"])
    assert "no-new-privileges:true" in service["security_opt"]
    assert service["cap_drop"] == ["ALL"]
    assert "cap_add" not in service and not service.get("privileged", False)
    assert service.get("user") not in ("root", "0", "0:0")
    assert service["mem_limit"] and float(service["cpus"]) > 0
    assert service["restart"] == "unless-stopped"


def test_dockerfile_targets_run_as_a_non_root_user() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"useradd --system --uid (\d+)", text) is not None
    assert "--uid 0 " not in text
    stages = dict(re.findall(r"FROM \S+ AS (\w+)\n(.*?)(?=\nFROM |\Z)", text, flags=re.S))
    for target in DROPWIRE:
        users = re.findall(r"^USER (\S+)", stages[target], flags=re.M)
        assert users and users[-1] not in ("root", "0"), target
        # Nothing after the switch may need root, and the code stays root-owned (read-only).
        after = stages[target].split(f"USER {users[-1]}", 1)[1]
        assert not re.search(r"^(RUN|COPY|ADD)\b", after, flags=re.M), target
    assert "DROPWIRE_HTTP_HOST=0.0.0.0" in text


@pytest.mark.parametrize("name", DROPWIRE)
def test_services_write_only_their_data_folders(name: str) -> None:
    service = _services()[name]
    writable = set()
    for volume in service.get("volumes", []):
        parts = re.sub(r"\$\{[^}]*\}", "host", volume).split(":")
        if parts[-1] != "ro":
            writable.add(parts[1])
    assert writable == WRITABLE[name]


@pytest.mark.parametrize("name", DROPWIRE)
def test_services_check_readiness_on_their_own_port(name: str) -> None:
    service = _services()[name]
    env = service["environment"]
    port = env[f"DROPWIRE_{name.upper()}_HTTP_PORT"]
    assert env["DROPWIRE_HTTP_HOST"] == "0.0.0.0"
    test = service["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    assert f"http://127.0.0.1:{port}/health/ready" in test[3]
    assert "ports" not in service  # /metrics stays on the compose network
    assert service["depends_on"]["redis"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", DROPWIRE)
def test_each_service_connects_as_its_own_redis_user(name: str) -> None:
    url = _services()[name]["environment"]["DROPWIRE_REDIS_URL"]
    pattern = rf"redis://{name}:\$\{{REDIS_{name.upper()}_PASSWORD:\?[^}}]+\}}@redis:6379/0"
    assert re.fullmatch(pattern, url), url


def test_secrets_have_no_default_and_fail_fast_when_unset() -> None:
    text = COMPOSE.read_text()
    for var in SECRETS:
        uses = re.findall(rf"\$\{{{var}(:?[-?]?)[^}}]*\}}", text)
        assert uses and all(op == ":?" for op in uses), var
    example = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert {var: example.get(var) for var in SECRETS} == dict.fromkeys(SECRETS, "")


def test_redis_is_private_and_starts_with_the_acl() -> None:
    redis = _services()["redis"]
    assert "ports" not in redis
    assert redis["entrypoint"] == ["/bin/sh", "/etc/dropwire/start-redis.sh"]
    assert "./redis:/etc/dropwire:ro" in redis["volumes"]
    assert redis["environment"]["REDIS_ACL_FILE"].startswith("/tmp/")  # the tmpfs


def test_acl_gives_each_service_user_only_what_it_needs() -> None:
    lines = [
        line
        for line in ACL_TEMPLATE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    users = {line.split()[1]: line for line in lines}
    assert set(users) == {"default", *DROPWIRE}
    assert "nopass" not in ACL_TEMPLATE.read_text()
    assert users["default"].startswith("user default on #{{ADMIN_HASH}} ")
    for name in DROPWIRE:
        rule = users[name]
        assert rule.startswith(f"user {name} on #{{{{{name.upper()}_HASH}}}} resetchannels -@all ")
        assert " ~* " not in rule and "+@all" not in rule and "allkeys" not in rule
        assert not re.search(r"\+(flushall|flushdb|config|acl|keys|del|shutdown)\b", rule)
        for pattern in re.findall(r"~(\S+)", rule):
            assert pattern.startswith("{{PREFIX}}:"), pattern
    assert re.search(r"\(~\{\{PREFIX\}\}:enriched ~\{\{PREFIX\}\}:dead \+xadd\)", users["enrich"])
    assert "published" not in users["enrich"].split("%R~{{PREFIX}}:*", 1)[1]
    assert "published" not in users["ingest"].split("%R~{{PREFIX}}:*", 1)[1]


def test_start_redis_refuses_to_run_without_passwords(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "REDIS_ACL_FILE": str(tmp_path / "users.acl")}
    proc = subprocess.run(
        ["sh", str(START_REDIS)], env=env, capture_output=True, text=True, timeout=10
    )
    assert proc.returncode == 2
    assert "REDIS_ADMIN_PASSWORD is not set" in proc.stderr
    assert not (tmp_path / "users.acl").exists()
