"""Background work repeated every few seconds, that a shutdown can always stop.

Cancelling a task is not enough: a library awaiting a socket can swallow the
CancelledError (redis-py does, now and then, mid-command), the loop then goes on, and a
shutdown that waits for it hangs. Here the loop also checks a stop flag after every round,
and ``stop`` gives up waiting after a bound.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog

log = structlog.stdlib.get_logger("dropwire.periodic")


@dataclass
class Periodic:
    """Runs ``work`` every ``every`` seconds (first at once if ``at_start``) until stopped."""

    name: str
    work: Callable[[], Awaitable[object]]
    every: float
    at_start: bool = True
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def _run(self) -> None:
        if not self.at_start and await self._sleep():
            return
        while not self._stop.is_set():
            try:
                await self.work()
            except Exception:  # one failed round must not end the loop
                log.exception("periodic.failed", task=self.name)
            if await self._sleep():
                return

    async def _sleep(self) -> bool:
        """Wait one interval; True when stopped meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), self.every)
        return self._stop.is_set()

    async def stop(self, grace: float = 5.0) -> None:
        """Stop the loop: at once if it is waiting, after the current round if it is working,
        and by cancellation if that round takes longer than ``grace`` seconds."""
        self._stop.set()
        if self._task is None:
            return
        await asyncio.wait({self._task}, timeout=grace)
        if not self._task.done():
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=grace)
