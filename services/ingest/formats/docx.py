"""Word .docx: paragraphs and table rows in document order, plus the core properties.

A .docx is a zip archive, so the archive's declared sizes are checked before python-docx
inflates anything: a small file must not be able to expand into gigabytes (a zip bomb).
Python's zipfile never yields more bytes than a member declares, so the check holds.
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from typing import Any

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.table import Table

from services.ingest.formats._common import ExtractionError, Parsed, clean_field, clean_text
from shared.models import DocumentMetadata

MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
# Below this size a high ratio is harmless (an XML part of repeated markup compresses well).
_RATIO_FLOOR_BYTES = 10 * 1024 * 1024
MAX_MEMBERS = 10_000


def parse_docx(data: bytes) -> Parsed:
    """Text and core properties of a Word document."""
    check_zip(data)
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = list(_blocks(document))
        metadata = _metadata(document) if _has_core_properties(document) else DocumentMetadata()
    except Exception as exc:  # python-docx raises KeyError, ValueError, lxml errors...
        raise ExtractionError("corrupt_docx", f"python-docx cannot read the file: {exc}") from exc
    text = clean_text("\n\n".join(blocks))
    if not text:
        raise ExtractionError("no_text", "the Word document has no text")
    return Parsed(text=text, metadata=metadata)


def check_zip(data: bytes) -> None:
    """Refuse what is not a .docx archive, and archives that would inflate too far."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ExtractionError(
            "corrupt_docx", f"the file is not a valid zip archive: {exc}"
        ) from exc
    if len(members) > MAX_MEMBERS:
        raise ExtractionError("too_large", f"the archive has {len(members)} members")
    names = {member.filename for member in members}
    if "word/document.xml" not in names:
        raise ExtractionError("corrupt_docx", "the zip archive is not a Word document")
    total = sum(member.file_size for member in members)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise ExtractionError(
            "too_large",
            f"the archive inflates to {total} bytes; at most {MAX_UNCOMPRESSED_BYTES}",
        )
    compressed = sum(member.compress_size for member in members)
    if total > _RATIO_FLOOR_BYTES and total > MAX_COMPRESSION_RATIO * max(compressed, 1):
        raise ExtractionError(
            "too_large",
            f"the archive inflates {total // max(compressed, 1)}-fold (a zip bomb?); "
            f"at most {MAX_COMPRESSION_RATIO}-fold",
        )


def _blocks(document: Any) -> list[str]:
    """Non-empty paragraphs and table rows (cells tab-separated), in document order."""
    blocks: list[str] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            blocks.extend(_table_rows(item))
        elif item.text.strip():
            blocks.append(item.text)
    return blocks


def _table_rows(table: Table) -> list[str]:
    rows: list[str] = []
    for row in table.rows:
        seen: set[int] = set()
        cells: list[str] = []
        for cell in row.cells:
            # A merged cell is returned once per grid column it spans; keep it once.
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            if cell.text.strip():
                cells.append(" ".join(cell.text.split()))
        if cells:
            rows.append("\t".join(cells))
    return rows


def _has_core_properties(document: Any) -> bool:
    """Whether the file has core properties: python-docx invents some when it has none."""
    rels = document.part.package.rels.values()
    return any(rel.reltype == RT.CORE_PROPERTIES for rel in rels)


def _metadata(document: Any) -> DocumentMetadata:
    props = document.core_properties
    metadata = DocumentMetadata(
        title=clean_field(props.title),
        author=clean_field(props.author),
        language=clean_field(props.language),
    )
    created = props.created if isinstance(props.created, datetime) else None
    modified = props.modified if isinstance(props.modified, datetime) else None
    when = created or modified
    if when is not None:
        metadata.published_at = when.date().isoformat()
        metadata.published_at_source = "docx"
    if modified is not None:
        metadata.extra["modified"] = modified.isoformat()
    for key in ("subject", "keywords", "category"):
        value = clean_field(getattr(props, key, None))
        if value is not None:
            metadata.extra[key] = value
    return metadata
