"""E-mail (.eml): the text body, with Subject, From and Date as title, author and date.

The text/plain part is preferred because it is what the sender wrote; an HTML-only
message goes through the same main-text extraction as an HTML page. Attachments are ignored.
"""

from __future__ import annotations

import email
import email.policy
from datetime import UTC
from email.message import EmailMessage, Message
from email.utils import parsedate_to_datetime

from services.ingest.formats._common import ExtractionError, Parsed, clean_field, clean_text
from services.ingest.formats.encoding import decode_text
from services.ingest.formats.html import parse_markup
from shared.models import DocumentMetadata

_MESSAGE_HEADERS = ("from", "to", "subject", "date", "message-id", "mime-version", "received")


def parse_eml(data: bytes) -> Parsed:
    """Body text and headers of a single RFC 5322 message."""
    try:
        message = email.message_from_bytes(data, policy=email.policy.default)
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
                except ExtractionError:
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


def _header(message: EmailMessage, name: str) -> str | None:
    try:
        value = message.get(name)
    except Exception:  # a malformed header the policy cannot parse
        return None
    return clean_field(str(value)) if value is not None else None


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
    published = _email_date(_header(message, "Date"))
    if published is not None:
        metadata.published_at = published
        metadata.published_at_source = "email"
    language = _header(message, "Content-Language")
    if language is not None:
        metadata.language = language.split(",")[0].strip().split("-")[0].lower() or None
    return metadata


def _sender_name(message: EmailMessage) -> str | None:
    """The sender's display name, else the address."""
    try:
        header = message["From"]
        addresses = getattr(header, "addresses", ())
    except Exception:
        return None
    for address in addresses:
        return clean_field(address.display_name) or clean_field(address.addr_spec)
    return None


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
