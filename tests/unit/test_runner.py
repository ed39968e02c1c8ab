"""The supervisor's restart backoff, driven tick by tick with an injected clock: no process
is started and nothing sleeps."""

from __future__ import annotations

import subprocess

import pytest

from services.runner import HEALTHY_UPTIME_SECONDS, Supervisor, _Child
from shared.settings import Settings


class FakeProcess:
    """Stands in for ``subprocess.Popen``: runs until ``exit`` is called."""

    pid = 4242

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode

    def exit(self, code: int = 1) -> None:
        self.returncode = code


@pytest.fixture
def supervisor(monkeypatch: pytest.MonkeyPatch) -> Supervisor:
    monkeypatch.setattr(subprocess, "Popen", FakeProcess)  # as services.runner calls it
    return Supervisor(Settings())


def _start(supervisor: Supervisor, child: _Child, now: float) -> FakeProcess:
    supervisor._tend(child, {}, now)
    assert isinstance(child.process, FakeProcess), f"not started at t={now}"
    return child.process


def _crash(supervisor: Supervisor, child: _Child, now: float) -> float:
    """The child exits and is noticed at ``now``; returns the restart delay chosen."""
    assert isinstance(child.process, FakeProcess)
    child.process.exit(1)
    supervisor._tend(child, {}, now)
    assert child.process is None
    return child.next_start - now


def test_backoff_doubles_while_a_child_keeps_crashing(supervisor: Supervisor) -> None:
    child = _Child("ingest", ["ingest"], {})
    now = 0.0
    delays = []
    for _ in range(8):
        _start(supervisor, child, now)
        now += 1.0  # up for one second only
        delays.append(_crash(supervisor, child, now))
        now = child.next_start
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_not_started_before_the_backoff_is_over(supervisor: Supervisor) -> None:
    child = _Child("ingest", ["ingest"], {})
    _start(supervisor, child, 0.0)
    delay = _crash(supervisor, child, 1.0)
    supervisor._tend(child, {}, 1.0 + delay - 0.1)
    assert child.process is None
    _start(supervisor, child, 1.0 + delay)


def test_backoff_starts_over_after_a_healthy_run(supervisor: Supervisor) -> None:
    child = _Child("publish", ["publish"], {})
    now = 0.0
    for _ in range(7):  # a crash loop up to the 30 s ceiling
        _start(supervisor, child, now)
        now += 1.0
        _crash(supervisor, child, now)
        now = child.next_start
    assert child.restarts == 7
    _start(supervisor, child, now)
    now += 86_400.0  # then it runs for a day before crashing once
    assert _crash(supervisor, child, now) == 1.0  # as for a first crash, not 30 s
    assert child.restarts == 1
    now = child.next_start
    _start(supervisor, child, now)  # and a crash soon after that backs off again
    assert _crash(supervisor, child, now + 1.0) == 2.0


def test_a_run_just_short_of_healthy_keeps_the_backoff(supervisor: Supervisor) -> None:
    child = _Child("enrich-1", ["enrich"], {})
    _start(supervisor, child, 0.0)
    assert _crash(supervisor, child, 1.0) == 1.0
    _start(supervisor, child, 2.0)
    assert _crash(supervisor, child, 2.0 + HEALTHY_UPTIME_SECONDS - 0.5) == 2.0
    _start(supervisor, child, 200.0)
    assert _crash(supervisor, child, 200.0 + HEALTHY_UPTIME_SECONDS) == 1.0
