"""Builders of real sample files (PDF, Word, e-mail) for the extractor tests, all in memory."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime

import docx
import pytest
from fpdf import FPDF

PdfFactory = Callable[..., bytes]
DocxFactory = Callable[..., bytes]


@pytest.fixture
def make_pdf() -> PdfFactory:
    """A real PDF with one page per string, made by fpdf2."""

    def build(
        pages: list[str],
        *,
        title: str | None = None,
        author: str | None = None,
        created: datetime | None = None,
    ) -> bytes:
        pdf = FPDF()
        pdf.set_font("Helvetica", size=12)
        if title:
            pdf.set_title(title)
        if author:
            pdf.set_author(author)
        pdf.set_creation_date(created or datetime(2019, 1, 28, 12, 0, tzinfo=UTC))
        for text in pages:
            pdf.add_page()
            if text:
                pdf.multi_cell(0, 8, text)
        return bytes(pdf.output())

    return build


@pytest.fixture
def make_docx() -> DocxFactory:
    """A real .docx made by python-docx: paragraphs, an optional table and core properties."""

    def build(
        paragraphs: list[str],
        *,
        table: list[list[str]] | None = None,
        title: str | None = None,
        author: str | None = None,
        created: datetime | None = None,
    ) -> bytes:
        document = docx.Document()
        for text in paragraphs:
            document.add_paragraph(text)
        if table:
            grid = document.add_table(rows=len(table), cols=len(table[0]))
            for row, values in zip(grid.rows, table, strict=True):
                for cell, value in zip(row.cells, values, strict=True):
                    cell.text = value
        props = document.core_properties
        props.title = title or ""
        props.author = author or ""
        if created is not None:
            props.created = created
        buffer = io.BytesIO()
        document.save(buffer)
        return buffer.getvalue()

    return build
