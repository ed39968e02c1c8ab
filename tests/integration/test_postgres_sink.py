"""The postgres sink against a real PostgreSQL (never skipped: CI starts one).

``DROPWIRE_TEST_POSTGRES_DSN`` overrides the default local server. Each test works in its own
schema and drops it afterwards.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from services.publish.sinks.base import Rejected
from services.publish.sinks.postgres import NUL_REPLACEMENT, PostgresSink
from shared.models import DocumentMetadata, EnrichedRecord, EnricherInfo
from shared.settings import Settings
from tests.factories import make_entity, make_record

pytestmark = pytest.mark.integration

DSN = os.environ.get("DROPWIRE_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def pg_settings(tmp_path: Path) -> Iterator[Settings]:
    """Settings pointing at a fresh schema, dropped (CASCADE) after the test."""
    schema = f"dwtest_{uuid.uuid4().hex[:12]}"
    yield Settings(
        postgres_dsn=SecretStr(DSN),
        postgres_schema=schema,
        inbox=tmp_path / "inbox",
        outbox=tmp_path / "outbox",
        archive_dir=tmp_path / "archive",
        failed_dir=tmp_path / "failed",
    )
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
async def sink(pg_settings: Settings) -> AsyncIterator[PostgresSink]:
    sink = PostgresSink(pg_settings, open_timeout=10.0)
    await sink.start()
    yield sink
    await sink.close()


async def _query(sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(DSN) as conn:
        cur = await conn.execute(sql, params)
        return await cur.fetchall()


async def test_migrations_are_idempotent(pg_settings: Settings) -> None:
    for _ in range(2):
        sink = PostgresSink(pg_settings, open_timeout=10.0)
        await sink.start()
        await sink.close()
    s = pg_settings.postgres_schema
    assert await _query(f"SELECT version FROM {s}.dropwire_schema_migrations") == [(1,)]
    tables = await _query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1",
        (s,),
    )
    assert [t for (t,) in tables] == ["dropwire_schema_migrations", "entities", "records"]
    indexes = {
        i for (i,) in await _query("SELECT indexname FROM pg_indexes WHERE schemaname = %s", (s,))
    }
    assert {"records_entities_gin", "entities_label_name"} <= indexes


async def test_upsert_by_id_updates_the_row_and_replaces_entities(sink: PostgresSink) -> None:
    first = make_record("Putin met Maduro.", title="Old", entities=[make_entity("Putin", "PERSON")])
    where = await sink.write([first])
    assert where == [f"postgres:{sink.schema}.records/{first.id}"]
    again = first.model_copy(
        update={
            "metadata": DocumentMetadata(title="New"),
            "enrichment": first.enrichment.model_copy(
                update={
                    "enricher": EnricherInfo(version="2", model="test"),
                    "entities": [make_entity("Maduro", "PERSON"), make_entity("Caracas", "GPE")],
                }
            ),
        }
    )
    assert await sink.write([again]) == where  # a replay with a newer enricher
    assert await sink.write([again]) == where  # a plain redelivery

    rows = await _query(
        "SELECT id, title, enricher_version, record->'metadata'->>'title'"
        f" FROM {sink.schema}.records"
    )
    assert rows == [(first.id, "New", "2", "New")]
    names = await _query(
        f"SELECT name, label FROM {sink.schema}.entities WHERE record_id = %s ORDER BY position",
        (first.id,),
    )
    assert names == [("Maduro", "PERSON"), ("Caracas", "GPE")]


async def test_row_columns_and_record_round_trip(sink: PostgresSink) -> None:
    record = make_record(
        "Moscow, 28 January. Text.",
        entities=[make_entity("Moscow", "GPE")],
        published_at="2019-01-28",
        language="en",
    )
    await sink.write([record])
    rows = await _query(
        "SELECT schema_version, title, published_at, language, source_path, record::text,"
        f" ingested_at, enriched_at, updated_at FROM {sink.schema}.records"
    )
    ((schema_version, title, published, language, path, body, ingested, enriched, updated),) = rows
    assert (schema_version, title, published, language, path) == (
        "1.0",
        "Moscow, 28 January. Text.",
        "2019-01-28",
        "en",
        "a.txt",
    )
    assert EnrichedRecord.model_validate_json(body) == record
    assert (ingested, enriched) == (record.ingested_at, record.enriched_at)
    assert updated is not None


async def test_entities_queryable_by_child_table_and_gin_index(sink: PostgresSink) -> None:
    putin = make_record(
        "Putin and Maduro.",
        entities=[
            make_entity("Putin", "PERSON", count=2, salience=0.9),
            make_entity("Maduro", "PERSON"),
        ],
    )
    other = make_record("Only Caracas here.", entities=[make_entity("Caracas", "GPE")])
    await sink.write([putin, other])
    s = sink.schema
    joined = await _query(
        f"SELECT r.id, e.count, e.salience FROM {s}.records r"
        f" JOIN {s}.entities e ON e.record_id = r.id"
        " WHERE e.label = 'PERSON' AND e.name = 'Putin'"
    )
    assert joined == [(putin.id, 2, 0.9)]
    containment = f"""SELECT id FROM {s}.records
        WHERE record->'enrichment'->'entities' @> '[{{"name": "Putin"}}]'"""
    assert await _query(containment) == [(putin.id,)]
    async with await psycopg.AsyncConnection.connect(DSN) as conn:
        await conn.execute("SET enable_seqscan = off")
        cur = await conn.execute("EXPLAIN " + containment)
        plan = "\n".join(line for (line,) in await cur.fetchall())
    assert "records_entities_gin" in plan


async def test_nul_characters_are_replaced_not_rejected(sink: PostgresSink) -> None:
    record = make_record(
        "before\x00after Putin", title="ti\x00tle", entities=[make_entity("Pu\x00tin", "PERSON")]
    )
    where = await sink.write([record])
    assert where == [sink.location(record.id)]
    ((text, title, entity, column_title),) = await _query(
        f"SELECT record->>'text', record->'metadata'->>'title',"
        f" record->'enrichment'->'entities'->0->>'name', title FROM {sink.schema}.records"
    )
    assert text == f"before{NUL_REPLACEMENT}after Putin"  # same length: offsets stay valid
    assert title == column_title == f"ti{NUL_REPLACEMENT}tle"
    assert entity == f"Pu{NUL_REPLACEMENT}tin"
    ((name,),) = await _query(f"SELECT name FROM {sink.schema}.entities")
    assert name == f"Pu{NUL_REPLACEMENT}tin"


async def test_data_error_rejects_only_that_record(sink: PostgresSink) -> None:
    good = make_record("A good record.", entities=[make_entity("Putin", "PERSON")])
    bad = make_record(
        "Count beyond integer.", entities=[make_entity("Putin", "PERSON", count=2**40)]
    )
    also_good = make_record("Another good one.")
    where = await sink.write([good, bad, also_good])
    assert where[0] == sink.location(good.id)
    assert isinstance(where[1], Rejected)
    assert "NumericValueOutOfRange" in where[1].reason
    assert where[2] == sink.location(also_good.id)
    ids = {i for (i,) in await _query(f"SELECT id FROM {sink.schema}.records")}
    assert ids == {good.id, also_good.id}
    assert await _query(f"SELECT count(*) FROM {sink.schema}.entities") == [(1,)]


async def test_same_id_twice_in_one_batch_keeps_the_last(sink: PostgresSink) -> None:
    a = make_record("Same text.", title="first")
    b = a.model_copy(update={"metadata": DocumentMetadata(title="second")})
    assert await sink.write([a, b]) == [sink.location(a.id)] * 2
    assert await _query(f"SELECT title FROM {sink.schema}.records") == [("second",)]


async def test_unreachable_server_raises(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(
        postgres_dsn=SecretStr(f"postgresql://postgres@127.0.0.1:{port}/test"),
        inbox=tmp_path / "inbox",
        outbox=tmp_path / "outbox",
    )
    sink = PostgresSink(settings, open_timeout=1.0)
    with pytest.raises(Exception, match="pool"):
        await sink.start()
    with pytest.raises(RuntimeError):
        await sink.write([make_record("x")])
