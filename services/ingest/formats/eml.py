"""E-mail (.eml): the text body, with Subject, From and Date as title, author and date.

The text/plain part is preferred because it is what the sender wrote; an HTML-only
message goes through the same main-text extraction as an HTML page. Attachments are ignored.

Header values stay plain strings: the standard library's structured header parser
(``email.policy.default``) takes quadratic time and memory on hostile headers (20,000
encoded words took 8 s and 2.7 GB, 20,000 quotes in a From 30 s), so the few headers used
here are decoded with the linear legacy functions, and every value is capped in length.
"""

from __future__ import annotations

import email
import email.policy
from datetime import UTC
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.utils import parseaddr, parsedate_to_datetime

from services.ingest.formats._common import ExtractionError, Parsed, clean_field, clean_text
from services.ingest.formats.encoding import decode_text
from services.ingest.formats.html import parse_markup
from shared.models import DocumentMetadata

_MESSAGE_HEADERS = ("from", "to", "subject", "date", "message-id", "mime-version", "received")
# Longer header values are cut: a Subject or a To list has no business being longer, and
# Content-* values are parsed for parameters by code that is quadratic in their length.
MAX_HEADER_CHARS = 16_384
MAX_CONTENT_HEADER_CHARS = 2_048


def _plain_header(name: str, value: str) -> str:
    limit = MAX_CONTENT_HEADER_CHARS if name.lower().startswith("content-") else MAX_HEADER_CHARS
    return value[:limit]


# The default policy (EmailMessage, get_body, get_content) without structured headers.
_POLICY = email.policy.default.clone(header_factory=_plain_header)


def parse_eml(data: bytes) -> Parsed:
    """Body text and headers of a single RFC 5322 message."""
    try:
        message = email.message_from_bytes(data, policy=_POLICY)
    except Exception as exc:
        raise ExtractionError("invalid_email", f"the file is not an e-mail message: {exc}") from exc
    if not isinstance(message, EmailMessage) or not any(
        key.lower() in _MESSAGE_HEADERS for key in message
    ):
        raise ExtractionError("invalid_email", "the file has no e-mail headers (From, Subject...)")
    metadata = _metadata(message)
    text = ""
    plain = _body_part(message, "plain")
    if plain is not None:
        text = clean_text(_part_text(plain))
    if not text:
        html = _body_part(message, "html")
        if html is not None:
            markup = _part_text(html)
            if markup.strip():
                try:
                    text = parse_markup(markup).text
                except ExtractionError as exc:
                    if exc.reason == "unsafe_xml":
                        raise
                    text = ""
    if not text:
        raise ExtractionError("no_text", "the e-mail has no text or HTML body")
    return Parsed(text=text, metadata=metadata)


def _body_part(message: EmailMessage, subtype: str) -> Message | None:
    try:
        return message.get_body(preferencelist=(subtype,))
    except Exception:
        return None


def _part_text(part: Message) -> str:
    """A part's decoded text; an unknown or wrong charset falls back to detection."""
    if isinstance(part, EmailMessage):
        try:
            content = part.get_content()
        except (LookupError, UnicodeError, ValueError, KeyError):
            content = None
        if isinstance(content, str):
            return content
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes) or not payload:
        return ""
    try:
        return decode_text(payload)[0]
    except ExtractionError:
        return payload.decode("utf-8", errors="replace")


def _raw_header(message: EmailMessage, name: str) -> str | None:
    """A header's raw value (unfolded, capped), with raw 8-bit bytes read as UTF-8."""
    try:
        value = message.get(name)
    except Exception:
        return None
    if not isinstance(value, str):
        return None
    # message_from_bytes keeps non-ASCII header bytes as surrogate escapes.
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _decoded(value: str) -> str:
    """A header value with its RFC 2047 encoded words (``=?utf-8?q?...?=``) decoded."""
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except Exception:  # an unknown charset, bad base64...: decode what can be decoded
        pass
    try:
        chunks = decode_header(value)
    except Exception:
        return value
    parts: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            parts.append(chunk)
            continue
        try:
            parts.append(chunk.decode(charset or "ascii", "replace"))
        except (LookupError, ValueError):  # ValueError: a NUL in the charset's name
            parts.append(chunk.decode("utf-8", "replace"))
    return "".join(parts)


def _header(message: EmailMessage, name: str) -> str | None:
    raw = _raw_header(message, name)
    return clean_field(_decoded(raw)) if raw is not None else None


def _metadata(message: EmailMessage) -> DocumentMetadata:
    metadata = DocumentMetadata(title=_header(message, "Subject"))
    sender = _header(message, "From")
    if sender is not None:
        metadata.author = _sender_name(message) or sender
        metadata.extra["from"] = sender
    for name, key in (("To", "to"), ("Message-ID", "message_id"), ("Cc", "cc")):
        value = _header(message, name)
        if value is not None:
            metadata.extra[key] = value
    published = _email_date(_raw_header(message, "Date"))
    if published is not None:
        metadata.published_at = published
        metadata.published_at_source = "email"
    language = _header(message, "Content-Language")
    if language is not None:
        metadata.language = language.split(",")[0].strip().split("-")[0].lower() or None
    return metadata


def _sender_name(message: EmailMessage) -> str | None:
    """The sender's display name, else the address."""
    raw = _raw_header(message, "From")
    if raw is None:
        return None
    try:
        name, address = parseaddr(raw)
    except Exception:  # RecursionError on deeply nested comments, among others
        return None
    return clean_field(_decoded(name)) or clean_field(address)


def _email_date(value: str | None) -> str | None:
    """An RFC 5322 date as ISO 8601 in UTC; a date without zone is taken as UTC."""
    if value is None:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat()
