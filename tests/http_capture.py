"""A stdlib HTTP server in a thread that records every request and answers as it is told.

Used for the webhook sink and the OTLP collector in tests (fixture ``http_capture`` in
``tests/conftest.py``)::

    http_capture.answer(503)          # the endpoint is down ...
    http_capture.answer(204)          # ... and comes back
    http_capture.answer(lambda request: Reply(429, headers={"Retry-After": "1"}))
    [r.path for r in http_capture.requests]
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass(frozen=True)
class Reply:
    """What the server answers: status, body, extra headers, seconds to wait first."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Captured:
    """One request as received, and the status it was answered with."""

    method: str
    path: str  # with the query string
    headers: Message  # case-insensitive
    body: bytes
    status: int = 0  # 0 only in the request a responder function is given

    def header(self, name: str) -> str:
        return self.headers.get(name, "")


Responder = Callable[[Captured], Reply]


class CaptureServer:
    """Records requests (method, path, headers, body) and answers each one with what
    ``answer`` last set: a status, a ``Reply``, or a function of the request (called in
    the server's thread, before the request is recorded)."""

    def __init__(self, reply: int | Reply | Responder = 200) -> None:
        self._lock = threading.Lock()
        self._requests: list[Captured] = []
        self._responder: Responder = lambda request: Reply()
        self.answer(reply)
        self.in_flight = 0
        self.max_in_flight = 0
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The server's base URL, without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[Captured]:
        """A snapshot of the requests received so far, in order."""
        with self._lock:
            return list(self._requests)

    def answer(self, reply: int | Reply | Responder) -> None:
        """Answer the requests from now on with this status, reply, or function of them."""
        if isinstance(reply, int):
            reply = Reply(reply)
        if isinstance(reply, Reply):
            fixed = reply
            self._responder = lambda request: fixed
        else:
            self._responder = reply

    def start(self) -> CaptureServer:
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(5)
        self._httpd.server_close()

    def __enter__(self) -> CaptureServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        request = Captured(handler.command, handler.path, handler.headers, body)
        reply = self._responder(request)
        with self._lock:
            self._requests.append(replace(request, status=reply.status))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(reply.delay)
            handler.send_response(reply.status)
            for key, value in reply.headers.items():
                handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(reply.body)))
            handler.end_headers()
            handler.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and left
        finally:
            with self._lock:
                self.in_flight -= 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server._handle(self)

            def do_POST(self) -> None:
                server._handle(self)

            def do_PUT(self) -> None:
                server._handle(self)

            def log_message(self, format: str, *args: object) -> None:
                return None

        return Handler
