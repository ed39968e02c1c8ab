"""The webhook sink against a real HTTP server (``tests/http_capture.py``: stdlib
``http.server`` in a thread)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from services.publish.sinks.base import Rejected
from services.publish.sinks.webhook import (
    WebhookSink,
    backoff_delay,
    parse_retry_after,
    sign,
    verify_signature,
)
from shared.models import EnrichedRecord
from shared.settings import Settings
from tests.factories import make_record
from tests.http_capture import Captured, CaptureServer, Reply

pytestmark = pytest.mark.integration

SECRET = "s3cret-for-tests"


# A behaviour gets the request number for this record id (starting at 1) and returns the
# reply: status, body, extra headers, seconds to sleep before answering.
Behaviour = Callable[[int], Reply]


def _doc_id(request: Captured) -> str:
    return request.header("X-Dropwire-Id")


@dataclass
class Server:
    """The capture server, answering each POST by ``behaviour`` of its attempt number."""

    capture: CaptureServer
    url: str
    behaviour: Behaviour = lambda n: Reply(200, b"ok")

    @property
    def requests(self) -> list[Captured]:
        return self.capture.requests

    @property
    def max_in_flight(self) -> int:
        return self.capture.max_in_flight

    def attempts(self) -> Counter[str]:
        return Counter(_doc_id(r) for r in self.requests)


@pytest.fixture
def server(http_capture: CaptureServer) -> Server:
    state = Server(http_capture, url=f"{http_capture.url}/hook?token=abc")
    lock = threading.Lock()
    per_id: Counter[str] = Counter()

    def respond(request: Captured) -> Reply:
        with lock:
            per_id[_doc_id(request)] += 1
            n = per_id[_doc_id(request)]
        return state.behaviour(n)

    http_capture.answer(respond)
    return state


def _settings(tmp_path: Path, url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "webhook_url": url,
        "webhook_secret": SecretStr(SECRET),
        "webhook_timeout_seconds": 2.0,
        "webhook_max_attempts": 4,
        "webhook_backoff_seconds": 0.01,
        "inbox": tmp_path / "inbox",
        "outbox": tmp_path / "outbox",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


async def _write(settings: Settings, records: list[EnrichedRecord]) -> list[str | Rejected]:
    sink = WebhookSink(settings)
    await sink.start()
    try:
        return await sink.write(records)
    finally:
        await sink.close()


async def test_retries_503_then_delivers_each_record_once_signed(
    server: Server, tmp_path: Path
) -> None:
    server.behaviour = lambda n: Reply(503, b"busy") if n <= 2 else Reply(204)
    records = [make_record(f"document number {i}") for i in range(12)]  # > the concurrency of 8
    where = await _write(_settings(tmp_path, server.url), records)
    assert where == [f"webhook:{server.url.split('?')[0]} 204"] * 12  # no query string
    assert server.attempts() == {r.id: 3 for r in records}
    for got in server.requests:
        signature = got.header("X-Dropwire-Signature")
        assert got.header("Content-Type") == "application/json"
        assert verify_signature(SECRET, got.body, signature)
        assert not verify_signature("another secret", got.body, signature)
        assert abs(int(got.header("X-Dropwire-Timestamp")) - time.time()) < 60
        assert json.loads(got.body)["id"] == _doc_id(got)
    delivered = {r.id: r.model_dump_json().encode() for r in records}
    assert all(got.body == delivered[_doc_id(got)] for got in server.requests)


async def test_posts_of_a_batch_run_concurrently_but_bounded(
    server: Server, tmp_path: Path
) -> None:
    server.behaviour = lambda n: Reply(200, delay=0.2)
    records = [make_record(f"parallel {i}") for i in range(20)]
    started = time.monotonic()
    where = await _write(_settings(tmp_path, server.url), records)
    assert all(isinstance(w, str) for w in where)
    assert 2 <= server.max_in_flight <= 8
    assert time.monotonic() - started < 20 * 0.2  # not one after another


async def test_400_is_rejected_without_retry(server: Server, tmp_path: Path) -> None:
    server.behaviour = lambda n: Reply(400, b'{"error": "bad\nfield"}')
    record = make_record("rejected at once")
    (result,) = await _write(_settings(tmp_path, server.url), [record])
    assert isinstance(result, Rejected)
    assert "400" in result.reason and '"error": "bad field"' in result.reason
    assert "token" not in result.reason  # the query string may hold credentials
    assert server.attempts() == {record.id: 1}


async def test_always_failing_server_is_rejected_after_max_attempts(
    server: Server, tmp_path: Path
) -> None:
    server.behaviour = lambda n: Reply(500, b"boom")
    record = make_record("never accepted")
    (result,) = await _write(_settings(tmp_path, server.url, webhook_max_attempts=3), [record])
    assert isinstance(result, Rejected)
    assert "after 3 attempts" in result.reason and "HTTP 500: boom" in result.reason
    assert server.attempts() == {record.id: 3}


async def test_timeouts_are_retried(server: Server, tmp_path: Path) -> None:
    server.behaviour = lambda n: Reply(200, b"late", delay=1.5) if n == 1 else Reply(200, b"ok")
    record = make_record("slow first time")
    settings = _settings(tmp_path, server.url, webhook_timeout_seconds=0.5)
    (result,) = await _write(settings, [record])
    assert isinstance(result, str) and result.endswith(" 200")
    assert server.attempts() == {record.id: 2}


async def test_429_waits_for_a_small_retry_after(server: Server, tmp_path: Path) -> None:
    server.behaviour = lambda n: Reply(429, headers={"Retry-After": "1"}) if n == 1 else Reply(200)
    record = make_record("rate limited")
    started = time.monotonic()
    (result,) = await _write(_settings(tmp_path, server.url), [record])
    assert isinstance(result, str)
    assert time.monotonic() - started >= 0.9  # not the 0.01 s backoff
    assert server.attempts() == {record.id: 2}


async def test_connection_refused_is_retried_then_rejected(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = _settings(tmp_path, f"http://127.0.0.1:{port}/hook", webhook_max_attempts=2)
    (result,) = await _write(settings, [make_record("nobody listens")])
    assert isinstance(result, Rejected)
    assert "after 2 attempts" in result.reason and "ConnectError" in result.reason


async def test_start_requires_url_and_secret(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="WEBHOOK_URL"):
        await WebhookSink(_settings(tmp_path, "")).start()
    with pytest.raises(ValueError, match="WEBHOOK_SECRET"):
        await WebhookSink(_settings(tmp_path, "http://x/", webhook_secret=SecretStr(""))).start()


def test_signature_helpers() -> None:
    body = b'{"id": "x"}'
    header = sign("k", body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert verify_signature("k", body, header)
    assert not verify_signature("k", body + b" ", header)
    assert not verify_signature("", body, sign("", body))
    assert [backoff_delay(0.5, a) for a in (1, 2, 3, 8, 20)] == [0.5, 1.0, 2.0, 30.0, 30.0]
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None
