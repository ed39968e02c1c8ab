"""Shared fixtures: the real spaCy pipeline (loaded once) and the sample article."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from spacy.language import Language

from services.enrich.core import DEFAULT_PIPELINE, load_pipeline
from shared.models import DocumentMetadata, RawDocument, SourceFile
from tests.conftest import SAMPLE_ARTICLE

MakeDoc = Callable[..., RawDocument]


@pytest.fixture(scope="module")
def nlp() -> Language:
    return load_pipeline(DEFAULT_PIPELINE)


@pytest.fixture(scope="module")
def sample_text() -> str:
    return SAMPLE_ARTICLE.read_text(encoding="utf-8")


def _make_doc(text: str, **metadata: str | None) -> RawDocument:
    return RawDocument(
        id=f"test-{abs(hash(text))}",
        source=SourceFile(
            path="a.txt",
            name="a.txt",
            size=len(text),
            mtime=datetime(2019, 1, 28, tzinfo=UTC),
            media_type="txt",
        ),
        text=text,
        metadata=DocumentMetadata(**metadata),
    )


@pytest.fixture(scope="module")
def make_doc() -> MakeDoc:
    return _make_doc


@pytest.fixture(scope="module")
def sample_doc(sample_text: str) -> Callable[..., RawDocument]:
    """The sample article with the metadata the ingest extractor gives it."""

    def build(published_at: str | None = "XXXX-01-28") -> RawDocument:
        return _make_doc(
            sample_text,
            title=sample_text.split("\n", 1)[0],
            author="Paul Goble",
            published_at=published_at,
            published_at_source="dateline",
            dateline_place="Staunton",
            dateline_text="Staunton, January 28 –",
        )

    return build
