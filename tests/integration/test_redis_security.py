"""Redis transport security against real redis-servers this module starts: the compose ACL
(one user per service, rendered by deploy/redis/start-redis.sh from the committed template)
is enough for the real pipeline and no more; wrong credentials and an untrusted certificate
stop a service at start with one line; TLS (and mutual TLS) works for every client; and
no password ever reaches a service's output.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from pydantic import SecretStr
from redis.backoff import NoBackoff
from redis.retry import Retry

from services.ops import sync_client
from shared.embedded import find_redis_server, free_port
from shared.redis import RedisAccessError, check_access, connect
from shared.service import make_broker
from shared.settings import Settings
from shared.streams import StreamNames
from tests.conftest import service_env
from tests.pipeline import jsonl_records, wait_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
START_REDIS = ROOT / "deploy" / "redis" / "start-redis.sh"
USERS = ("admin", "ingest", "enrich", "publish")


@dataclass
class AclRedis:
    port: int
    passwords: dict[str, str]

    def url(self, user: str, password: str | None = None) -> str:
        """The URL a service gets in compose: its own user (the admin is "default")."""
        name = "default" if user == "admin" else user
        return f"redis://{name}:{password or self.passwords[user]}@127.0.0.1:{self.port}/0"


def _wait_started(proc: subprocess.Popen[bytes], log: Path) -> None:
    def started() -> bool:
        assert proc.poll() is None, log.read_text(errors="replace")
        return log.exists() and "Ready to accept connections" in log.read_text(errors="replace")

    wait_for(started, timeout=15, what="redis-server to start")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def acl_redis(settings: Settings, tmp_path: Path) -> Iterator[AclRedis]:
    """redis-server started the way compose starts it: start-redis.sh renders the ACL file
    for this test's key prefix from passwords in the environment, then execs redis-server."""
    if shutil.which("sha256sum") is None:
        pytest.skip("start-redis.sh needs sha256sum")
    passwords = {user: secrets.token_hex(16) for user in USERS}
    env = {
        "PATH": f"{Path(find_redis_server()).parent}{os.pathsep}{os.environ['PATH']}",
        "DROPWIRE_STREAM_PREFIX": settings.stream_prefix,
        "REDIS_ACL_FILE": str(tmp_path / "users.acl"),
        **{f"REDIS_{user.upper()}_PASSWORD": pw for user, pw in passwords.items()},
    }
    port = free_port()
    log = tmp_path / "redis.log"
    argv = ["sh", str(START_REDIS), "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    argv += ["--appendonly", "no", "--dir", str(tmp_path), "--logfile", str(log)]
    proc = subprocess.Popen(argv, env=env)
    try:
        _wait_started(proc, log)
        acl = (tmp_path / "users.acl").read_text()
        assert not any(pw in acl for pw in passwords.values())  # stored as hashes only
        yield AclRedis(port, passwords)
    finally:
        _stop(proc)


def _get(port: int, path: str) -> httpx.Response | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2)
    except httpx.HTTPError:
        return None


def _ready(port: int) -> bool:
    response = _get(port, "/health/ready")
    return response is not None and response.status_code == 200


