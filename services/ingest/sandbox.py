"""Extraction that cannot stop ingest: the parsers of complex formats run in a child process
with a time and a memory limit.

PDFium, lxml and the docx reader are large parsers fed by strangers' files. A file that
makes one loop or allocate without end would, in a thread, hold the ingest loop forever
(a thread cannot be interrupted; PDFium cannot be told to stop). In a child process it can
be killed: the file fails with its reason, the next one goes on. One child is kept warm
and reused; a killed one is replaced on the next call.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import resource
import threading
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from pebble import ProcessExpired, ProcessPool

from services.ingest.formats._common import ExtractionError

T = TypeVar("T")

_lock = threading.Lock()
_pool: ProcessPool | None = None
_pool_memory_mb: int | None = None


def _prepare_child(memory_mb: int) -> None:
    """Runs first in the child: cap its address space, so a runaway parser gets a
    MemoryError (or dies) instead of taking the machine's memory; then import the parsers,
    so the first file does not wait for them."""
    if memory_mb > 0:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import services.ingest.formats.docx
    import services.ingest.formats.html
    import services.ingest.formats.pdf  # noqa: F401


def _get_pool(memory_mb: int) -> ProcessPool:
    global _pool, _pool_memory_mb
    with _lock:
        if _pool is None or not _pool.active or _pool_memory_mb != memory_mb:
            if _pool is not None:
                _pool.stop()  # type: ignore[no-untyped-call]
            # spawn, not fork: ingest has threads (asyncio's to_thread, the HTTP server),
            # and a forked child could inherit a lock some other thread held.
            _pool = ProcessPool(
                max_workers=1,
                initializer=_prepare_child,
                initargs=(memory_mb,),
                context=multiprocessing.get_context("spawn"),
            )
            _pool_memory_mb = memory_mb
        return _pool


def run_limited(
    function: Callable[..., T],
    *args: Any,
    timeout: float,
    memory_mb: int,
    **kwargs: Any,
) -> T:
    """``function(*args, **kwargs)`` in the sandbox child. Its own ``ExtractionError`` comes
    back as it is; running out of time, out of memory, or dying are ``ExtractionError`` too
    (reasons ``timeout``, ``too_large``, ``parser_crashed``). Blocking: call from a thread."""
    future = _get_pool(memory_mb).schedule(function, args=args, kwargs=kwargs, timeout=timeout)
    try:
        return future.result()
    except FutureTimeout as exc:
        raise ExtractionError(
            "timeout",
            f"extraction took longer than {timeout:g} s and was stopped "
            "(DROPWIRE_EXTRACT_TIMEOUT_SECONDS)",
        ) from exc
    except MemoryError as exc:
        raise ExtractionError(
            "too_large",
            f"extraction needed more than {memory_mb} MB and was stopped "
            "(DROPWIRE_EXTRACT_MEMORY_MB)",
        ) from exc
    except ProcessExpired as exc:
        raise ExtractionError(
            "parser_crashed", f"the parser process died (exit code {exc.exitcode})"
        ) from exc


def warm_up(timeout: float, memory_mb: int) -> None:
    """Start the child before the first file needs it (it takes a second or two)."""
    run_limited(os.getpid, timeout=max(timeout, 60.0), memory_mb=memory_mb)


def shutdown() -> None:
    """Stop the sandbox child (at exit, or in tests)."""
    global _pool
    with _lock:
        if _pool is not None:
            _pool.stop()  # type: ignore[no-untyped-call]
            _pool.join(timeout=5)
            _pool = None


atexit.register(shutdown)
