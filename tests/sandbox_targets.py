"""Misbehaving stand-ins for a parser, run by the sandbox child in tests (importable by
module name, as the spawned child needs)."""

from __future__ import annotations

import os
import time


def sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "woke"


def allocate(megabytes: int) -> int:
    block = bytearray(megabytes * 1024 * 1024)
    return len(block)


def die(code: int) -> None:
    os._exit(code)


def child_pid() -> int:
    return os.getpid()
