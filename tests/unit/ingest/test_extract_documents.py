"""PDF, Word, HTML, e-mail and JSON: real files built in memory, good and broken."""

from __future__ import annotations

import io
import json
import random
import re
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from services.ingest.extract import ExtractionError, extract
from services.ingest.formats import docx as docx_format
from services.ingest.formats.pdf import pdf_date

PdfFactory = Callable[..., bytes]  # the make_pdf fixture (conftest.py)
DocxFactory = Callable[..., bytes]  # the make_docx fixture

PARAGRAPH = (
    "Staunton, January 28 - The Putin regime is not coming to the defense of the Venezuelan "
    "dictator primarily because it views that country as a place to make money."
)


def reason_of(data: bytes, filename: str, **kwargs: int) -> str:
    with pytest.raises(ExtractionError) as info:
        extract(data, filename, **kwargs)
    assert info.value.message
    return info.value.reason


# --- PDF -------------------------------------------------------------------------------------


def test_pdf_text_of_every_page_and_info_dictionary(make_pdf: PdfFactory) -> None:
    data = make_pdf(
        ["Putin Elites See in Venezuela", "Second page about Maduro."],
        title="Putin Elites",
        author="Paul Goble",
        created=datetime(2019, 1, 28, 12, 0, tzinfo=UTC),
    )
    result = extract(data, "article.pdf")
    assert result.media_type == "pdf"
    assert result.encoding is None
    assert result.text == "Putin Elites See in Venezuela\n\nSecond page about Maduro."
    assert result.metadata.title == "Putin Elites"
    assert result.metadata.author == "Paul Goble"
    assert result.metadata.published_at == "2019-01-28"
    assert result.metadata.published_at_source == "pdf"


def test_pdf_dateline_in_the_text_is_found(make_pdf: PdfFactory) -> None:
    result = extract(make_pdf(["A Title", PARAGRAPH]), "a.pdf")
    assert result.metadata.dateline_place == "Staunton"
    assert result.metadata.published_at == "2019-01-28"  # the PDF's own date, which has a year


def test_truncated_pdf_is_corrupt(make_pdf: PdfFactory) -> None:
    data = make_pdf([PARAGRAPH, "Page two."])
    assert reason_of(data[: len(data) // 2], "cut.pdf") == "corrupt_pdf"


def test_not_a_pdf(make_pdf: PdfFactory) -> None:
    assert reason_of(b"this is not a pdf at all, just words", "fake.pdf") == "corrupt_pdf"
    assert reason_of(b"%PDF-1.7\ngarbage that pdfium rejects\n%%EOF\n", "bad.pdf") == "corrupt_pdf"


def test_pdf_without_text_layer(make_pdf: PdfFactory) -> None:
    assert reason_of(make_pdf([""]), "scan.pdf") == "no_text"


def test_pdf_too_long_stops_early(make_pdf: PdfFactory) -> None:
    data = make_pdf([PARAGRAPH] * 5)
    assert reason_of(data, "long.pdf", max_text_chars=300) == "too_long"


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        ("D:20190128120000Z", "2019-01-28"),
        ("D:20190128120000+03'00'", "2019-01-28"),
        ("D:201901", "2019-01"),
        ("2019", "2019"),
        ("D:20190231", "2019-02"),
        ("yesterday", None),
        (None, None),
    ],
)
def test_pdf_dates(value: str | None, iso: str | None) -> None:
    assert pdf_date(value) == iso


# --- DOCX ------------------------------------------------------------------------------------


def test_docx_paragraphs_tables_and_core_properties(make_docx: DocxFactory) -> None:
    data = make_docx(
        ["Putin Elites See in Venezuela", "", PARAGRAPH],
        table=[["Name", "City"], ["Paul Goble", "Staunton"]],
        title="Putin Elites",
        author="Paul Goble",
        created=datetime(2019, 1, 28, 9, 30, tzinfo=UTC),
    )
    result = extract(data, "article.docx")
    assert result.media_type == "docx"
    assert result.text == (
        f"Putin Elites See in Venezuela\n\n{PARAGRAPH}\n\nName\tCity\n\nPaul Goble\tStaunton"
    )
    assert result.metadata.title == "Putin Elites"
    assert result.metadata.author == "Paul Goble"
    assert result.metadata.published_at == "2019-01-28"
    assert result.metadata.published_at_source == "docx"
    assert result.metadata.dateline_place == "Staunton"


