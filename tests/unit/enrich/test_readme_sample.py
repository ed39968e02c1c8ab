"""The README's sample tables are the script's output, and the gold copy of the sample is
the sample: neither may drift."""

from __future__ import annotations

from spacy.language import Language

from scripts.sample_table import README, readme_section, sample_tables
from services.enrich.core import enrich
from shared.models import EnrichedRecord, RawDocument
from tests.conftest import SAMPLE_ARTICLE
from tests.gold.scoring import GOLD_DIR


def test_readme_sample_tables_are_current() -> None:
    section = readme_section(README.read_text(encoding="utf-8"))
    assert section is not None, "README.md lost its sample-table markers"
    assert section == sample_tables(), "run: .venv/bin/python scripts/sample_table.py --write"


def test_gold_copy_of_the_sample_is_the_sample() -> None:
    copy = GOLD_DIR / "en-01-putin-elites-venezuela.txt"
    assert copy.read_bytes() == SAMPLE_ARTICLE.read_bytes()


def test_documented_sample_record_is_what_the_enricher_produces(nlp: Language) -> None:
    """docs/sample-record.json (a real `make run` output, shown in the README) stays true."""
    path = SAMPLE_ARTICLE.parents[2] / "docs" / "sample-record.json"
    record = EnrichedRecord.model_validate_json(path.read_text(encoding="utf-8"))
    assert record.text == SAMPLE_ARTICLE.read_text(encoding="utf-8").strip()
    raw = RawDocument(
        id=record.id, source=record.source, text=record.text, metadata=record.metadata
    )
    again = enrich(raw, nlp)
    assert again.model_dump() == record.enrichment.model_dump(), (
        "the enricher changed: regenerate docs/sample-record.json from a `make run` record"
    )
