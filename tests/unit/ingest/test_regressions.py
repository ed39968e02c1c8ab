"""Hostile inputs that once crashed, hung or blew up an extractor, kept as regression tests.

Found by fuzzing (tests/fuzz, scripts/fuzz) and by probing each parser with pathological
input. The time bounds are generous: each case took from 8 s to several minutes before.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable
from email.message import EmailMessage

import docx
import pytest
from fpdf import FPDF

# Imported now, not inside the timed calls below: trafilatura takes a while to import.
import services.ingest.formats.eml
import services.ingest.formats.html  # noqa: F401
from services.ingest.extract import Extracted, ExtractionError, extract
from services.ingest.formats import docx as docx_format
from services.ingest.formats import pdf as pdf_format

SLOW = 3.0  # seconds; every case below is linear now and takes well under a second


def _timed(data: bytes, filename: str, **kwargs: int) -> Extracted | ExtractionError:
    started = time.perf_counter()
    try:
        result: Extracted | ExtractionError = extract(data, filename, **kwargs)
    except ExtractionError as exc:
        result = exc
    elapsed = time.perf_counter() - started
    assert elapsed < SLOW, f"{filename}: {elapsed:.1f} s"
    return result


def _reason(data: bytes, filename: str, **kwargs: int) -> str:
    result = _timed(data, filename, **kwargs)
    assert isinstance(result, ExtractionError), result
    return result.reason


def _docx(paragraphs: list[str] | None = None) -> bytes:
    document = docx.Document()
    for text in paragraphs or ["A paragraph of the report."]:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _patched(data: bytes, member: str, change: Callable[[bytes], bytes]) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info)
            target.writestr(info.filename, change(body) if info.filename == member else body)
    return buffer.getvalue()


def _with_doctype(xml: bytes, doctype: bytes, body: bytes = b"") -> bytes:
    xml = xml.replace(b"?>", b"?>" + doctype, 1)
    return xml.replace(b"A paragraph of the report.", b"A paragraph " + body) if body else xml


BILLION_LAUGHS = (
    b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]>"
)


# --- Found by the fuzzer ---------------------------------------------------------------------


def test_json_lone_surrogate_in_metadata_is_replaced() -> None:
    """Crash: a JSON "\\ud800" came out as a lone surrogate, which cannot be encoded as
    UTF-8, so publishing the document raised PydanticSerializationError."""
    data = json.dumps(
        {"text": "Body \\ud800 text", "title": "T\ud800", "source": "scr\ud800aper"}
    ).encode()
    data = data.replace(b"\\\\ud800", b"\\ud800")
    result = _timed(data, "surrogate.json")
    assert isinstance(result, Extracted)
    assert result.text == "Body \ufffd text"
    assert result.metadata.title == "T\ufffd"
    assert result.metadata.extra["source"] == "scr\ufffdaper"
    result.metadata.model_dump_json()


def test_json_huge_integer_is_invalid_json() -> None:
    """Crash: an integer of 5,000 digits raised ValueError (int_max_str_digits), which only
    extract's catch-all turned into an error."""
    data = b'{"text": ' + b"9" * 5000 + b"}"
    with pytest.raises(ExtractionError) as info:
        extract(data, "huge.json")
    assert info.value.reason == "invalid_json"
    assert info.value.message.startswith("the file is not valid JSON")


def test_json_nul_characters_are_dropped() -> None:
    result = _timed(b'{"text": "Null\\u0000 byte", "title": "A\\u0000B"}', "nul.json")
    assert isinstance(result, Extracted)
    assert result.text == "Null byte"
    assert result.metadata.title == "AB"


# --- HTML: the stdlib parser was quadratic -----------------------------------------------------


@pytest.mark.parametrize("construct", [b"<a ", b"<a b='", b"<!--", b"</"])
def test_html_unclosed_constructs_take_linear_time(construct: bytes) -> None:
    """60 KB of ``<a `` took 65 s, 800 KB of ``<!--`` 519 s in html.parser."""
    data = b"<html><body><p>Some text here.</p>" + construct * 20_000
    result = _timed(data, "unclosed.html")
    assert isinstance(result, Extracted)
    assert "Some text here." in result.text


