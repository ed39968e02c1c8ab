"""HTML pages: trafilatura finds the article's main text and its title, author and date.

The bytes are decoded here, not by trafilatura, because trafilatura ignores the page's
declared charset and guesses instead; a page that says ``<meta charset="windows-1251">``
should be read as Windows-1251.
"""

from __future__ import annotations

import codecs
import logging
import re
from typing import Any

import trafilatura
from lxml import etree  # type: ignore[import-untyped]
from trafilatura.settings import Document

from services.ingest.formats._common import ExtractionError, Parsed, clean_field, clean_text
from services.ingest.formats.encoding import decode_text, sniff_binary
from services.ingest.formats.text import iso_date_or_datetime
from shared.models import DocumentMetadata

_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.I)
_SNIFF_BYTES = 4096
# Only the page's own date tags and markup, not dates found anywhere in the running text.
_DATE_PARAMS = {"original_date": True, "extensive_search": False}

# trafilatura logs "discarding data" at warning level for every page without main text.
logging.getLogger("trafilatura").setLevel(logging.ERROR)

# No network, no comments or processing instructions, libxml2's default size limits.
_LXML_PARSER = etree.HTMLParser(
    encoding="utf-8", no_network=True, remove_comments=True, remove_pis=True, collect_ids=False
)
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# trafilatura spends about half a millisecond per element: a page with more elements than
# this (a 5 MB page of paragraphs took 21 s) gets its visible text instead of its main text.
MAX_MAIN_TEXT_ELEMENTS = 10_000
# Where a DOCTYPE may sit: after a BOM, an XML declaration, comments and white space.
_DOCTYPE_WINDOW = 4096


def parse_html(data: bytes) -> Parsed:
    """Main text and metadata of an HTML page given as bytes."""
    markup, encoding = decode_html(data)
    return parse_markup(markup, encoding=encoding)


def parse_markup(markup: str, *, encoding: str | None = None) -> Parsed:
    """Main text and metadata of an HTML page already decoded to str (also used for e-mail)."""
    check_doctype(markup)
    page = _PageInfo.read(markup)
    metadata = DocumentMetadata(language=page.language)
    text = ""
    document = None
    huge = page.elements > MAX_MAIN_TEXT_ELEMENTS
    if not huge:
        try:
            document = trafilatura.bare_extraction(
                markup,
                with_metadata=True,
                include_comments=False,
                include_tables=True,
                date_extraction_params=_DATE_PARAMS,
            )
        except Exception:  # trafilatura and lxml raise many kinds of errors on odd markup
            document = None
    if isinstance(document, Document):
        text = clean_text(document.text or "")
        metadata.title = clean_field(document.title)
        metadata.author = clean_field(document.author)
        published = clean_field(document.date)
        if published is not None and iso_date_or_datetime(published) is not None:
            metadata.published_at = published
            metadata.published_at_source = "html"
        for key in ("url", "sitename", "description"):
            value = clean_field(getattr(document, key, None))
            if value is not None:
                metadata.extra[key] = value
    if not text:
        # No main text found: fall back to all visible text, as a list page or a short note.
        try:
            text = "" if huge else clean_text(trafilatura.html2txt(markup))
        except Exception:
            text = ""
        if not text:
            text = clean_text(page.visible_text())
    metadata.title = metadata.title or page.title
    if not text:
        raise ExtractionError("no_text", "the HTML page has no visible text")
    return Parsed(text=text, metadata=metadata, encoding=encoding)


def check_doctype(markup: str) -> None:
    """Refuse a page whose DOCTYPE declares entities (billion laughs, external entities).

    HTML has no use for an internal DTD subset, and no browser reads one; the parsers used
    here would not expand the entities either, but a page that declares them is an attack
    or an XML file in disguise, and says so better as ``unsafe_xml`` than as odd text.
    """
    head = markup[:_DOCTYPE_WINDOW].lower()
    start = head.find("<!doctype")
    if start < 0:
        return
    subset = head.find("[", start)
    close = head.find(">", start)
    if subset < 0 or 0 <= close < subset:
        return  # no internal subset
    if "<!entity" in markup[start : start + 1024 * 1024].lower():
        raise ExtractionError(
            "unsafe_xml", "the page's DOCTYPE declares entities (an XML entity attack?)"
        )


