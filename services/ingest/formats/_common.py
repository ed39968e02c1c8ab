"""What every format module shares: the error type, the partial result and text clean-up."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from shared.models import DocumentMetadata


class ExtractionError(Exception):
    """A file that cannot be turned into a document.

    ``reason`` is a short machine code (``empty``, ``binary``, ``corrupt_pdf``...) that the
    ingest service records next to the failed file; ``message`` says what is wrong for a human.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message

    def __reduce__(self) -> tuple[type[ExtractionError], tuple[str, str]]:
        # Keeps the error picklable (a process pool), despite the two-argument constructor.
        return (type(self), (self.reason, self.message))


@dataclass
class Parsed:
    """What a format module returns; ``extract`` validates it and freezes it into Extracted."""

    text: str
    metadata: DocumentMetadata = field(default_factory=DocumentMetadata)
    encoding: str | None = None


_NEWLINES = re.compile(r"\r\n?|[\u2028\u2029\x85]")


def normalize_newlines(text: str) -> str:
    """Turn CRLF, CR and Unicode line separators into ``\\n`` so offsets agree everywhere."""
    return _NEWLINES.sub("\n", text)


def clean_text(text: str) -> str:
    """Normalise newlines, drop a stray BOM and strip the whole text's outer whitespace only."""
    return normalize_newlines(text).lstrip("\ufeff").strip()


def clean_field(value: object) -> str | None:
    """A metadata value as a single stripped line, or None when absent or blank."""
    if not isinstance(value, str):
        return None
    cleaned = " ".join(value.split())
    return cleaned or None
