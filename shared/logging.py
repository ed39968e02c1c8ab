"""structlog set-up shared by every service: one JSON event per line in production.

Standard-library loggers (FastStream, redis-py, watchfiles) are routed through the same
renderer, so a service's whole output is one format. Lines about a document carry
``doc_id``: bind it with ``structlog.contextvars.bound_contextvars(doc_id=...)``.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from shared.settings import Settings


def _renderer(fmt: str) -> Any:
    if fmt == "auto":
        fmt = "console" if sys.stderr.isatty() else "json"
    if fmt == "console":
        return structlog.dev.ConsoleRenderer()
    return structlog.processors.JSONRenderer()


def configure_logging(settings: Settings, service: str) -> None:
    """Configure structlog and stdlib logging for one service process."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _renderer(settings.log_format),
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    # FastStream logs every message at INFO; keep it to warnings unless debugging.
    faststream_level = "DEBUG" if settings.log_level == "DEBUG" else "WARNING"
    for name in (
        "faststream",
        "faststream.access",
        "faststream.access.redis",
        "dropwire.faststream",
    ):
        logging.getLogger(name).setLevel(faststream_level)
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)
