"""Running services: one FastStream app in this process, or all of them supervised.

``dropwire up`` starts an embedded Redis when none is configured, then runs each service as
its own child process (enrich can have several), restarting any that dies, with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import importlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import FrameType

import structlog
import uvicorn

from shared.embedded import EmbeddedRedis
from shared.logging import configure_logging
from shared.redis import RedisAccessError, check_access
from shared.settings import Settings

SERVICES = ("ingest", "enrich", "publish")
# A child that ran at least this long before exiting was healthy: its restart backoff starts
# over, so a service that crashes once a day is not kept waiting the maximum 30 s each time.
HEALTHY_UPTIME_SECONDS = 60.0
# uvicorn gives open connections and the app's shutdown this long after SIGTERM/SIGINT...
GRACEFUL_SHUTDOWN_SECONDS = 20
# ...and if the process is still alive this long after the signal, something hangs: dump
# every thread's stack to stderr (the service's log) and exit 1, rather than wait for KILL.
FORCED_EXIT_SECONDS = 25.0
log = structlog.stdlib.get_logger("dropwire.runner")


def run_service(name: str, settings: Settings) -> None:
    """Run one service's FastStream app, with its /metrics and /health endpoints, until
    SIGINT/SIGTERM (uvicorn turns either into a graceful FastStream shutdown)."""
    configure_logging(settings, name)
    try:
        # Wrong credentials or an untrusted certificate: one line and exit 1, not a traceback
        # from inside the app's startup (nor a restart loop that cannot succeed).
        asyncio.run(check_access(settings))
    except RedisAccessError as exc:
        print(f"dropwire {name}: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    module = importlib.import_module(f"services.{name}.app")
    app = module.build_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port(name),
        log_config=None,  # keep our structlog handlers
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    asyncio.run(_Server(config).serve())


class _Server(uvicorn.Server):
    """uvicorn's server, but a SIGTERM/SIGINT ends in a clean exit (code 0) after the
    graceful shutdown, instead of uvicorn re-raising the signal to kill the process; and a
    shutdown that hangs ends after ``FORCED_EXIT_SECONDS`` with the stacks that hung."""

    _deadline: threading.Timer | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._deadline is None:
            loop = asyncio.get_running_loop()
            self._deadline = threading.Timer(FORCED_EXIT_SECONDS, _force_exit, (loop,))
            self._deadline.daemon = True
            self._deadline.start()
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)


def _force_exit(loop: asyncio.AbstractEventLoop) -> None:
    """From a timer thread: show what the shutdown waits for, then end the process."""
    log.error("service.shutdown_hung", after_seconds=FORCED_EXIT_SECONDS)
    dumped = threading.Event()

    def dump_tasks() -> None:  # on the event loop: the coroutines still waiting
        for task in asyncio.all_tasks(loop):
            print(f"asyncio task {task.get_name()}: {task.get_coro()!r}", file=sys.stderr)
            task.print_stack(file=sys.stderr)
        dumped.set()

    with contextlib.suppress(RuntimeError):  # the loop is closed already
        loop.call_soon_threadsafe(dump_tasks)
    dumped.wait(2.0)
    faulthandler.dump_traceback(all_threads=True)
    sys.stderr.flush()
    os._exit(1)


@dataclass
class _Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0  # consecutive restarts: reset once a run lasts HEALTHY_UPTIME_SECONDS
    next_start: float = 0.0
    started_at: float = 0.0  # time.monotonic() when the current process was started


@dataclass
class Supervisor:
    """Keeps one process per service running; stops them all on SIGINT/SIGTERM."""

    settings: Settings
    enrich_workers: int = 1
    grace_seconds: float = 20.0
    children: list[_Child] = field(default_factory=list)
    _stopping: bool = False

    def _argv(self, service: str) -> list[str]:
        return [sys.executable, "-m", "services.cli", service]

    def run(self) -> int:
        configure_logging(self.settings, "supervisor")
        env = dict(os.environ)
        redis: EmbeddedRedis | None = None
        if not self.settings.redis_url.get_secret_value():
            redis = EmbeddedRedis(
                self.settings.data_dir / "redis", self.settings.embedded_redis_port
            )
            redis.start()
            env["DROPWIRE_REDIS_URL"] = redis.url
            log.info("embedded_redis.started", url=redis.url, data_dir=str(redis.data_dir))
        for service in SERVICES:
            count = self.enrich_workers if service == "enrich" else 1
            for i in range(count):
                name = service if count == 1 else f"{service}-{i + 1}"
                port = self.settings.http_port(service) + i
                child_env = {f"DROPWIRE_{service.upper()}_HTTP_PORT": str(port)}
                self.children.append(_Child(name, self._argv(service), child_env))
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)
        log.info(
            "dropwire.up",
            inbox=str(self.settings.inbox.resolve()),
            outbox=str(self.settings.outbox.resolve()),
            services=[c.name for c in self.children],
        )
        try:
            while not self._stopping:
                now = time.monotonic()
                for child in self.children:
                    self._tend(child, env, now)
                time.sleep(0.2)
        finally:
            self._stop_children()
            if redis is not None:
                redis.stop()
                log.info("embedded_redis.stopped")
        return 0

    def _tend(self, child: _Child, env: dict[str, str], now: float) -> None:
        if child.process is not None and child.process.poll() is None:
            return
        if child.process is not None:
            code = child.process.returncode
            child.process = None
            uptime = now - child.started_at
            if uptime >= HEALTHY_UPTIME_SECONDS:
                child.restarts = 0
            child.restarts += 1
            delay = min(30.0, 0.5 * 2 ** min(child.restarts, 6))
            child.next_start = now + delay
            log.warning(
                "service.exited",
                service=child.name,
                code=code,
                uptime=round(uptime, 1),
                restart_in=delay,
            )
            return
        if now >= child.next_start:
            child.process = subprocess.Popen(child.argv, env={**env, **child.env})
            child.started_at = now
            log.info("service.started", service=child.name, pid=child.process.pid)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True

    def _stop_children(self) -> None:
        running = [c.process for c in self.children if c.process and c.process.poll() is None]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace_seconds
        for proc in running:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
