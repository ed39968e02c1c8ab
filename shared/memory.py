"""Giving memory the process has freed back to the operating system.

glibc keeps memory freed in worker threads in per-thread arenas instead of returning it, so
a worker that runs each batch in a thread (``asyncio.to_thread``) keeps the high-water mark
of every batch: measured over 10,000 documents, an enrich worker held 385 MB of which about
200 MB were free. ``malloc_trim(0)`` after a batch returns it, in about 3 ms. Where there
is no glibc (musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from functools import cache


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the C library this interpreter runs on
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_free_memory() -> bool:
    """Return freed heap memory to the OS; True when something was released."""
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False
