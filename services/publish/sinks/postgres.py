"""PostgreSQL sink: one row per document in ``<schema>.records``, its entities in a child table.

Rows are upserted by document id, so a redelivery or a replay updates the row instead of
adding one. A batch is one transaction: it is durable when ``write`` returns, or not at all.
Connection problems raise (the batch is redelivered); a record Postgres refuses as data is
``Rejected`` alone while the rest of its batch is still written.

Migrations are idempotent and versioned in ``<schema>.dropwire_schema_migrations``; a
transaction-scoped advisory lock lets several publishers start at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
import structlog
from psycopg import AsyncConnection, sql
from psycopg_pool import AsyncConnectionPool

from services.publish.sinks.base import Rejected
from shared.models import EnrichedRecord
from shared.settings import Settings

log = structlog.stdlib.get_logger("dropwire.publish.postgres")

# Postgres text and jsonb cannot hold U+0000. Replacing it (rather than deleting it) keeps
# every mention's character offsets into ``text`` valid.
NUL_REPLACEMENT = "\ufffd"

# (version, statements). Append only: never edit a migration that has shipped.
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            """
            CREATE TABLE IF NOT EXISTS {schema}.records (
                id text PRIMARY KEY,
                enricher_version text NOT NULL,
                schema_version text NOT NULL,
                title text,
                published_at text,
                language text,
                source_path text,
                record jsonb NOT NULL,
                ingested_at timestamptz,
                enriched_at timestamptz,
                updated_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE INDEX IF NOT EXISTS records_entities_gin ON {schema}.records
                USING gin ((record -> 'enrichment' -> 'entities') jsonb_path_ops)
            """,
            """
            CREATE TABLE IF NOT EXISTS {schema}.entities (
                record_id text NOT NULL REFERENCES {schema}.records (id) ON DELETE CASCADE,
                position integer NOT NULL,
                name text NOT NULL,
                label text NOT NULL,
                count integer NOT NULL,
                salience double precision NOT NULL,
                PRIMARY KEY (record_id, position)
            )
            """,
            "CREATE INDEX IF NOT EXISTS entities_label_name ON {schema}.entities (label, name)",
        ),
    ),
)

_UPSERT = """
INSERT INTO {schema}.records (
    id, enricher_version, schema_version, title, published_at, language, source_path,
    record, ingested_at, enriched_at, updated_at
) VALUES (
    %(id)s, %(enricher_version)s, %(schema_version)s, %(title)s, %(published_at)s,
    %(language)s, %(source_path)s, %(record)s::jsonb, %(ingested_at)s, %(enriched_at)s, now()
)
ON CONFLICT (id) DO UPDATE SET
    enricher_version = EXCLUDED.enricher_version,
    schema_version = EXCLUDED.schema_version,
    title = EXCLUDED.title,
    published_at = EXCLUDED.published_at,
    language = EXCLUDED.language,
    source_path = EXCLUDED.source_path,
    record = EXCLUDED.record,
    ingested_at = EXCLUDED.ingested_at,
    enriched_at = EXCLUDED.enriched_at,
    updated_at = now()
"""
_DELETE_ENTITIES = "DELETE FROM {schema}.entities WHERE record_id = ANY(%s)"
_INSERT_ENTITY = """
INSERT INTO {schema}.entities (record_id, position, name, label, count, salience)
VALUES (%s, %s, %s, %s, %s, %s)
"""


def _replace_nul(value: Any) -> Any:
    """Replace U+0000 in every string (keys too) of a JSON-like value."""
    if isinstance(value, str):
        return value.replace("\x00", NUL_REPLACEMENT)
    if isinstance(value, dict):
        return {_replace_nul(k): _replace_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_nul(v) for v in value]
    return value


@dataclass(frozen=True)
class _Row:
    """A record flattened into the parameters of the upsert and its entity rows."""

    params: dict[str, Any]
    entities: list[tuple[str, int, str, str, int, float]]

    @property
    def id(self) -> str:
        return str(self.params["id"])

    @classmethod
    def of(cls, record: EnrichedRecord) -> _Row:
        body = record.model_dump_json()
        # A NUL can only appear in the JSON as the escape \u0000, so this test is exact.
        if "\\u0000" in body:
            record = EnrichedRecord.model_validate(_replace_nul(record.model_dump(mode="json")))
            body = record.model_dump_json()
        meta, enr = record.metadata, record.enrichment
        params: dict[str, Any] = {
            "id": record.id,
            "enricher_version": enr.enricher.version,
            "schema_version": record.schema_version,
            "title": enr.title or meta.title,
            "published_at": enr.published_at or meta.published_at,
            "language": enr.language or meta.language,
            "source_path": record.source.path,
            "record": body,
            "ingested_at": record.ingested_at,
            "enriched_at": record.enriched_at,
        }
        entities = [
            (record.id, i, e.name, e.label, e.count, e.salience) for i, e in enumerate(enr.entities)
        ]
        return cls(params, entities)


class PostgresSink:
    """Upserts records into ``<schema>.records`` (and ``<schema>.entities``)."""

    name = "postgres"

    def __init__(
        self, settings: Settings, *, pool_size: int = 4, open_timeout: float = 30.0
    ) -> None:
        self._dsn = settings.postgres_dsn.get_secret_value()
        self.schema = settings.postgres_schema
        self._pool_size = pool_size
        self._open_timeout = open_timeout
        self._pool: AsyncConnectionPool[AsyncConnection[Any]] | None = None

    def _sql(self, template: str) -> sql.Composed:
        return sql.SQL(template).format(schema=sql.Identifier(self.schema))

    def location(self, record_id: str) -> str:
        return f"postgres:{self.schema}.records/{record_id}"

    async def start(self) -> None:
        if not self._dsn:
            raise ValueError("the postgres sink needs DROPWIRE_POSTGRES_DSN")
        pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
            self._dsn,
            min_size=1,
            max_size=self._pool_size,
            open=False,
            check=AsyncConnectionPool.check_connection,
            name="dropwire-postgres-sink",
        )
        try:
            await pool.open(wait=True, timeout=self._open_timeout)
            await self._migrate(pool)
        except BaseException:
            await pool.close()
            raise
        self._pool = pool
        log.info("postgres.ready", schema=self.schema)

    async def _migrate(self, pool: AsyncConnectionPool[AsyncConnection[Any]]) -> None:
        """Apply the migrations this schema lacks, serialised by an advisory lock."""
        async with pool.connection() as conn, conn.transaction():
            # Two publishers starting together must not both run CREATE SCHEMA.
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"dropwire:{self.schema}",)
            )
            await conn.execute(self._sql("CREATE SCHEMA IF NOT EXISTS {schema}"))
            await conn.execute(
                self._sql(
                    "CREATE TABLE IF NOT EXISTS {schema}.dropwire_schema_migrations ("
                    " version integer PRIMARY KEY,"
                    " applied_at timestamptz NOT NULL DEFAULT now())"
                )
            )
            cur = await conn.execute(
                self._sql("SELECT version FROM {schema}.dropwire_schema_migrations")
            )
            applied = {row[0] for row in await cur.fetchall()}
            for version, statements in MIGRATIONS:
                if version in applied:
                    continue
                for statement in statements:
                    await conn.execute(self._sql(statement))
                await conn.execute(
                    self._sql(
                        "INSERT INTO {schema}.dropwire_schema_migrations (version) VALUES (%s)"
                    ),
                    (version,),
                )
                log.info("postgres.migrated", schema=self.schema, version=version)

    async def _upsert(self, conn: AsyncConnection[Any], rows: Sequence[_Row]) -> None:
        async with conn.cursor() as cur:
            await cur.executemany(self._sql(_UPSERT), [row.params for row in rows])
            await cur.execute(self._sql(_DELETE_ENTITIES), ([row.id for row in rows],))
            entities = [entity for row in rows for entity in row.entities]
            if entities:
                await cur.executemany(self._sql(_INSERT_ENTITY), entities)

    async def write(self, records: Sequence[EnrichedRecord]) -> list[str | Rejected]:
        if self._pool is None:
            raise RuntimeError("PostgresSink.write before start")
        prepared: list[_Row | Rejected] = []
        for record in records:
            try:
                prepared.append(_Row.of(record))
            except ValueError as exc:  # not serialisable (e.g. a lone surrogate): never will be
                prepared.append(Rejected(f"postgres: record cannot be encoded: {exc}"[:500]))
        # The last version of a record in the batch wins, as it would across two batches.
        rows = list({p.id: p for p in prepared if isinstance(p, _Row)}.values())
        refused: dict[str, str] = {}
        if rows:
            async with self._pool.connection() as conn:
                try:
                    async with conn.transaction():
                        await self._upsert(conn, rows)
                except psycopg.errors.DataError:
                    # Find the culprits; any other error (connection...) propagates: transient.
                    refused = await self._write_one_by_one(conn, rows)
        return [
            p
            if isinstance(p, Rejected)
            else Rejected(refused[p.id])
            if p.id in refused
            else self.location(p.id)
            for p in prepared
        ]

    async def _write_one_by_one(
        self, conn: AsyncConnection[Any], rows: Sequence[_Row]
    ) -> dict[str, str]:
        """One transaction, a savepoint per record: returns id -> reason for refused ones."""
        refused: dict[str, str] = {}
        async with conn.transaction():
            for row in rows:
                try:
                    async with conn.transaction():  # a savepoint
                        await self._upsert(conn, [row])
                except psycopg.errors.DataError as exc:
                    reason = f"postgres refused the record: {type(exc).__name__}: {exc}"
                    refused[row.id] = reason[:500]
                    log.error("postgres.rejected", doc_id=row.id, error=reason[:500])
        return refused

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