def decode_html(data: bytes) -> tuple[str, str]:
    """Decode HTML bytes: BOM, then the declared ``<meta charset>``, then detection."""
    sniff_binary(data)
    declared = _declared_charset(data)
    if declared is not None and not data.startswith(
        (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    ):
        try:
            return data.decode(declared), declared
        except UnicodeDecodeError:
            pass  # the declaration lies; detect instead
    return decode_text(data)


def _declared_charset(data: bytes) -> str | None:
    match = _CHARSET.search(data[:_SNIFF_BYTES])
    if match is None:
        return None
    try:
        name = codecs.lookup(match.group(1).decode("ascii")).name
    except (LookupError, UnicodeDecodeError):
        return None
    # Per the HTML standard a declared UTF-16 in the markup itself means UTF-8, and
    # Latin-1 / ASCII mean Windows-1252.
    if name.startswith("utf-16"):
        return "utf-8"
    if name in ("latin-1", "iso8859-1", "ascii"):
        return "cp1252"
    return name


class _PageInfo:
    """The page's <title>, declared language and visible text, read with lxml's HTML parser.

    Not the stdlib ``html.parser``: on this Python it takes quadratic time on unclosed
    constructs, so 60 KB of ``<a `` kept it busy for a minute. libxml2 reads any markup in
    linear time.
    """

    _INVISIBLE = frozenset({"script", "style", "noscript", "template", "svg", "title"})
    _BLOCKS = frozenset(
        {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section"}
        | {"article", "blockquote", "pre", "table", "ul", "ol", "header", "footer"}
    )

    def __init__(self) -> None:
        self.title: str | None = None
        self.language: str | None = None
        self.elements = 0
        self._parts: list[str] = []

    @classmethod
    def read(cls, markup: str) -> _PageInfo:
        page = cls()
        try:
            # Bytes, not str: lxml refuses a str that carries an XML encoding declaration.
            root = etree.fromstring(markup.encode("utf-8", "replace"), _LXML_PARSER)
        except Exception:  # nothing parseable: no title, no language, no text
            return page
        if root is None:
            return page
        page._read(root)
        return page

    def _read(self, root: Any) -> None:
        if isinstance(root.tag, str) and root.tag.lower() == "html":
            self.language = _language(
                root.get("lang") or root.get(_XML_LANG) or root.get("xml:lang")
            )
        hidden = 0
        for event, element in etree.iterwalk(root, events=("start", "end")):
            tag = element.tag.lower() if isinstance(element.tag, str) else ""
            if event == "start":
                self.elements += 1
                if tag == "title" and self.title is None:
                    self.title = clean_field("".join(element.itertext()))
                elif (
                    tag == "meta"
                    and self.language is None
                    and (element.get("http-equiv") or "").lower() == "content-language"
                ):
                    self.language = _language(element.get("content"))
                if tag in self._INVISIBLE:
                    hidden += 1
                elif tag in self._BLOCKS:
                    self._parts.append("\n")
                if not hidden and tag and element.text:
                    self._parts.append(element.text)
            else:
                if tag in self._INVISIBLE:
                    hidden -= 1
                elif tag in self._BLOCKS:
                    self._parts.append("\n")
                if not hidden and element.tail:
                    self._parts.append(element.tail)

    def visible_text(self) -> str:
        lines = (" ".join(line.split()) for line in "".join(self._parts).split("\n"))
        return "\n".join(line for line in lines if line)


def _language(value: str | None) -> str | None:
    """The primary subtag of a declared language ("en-US" -> "en"), if it looks like one."""
    if not value:
        return None
    primary = value.strip().split(",")[0].strip().split("-")[0].split("_")[0].lower()
    return primary if re.fullmatch(r"[a-z]{2,3}", primary) else None
