"""Run the real pipeline as subprocesses for end-to-end tests, and wait on its outputs."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import redis

from shared.settings import Settings
from tests.conftest import service_env

T = TypeVar("T")


class Pipeline:
    """``dropwire up`` (or single services) in child processes, logs captured to files."""

    def __init__(
        self,
        settings: Settings,
        log_dir: Path,
        *,
        enrich_workers: int = 1,
        env: dict[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.log_dir = log_dir
        self.enrich_workers = enrich_workers
        self.env = env or {}  # added to (or overriding) the services' environment
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self) -> Pipeline:
        self.runs += 1
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.log_dir / f"up-{self.runs}.log"
        argv = [sys.executable, "-m", "services.cli", "up", "-w", str(self.enrich_workers)]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                argv,
                env={**service_env(self.settings), **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def stop(self, timeout: float = 30.0) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()

    def log_events(self, *, current_run: bool = False) -> list[dict[str, Any]]:
        """JSON log events of every run so far, or of the current run only."""
        events = []
        paths = [self.log_path] if current_run else sorted(self.log_dir.glob("up-*.log"))
        for path in paths:
            for line in path.read_text(errors="replace").splitlines():
                try:
                    events.append(json.loads(line))
                except ValueError:
                    continue
        return events

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until this run's ingest watches and every enrich and publish reported ready."""
        wanted = {"ingest.watching": 1, "enrich.ready": self.enrich_workers, "publish.ready": 1}

        def ready() -> bool:
            events = [e.get("event") for e in self.log_events(current_run=True)]
            return all(events.count(name) >= n for name, n in wanted.items())

        wait_for(ready, timeout, what=f"run {self.runs} of the pipeline to be ready")

    def __enter__(self) -> Pipeline:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.stop()


def wait_for(predicate: Callable[[], T | None], timeout: float = 60.0, what: str = "") -> T:
    """Poll ``predicate`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")


def jsonl_records(outbox: Path) -> list[dict[str, Any]]:
    records = []
    for path in sorted(outbox.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            records.append(json.loads(line))
    return records


def published_entries(settings: Settings) -> list[dict[str, str]]:
    client = redis.Redis.from_url(settings.redis_url.get_secret_value(), decode_responses=True)
    try:
        return [fields for _id, fields in client.xrange(settings.streams.published)]
    finally:
        client.close()
