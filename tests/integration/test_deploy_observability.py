"""The compose monitoring profile matches what the services export: Prometheus scrapes each
service by its compose name and port (enrich's replicas by DNS), Grafana's dashboard uses the
provisioned data source, and every metric the dashboard queries is exported, with samples,
by a real running service.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from shared.embedded import free_port
from shared.settings import Settings
from tests.conftest import service_env
from tests.pipeline import jsonl_records, wait_for

pytestmark = pytest.mark.integration

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
PROMETHEUS = DEPLOY / "prometheus" / "prometheus.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "dropwire.json"
DATASOURCES = DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
PROVIDERS = DEPLOY / "grafana" / "provisioning" / "dashboards" / "dropwire.yml"
SERVICES = ("ingest", "enrich", "publish")
# Series Prometheus makes itself for every target, not exported by any service.
SYNTHETIC = {"up"}
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"}
_KEYWORDS |= {"and", "or", "unless", "inf", "nan"}


def _yaml(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def _panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every panel, including those inside collapsed rows."""
    out: list[dict[str, Any]] = []
    for panel in panels:
        out.append(panel)
        out += _panels(panel.get("panels", []))
    return out


def _dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def _expressions() -> list[str]:
    return [t["expr"] for p in _panels(_dashboard()["panels"]) for t in p.get("targets", [])]


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are not functions, keywords,
    label names (in grouping clauses or selectors), label values or durations."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    names = set()
    expr = re.sub(r"\boffset\s+-?\w+", "", expr)
    for match in re.finditer(r"(?<![\w.:])([A-Za-z_:][A-Za-z0-9_:]*)\s*(\()?", expr):
        if match.group(2) is None and match.group(1) not in _KEYWORDS:
            names.add(match.group(1))
    return names


def _selectors(expr: str) -> list[tuple[str, dict[str, str]]]:
    """(metric, equality label matchers) of each selector such as name{outcome="failed"}."""
    found = []
    for match in re.finditer(r"([A-Za-z_:][A-Za-z0-9_:]*)\{([^}]*)\}", expr):
        labels = dict(re.findall(r'(\w+)\s*=\s*"([^"]*)"', match.group(2)))
        found.append((match.group(1), labels))
    return found


def test_metric_names_are_parsed_out_of_promql() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, sink) (rate(a_seconds_bucket{sink="x"}[5m])))'
        " / on (sink) group_left max without (stream) (b_total offset 1h)"
    )
    assert metric_names(expr) == {"a_seconds_bucket", "b_total"}


def test_prometheus_scrapes_every_service_by_its_compose_name_and_port() -> None:
    compose = _yaml(COMPOSE)["services"]
    jobs = {job["job_name"]: job for job in _yaml(PROMETHEUS)["scrape_configs"]}
    assert set(jobs) == set(SERVICES)
    for name in SERVICES:
        port = int(compose[name]["environment"][f"DROPWIRE_{name.upper()}_HTTP_PORT"])
        assert jobs[name].get("metrics_path", "/metrics") == "/metrics"
        if name == "enrich":  # scaled with --scale: one A record per replica
            (sd,) = jobs[name]["dns_sd_configs"]
            assert sd["names"] == ["enrich"] and sd["type"] == "A" and sd["port"] == port
        else:
            assert jobs[name]["static_configs"] == [{"targets": [f"{name}:{port}"]}]
    prometheus = compose["prometheus"]
    assert prometheus["profiles"] == ["monitoring"]
    assert "./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in prometheus["volumes"]


def test_grafana_is_provisioned_with_the_datasource_and_dashboard() -> None:
    compose = _yaml(COMPOSE)["services"]["grafana"]
    assert compose["profiles"] == ["monitoring"]
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in compose["volumes"]
    assert "./grafana/dashboards:/etc/grafana/dashboards:ro" in compose["volumes"]
    (provider,) = _yaml(PROVIDERS)["providers"]
    assert provider["options"]["path"] == "/etc/grafana/dashboards"
    (source,) = _yaml(DATASOURCES)["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"

    panels = [p for p in _panels(_dashboard()["panels"]) if p["type"] != "row"]
    assert len({p["id"] for p in _panels(_dashboard()["panels"])}) == len(
        _panels(_dashboard()["panels"])
    )
    titles = " ".join(p["title"].lower() for p in _panels(_dashboard()["panels"]))
    for section in ("throughput", "backlog", "failures", "latency"):
        assert section in titles
    for panel in panels:
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == source["uid"]
            assert metric_names(target["expr"]), target["expr"]


def _scrape(port: int) -> str | None:
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
    except httpx.HTTPError:
        return None
    return response.text if response.status_code == 200 else None


def _samples(texts: list[str]) -> list[tuple[str, dict[str, str]]]:
    return [
        (sample.name, sample.labels)
        for text in texts
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def _missing(samples: list[tuple[str, dict[str, str]]]) -> list[str]:
    """Dashboard metrics (and equality selectors) with no sample from any service yet."""
    names = {name for name, _ in samples}
    missing = []
    for expr in _expressions():
        for name in metric_names(expr) - SYNTHETIC:
            if name not in names:
                missing.append(name)
        for name, wanted in _selectors(expr):
            if name in SYNTHETIC:
                continue
            if not any(n == name and wanted.items() <= labels.items() for n, labels in samples):
                missing.append(f"{name}{wanted}")
    return sorted(set(missing))


def test_every_dashboard_metric_is_exported_by_a_running_service(
    settings: Settings, sample_article: Path, tmp_path: Path
) -> None:
    env = service_env(settings)
    # A webhook sink that can never deliver, so the failure panels have data too:
    # its record is rejected (a sink failure) and dead-lettered.
    env |= {
        "DROPWIRE_SINKS": "jsonl,redis_stream,webhook",
        "DROPWIRE_WEBHOOK_URL": f"http://127.0.0.1:{free_port()}/hook",
        "DROPWIRE_WEBHOOK_SECRET": "test-secret",
        "DROPWIRE_WEBHOOK_MAX_ATTEMPTS": "1",
        "DROPWIRE_WEBHOOK_TIMEOUT_SECONDS": "2",
    }
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for name in SERVICES:
            with (tmp_path / f"{name}.log").open("wb") as log:
                argv = [sys.executable, "-m", "services.cli", name]
                procs.append(subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT))
        ports = [settings.http_port(name) for name in SERVICES]
        shutil.copy(sample_article, settings.inbox / "article.txt")
        (settings.inbox / "empty.txt").write_text("")
        wait_for(lambda: jsonl_records(settings.outbox), timeout=60, what="a record")

        def exported() -> list[tuple[str, dict[str, str]]] | None:
            texts = [_scrape(port) for port in ports]
            if any(text is None for text in texts):
                return None
            samples = _samples([t for t in texts if t is not None])
            return samples if not _missing(samples) else None

        try:
            wait_for(exported, timeout=30, what="every dashboard metric")
        except AssertionError:
            texts = [t for t in (_scrape(port) for port in ports) if t is not None]
            raise AssertionError(f"not exported: {_missing(_samples(texts))}") from None
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
