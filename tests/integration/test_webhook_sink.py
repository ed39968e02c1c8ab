"""The webhook sink against a real HTTP server (stdlib ``http.server`` in a thread)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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

pytestmark = pytest.mark.integration

SECRET = "s3cret-for-tests"


@dataclass
class Received:
    doc_id: str
    body: bytes
    signature: str
    timestamp: str
    content_type: str


# A behaviour gets (request number for this id, starting at 1) and returns
# (status, body, extra headers, seconds to sleep before answering).
Behaviour = Callable[[int], tuple[int, bytes, dict[str, str], float]]


@dataclass
class Server:
    url: str
    requests: list[Received] = field(default_factory=list)
    behaviour: Behaviour = lambda n: (200, b"ok", {}, 0.0)
    in_flight: int = 0
    max_in_flight: int = 0

    def attempts(self) -> Counter[str]:
        return Counter(r.doc_id for r in self.requests)


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server(url="")
    lock = threading.Lock()
    per_id: Counter[str] = Counter()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            doc_id = self.headers.get("X-Dropwire-Id", "")
            with lock:
                state.in_flight += 1
                state.max_in_flight = max(state.max_in_flight, state.in_flight)
                per_id[doc_id] += 1
                n = per_id[doc_id]
                state.requests.append(
                    Received(
                        doc_id,
                        body,
                        self.headers.get("X-Dropwire-Signature", ""),
                        self.headers.get("X-Dropwire-Timestamp", ""),
                        self.headers.get("Content-Type", ""),
                    )
                )
            status, answer, headers, sleep = state.behaviour(n)
            time.sleep(sleep)
            try:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and left
            finally:
                with lock:
                    state.in_flight -= 1

        def log_message(self, format: str, *args: object) -> None:
            return None

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/hook?token=abc"
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


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
    server.behaviour = lambda n: (503, b"busy", {}, 0.0) if n <= 2 else (204, b"", {}, 0.0)
    records = [make_record(f"document number {i}") for i in range(12)]  # > the concurrency of 8
    where = await _write(_settings(tmp_path, server.url), records)
    assert where == [f"webhook:{server.url.split('?')[0]} 204"] * 12  # no query string
    assert server.attempts() == {r.id: 3 for r in records}
    for got in server.requests:
        assert got.content_type == "application/json"
        assert verify_signature(SECRET, got.body, got.signature)
        assert not verify_signature("another secret", got.body, got.signature)
        assert abs(int(got.timestamp) - time.time()) < 60
        assert json.loads(got.body)["id"] == got.doc_id
    delivered = {r.id: r.model_dump_json().encode() for r in records}
    assert all(got.body == delivered[got.doc_id] for got in server.requests)


async def test_posts_of_a_batch_run_concurrently_but_bounded(
    server: Server, tmp_path: Path
) -> None:
    server.behaviour = lambda n: (200, b"", {}, 0.2)
    records = [make_record(f"parallel {i}") for i in range(20)]
    started = time.monotonic()
    where = await _write(_settings(tmp_path, server.url), records)
    assert all(isinstance(w, str) for w in where)
    assert 2 <= server.max_in_flight <= 8
    assert time.monotonic() - started < 20 * 0.2  # not one after another


async def test_400_is_rejected_without_retry(server: Server, tmp_path: Path) -> None:
    server.behaviour = lambda n: (400, b'{"error": "bad\nfield"}', {}, 0.0)
    record = make_record("rejected at once")
    (result,) = await _write(_settings(tmp_path, server.url), [record])
    assert isinstance(result, Rejected)
    assert "400" in result.reason and '"error": "bad field"' in result.reason
    assert "token" not in result.reason  # the query string may hold credentials
    assert server.attempts() == {record.id: 1}


async def test_always_failing_server_is_rejected_after_max_attempts(
    server: Server, tmp_path: Path
) -> None:
    server.behaviour = lambda n: (500, b"boom", {}, 0.0)
    record = make_record("never accepted")
    (result,) = await _write(_settings(tmp_path, server.url, webhook_max_attempts=3), [record])
    assert isinstance(result, Rejected)
    assert "after 3 attempts" in result.reason and "HTTP 500: boom" in result.reason
    assert server.attempts() == {record.id: 3}


async def test_timeouts_are_retried(server: Server, tmp_path: Path) -> None:
    server.behaviour = lambda n: (200, b"late", {}, 1.5) if n == 1 else (200, b"ok", {}, 0.0)
    record = make_record("slow first time")
    settings = _settings(tmp_path, server.url, webhook_timeout_seconds=0.5)
    (result,) = await _write(settings, [record])
    assert isinstance(result, str) and result.endswith(" 200")
    assert server.attempts() == {record.id: 2}


async def test_429_waits_for_a_small_retry_after(server: Server, tmp_path: Path) -> None:
    server.behaviour = lambda n: (
        (429, b"", {"Retry-After": "1"}, 0.0) if n == 1 else (200, b"", {}, 0.0)
    )
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
