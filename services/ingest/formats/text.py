"""Plain text and Markdown: decode the bytes, then read metadata from the article's layout.

The layout is the one news reposts use: a title line, an optional byline ("Paul Goble"),
then body paragraphs, the first of which may open with a dateline. Markdown may also carry
YAML-style front matter, which is metadata, not text, so it is removed from the text.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from services.ingest.formats._common import ExtractionError, Parsed, clean_field, clean_text
from services.ingest.formats.dateline import find_dateline
from services.ingest.formats.encoding import decode_text, sniff_binary
from shared.models import DocumentMetadata

_MAX_TITLE_CHARS = 300
_MAX_BYLINE_CHARS = 80
_MD_HEADING = re.compile(r"^#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_MD_SETEXT_RULE = re.compile(r"^(?:=+|-+)[ \t]*$")
_MD_EMPHASIS = re.compile(r"^([*_]{1,3})(.+?)\1$")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_FRONT_MATTER_LINE = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:[ \t]*(.*?)[ \t]*$")

_NAME_WORD = re.compile(r"^(?:[A-ZÀ-ÖØ-ÞА-ЯЁ][\w'’\-]*\.?|(?:[A-ZА-Я]\.){1,3})$")
_NAME_CONNECTORS = frozenset(
    {"and", "&", "и", "de", "van", "von", "der", "den", "da", "du", "di", "del", "la", "le"}
    | {"bin", "ibn", "al", "el", "y"}
)
_BY = re.compile(r"^(?:by|от|автор:)[ \t]+", re.IGNORECASE)


def parse_text(data: bytes, *, markdown: bool) -> Parsed:
    """Decode a .txt or .md file and read its title, byline and dateline."""
    sniff_binary(data)
    raw, encoding = decode_text(data)
    text = clean_text(raw)
    if not text:
        raise ExtractionError("empty", "the file contains only whitespace")
    metadata = DocumentMetadata()
    if markdown:
        text = _apply_front_matter(text, metadata)
        if not text:
            raise ExtractionError("no_text", "the Markdown file has front matter but no text")
    _apply_layout(text, metadata, markdown=markdown)
    return Parsed(text=text, metadata=metadata, encoding=encoding)


def _apply_layout(text: str, metadata: DocumentMetadata, *, markdown: bool) -> None:
    """Title = first line, author = a name-like line after it, dateline = first paragraphs."""
    lines = [line.strip() for line in text.split("\n")]
    lines = [line for line in lines if line][:12]
    body_start = 0
    first = _md_plain(lines[0]) if markdown else lines[0]
    if len(first) <= _MAX_TITLE_CHARS and find_dateline([first]) is None:
        body_start = 1
        if markdown and len(lines) > 1 and _MD_SETEXT_RULE.match(lines[1]):
            body_start = 2
        metadata.title = metadata.title or clean_field(first)
        if len(lines) > body_start:
            candidate = _md_plain(lines[body_start]) if markdown else lines[body_start]
            author = byline_author(candidate)
            if author is not None:
                body_start += 1
                metadata.author = metadata.author or author
    dateline = find_dateline(lines[body_start:])
    if dateline is not None:
        metadata.dateline_place = dateline.place
        metadata.dateline_text = dateline.text
        if metadata.published_at is None and dateline.published_at is not None:
            metadata.published_at = dateline.published_at
            metadata.published_at_source = "dateline"


def byline_author(line: str) -> str | None:
    """The author's name if ``line`` is a byline ("Paul Goble", "By Jane van Dyke")."""
    line = line.strip()
    if not line or len(line) > _MAX_BYLINE_CHARS:
        return None
    name = _BY.sub("", line, count=1).strip()
    if name.endswith(".") and not name.endswith(("Jr.", "Sr.")):
        return None  # a sentence, not a name
    words = name.split()
    if not 2 <= len(words) <= 5:
        return None
    if words[0].lower() in _NAME_CONNECTORS or words[-1].lower() in _NAME_CONNECTORS:
        return None
    for word in words:
        if word.lower() in _NAME_CONNECTORS:
            continue
        if not _NAME_WORD.match(word.rstrip(",")):
            return None
    return name


def _md_plain(line: str) -> str:
    """A Markdown line without its heading marker or wrapping emphasis."""
    heading = _MD_HEADING.match(line)
    if heading:
        line = heading.group(1)
    emphasis = _MD_EMPHASIS.match(line)
    if emphasis:
        line = emphasis.group(2)
    return line.strip()


def _apply_front_matter(text: str, metadata: DocumentMetadata) -> str:
    """Move ``title:``/``author:``/``date:`` front matter into metadata; return the rest."""
    match = _FRONT_MATTER.match(text)
    if match is None:
        return text
    for line in match.group(1).split("\n"):
        field = _FRONT_MATTER_LINE.match(line)
        if field is None:
            continue
        key = field.group(1).lower()
        value = clean_field(field.group(2).strip("\"'"))
        if value is None:
            continue
        if key == "title":
            metadata.title = value
        elif key in ("author", "authors", "by"):
            metadata.author = value.strip("[]").replace('"', "").replace("'", "") or None
        elif key in ("date", "published", "published_at", "pubdate"):
            iso = iso_date_or_datetime(value)
            if iso is not None:
                metadata.published_at = iso
                metadata.published_at_source = "metadata"
            else:
                metadata.extra[key] = value
        elif key in ("lang", "language"):
            metadata.language = value
        else:
            metadata.extra[key] = value
    return text[match.end() :].strip()


def iso_date_or_datetime(value: str) -> str | None:
    """``value`` if it is an ISO 8601 date or date-time (kept at its granularity), else None."""
    value = value.strip()
    if re.fullmatch(r"\d{4}(?:-\d{2})?", value):
        return value if _valid_partial(value) else None
    try:
        if len(value) == 10:
            return date.fromisoformat(value).isoformat()
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value


def _valid_partial(value: str) -> bool:
    parts = value.split("-")
    return len(parts) == 1 or 1 <= int(parts[1]) <= 12
