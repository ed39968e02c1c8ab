"""Webhook sink: POSTs each record as JSON to ``DROPWIRE_WEBHOOK_URL``, signed with HMAC-SHA256.

Every request carries:

* ``Content-Type: application/json`` and the body ``record.model_dump_json()``;
* ``X-Dropwire-Id``: the document id. Deliveries are at-least-once (a redelivered batch is
  posted again), so receivers deduplicate on this id (plus the enricher version in the body);
* ``X-Dropwire-Signature: sha256=<hex>``: HMAC-SHA256 of the exact body bytes, keyed with
  ``DROPWIRE_WEBHOOK_SECRET``. Receivers check it with :func:`verify_signature` (or the same
  three lines in their language) on the raw body, before parsing it;
* ``X-Dropwire-Timestamp``: Unix seconds of this attempt (informational, not signed).

Connection errors, timeouts, 408, 429 and 5xx are retried with exponential backoff
(``webhook_backoff_seconds`` doubling, capped at 30 s; a small ``Retry-After`` is honoured) up
to ``webhook_max_attempts``. Other 4xx, redirects and exhausted retries give ``Rejected``:
the record goes to the dead letters rather than blocking the stream.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Sequence
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit, urlunsplit

import httpx
import structlog

from services.publish.sinks.base import Rejected
from shared.models import EnrichedRecord
from shared.settings import Settings

log = structlog.stdlib.get_logger("dropwire.publish.webhook")

SIGNATURE_HEADER = "X-Dropwire-Signature"
ID_HEADER = "X-Dropwire-Id"
TIMESTAMP_HEADER = "X-Dropwire-Timestamp"
MAX_BACKOFF_SECONDS = 30.0
EXCERPT_CHARS = 200
MAX_BODY_READ = 64 * 1024
RETRYABLE_STATUS = frozenset({408, 429})


def sign(secret: str, body: bytes) -> str:
    """The signature header value for ``body``: ``sha256=<hex hmac-sha256>``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(secret: str, body: bytes, header: str) -> bool:
    """For receivers: True if ``header`` (X-Dropwire-Signature) signs exactly ``body``.

    Pass the raw request body, not re-serialised JSON: any byte of difference fails.
    The comparison is constant-time, so the check leaks nothing about the expected value.
    """
    if not secret:
        return False
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().encode())


def backoff_delay(base: float, attempt: int) -> float:
    """Delay before attempt ``attempt + 1``: base, 2*base, 4*base... capped at 30 s."""
    return float(min(base * (2 ** (attempt - 1)), MAX_BACKOFF_SECONDS))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _display_url(url: str) -> str:
    """The URL without credentials or query string, which may carry tokens: safe to log."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _excerpt(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    return " ".join(text.split())[:EXCERPT_CHARS]


class WebhookSink:
    """POSTs every record, concurrently within a batch, with retries per record."""

    name = "webhook"

    def __init__(self, settings: Settings, *, concurrency: int = 8) -> None:
        self._url = settings.webhook_url
        self._secret = settings.webhook_secret.get_secret_value()
        self._timeout = settings.webhook_timeout_seconds
        self._max_attempts = settings.webhook_max_attempts
        self._backoff = settings.webhook_backoff_seconds
        self._concurrency = concurrency
        self._client: httpx.AsyncClient | None = None
        self._semaphore = asyncio.Semaphore(concurrency)
        self.display_url = _display_url(self._url)

    async def start(self) -> None:
        if urlsplit(self._url).scheme not in ("http", "https"):
            raise ValueError("the webhook sink needs DROPWIRE_WEBHOOK_URL (http:// or https://)")
        if not self._secret:
            raise ValueError("the webhook sink needs DROPWIRE_WEBHOOK_SECRET to sign requests")
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self._timeout),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=self._concurrency),
        )
        log.info("webhook.ready", url=self.display_url, max_attempts=self._max_attempts)

    async def write(self, records: Sequence[EnrichedRecord]) -> list[str | Rejected]:
        if self._client is None:
            raise RuntimeError("WebhookSink.write before start")
        client = self._client
        return list(await asyncio.gather(*(self._deliver(client, r) for r in records)))

    async def _deliver(self, client: httpx.AsyncClient, record: EnrichedRecord) -> str | Rejected:
        try:
            body = record.model_dump_json().encode()
        except ValueError as exc:  # e.g. a lone surrogate: no attempt can ever succeed
            return Rejected(f"webhook: record cannot be encoded: {exc}"[:500])
        signature = sign(self._secret, body)
        last = "no attempt"
        for attempt in range(1, self._max_attempts + 1):
            delay = backoff_delay(self._backoff, attempt)
            headers = {
                "Content-Type": "application/json",
                ID_HEADER: record.id,
                SIGNATURE_HEADER: signature,
                TIMESTAMP_HEADER: str(int(time.time())),
            }
            try:
                # The semaphore bounds requests in flight, not records backing off.
                async with self._semaphore, asyncio.timeout(self._timeout):
                    status, excerpt, retry_after = await self._post(client, body, headers)
            except (httpx.RequestError, TimeoutError) as exc:  # incl. httpx's own timeouts
                last = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
            else:
                if 200 <= status < 300:
                    return f"webhook:{self.display_url} {status}"
                last = f"HTTP {status}: {excerpt}".rstrip(": ")
                if status not in RETRYABLE_STATUS and status < 500:
                    log.error("webhook.rejected", doc_id=record.id, status=status)
                    return Rejected(f"webhook {self.display_url} answered {last}")
                if retry_after is not None and retry_after <= MAX_BACKOFF_SECONDS:
                    delay = retry_after
            if attempt < self._max_attempts:
                log.warning(
                    "webhook.retry", doc_id=record.id, attempt=attempt, delay=delay, error=last
                )
                await asyncio.sleep(delay)
        log.error("webhook.gave_up", doc_id=record.id, attempts=self._max_attempts, error=last)
        return Rejected(
            f"webhook {self.display_url} failed after {self._max_attempts} attempts: {last}"
        )

    async def _post(
        self, client: httpx.AsyncClient, body: bytes, headers: dict[str, str]
    ) -> tuple[int, str, float | None]:
        """One POST: the status, an excerpt of the answer body, and Retry-After if any."""
        async with client.stream("POST", self._url, content=body, headers=headers) as response:
            # Read a bounded head of the body: enough for an excerpt, and small answers are
            # drained so the connection can be reused.
            head = b""
            async for chunk in response.aiter_bytes():
                head += chunk
                if len(head) >= MAX_BODY_READ:
                    break
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            return response.status_code, _excerpt(head), retry_after

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
