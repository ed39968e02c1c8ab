"""The whole pipeline as a user runs it: `dropwire up`, files in the inbox, records out."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pydantic import SecretStr

from shared.settings import Settings
from tests.pipeline import Pipeline, jsonl_records, published_entries, wait_for

pytestmark = pytest.mark.e2e


def _by_name(record: dict, label: str) -> set[str]:
    return {e["name"] for e in record["enrichment"]["entities"] if e["label"] == label}


def test_sample_article_is_enriched_and_published(
    settings: Settings, sample_article: Path, tmp_path: Path
) -> None:
    with Pipeline(settings, tmp_path / "logs") as pipeline:
        dropped = settings.inbox / sample_article.name
        shutil.copy(sample_article, dropped)

        records = wait_for(lambda: jsonl_records(settings.outbox), what="a JSONL record")
        entries = wait_for(lambda: published_entries(settings), what="a published entry")

    assert len(records) == 1
    record = records[0]
    assert record["schema_version"] == "1.0"
    assert record["metadata"]["title"] == (
        "Putin Elites See in Venezuela Their Own Future, SerpomPo Telegram Channel Says"
    )
    assert record["metadata"]["author"] == "Paul Goble"
    persons = _by_name(record, "PERSON")
    assert {"Putin", "Maduro", "Chavez", "Paul Goble"} <= persons
    assert "Putin Elites See" not in persons
    assert {"Russia", "Venezuela", "Armenia"} <= _by_name(record, "GPE")

    dates = {d["text"]: d for d in record["enrichment"]["dates"]}
    assert dates["March 2018"]["value"] == "2018-03"
    assert dates["March 2018"]["granularity"] == "month"
    links = {link["text"]: link for link in record["enrichment"]["links"]}
    assert links["t.me/SerpomPo/2527"]["url"] == "https://t.me/SerpomPo/2527"

    # The published stream carries plain fields any client can read.
    assert len(entries) == 1
    entry = entries[0]
    assert entry["id"] == record["id"]
    assert entry["schema_version"] == "1.0"
    assert json.loads(entry["record"])["id"] == record["id"]

    # The file left the inbox for the archive, and the log says so with the document id.
    assert not dropped.exists()
    assert [p.name for p in settings.archive_dir.rglob("*") if p.is_file()] == [dropped.name]
    published = [e for e in pipeline.log_events() if e.get("event") == "publish.published"]
    assert [e["doc_id"] for e in published] == [record["id"]]
    # Production logs: every line of every service is one JSON event.
    lines = pipeline.log_path.read_text().splitlines()
    assert lines and all(line.startswith("{") and line.endswith("}") for line in lines), [
        line for line in lines if not line.startswith("{")
    ][:5]


def test_restart_with_files_in_inbox_publishes_each_once(
    settings: Settings, sample_article: Path, tmp_path: Path
) -> None:
    pipeline = Pipeline(settings, tmp_path / "logs")
    texts = [
        f"Report {i}\n\nJane Doe\n\nMoscow, March {i + 1} – Vladimir Putin met officials.\n"
        for i in range(6)
    ]
    with pipeline:
        pipeline.wait_ready()
    # Stopped: files dropped now wait in the inbox, some in a sub-folder.
    (settings.inbox / "batch").mkdir()
    for i, text in enumerate(texts):
        folder = settings.inbox / "batch" if i % 2 else settings.inbox
        (folder / f"report-{i}.txt").write_text(text, encoding="utf-8")
    shutil.copy(sample_article, settings.inbox / "article.txt")
    # The same content twice is one document.
    shutil.copy(sample_article, settings.inbox / "article-copy.txt")

    with pipeline:
        wait_for(lambda: len(jsonl_records(settings.outbox)) >= 7, what="7 records")
        wait_for(
            lambda: not any(p.is_file() for p in settings.inbox.rglob("*")), what="empty inbox"
        )
        # Restart again while nothing is left: nothing is published twice.
    with pipeline:
        pipeline.wait_ready()

    records = jsonl_records(settings.outbox)
    ids = [r["id"] for r in records]
    assert len(ids) == 7 and len(set(ids)) == 7
    assert len(published_entries(settings)) == 7
    assert sorted(
        r["source"]["path"] for r in records if "report" in r["source"]["path"]
    ) == sorted(
        [
            "report-0.txt",
            "batch/report-1.txt",
            "report-2.txt",
            "batch/report-3.txt",
            "report-4.txt",
            "batch/report-5.txt",
        ]
    )
    duplicates = [e for e in pipeline.log_events() if e.get("event") == "ingest.duplicate"]
    assert len(duplicates) == 1


def test_bad_files_fail_with_reason_while_good_file_is_published(
    settings: Settings, sample_article: Path, tmp_path: Path
) -> None:
    with Pipeline(settings, tmp_path / "logs"):
        (settings.inbox / "empty.txt").write_bytes(b"")
        (settings.inbox / "junk.txt").write_bytes(bytes(range(256)) * 40)
        pdf = _real_pdf_bytes()
        (settings.inbox / "truncated.pdf").write_bytes(pdf[: len(pdf) // 2])
        russian = (
            "Москва, 28 января – Президент России Владимир Путин провёл совещание "
            "с членами правительства.\n"
        )
        (settings.inbox / "cp1251.txt").write_bytes(("Новости дня\n\n" + russian).encode("cp1251"))
        shutil.copy(sample_article, settings.inbox / "good.txt")

        wait_for(lambda: len(jsonl_records(settings.outbox)) >= 2, what="2 records")
        wait_for(
            lambda: len(list(settings.failed_dir.glob("*.error.json"))) >= 3, what="3 failures"
        )

    failures = {
        json.loads(p.read_text())["file"]: json.loads(p.read_text())
        for p in settings.failed_dir.glob("*.error.json")
    }
    assert set(failures) == {"empty.txt", "junk.txt", "truncated.pdf"}
    assert failures["empty.txt"]["reason"] == "empty"
    assert failures["junk.txt"]["reason"] == "binary"
    assert failures["truncated.pdf"]["reason"] == "corrupt_pdf"
    for name in failures:
        assert (settings.failed_dir / name).exists(), f"{name} kept in failed/"
    records = {r["source"]["name"]: r for r in jsonl_records(settings.outbox)}
    assert set(records) == {"good.txt", "cp1251.txt"}
    assert "Путин" in records["cp1251.txt"]["text"]
    assert records["cp1251.txt"]["source"]["encoding"] in {"cp1251", "windows-1251"}
    assert not any(p.is_file() for p in settings.inbox.rglob("*"))


def _real_pdf_bytes() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    for i in range(40):
        pdf.cell(
            0,
            8,
            f"Line {i}: Vladimir Putin spoke in Moscow about Venezuela.",
            new_x="LMARGIN",
            new_y="NEXT",
        )
    return bytes(pdf.output())


def test_up_without_redis_url_runs_an_embedded_redis_with_aof(
    settings: Settings, sample_article: Path, tmp_path: Path
) -> None:
    embedded = settings.model_copy(update={"redis_url": SecretStr("")})
    pipeline = Pipeline(embedded, tmp_path / "logs")
    with pipeline:
        shutil.copy(sample_article, settings.inbox / "article.txt")
        records = wait_for(lambda: jsonl_records(settings.outbox), what="a record")
    assert records[0]["metadata"]["author"] == "Paul Goble"
    started = [e for e in pipeline.log_events() if e.get("event") == "embedded_redis.started"]
    assert len(started) == 1
    assert (settings.data_dir / "redis" / "appendonlydir").is_dir()
    assert pipeline.process is not None and pipeline.process.returncode == 0


def test_trace_id_travels_from_ingest_into_the_record(
    settings: Settings, sample_article: Path, tmp_path: Path
) -> None:
    pipeline = Pipeline(settings, tmp_path / "logs")
    with pipeline:
        shutil.copy(sample_article, settings.inbox / "a.txt")
        [record] = wait_for(lambda: jsonl_records(settings.outbox), what="a record")
        wait_for(
            lambda: any(e.get("event") == "publish.published" for e in pipeline.log_events()),
            what="the published log line",
        )
    trace = record["trace_id"]
    assert trace
    by_event = {e["event"]: e for e in pipeline.log_events() if e.get("doc_id") == record["id"]}
    for event in ("ingest.accepted", "enrich.done", "publish.published"):
        assert by_event[event]["trace_id"] == trace, event
