"""Turning one file into a ``RawDocument``: limits, content id, extraction.

Blocking by design (file I/O and CPU-bound extraction): callers run it in a thread. Used by
the inbox watcher and by the one-shot backfill (``dropwire ingest PATH...``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from services.ingest.extract import ExtractionError, extract, media_type_for
from services.ingest.files import safe_name
from services.ingest.sandbox import run_limited
from shared.models import RawDocument, SourceFile, content_id
from shared.settings import Settings

# Formats read by large native parsers (PDFium, lxml) or zip + XML: extracted in the sandbox
# child, which is killed when it runs out of time or memory (services.ingest.sandbox).
SANDBOXED = frozenset({"pdf", "docx", "html"})


class ReadError(Exception):
    """A file that cannot become a document, with a short reason code and a message."""

    def __init__(self, reason: str, message: str, doc_id: str | None = None) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
        self.doc_id = doc_id


def read_document(path: Path, rel: str, settings: Settings) -> RawDocument:
    """Read and extract ``path`` (shown as ``rel``). Raises ``ReadError``, or
    ``FileNotFoundError`` when the file vanished meanwhile (nothing to fail then)."""
    try:
        st = path.stat()
        if st.st_size > settings.max_file_bytes:  # checked before reading a byte
            raise ReadError(
                "too_large",
                f"file is {st.st_size} bytes, over the limit of {settings.max_file_bytes} "
                "(DROPWIRE_MAX_FILE_BYTES)",
            )
        media_type = media_type_for(path.name)
        if media_type is None:
            raise ReadError("unsupported", f"unsupported file type {path.suffix!r}")
        data = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ReadError("unreadable", f"{type(exc).__name__}: {exc}") from exc
    doc_id = content_id(data)
    try:
        if media_type in SANDBOXED and settings.extract_timeout_seconds > 0:
            extracted = run_limited(
                extract,
                data,
                path.name,
                max_text_chars=settings.max_text_chars,
                timeout=settings.extract_timeout_seconds,
                memory_mb=settings.extract_memory_mb,
            )
        else:
            extracted = extract(data, path.name, max_text_chars=settings.max_text_chars)
    except ExtractionError as exc:
        raise ReadError(exc.reason, exc.message, doc_id) from exc
    return RawDocument(
        id=doc_id,
        source=SourceFile(
            path=safe_name(rel),
            name=safe_name(path.name),
            size=len(data),
            mtime=datetime.fromtimestamp(st.st_mtime, UTC),
            media_type=extracted.media_type,
            encoding=extracted.encoding,
        ),
        text=extracted.text,
        metadata=extracted.metadata,
        trace_id=uuid.uuid4().hex,
    )