def test_html_page_with_very_many_elements_gets_its_visible_text_quickly() -> None:
    """trafilatura took 21 s on a 5 MB page of 78,000 paragraphs; such a page now gets its
    visible text (lxml, linear) instead of main-text extraction."""
    paragraphs = b"".join(b"<p>Paragraph %d about things.</p>\n" % i for i in range(20_000))
    data = b"<html><head><title>Long</title></head><body>" + paragraphs + b"</body></html>"
    result = _timed(data, "long.html")
    assert isinstance(result, Extracted)
    assert result.text.startswith("Paragraph 0 about things.\nParagraph 1 about things.")
    assert result.text.endswith("Paragraph 19999 about things.")
    assert result.metadata.title == "Long"


def test_html_entity_declarations_are_unsafe_xml() -> None:
    page = BILLION_LAUGHS + b"<html><body><p>&lol9; Some text to read here.</p></body></html>"
    assert _reason(page, "laughs.html") == "unsafe_xml"
    xxe = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><html><p>&e;</p></html>'
    assert _reason(xxe, "xxe.html") == "unsafe_xml"


def test_html_ordinary_doctype_is_fine() -> None:
    page = b'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN"><html><p>Hello.</p></html>'
    result = _timed(page, "ok.html")
    assert isinstance(result, Extracted) and result.text == "Hello."


# --- E-mail: the structured header parser was quadratic ----------------------------------------


def _eml(headers: bytes, body: bytes = b"The body of the message.\n") -> bytes:
    return headers + b"\n\n" + body


@pytest.mark.parametrize(
    "headers",
    [
        b"From: a@example.org\nSubject: " + b"=?utf-8?q?a?= " * 20_000,  # 8 s, 2.7 GB
        b"From: " + b'"' * 20_000 + b"\nSubject: x",  # 30 s
        b"From: " + b"a," * 20_000 + b"\nSubject: x",  # 13 s
        b"From: " + b"(" * 20_000 + b"\nSubject: x",  # RecursionError in parseaddr
    ],
    ids=["encoded-words", "quotes", "addresses", "comments"],
)
def test_eml_hostile_headers_take_linear_time(headers: bytes) -> None:
    result = _timed(_eml(headers), "headers.eml")
    assert isinstance(result, Extracted)
    assert result.text == "The body of the message."


def test_eml_deeply_nested_multipart_is_bounded() -> None:
    """2,000 nested parts took 5.7 s, 20,000 took 40 s (structured Content-Type parsing)."""
    nested = b"--x\nContent-Type: multipart/mixed; boundary=x\n\n" * 2_000
    data = b"From: a@example.org\nContent-Type: multipart/mixed; boundary=x\n\n" + nested
    assert _reason(data, "nested.eml") in {"no_text", "invalid_email"}


def test_eml_headers_still_decode() -> None:
    message = EmailMessage()
    message["Subject"] = "Новости дня"
    message["From"] = "Пол Гобл <paul@example.org>"
    message["Date"] = "Mon, 28 Jan 2019 14:30:00 +0300"
    message.set_content("Body.")
    result = _timed(message.as_bytes(), "ru.eml")
    assert isinstance(result, Extracted)
    assert result.metadata.title == "Новости дня"
    assert result.metadata.author == "Пол Гобл"
    odd = b"From: a@example.org\nSubject: =?x-unknown?q?caf=E9?= and =?utf-8?b?!!?="
    result = _timed(_eml(odd), "odd.eml")
    assert isinstance(result, Extracted) and result.metadata.title


def test_eml_encoded_word_with_nul_in_its_charset() -> None:
    """Crash (atheris): ``=?ut\\x00f?q?..?=`` made bytes.decode raise ValueError."""
    headers = b"From: a@example.org\nSubject: =?ut\x00f?q?caf=E9?= =?x-unknown?q?x?="
    result = _timed(_eml(headers), "nul-charset.eml")
    assert isinstance(result, Extracted)
    assert result.metadata.title is not None and "caf" in result.metadata.title


def test_eml_html_body_with_entity_declarations_is_unsafe_xml() -> None:
    html = BILLION_LAUGHS + b"<html><body><p>&lol9; text</p></body></html>"
    headers = b"From: a@example.org\nSubject: x\nContent-Type: text/html; charset=utf-8"
    assert _reason(_eml(headers, html), "laughs.eml") == "unsafe_xml"


