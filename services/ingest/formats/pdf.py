"""PDF: the text layer of every page (pypdfium2) and the document-information dictionary.

PDFium quietly repairs many damaged files, including ones cut short, and would then return
part of the text as if it were all of it; a PDF without its final ``%%EOF`` marker is
therefore refused as truncated rather than half-read.
"""

from __future__ import annotations

import re
import threading
from datetime import date

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw

from services.ingest.formats._common import ExtractionError, Parsed, clean_field, clean_text
from shared.models import DocumentMetadata

MAX_PAGES = 2000
# PDFium is not thread-safe; the ingest service may extract in worker threads.
_PDFIUM_LOCK = threading.Lock()
_PDF_DATE = re.compile(r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def parse_pdf(data: bytes, *, max_text_chars: int) -> Parsed:
    """Text of every page, joined by blank lines, plus title, author and creation date."""
    if b"%PDF-" not in data[:1024]:
        raise ExtractionError("corrupt_pdf", "the file is not a PDF (no %PDF- header)")
    if b"%%EOF" not in data[-2048:]:
        raise ExtractionError("corrupt_pdf", "the PDF is truncated (no %%EOF marker at its end)")
    with _PDFIUM_LOCK:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if exc.err_code == pdfium_raw.FPDF_ERR_PASSWORD:
                raise ExtractionError("encrypted", "the PDF is password-protected") from exc
            raise ExtractionError("corrupt_pdf", f"PDFium cannot open the file: {exc}") from exc
        try:
            return _read(document, max_text_chars)
        except ExtractionError:
            raise
        except Exception as exc:
            raise ExtractionError("corrupt_pdf", f"PDFium failed reading the file: {exc}") from exc
        finally:
            document.close()


def _read(document: pdfium.PdfDocument, max_text_chars: int) -> Parsed:
    pages = len(document)
    if pages > MAX_PAGES:
        raise ExtractionError("too_long", f"the PDF has {pages} pages; at most {MAX_PAGES}")
    texts: list[str] = []
    total = 0
    for index in range(pages):
        page = document[index]
        try:
            textpage = page.get_textpage()
            try:
                page_text = clean_text(_CONTROL.sub("", textpage.get_text_range()))
            finally:
                textpage.close()
        finally:
            page.close()
        if page_text:
            texts.append(page_text)
            total += len(page_text) + 2
            if total > max_text_chars:
                raise ExtractionError(
                    "too_long", f"the PDF's text exceeds {max_text_chars} characters"
                )
    text = "\n\n".join(texts)
    if not text:
        raise ExtractionError("no_text", "the PDF has no text layer (a scan without OCR?)")
    return Parsed(text=text, metadata=_metadata(document))


def _metadata(document: pdfium.PdfDocument) -> DocumentMetadata:
    info: dict[str, str] = document.get_metadata_dict(skip_empty=True)
    metadata = DocumentMetadata(
        title=clean_field(info.get("Title")), author=clean_field(info.get("Author"))
    )
    published = pdf_date(info.get("CreationDate") or info.get("ModDate"))
    if published is not None:
        metadata.published_at = published
        metadata.published_at_source = "pdf"
    for key in ("Subject", "Keywords", "Creator", "Producer"):
        value = clean_field(info.get(key))
        if value is not None:
            metadata.extra[key.lower()] = value
    return metadata


def pdf_date(value: str | None) -> str | None:
    """A PDF date ("D:20190128120000Z") as an ISO date at its granularity ("2019-01-28")."""
    if not value:
        return None
    match = _PDF_DATE.match(value.strip())
    if match is None:
        return None
    year, month, day = match.groups()
    if month is None:
        return year
    if not 1 <= int(month) <= 12:
        return year
    if day is None:
        return f"{year}-{month}"
    try:
        return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return f"{year}-{month}"
