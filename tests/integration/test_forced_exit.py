"""A service whose shutdown hangs still exits, and says where it hung."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

from tests.conftest import free_port

HANGING_SERVICE = textwrap.dedent(
    """
    import asyncio, sys, uvicorn
    from services import runner

    runner.FORCED_EXIT_SECONDS = 1.0

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                    print("started", flush=True)
                elif message["type"] == "lifespan.shutdown":
                    await asyncio.sleep(3600)  # a shutdown step that never ends

    config = uvicorn.Config(app, port=int(sys.argv[1]), lifespan="on", log_config=None)
    asyncio.run(runner._Server(config).serve())
    """
)


def test_a_hung_shutdown_ends_with_exit_1_and_the_stacks() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", HANGING_SERVICE, str(free_port())],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "started"
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        _out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 1
    assert time.monotonic() - started < 30  # the forced exit, not the 1-hour sleep
    assert "asyncio task" in err  # what the shutdown was waiting for
    assert "Thread" in err and "most recent call first" in err  # every thread's stack
