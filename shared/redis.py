"""The one place that opens redis-py connections (the FastStream broker is made in
``shared.service``); both take the URL from settings."""

from __future__ import annotations

import asyncio

import structlog
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from shared.settings import Settings


class RedisNotConfiguredError(RuntimeError):
    """Raised when a service is started without DROPWIRE_REDIS_URL."""


def redis_url(settings: Settings) -> str:
    url = settings.redis_url.get_secret_value()
    if not url:
        raise RedisNotConfiguredError(
            "DROPWIRE_REDIS_URL is empty: set it, or use `dropwire up` for an embedded Redis"
        )
    return url


def connect(settings: Settings) -> Redis:
    """An asyncio redis-py client that decodes responses to str."""
    return Redis.from_url(
        redis_url(settings),
        decode_responses=True,
        health_check_interval=30,
        socket_keepalive=True,
    )


async def wait_until_ready(redis: Redis, service: str, max_delay: float = 10.0) -> None:
    """Block until Redis answers PING, retrying with backoff: a service started before Redis
    (or during a restart) waits instead of crash-looping. Wrong credentials fail at once."""
    log = structlog.stdlib.get_logger("dropwire.redis")
    delay = 0.2
    while True:
        try:
            await redis.ping()
            return
        except AuthenticationError:
            raise
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            log.warning("redis.unavailable", service=service, error=str(exc), retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(max_delay, delay * 2)