def test_docx_without_core_properties_has_no_invented_metadata(make_docx: DocxFactory) -> None:
    source = zipfile.ZipFile(io.BytesIO(make_docx(["Only text."])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "docProps/core.xml":
                continue
            if info.filename == "_rels/.rels":
                content = re.sub(rb"<Relationship [^>]*docProps/core\.xml[^>]*/>", b"", content)
            target.writestr(info, content)
    result = extract(buffer.getvalue(), "bare.docx")
    assert result.text == "Only text."
    assert result.metadata.title is None  # python-docx would say "Word Document"
    assert result.metadata.published_at is None


def test_corrupt_docx(make_docx: DocxFactory) -> None:
    assert reason_of(b"not a zip file at all", "a.docx") == "corrupt_docx"
    data = make_docx([PARAGRAPH])
    assert reason_of(data[: len(data) // 2], "cut.docx") == "corrupt_docx"
    other_zip = io.BytesIO()
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("hello.txt", "hello")
    assert reason_of(other_zip.getvalue(), "zip.docx") == "corrupt_docx"
    broken_xml = io.BytesIO()
    with zipfile.ZipFile(broken_xml, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types")
        archive.writestr("word/document.xml", "<w:document")
    assert reason_of(broken_xml.getvalue(), "xml.docx") == "corrupt_docx"


def test_docx_zip_bomb_is_too_large(make_docx: DocxFactory) -> None:
    source = zipfile.ZipFile(io.BytesIO(make_docx([PARAGRAPH])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, source.read(info))
        target.writestr("word/media/zeros.bin", bytes(20 * 1024 * 1024))  # ~20 KB compressed
    data = buffer.getvalue()
    assert len(data) < 200_000
    assert reason_of(data, "bomb.docx") == "too_large"


def test_docx_total_size_cap(make_docx: DocxFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docx_format, "MAX_UNCOMPRESSED_BYTES", 1024 * 1024)
    source = zipfile.ZipFile(io.BytesIO(make_docx([PARAGRAPH])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, source.read(info))
        target.writestr("word/media/noise.bin", random.Random(5).randbytes(2 * 1024 * 1024))
    assert reason_of(buffer.getvalue(), "big.docx") == "too_large"


def test_docx_without_text(make_docx: DocxFactory) -> None:
    assert reason_of(make_docx(["", "   "]), "blank.docx") == "no_text"


# --- E-mail ----------------------------------------------------------------------------------


def _message(**headers: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = headers.get("subject", "Putin Elites See in Venezuela")
    message["From"] = headers.get("sender", "Paul Goble <paul@example.org>")
    message["To"] = "desk@example.org"
    message["Date"] = headers.get("date", "Mon, 28 Jan 2019 14:30:00 +0300")
    message["Message-ID"] = "<abc123@example.org>"
    return message


def test_eml_plain_text() -> None:
    message = _message()
    message.set_content(f"{PARAGRAPH}\n\nSecond paragraph.\n")
    result = extract(message.as_bytes(), "mail.eml")
    meta = result.metadata
    assert result.media_type == "eml"
    assert result.text == f"{PARAGRAPH}\n\nSecond paragraph."
    assert meta.title == "Putin Elites See in Venezuela"
    assert meta.author == "Paul Goble"
    assert meta.published_at == "2019-01-28T11:30:00+00:00"
    assert meta.published_at_source == "email"
    assert meta.extra["from"] == "Paul Goble <paul@example.org>"
    assert meta.extra["to"] == "desk@example.org"
    assert meta.extra["message_id"] == "<abc123@example.org>"
    assert meta.dateline_place == "Staunton"  # but the e-mail's date wins
    assert meta.published_at_source == "email"


def test_eml_prefers_plain_over_html_and_uses_address_without_name() -> None:
    message = _message(sender="paul@example.org")
    message.set_content("The plain version.")
    message.add_alternative("<html><body><p>The HTML version.</p></body></html>", subtype="html")
    result = extract(message.as_bytes(), "alt.eml")
    assert result.text == "The plain version."
    assert result.metadata.author == "paul@example.org"


def test_eml_html_only() -> None:
    message = _message()
    paragraphs = "".join(f"<p>{PARAGRAPH} Number {n}.</p>" for n in range(3))
    html = f"<html><body><div>{paragraphs}</div><script>var x = 1;</script></body></html>"
    message.set_content(html, subtype="html")
    result = extract(message.as_bytes(), "html.eml")
    assert PARAGRAPH in result.text
    assert "<p>" not in result.text
    assert "var x" not in result.text
    assert result.metadata.title == "Putin Elites See in Venezuela"


def test_eml_cp1251_body() -> None:
    message = _message(subject="Новости")
    message.set_content("Москва, 28 января - Кремль обеспокоен.", charset="windows-1251")
    assert extract(message.as_bytes(), "ru.eml").text == "Москва, 28 января - Кремль обеспокоен."


def test_eml_without_body_or_headers() -> None:
    assert reason_of(_message().as_bytes(), "empty-body.eml") == "no_text"
    assert reason_of(b"just a line of words, no headers at all", "x.eml") == "invalid_email"


# --- JSON ------------------------------------------------------------------------------------


def test_json_document() -> None:
    data = json.dumps(
        {
            "text": f"{PARAGRAPH}\r\n",
            "title": "Putin Elites",
            "author": ["Paul Goble", "Jane Doe"],
            "date": "2019-01-28",
            "language": "en",
            "url": "https://example.org/a",
            "source": "window on eurasia",
            "views": 10,
        }
    ).encode()
    result = extract(data, "doc.json")
    meta = result.metadata
    assert result.text == PARAGRAPH
    assert meta.title == "Putin Elites"
    assert meta.author == "Paul Goble, Jane Doe"
    assert meta.published_at == "2019-01-28"
    assert meta.published_at_source == "json"
    assert meta.language == "en"
    assert meta.extra == {"url": "https://example.org/a", "source": "window on eurasia"}


def test_json_non_iso_date_is_kept_in_extra() -> None:
    result = extract(b'{"text": "Body.", "published_at": "last Tuesday"}', "d.json")
    assert result.metadata.published_at is None
    assert result.metadata.extra == {"published_at": "last Tuesday"}


@pytest.mark.parametrize(
    "data",
    [
        b"{not json",
        b'["text", "in a list"]',
        b'{"title": "no text"}',
        b'{"text": 42}',
        b'{"text": "   "}',
        b"\xff\xfe\x00garbage",
        b"[" * 100_000,
    ],
)
def test_invalid_json(data: bytes) -> None:
    assert reason_of(data, "bad.json") == "invalid_json"


# --- HTML ------------------------------------------------------------------------------------

ARTICLE_HTML = f"""<!DOCTYPE html>
<html lang="en-US">
<head>
<meta charset="utf-8">
<title>Putin Elites See in Venezuela | Window on Eurasia</title>
<meta name="author" content="Paul Goble">
<meta property="article:published_time" content="2019-01-28T10:00:00+00:00">
</head>
<body>
<nav><a href="/">Home</a> <a href="/about">About us</a></nav>
<article>
<h1>Putin Elites See in Venezuela Their Own Future</h1>
<p>{PARAGRAPH}</p>
<p>Instead, the Kremlin is rushing to support the dictator there against the people because
it fears that if the Venezuelan opposition succeeds the same could happen in Russia.</p>
<p>Its moves in Venezuela are thus all about itself, the Telegram channel continues, and
that is something Moscow would prefer no one notice.</p>
</article>
<footer>Copyright 2019 Example Media. All rights reserved.</footer>
</body>
</html>"""


def test_html_article() -> None:
    result = extract(ARTICLE_HTML.encode(), "article.html")
    meta = result.metadata
    assert result.media_type == "html"
    assert result.encoding == "utf-8"
    assert PARAGRAPH in result.text
    assert "Moscow would prefer no one notice." in result.text
    assert "All rights reserved" not in result.text
    assert meta.title is not None and meta.title.startswith("Putin Elites See in Venezuela")
    assert meta.author == "Paul Goble"
    assert meta.published_at == "2019-01-28"
    assert meta.published_at_source == "html"
    assert meta.language == "en"
    assert meta.dateline_place == "Staunton"


def test_html_declared_charset_is_respected() -> None:
    html = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
        "<title>Новости</title></head><body><article>"
        + "<p>Москва, 28 января - Кремль обеспокоен событиями в Венесуэле. "
        "Власти опасаются повторения сценария в России.</p>" * 3 + "</article></body></html>"
    )
    result = extract(html.encode("cp1251"), "news.htm")
    assert result.encoding == "cp1251"
    assert "Кремль обеспокоен событиями в Венесуэле" in result.text
    assert result.metadata.title == "Новости"
    assert result.metadata.dateline_place == "Москва"


def test_html_falls_back_to_visible_text_and_title() -> None:
    html = b"<html><head><title>A Note</title></head><body><div>Short note.</div></body></html>"
    result = extract(html, "note.html")
    assert result.text == "Short note."
    assert result.metadata.title == "A Note"


def test_html_without_text() -> None:
    html = b"<html><head><title>Empty</title><script>var a = 1;</script></head><body></body></html>"
    assert reason_of(html, "empty.html") == "no_text"
    assert reason_of(b"\x89PNG\r\n\x1a\n" + bytes(100), "image.html") == "binary"
