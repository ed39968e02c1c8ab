"""Periodic background work stops on shutdown, even when its work swallows a cancel."""

from __future__ import annotations

import asyncio
import contextlib

from shared.periodic import Periodic


async def test_stop_ends_a_loop_whose_work_swallows_cancellation() -> None:
    rounds = 0

    async def stubborn() -> None:
        nonlocal rounds
        rounds += 1
        # Swallows a cancel, as redis-py mid-command sometimes does.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0.05)

    loop = Periodic("stubborn", stubborn, every=0.01)
    loop.start()
    await asyncio.sleep(0.1)
    await asyncio.wait_for(loop.stop(grace=1.0), 5)
    done = rounds
    await asyncio.sleep(0.1)
    assert rounds == done  # no round after stop


async def test_a_failing_round_does_not_end_the_loop() -> None:
    rounds = 0

    async def flaky() -> None:
        nonlocal rounds
        rounds += 1
        if rounds == 1:
            raise RuntimeError("first round fails")

    loop = Periodic("flaky", flaky, every=0.01)
    loop.start()
    for _ in range(100):
        if rounds >= 3:
            break
        await asyncio.sleep(0.01)
    await loop.stop()
    assert rounds >= 3


async def test_stop_before_the_first_round_runs_no_work() -> None:
    ran = False

    async def work() -> None:
        nonlocal ran
        ran = True

    loop = Periodic("late", work, every=10.0, at_start=False)
    loop.start()
    await asyncio.sleep(0)
    await asyncio.wait_for(loop.stop(), 1)
    assert not ran
