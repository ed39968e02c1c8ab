"""Turn a dropped file's bytes into text plus metadata: the pure core of the ingest service.

``extract`` touches no file system and no network, so every format is testable in memory,
and it raises only ``ExtractionError``: whatever a parsing library throws is wrapped, so the
service can move any bad file to the failed folder with a reason instead of crashing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

from services.ingest.formats._common import ExtractionError, Parsed
from services.ingest.formats.dateline import find_dateline
from shared.models import DocumentMetadata

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Extracted",
    "ExtractionError",
    "extract",
    "media_type_for",
]

_MEDIA_TYPES = {
    ".txt": "txt",
    ".md": "md",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
    ".eml": "eml",
    ".json": "json",
}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_MEDIA_TYPES)
# Where a dateline is looked for in formats without a title/byline layout of their own
# (a PDF's title may wrap over two lines and be followed by a byline).
_DATELINE_LINES = 5
# The reason given when a library fails in a way the format module did not anticipate.
_CORRUPT_REASON = {"pdf": "corrupt_pdf", "docx": "corrupt_docx", "json": "invalid_json"}
# Lone surrogates (a JSON "\\ud800", undecodable bytes kept as escapes) cannot be encoded as
# UTF-8, so they would break publishing; NUL is refused by PostgreSQL text columns.
_UNENCODABLE = re.compile("[\ud800-\udfff\x00]")


@dataclass(frozen=True)
class Extracted:
    """A file's text and what could be learned about it."""

    text: str
    metadata: DocumentMetadata
    media_type: str  # txt, md, html, pdf, docx, eml, json
    encoding: str | None  # detected encoding for text formats (txt, md, html), else None


def media_type_for(filename: str) -> str | None:
    """The media type by suffix (case-insensitive), or None when the format is unsupported."""
    return _MEDIA_TYPES.get(PurePath(filename).suffix.lower())


def extract(data: bytes, filename: str, *, max_text_chars: int = 2_000_000) -> Extracted:
    """Extract text and metadata from ``data``, the content of the file named ``filename``.

    Raises ExtractionError (never anything else) when the file cannot become a document:
    unsupported, empty, binary, undecodable, corrupt, without text, or too long.
    """
    media_type = media_type_for(filename)
    if media_type is None:
        suffix = PurePath(filename).suffix or "(none)"
        raise ExtractionError(
            "unsupported",
            f"unsupported file type {suffix}; supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}",
        )
    if not data.strip():
        raise ExtractionError("empty", "the file is empty" if not data else "the file is blank")
    try:
        parsed = _parse(media_type, data, max_text_chars)
    except ExtractionError:
        raise
    except Exception as exc:  # a library error no format module anticipated
        reason = _CORRUPT_REASON.get(media_type, "corrupt")
        raise ExtractionError(
            reason, f"cannot read the {media_type} file: {type(exc).__name__}: {exc}"
        ) from exc
    parsed.text = _scrub(parsed.text)
    _scrub_metadata(parsed.metadata)
    if not parsed.text.strip():
        raise ExtractionError("no_text", f"the {media_type} file has no text")
    if len(parsed.text) > max_text_chars:
        raise ExtractionError(
            "too_long",
            f"the text has {len(parsed.text)} characters; at most {max_text_chars} are accepted",
        )
    metadata = parsed.metadata
    if metadata.dateline_text is None and media_type not in ("txt", "md"):
        _apply_dateline(parsed)
    return Extracted(
        text=parsed.text, metadata=metadata, media_type=media_type, encoding=parsed.encoding
    )


def _scrub(value: str) -> str:
    """``value`` without NUL, and with U+FFFD for each lone surrogate."""
    return _UNENCODABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", value)


def _scrub_metadata(metadata: DocumentMetadata) -> None:
    for name in type(metadata).model_fields:
        value = getattr(metadata, name)
        if isinstance(value, str):
            setattr(metadata, name, _scrub(value) or None)
    metadata.extra = {_scrub(k): _scrub(v) for k, v in metadata.extra.items()}


def _parse(media_type: str, data: bytes, max_text_chars: int) -> Parsed:
    # Imported lazily: trafilatura, pypdfium2 and python-docx take a while to import and
    # a process may only ever see one format.
    if media_type in ("txt", "md"):
        from services.ingest.formats.text import parse_text

        return parse_text(data, markdown=media_type == "md")
    if media_type == "html":
        from services.ingest.formats.html import parse_html

        return parse_html(data)
    if media_type == "pdf":
        from services.ingest.formats.pdf import parse_pdf

        return parse_pdf(data, max_text_chars=max_text_chars)
    if media_type == "docx":
        from services.ingest.formats.docx import parse_docx

        return parse_docx(data, max_text_chars=max_text_chars)
    if media_type == "eml":
        from services.ingest.formats.eml import parse_eml

        return parse_eml(data)
    from services.ingest.formats.jsondoc import parse_json

    return parse_json(data)


def _apply_dateline(parsed: Parsed) -> None:
    """A news article keeps its dateline in any format; use it when metadata has no date."""
    dateline = find_dateline(parsed.text.split("\n", 40)[:40], max_lines=_DATELINE_LINES)
    if dateline is None:
        return
    metadata = parsed.metadata
    metadata.dateline_place = dateline.place
    metadata.dateline_text = dateline.text
    if metadata.published_at is None and dateline.published_at is not None:
        metadata.published_at = dateline.published_at
        metadata.published_at_source = "dateline"
