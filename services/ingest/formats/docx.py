"""Word .docx: paragraphs and table rows in document order, plus the core properties.

A .docx is a zip archive, so the archive's declared sizes are checked before python-docx
inflates anything: a small file must not be able to expand into gigabytes (a zip bomb).
Python's zipfile never yields more bytes than a member declares, so the check holds.

Its XML parts are then read once with expat, streaming, before python-docx (lxml) builds
any tree: a part that declares entities (billion laughs, external entities) is refused as
``unsafe_xml``. That is a second wall: python-docx's own parser already neither resolves
entities nor loads DTDs, and libxml2 caps entity amplification.

The text is read from python-docx's element tree directly: its ``Paragraph.text`` compiles
an XPath per paragraph and per run, 12 s for a 60 KB file of 100,000 short paragraphs.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any, NoReturn
from xml.parsers import expat

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT

from services.ingest.formats._common import ExtractionError, Parsed, clean_field, clean_text
from shared.models import DocumentMetadata

MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
# Below this size a high ratio is harmless (an XML part of repeated markup compresses well).
_RATIO_FLOOR_BYTES = 10 * 1024 * 1024
MAX_MEMBERS = 10_000
# The XML parts together: python-docx holds them all as lxml trees, several times their size.
MAX_XML_BYTES = 32 * 1024 * 1024
_XML_SUFFIXES = (".xml", ".rels")
_CHUNK = 1024 * 1024

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_P, _TBL, _TR, _TC = f"{_W}p", f"{_W}tbl", f"{_W}tr", f"{_W}tc"
_R, _HYPERLINK, _T, _BR, _TYPE = f"{_W}r", f"{_W}hyperlink", f"{_W}t", f"{_W}br", f"{_W}type"
# What a run's children stand for, as python-docx's Run.text has it (w:t is its own text).
_RUN_CHARS = {f"{_W}tab": "\t", f"{_W}ptab": "\t", f"{_W}cr": "\n", f"{_W}noBreakHyphen": "-"}
_RUN_TAGS = (_T, _BR, *_RUN_CHARS)


def parse_docx(data: bytes, *, max_text_chars: int = 2_000_000) -> Parsed:
    """Text and core properties of a Word document."""
    check_zip(data)
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = _blocks(document, max_text_chars)
        metadata = _metadata(document) if _has_core_properties(document) else DocumentMetadata()
    except ExtractionError:
        raise
    except Exception as exc:  # python-docx raises KeyError, ValueError, lxml errors...
        raise ExtractionError("corrupt_docx", f"python-docx cannot read the file: {exc}") from exc
    text = clean_text("\n\n".join(blocks))
    if not text:
        raise ExtractionError("no_text", "the Word document has no text")
    return Parsed(text=text, metadata=metadata)


def check_zip(data: bytes) -> None:
    """Refuse what is not a .docx archive, archives that would inflate too far, and XML
    parts that are malformed or declare entities."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            _check_sizes(members)
            for member in members:
                if member.filename.lower().endswith(_XML_SUFFIXES):
                    _check_xml(archive, member)
    except ExtractionError:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError) as exc:
        raise ExtractionError(
            "corrupt_docx", f"the file is not a valid zip archive: {exc}"
        ) from exc
    except (NotImplementedError, RuntimeError) as exc:  # an unknown method, encryption
        raise ExtractionError("corrupt_docx", f"the zip archive cannot be read: {exc}") from exc


def _check_sizes(members: list[zipfile.ZipInfo]) -> None:
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
    xml = sum(m.file_size for m in members if m.filename.lower().endswith(_XML_SUFFIXES))
    if xml > MAX_XML_BYTES:
        raise ExtractionError(
            "too_large", f"the document's XML is {xml} bytes; at most {MAX_XML_BYTES}"
        )


class _EntityDeclared(Exception):
    pass


def _refuse_entities(*_args: Any) -> NoReturn:
    raise _EntityDeclared


def _check_xml(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
    """Stream one XML part through expat: well-formed, and no entity declarations."""
    parser = expat.ParserCreate()
    parser.EntityDeclHandler = _refuse_entities
    parser.UnparsedEntityDeclHandler = _refuse_entities
    parser.ExternalEntityRefHandler = _refuse_entities
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(_CHUNK):
                parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except _EntityDeclared:
        raise ExtractionError(
            "unsafe_xml",
            f"{member.filename} declares XML entities (billion laughs, external entities?)",
        ) from None
    # LookupError, ValueError: an unknown or multi-byte encoding in the XML declaration.
    except (expat.ExpatError, LookupError, ValueError) as exc:
        raise ExtractionError(
            "corrupt_docx", f"{member.filename} is not well-formed XML: {exc}"
        ) from exc


def _blocks(document: Any, max_text_chars: int) -> list[str]:
    """Non-empty paragraphs and table rows (cells tab-separated), in document order."""
    blocks: list[str] = []
    total = 0
    for element in document.element.body.inner_content_elements:
        if element.tag == _TBL:
            found = _table_rows(element)
        else:
            text = _paragraph_text(element)
            found = [text] if text.strip() else []
        for block in found:
            blocks.append(block)
            total += len(block) + 2
        if total > max_text_chars:
            raise ExtractionError(
                "too_long", f"the document's text exceeds {max_text_chars} characters"
            )
    return blocks


def _paragraph_text(p: Any) -> str:
    """A w:p's text: its runs, also those inside hyperlinks (as python-docx reads it)."""
    parts: list[str] = []
    for child in p.iterchildren(_R, _HYPERLINK):
        runs: Iterator[Any] = child.iterchildren(_R) if child.tag == _HYPERLINK else iter((child,))
        for run in runs:
            for item in run.iterchildren(*_RUN_TAGS):
                if item.tag == _T:
                    parts.append(item.text or "")
                elif item.tag == _BR:
                    if item.get(_TYPE, "textWrapping") == "textWrapping":
                        parts.append("\n")
                else:
                    parts.append(_RUN_CHARS[item.tag])
    return "".join(parts)


def _table_rows(tbl: Any) -> list[str]:
    """A table's rows, cells tab-separated. A merged cell (gridSpan) is one w:tc, so once."""
    rows: list[str] = []
    for tr in tbl.iterchildren(_TR):
        cells: list[str] = []
        for tc in tr.iterchildren(_TC):
            text = "\n".join(_paragraph_text(p) for p in tc.iterchildren(_P))
            if text.strip():
                cells.append(" ".join(text.split()))
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
