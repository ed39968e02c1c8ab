"""Valid sample files of every supported format, built in memory: the fuzzers' starting points.

Shared by the hypothesis property tests (tests/fuzz/test_fuzz_extractors.py) and the atheris
harness (fuzz/atheris_extract.py), which writes them into an empty corpus folder.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime
from email.message import EmailMessage
from functools import cache

import docx
from fpdf import FPDF

FORMATS = ("txt", "md", "html", "pdf", "docx", "eml", "json")
FILENAMES = {fmt: f"sample.{fmt}" for fmt in FORMATS}

TITLE = "Putin Elites See in Venezuela Their Own Future"
PARAGRAPH = (
    "Staunton, January 28 - The Putin regime is not coming to the defense of the Venezuelan "
    "dictator primarily because it views that country as a place to make money."
)
SECOND = "Its moves in Venezuela are all about itself, and that is something Moscow hides."
RUSSIAN = "Москва, 28 января - Кремль обеспокоен событиями в Венесуэле."


def _txt() -> list[bytes]:
    article = f"{TITLE}\n\nPaul Goble\n\n{PARAGRAPH}\n\n{SECOND}\n"
    return [
        article.encode(),
        f"Новости\n\n{RUSSIAN}\n".encode("cp1251"),
        article.encode("utf-16"),
        b"one line",
    ]


def _md() -> list[bytes]:
    return [
        f"---\ntitle: {TITLE}\nauthor: Paul Goble\ndate: 2019-01-28\n---\n\n{PARAGRAPH}\n".encode(),
        f"# {TITLE}\n\n*Paul Goble*\n\n{PARAGRAPH}\n\n- {SECOND}\n".encode(),
    ]


def _html() -> list[bytes]:
    article = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<title>{TITLE}</title><meta name="author" content="Paul Goble">'
        '<meta property="article:published_time" content="2019-01-28T10:00:00+00:00">'
        f"</head><body><nav><a href='/'>Home</a></nav><article><h1>{TITLE}</h1>"
        f"<p>{PARAGRAPH}</p><p>{SECOND}</p><table><tr><td>a</td><td>b</td></tr></table>"
        "</article><script>var x = 1;</script><footer>Copyright</footer></body></html>"
    )
    russian = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
        f"<title>Новости</title></head><body><div>{RUSSIAN}</div></body></html>"
    )
    return [
        article.encode(),
        russian.encode("cp1251"),
        b"<html><head><title>A Note</title></head><body><div>Short note.</div></body></html>",
    ]


def _pdf(*, compress: bool) -> bytes:
    pdf = FPDF()
    pdf.set_compression(compress)
    pdf.set_font("Helvetica", size=12)
    pdf.set_title(TITLE)
    pdf.set_author("Paul Goble")
    pdf.set_creation_date(datetime(2019, 1, 28, 12, 0, tzinfo=UTC))
    for text in (f"{TITLE}\n\n{PARAGRAPH}", SECOND):
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def _docx() -> list[bytes]:
    document = docx.Document()
    document.add_paragraph(TITLE)
    document.add_paragraph(PARAGRAPH)
    paragraph = document.add_paragraph("Tab\tand break")
    paragraph.add_run().add_break()
    paragraph.add_run("after the break")
    grid = document.add_table(rows=2, cols=2)
    for row, values in zip(grid.rows, (("a", "b"), ("c", "d")), strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    grid.cell(1, 0).merge(grid.cell(1, 1))
    props = document.core_properties
    props.title = TITLE
    props.author = "Paul Goble"
    props.created = datetime(2019, 1, 28, 12, 0, tzinfo=UTC)
    buffer = io.BytesIO()
    document.save(buffer)
    return [buffer.getvalue()]


def _eml() -> list[bytes]:
    def message(subject: str = TITLE) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = subject
        msg["From"] = "Paul Goble <paul@example.org>"
        msg["To"] = "desk@example.org, Other <other@example.org>"
        msg["Date"] = "Mon, 28 Jan 2019 14:30:00 +0300"
        msg["Message-ID"] = "<abc123@example.org>"
        return msg

    plain = message()
    plain.set_content(f"{PARAGRAPH}\n\n{SECOND}\n")
    alternative = message("Новости")  # an encoded-word subject
    alternative.set_content("The plain version.")
    alternative.add_alternative(f"<html><body><p>{PARAGRAPH}</p></body></html>", subtype="html")
    html_only = message()
    html_only.set_content(f"<html><body><div><p>{PARAGRAPH}</p></div></body></html>", "html")
    russian = message()
    russian.set_content(RUSSIAN, charset="windows-1251")
    russian.add_attachment(b"\x00\x01binary", maintype="application", subtype="octet-stream")
    return [m.as_bytes() for m in (plain, alternative, html_only, russian)]


def _json() -> list[bytes]:
    full = {
        "text": f"{PARAGRAPH}\n\n{SECOND}",
        "title": TITLE,
        "authors": ["Paul Goble", "Other Person"],
        "published_at": "2019-01-28T10:00:00Z",
        "language": "en",
        "source": "scraper",
    }
    return [json.dumps(full).encode(), json.dumps({"text": RUSSIAN}, ensure_ascii=False).encode()]


@cache
def seeds() -> dict[str, tuple[bytes, ...]]:
    """Valid files per format; every one of them extracts successfully."""
    return {
        "txt": tuple(_txt()),
        "md": tuple(_md()),
        "html": tuple(_html()),
        "pdf": (_pdf(compress=False), _pdf(compress=True)),
        "docx": tuple(_docx()),
        "eml": tuple(_eml()),
        "json": tuple(_json()),
    }


def rezip(data: bytes, member: str, content: bytes) -> bytes:
    """``data`` (a zip archive) with ``member`` replaced by ``content``."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = content if info.filename == member else source.read(info)
            target.writestr(info.filename, body)
    return buffer.getvalue()


def docx_part(data: bytes, member: str = "word/document.xml") -> bytes:
    return zipfile.ZipFile(io.BytesIO(data)).read(member)