# --- Word: XML entities, sizes, and python-docx's per-paragraph XPath ---------------------------


@pytest.mark.parametrize(
    ("member", "doctype", "body"),
    [
        ("word/document.xml", BILLION_LAUGHS, b"&lol9;"),
        ("word/document.xml", b'<!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/hostname">]>', b"&x;"),
        ("[Content_Types].xml", b'<!DOCTYPE Types [<!ENTITY a "b">]>', b""),
        ("word/_rels/document.xml.rels", b'<!DOCTYPE R [<!ENTITY % p SYSTEM "http://x/">]>', b""),
    ],
    ids=["billion-laughs", "xxe", "content-types", "parameter-entity"],
)
def test_docx_entity_declarations_are_unsafe_xml(member: str, doctype: bytes, body: bytes) -> None:
    data = _patched(_docx(), member, lambda xml: _with_doctype(xml, doctype, body))
    assert _reason(data, "laughs.docx") == "unsafe_xml"


def test_docx_malformed_xml_part_is_corrupt() -> None:
    data = _patched(_docx(), "word/document.xml", lambda xml: xml[: len(xml) // 2])
    assert _reason(data, "cut.docx") == "corrupt_docx"


@pytest.mark.parametrize("encoding", [b"UTF-9", b"Shift_JIS", b"utf-7"])
def test_docx_xml_part_in_an_unknown_or_unsupported_encoding_is_corrupt(encoding: bytes) -> None:
    """Crash (fuzzer): encoding='UTF-9' made expat raise LookupError, not ExpatError."""
    data = _patched(
        _docx(),
        "word/document.xml",
        lambda xml: xml.replace(b"encoding='UTF-8'", b"encoding='" + encoding + b"'", 1).replace(
            b'encoding="UTF-8"', b'encoding="' + encoding + b'"', 1
        ),
    )
    assert _reason(data, "encoding.docx") == "corrupt_docx"


def test_docx_xml_size_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docx_format, "MAX_XML_BYTES", 4096)
    assert _reason(_docx(["Some words. " * 400]), "big.docx") == "too_large"


def test_docx_many_short_paragraphs_take_linear_time() -> None:
    """100,000 paragraphs in a 60 KB file took 12 s through python-docx's Paragraph.text."""
    paragraph = b"<w:p><w:r><w:t>Some words in a paragraph.</w:t></w:r></w:p>"
    data = _patched(
        _docx(),
        "word/document.xml",
        lambda xml: xml.replace(b"<w:body>", b"<w:body>" + paragraph * 30_000),
    )
    result = _timed(data, "many.docx")
    assert isinstance(result, Extracted)
    assert result.text.count("Some words in a paragraph.") == 30_000
    assert _reason(data, "many.docx", max_text_chars=10_000) == "too_long"


def test_docx_text_matches_python_docx_for_runs_tabs_breaks_and_links() -> None:
    document = docx.Document()
    paragraph = document.add_paragraph("Tab\there")
    paragraph.add_run().add_break()
    paragraph.add_run("after-break")
    table = document.add_table(rows=1, cols=3)
    table.cell(0, 0).text = "a"
    table.cell(0, 1).merge(table.cell(0, 2)).text = "merged"
    buffer = io.BytesIO()
    document.save(buffer)
    result = _timed(buffer.getvalue(), "runs.docx")
    assert isinstance(result, Extracted)
    assert result.text == "Tab\there\nafter-break\n\na\tmerged"
    assert paragraph.text == "Tab\there\nafter-break"


# --- Limits ------------------------------------------------------------------------------------


def test_pdf_page_count_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf_format, "MAX_PAGES", 2)
    document = FPDF()
    document.set_font("Helvetica", size=12)
    for n in range(3):
        document.add_page()
        document.cell(0, 10, f"Page {n}")
    assert _reason(bytes(document.output()), "pages.pdf") == "too_long"


def test_docx_member_count_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docx_format, "MAX_MEMBERS", 5)
    assert _reason(_docx(), "members.docx") == "too_large"
