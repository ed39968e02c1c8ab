"""Redis connection settings fail early and clearly: TLS files that cannot work are named
at start, and only errors that waiting cannot fix stop a service (Redis restarting does not).
"""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from pydantic import SecretStr
from redis.exceptions import AuthenticationError, NoPermissionError
from redis.exceptions import ConnectionError as RedisConnectionError

from shared.redis import RedisNotConfiguredError, access_error, tls_context, tls_options
from shared.settings import Settings

PASSWORD = "s3cret-value-never-shown"


def _settings(url: str, **tls: Path | None) -> Settings:
    return Settings(redis_url=SecretStr(url), **tls)  # type: ignore[arg-type]


def test_plain_urls_get_no_tls(tmp_path: Path) -> None:
    settings = _settings(f"redis://app:{PASSWORD}@redis:6379/0")
    assert tls_options(settings) == {}
    assert tls_context(settings) is None


def test_rediss_gets_the_ca_and_client_certificate(tmp_path: Path) -> None:
    files = {name: tmp_path / name for name in ("ca.pem", "cert.pem", "key.pem")}
    for path in files.values():
        path.write_text("x")
    settings = _settings(
        "rediss://redis:6380/0",
        redis_tls_ca_file=files["ca.pem"],
        redis_tls_cert_file=files["cert.pem"],
        redis_tls_key_file=files["key.pem"],
    )
    assert tls_options(settings) == {
        "ssl_ca_certs": str(files["ca.pem"]),
        "ssl_certfile": str(files["cert.pem"]),
        "ssl_keyfile": str(files["key.pem"]),
    }
    assert isinstance(tls_context(_settings("rediss://redis:6380/0")), ssl.SSLContext)


@pytest.mark.parametrize(
    ("url", "field", "message"),
    [
        (f"redis://app:{PASSWORD}@redis/0", "redis_tls_ca_file", "is not a rediss:// URL"),
        (f"rediss://app:{PASSWORD}@redis/0", "redis_tls_ca_file", "no such file"),
        (f"rediss://app:{PASSWORD}@redis/0", "redis_tls_key_file", "without"),
    ],
)
def test_tls_files_that_cannot_work_fail_with_the_setting_name(
    tmp_path: Path, url: str, field: str, message: str
) -> None:
    existing = tmp_path / "file.pem"
    existing.write_text("x")
    path = tmp_path / "missing.pem" if message == "no such file" else existing
    with pytest.raises(RedisNotConfiguredError, match=message) as caught:
        tls_options(_settings(url, **{field: path}))
    assert field.upper() in str(caught.value)
    assert PASSWORD not in str(caught.value)


def _wrapped(cause: BaseException) -> RedisConnectionError:
    """A redis-py connection error raised while handling ``cause``, as redis-py does."""
    try:
        raise cause
    except OSError:
        try:
            raise RedisConnectionError("Error 1 connecting to redis:6380.") from None
        except RedisConnectionError as exc:
            exc.__context__ = cause
            return exc


def test_only_what_waiting_cannot_fix_is_fatal() -> None:
    auth = access_error(AuthenticationError("invalid username-password pair"))
    assert auth is not None and str(auth).startswith("Redis refused the credentials (")
    assert access_error(NoPermissionError("this user has no permissions")) is not None

    untrusted = ssl.SSLCertVerificationError(1, "certificate verify failed")
    untrusted.verify_code = 20
    untrusted.verify_message = "unable to get local issuer certificate"
    fatal = access_error(_wrapped(untrusted))
    assert fatal is not None and "DROPWIRE_REDIS_TLS_CA_FILE" in str(fatal)

    assert access_error(_wrapped(ssl.SSLEOFError(8, "EOF occurred"))) is None  # restarting
    assert access_error(RedisConnectionError("Connection refused")) is None
    assert access_error(_wrapped(ConnectionRefusedError(111, "refused"))) is None