def _service(
    name: str, env: dict[str, str], log: Path, extra: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "services.cli", name],
            env={**env, **(extra or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _fails_at_start(name: str, env: dict[str, str]) -> str:
    """Run a service expected to stop at start; return its whole output (stdout + stderr)."""
    proc = subprocess.run(
        [sys.executable, "-m", "services.cli", name],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"dropwire {name}: "), lines[0]
    return proc.stdout + proc.stderr


def test_each_service_runs_the_pipeline_with_only_its_acl_user(
    settings: Settings, acl_redis: AclRedis, sample_article: Path, tmp_path: Path
) -> None:
    # Retention every half second, published stream capped: publish's XTRIMs run too.
    base = service_env(settings)
    base |= {"DROPWIRE_RETENTION_INTERVAL_SECONDS": "0.5", "DROPWIRE_PUBLISHED_MAXLEN": "1000"}
    procs = [
        _service(name, base, tmp_path / f"{name}.log", {"DROPWIRE_REDIS_URL": acl_redis.url(name)})
        for name in ("ingest", "enrich", "publish")
    ]
    admin = redis.Redis.from_url(acl_redis.url("admin"), decode_responses=True)
    try:
        wait_for(lambda: _ready(settings.publish_http_port), timeout=30, what="publish ready")
        wait_for(lambda: _ready(settings.ingest_http_port), timeout=30, what="ingest ready")
        shutil.copy(sample_article, settings.inbox / "article.txt")
        records = wait_for(lambda: jsonl_records(settings.outbox), timeout=60, what="a record")
        assert records[0]["metadata"]["author"] == "Paul Goble"
        published = settings.streams.published
        wait_for(lambda: admin.xlen(published) == 1, timeout=30, what="the published entry")
        # Let a round of stream gauges and claimers run too, then: nothing was denied.
        time.sleep(1.5)
        denied = [e for e in admin.acl_log() if e["username"] in ("ingest", "enrich", "publish")]
        assert denied == [], denied
        for proc in procs:
            assert proc.poll() is None
    finally:
        admin.close()
        for proc in procs:
            proc.terminate()
        codes = [_wait_or_kill(proc, 60) for proc in procs]
    output = "".join((tmp_path / f"{n}.log").read_text() for n in ("ingest", "enrich", "publish"))
    assert codes == [0, 0, 0], output[-4000:]
    for password in acl_redis.passwords.values():
        assert password not in output


def _wait_or_kill(proc: subprocess.Popen[bytes], seconds: float) -> int | None:
    """The exit code, or None (and the process killed) if it did not exit in time."""
    try:
        return proc.wait(seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


def test_a_service_user_cannot_write_another_stage_stream(
    settings: Settings, acl_redis: AclRedis
) -> None:
    names = settings.streams
    enrich = redis.Redis.from_url(acl_redis.url("enrich"), decode_responses=True)
    publish = redis.Redis.from_url(acl_redis.url("publish"), decode_responses=True)
    try:
        assert enrich.xadd(names.enriched, {"id": "ok"})  # its own output
        with pytest.raises(redis.exceptions.NoPermissionError):
            enrich.xadd(names.published, {"id": "forged"})
        with pytest.raises(redis.exceptions.NoPermissionError):
            publish.xadd(names.raw, {"id": "forged"})
        with pytest.raises(redis.exceptions.NoPermissionError):
            enrich.set(f"{names.prefix}:published-id:x", "1")
        with pytest.raises(redis.exceptions.NoPermissionError):
            enrich.xlen("another-app:stream")  # nothing outside the prefix, not even reads
        with pytest.raises(redis.exceptions.NoPermissionError):
            enrich.flushall()
    finally:
        enrich.close()
        publish.close()
    anonymous = redis.Redis(port=acl_redis.port, retry=Retry(NoBackoff(), 0))
    try:
        with pytest.raises(redis.exceptions.AuthenticationError):
            anonymous.ping()
    finally:
        anonymous.close()


def _matrix(names: StreamNames) -> dict[str, tuple[list[list[str]], list[list[str]]]]:
    """Per service user: commands it runs (allowed), and writes outside its stage (denied)."""
    raw, enriched, published, dead = names.raw, names.enriched, names.published, names.dead_letter
    retried = names.retried
    seen, marker, sha = f"{names.prefix}:seen:x", f"{names.prefix}:published-id:x", "0" * 40
    common = [
        ["PING"],
        *[["XLEN", s] for s in (raw, enriched, published, dead)],
        *[["XINFO", "GROUPS", s] for s in (raw, enriched, published, dead)],
        *[["XGROUP", "CREATE", s, "g", "0", "MKSTREAM"] for s in (raw, enriched, dead, retried)],
        ["XPENDING", enriched, "g", "-", "+", "10"],
    ]

    def reads(stream: str) -> list[list[str]]:
        return [
            ["XREADGROUP", "GROUP", "g", "c", "COUNT", "16", "STREAMS", stream, ">"],
            ["XACK", stream, "g", "1-0"],
            ["XAUTOCLAIM", stream, "g", "c", "30000", "0-0"],
        ]

    def add(stream: str) -> list[str]:
        return ["XADD", stream, "*", "f", "v"]

    xrange_dead, xdel_dead = ["XRANGE", dead, "-", "+"], ["XDEL", dead, "1-0"]
    read_raw, read_retried = reads(raw)[0], reads(retried)[0]
    evalsha_seen = ["EVALSHA", sha, "2", seen, raw]
    return {
        "ingest": (
            [
                *common,
                *reads(dead),
                *reads(retried),
                add(raw),
                add(dead),
                xrange_dead,
                evalsha_seen,
            ],
            [
                add(enriched),
                add(published),
                add(retried),
                ["XTRIM", raw, "MAXLEN", "0"],
                ["DEL", raw],
                ["XRANGE", raw, "-", "+"],
                xdel_dead,
            ],
        ),
        "enrich": (
            [*common, *reads(raw), add(enriched), add(dead)],
            [
                add(raw),
                add(published),
                add(retried),
                ["SET", seen, "1"],
                ["XTRIM", enriched, "MAXLEN", "0"],
                read_retried,
            ],
        ),
        "publish": (
            [*common, *reads(enriched), add(published), add(dead)]
            + [["EVALSHA", sha, "2", marker, published], ["SCRIPT", "LOAD", "return 1"]]
            + [["XTRIM", s, "MINID", "1-0"] for s in (raw, enriched, published, retried)],
            [add(raw), add(enriched), add(retried), ["SET", seen, "1"], read_raw, read_retried],
        ),
    }


def _dryrun(admin: redis.Redis, user: str, command: list[str]) -> str:
    """OK, or why the user may not run ``command`` (the command does not run)."""
    answer = admin.execute_command("ACL", "DRYRUN", user, *command)  # type: ignore[no-untyped-call]
    return str(answer)


def test_each_acl_user_may_run_exactly_its_stage_commands(
    settings: Settings, acl_redis: AclRedis
) -> None:
    """ACL DRYRUN asks the real server, per user, whether a command with these keys passes."""
    admin = redis.Redis.from_url(acl_redis.url("admin"), decode_responses=True)
    try:
        for user, (allowed, denied) in _matrix(settings.streams).items():
            for command in allowed:
                assert _dryrun(admin, user, command) == "OK", (user, command)
            for command in denied:
                assert _dryrun(admin, user, command) != "OK", (user, command)
    finally:
        admin.close()


def test_wrong_credentials_fail_at_start_with_one_line_and_no_secret(
    settings: Settings, acl_redis: AclRedis
) -> None:
    wrong = secrets.token_hex(16)
    env = {**service_env(settings), "DROPWIRE_REDIS_URL": acl_redis.url("publish", wrong)}
    output = _fails_at_start("publish", env)
    assert "Redis refused the credentials" in output
    assert wrong not in output and acl_redis.passwords["publish"] not in output

    # The operator commands (the blocking client) keep secrets out of errors and output too.
    env["DROPWIRE_REDIS_URL"] = acl_redis.url("admin", wrong)
    status = subprocess.run(
        [sys.executable, "-m", "services.cli", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert status.returncode == 1 and len(status.stderr.strip().splitlines()) == 1
    assert wrong not in status.stdout + status.stderr

    env["DROPWIRE_REDIS_URL"] = acl_redis.url("admin")
    ok = subprocess.run(
        [sys.executable, "-m", "services.cli", "status", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert acl_redis.passwords["admin"] not in ok.stdout + ok.stderr


# --- TLS --------------------------------------------------------------------------------


@dataclass
class Certs:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def _leaf(name: str, subject: str, extensions: str, cwd: Path) -> None:
    (cwd / f"{name}.ext").write_text(
        f"{extensions}\nauthorityKeyIdentifier=keyid,issuer\nsubjectKeyIdentifier=hash\n"
    )
    _openssl(
        *("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"),
        *("-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject),
        cwd=cwd,
    )
    _openssl(
        *("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key"),
        *("-CAcreateserial", "-days", "1", "-out", f"{name}.crt", "-extfile", f"{name}.ext"),
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """A throwaway CA, a server certificate for 127.0.0.1/localhost and a client one."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    d = tmp_path_factory.mktemp("tls")
    _openssl(
        *("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
        *("-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "1"),
        *("-subj", "/CN=Dropwire test CA", "-addext", "keyUsage=critical,keyCertSign,cRLSign"),
        cwd=d,
    )
    _leaf(
        "server",
        "/CN=localhost",
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth",
        d,
    )
    _leaf("client", "/CN=dropwire-test-client", "extendedKeyUsage=clientAuth", d)
    return Certs(
        d / "ca.crt", d / "server.crt", d / "server.key", d / "client.crt", d / "client.key"
    )


@contextmanager
def _tls_redis(certs: Certs, tmp_path: Path, *, client_certs: bool) -> Iterator[int]:
    """A TLS-only redis-server (no plain port) on a free port; yields the port."""
    port = free_port()
    log = tmp_path / "redis-tls.log"
    argv = [find_redis_server(), "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1"]
    argv += ["--tls-cert-file", str(certs.server_cert), "--tls-key-file", str(certs.server_key)]
    argv += ["--tls-ca-cert-file", str(certs.ca)]
    argv += ["--tls-auth-clients", "yes" if client_certs else "no"]
    argv += ["--save", "", "--appendonly", "no", "--dir", str(tmp_path), "--logfile", str(log)]
    proc = subprocess.Popen(argv)
    try:
        _wait_started(proc, log)
        yield port
    finally:
        _stop(proc)


def test_a_service_over_tls_needs_the_ca(settings: Settings, certs: Certs, tmp_path: Path) -> None:
    with _tls_redis(certs, tmp_path, client_certs=False) as port:
        _service_over_tls(settings, certs, port, tmp_path)


def _service_over_tls(settings: Settings, certs: Certs, tls_redis: int, tmp_path: Path) -> None:
    env = {**service_env(settings), "DROPWIRE_REDIS_URL": f"rediss://127.0.0.1:{tls_redis}/0"}
    output = _fails_at_start("publish", env)  # the CA is not in the system store
    assert "TLS certificate is not trusted" in output and "DROPWIRE_REDIS_TLS_CA_FILE" in output

    proc = _service(
        "publish", env, tmp_path / "publish.log", {"DROPWIRE_REDIS_TLS_CA_FILE": str(certs.ca)}
    )
    try:
        wait_for(lambda: _ready(settings.publish_http_port), timeout=30, what="publish over TLS")
    finally:
        proc.terminate()
        assert proc.wait(30) == 0


async def test_mutual_tls_reaches_every_client(
    settings: Settings, certs: Certs, tmp_path: Path
) -> None:
    with _tls_redis(certs, tmp_path, client_certs=True) as port:
        await _every_client_over_mutual_tls(settings, certs, port)


async def _every_client_over_mutual_tls(settings: Settings, certs: Certs, tls_redis: int) -> None:
    """The asyncio client, the operator commands' blocking client and FastStream's broker
    all present the client certificate and trust the CA from the same settings."""
    tls = settings.model_copy(
        update={
            "redis_url": SecretStr(f"rediss://localhost:{tls_redis}/0"),
            "redis_tls_ca_file": certs.ca,
            "redis_tls_cert_file": certs.client_cert,
            "redis_tls_key_file": certs.client_key,
        }
    )
    client = connect(tls)
    try:
        assert await client.ping()
    finally:
        await client.aclose()
    blocking = sync_client(tls)
    try:
        assert blocking.ping()
    finally:
        blocking.close()
    broker = make_broker(tls, "publish")
    try:
        await broker.connect()
        assert await broker.ping(timeout=5)
    finally:
        await broker.stop()

    no_client_cert = tls.model_copy(
        update={"redis_tls_cert_file": None, "redis_tls_key_file": None}
    )
    with pytest.raises(RedisAccessError, match="TLS"):
        await check_access(no_client_cert)
