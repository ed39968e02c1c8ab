"""The one place that opens Redis connections: redis-py clients (asyncio and sync) here, and
the TLS context the FastStream broker (``shared.service``) uses. All take the URL and the TLS
files from settings. The URL may carry a password, so no message here ever includes it.
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import redis as redis_sync
import structlog
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import AuthenticationError, NoPermissionError, RedisError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from shared.settings import Settings


class RedisNotConfiguredError(RuntimeError):
    """Raised when a service is started without DROPWIRE_REDIS_URL, or with TLS settings
    that cannot work (files missing, or set for a plain redis:// URL)."""


class RedisAccessError(RuntimeError):
    """Redis answers but refuses this configuration (credentials, TLS trust, ACL): waiting
    cannot fix it, so a service stops at start with this one line as the reason."""


def redis_url(settings: Settings) -> str:
    url = settings.redis_url.get_secret_value()
    if not url:
        raise RedisNotConfiguredError(
            "DROPWIRE_REDIS_URL is empty: set it, or use `dropwire up` for an embedded Redis"
        )
    return url


def _tls_files(settings: Settings) -> tuple[Path | None, Path | None, Path | None]:
    """The configured (CA, certificate, key) files, checked now so that a typo fails at
    start with its setting's name instead of as a connection error retried forever."""
    files = {
        "DROPWIRE_REDIS_TLS_CA_FILE": settings.redis_tls_ca_file,
        "DROPWIRE_REDIS_TLS_CERT_FILE": settings.redis_tls_cert_file,
        "DROPWIRE_REDIS_TLS_KEY_FILE": settings.redis_tls_key_file,
    }
    ca, cert, key = files.values()
    is_tls = urlsplit(redis_url(settings)).scheme == "rediss"
    for name, path in files.items():
        if path is None:
            continue
        if not is_tls:
            raise RedisNotConfiguredError(
                f"{name} is set but DROPWIRE_REDIS_URL is not a rediss:// URL"
            )
        if not path.is_file():
            raise RedisNotConfiguredError(f"{name}: no such file {path}")
    if key is not None and cert is None:
        raise RedisNotConfiguredError(
            "DROPWIRE_REDIS_TLS_KEY_FILE is set without DROPWIRE_REDIS_TLS_CERT_FILE"
        )
    return ca, cert, key


def tls_options(settings: Settings) -> dict[str, Any]:
    """redis-py's ``ssl_*`` arguments for a rediss:// URL; empty for redis:// (redis-py
    verifies the server certificate and host name by default)."""
    ca, cert, key = _tls_files(settings)
    options = {"ssl_ca_certs": ca, "ssl_certfile": cert, "ssl_keyfile": key}
    return {name: str(path) for name, path in options.items() if path is not None}


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """The same trust as ``tls_options`` as an SSLContext (for FastStream's broker): system
    CAs plus DROPWIRE_REDIS_TLS_CA_FILE, host name checked, the client certificate if any.
    None for a redis:// URL."""
    ca, cert, key = _tls_files(settings)
    if urlsplit(redis_url(settings)).scheme != "rediss":
        return None
    context = ssl.create_default_context()
    if ca is not None:
        context.load_verify_locations(cafile=ca)
    if cert is not None:
        context.load_cert_chain(cert, keyfile=key)
    return context


def connect(settings: Settings) -> Redis:
    """An asyncio redis-py client that decodes responses to str."""
    return Redis.from_url(
        redis_url(settings),
        decode_responses=True,
        health_check_interval=30,
        socket_keepalive=True,
        **tls_options(settings),
    )


def connect_sync(settings: Settings) -> redis_sync.Redis:
    """A blocking redis-py client (the operator commands), with the same URL and TLS."""
    return redis_sync.Redis.from_url(
        redis_url(settings), decode_responses=True, **tls_options(settings)
    )


# The connection dropped mid-handshake (Redis restarting): worth waiting for, unlike a
# certificate or protocol mismatch.
_TRANSIENT_TLS = (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError)
E = TypeVar("E", bound=BaseException)
# Verification failures that a CA file fixes: unknown issuer, self-signed.
_UNKNOWN_ISSUER = {2, 18, 19, 20}


def _behind(exc: BaseException, kinds: type[E] | tuple[type[E], ...]) -> E | None:
    """The first exception of ``kinds`` in the chain behind ``exc`` (redis-py wraps socket
    and TLS errors in its own), if any."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return None
        if isinstance(seen, kinds):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _ssl_error(exc: BaseException) -> ssl.SSLError | None:
    """The TLS error behind a redis-py connection error, if any."""
    return _behind(exc, ssl.SSLError)


async def _ping(redis: Redis) -> BaseException | None:
    """PING: None when Redis answers, the error when it may answer later; raises
    RedisAccessError for what retrying cannot fix."""
    try:
        await redis.ping()
    except (RedisError, OSError) as exc:
        fatal = access_error(exc)
        if fatal is not None:
            raise fatal from exc
        return exc
    return None


def access_error(exc: BaseException) -> RedisAccessError | None:
    """A one-line reason when ``exc`` means Redis refuses this configuration (retrying will
    not help); None for what may pass, such as Redis being down or restarting."""
    if isinstance(exc, AuthenticationError):
        return RedisAccessError(f"Redis refused the credentials ({exc})")
    if isinstance(exc, NoPermissionError):
        return RedisAccessError(f"the Redis user lacks a permission ({exc})")
    tls = _ssl_error(exc) if isinstance(exc, RedisConnectionError | OSError) else None
    if isinstance(tls, ssl.SSLCertVerificationError):
        hint = ""
        if tls.verify_code in _UNKNOWN_ISSUER:
            hint = ": set DROPWIRE_REDIS_TLS_CA_FILE to the CA that signed it"
        return RedisAccessError(
            f"Redis's TLS certificate is not trusted ({tls.verify_message}){hint}"
        )
    if tls is not None and not isinstance(tls, _TRANSIENT_TLS):
        return RedisAccessError(f"TLS with Redis failed ({tls.reason or tls})")
    return None


async def check_access(settings: Settings) -> None:
    """One PING with the service's own connection settings before the service starts:
    raises RedisAccessError for wrong credentials, an untrusted certificate or a missing
    permission. An unreachable Redis is not an error here: ``wait_until_ready`` waits for it."""
    dropped: BaseException | None = None
    for _attempt in range(3):
        # No retries: redis-py retries connection errors, which include a refused password.
        redis = Redis.from_url(
            redis_url(settings),
            decode_responses=True,
            retry=Retry(NoBackoff(), 0),
            **tls_options(settings),
        )
        try:
            error = await _ping(redis)
        finally:
            await redis.aclose()
        if error is None or not _dropped_after_tls(settings, error):
            return
        dropped = error
        await asyncio.sleep(0.2)
    # A TLS server that wants a client certificate (or does not trust ours) sometimes says
    # so with an alert, and sometimes just resets the connection after the handshake.
    raise RedisAccessError(
        "Redis closes every TLS connection right after the handshake: it probably requires "
        "a client certificate it trusts (DROPWIRE_REDIS_TLS_CERT_FILE, "
        "DROPWIRE_REDIS_TLS_KEY_FILE)"
    ) from dropped


def _dropped_after_tls(settings: Settings, exc: BaseException) -> bool:
    """The server accepted the connection and the TLS handshake, then hung up."""
    if urlsplit(redis_url(settings)).scheme != "rediss":
        return False
    hung_up = (ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError)
    return _behind(exc, hung_up) is not None


async def wait_until_ready(redis: Redis, service: str, max_delay: float = 10.0) -> None:
    """Block until Redis answers PING, retrying with backoff: a service started before Redis
    (or during a restart) waits instead of crash-looping. What waiting cannot fix (wrong
    credentials, an untrusted certificate) raises RedisAccessError at once."""
    log = structlog.stdlib.get_logger("dropwire.redis")
    delay = 0.2
    while True:
        error = await _ping(redis)
        if error is None:
            return
        if not isinstance(error, RedisConnectionError | RedisTimeoutError | OSError):
            raise error
        log.warning("redis.unavailable", service=service, error=str(error), retry_in=delay)
        await asyncio.sleep(delay)
        delay = min(max_delay, delay * 2)
