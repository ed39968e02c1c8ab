"""The ``dropwire`` command line: run the pipeline or one service, and look inside it."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError
from redis.exceptions import RedisError
from rich.console import Console
from rich.table import Table

from shared.redis import RedisNotConfiguredError
from shared.settings import Settings

app = typer.Typer(
    help="Dropwire: drop files in a folder, get enriched records out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
dlq_app = typer.Typer(help="Inspect and handle dead letters.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
console = Console()
_state = {"debug": False}


@app.callback()
def _options(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors."),
) -> None:
    _state["debug"] = debug


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise _Fail(f"invalid setting {where}: {err['msg']}") from exc


class _Fail(Exception):
    """An error to show as one line (exit code 1), or with a traceback under --debug."""


def _client(settings: Settings) -> Any:
    from services.ops import sync_client

    return sync_client(settings)


@app.command()
def up(
    enrich_workers: int = typer.Option(
        1, "--enrich-workers", "-w", min=1, help="Number of enrich processes."
    ),
) -> None:
    """Run ingest, enrich and publish, with an embedded Redis unless DROPWIRE_REDIS_URL is set.

    Example: dropwire up --enrich-workers 2
    """
    from services.runner import Supervisor

    raise typer.Exit(Supervisor(_settings(), enrich_workers=enrich_workers).run())


def _run(service: str) -> None:
    from services.runner import run_service

    try:
        run_service(service, _settings())
    except RedisNotConfiguredError as exc:
        raise _Fail(str(exc)) from exc


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(  # noqa: B008 - typer's declaration style
        None, help="Files or folders to ingest once (a backfill). None: run the service."
    ),
) -> None:
    """Run the ingest service (watch DROPWIRE_INBOX), or ingest PATHs once as a backfill.

    Examples: dropwire ingest                  (the service)
              dropwire ingest ~/archive/2019   (a backfill: files stay where they are)
    """
    if not paths:
        _run("ingest")
        return
    import asyncio

    from rich.progress import Progress

    from services.ingest.backfill import backfill, expand

    settings = _settings()
    files = expand(paths)
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("ingesting", total=len(files))
        result = asyncio.run(
            backfill(files, settings, lambda name, outcome: progress.advance(task))
        )
    for name, reason, message in result.failed:
        typer.echo(f"failed: {name}: {reason}: {message}", err=True)
    typer.echo(
        f"{len(files)} files: {result.accepted} accepted, {result.duplicates} duplicate, "
        f"{len(result.failed)} failed"
    )
    if result.failed:
        raise typer.Exit(1)


@app.command()
def enrich() -> None:
    """Run one enrich worker (a consumer-group member); start several to scale out.

    Example: DROPWIRE_REDIS_URL=redis://localhost:6379/0 dropwire enrich
    """
    _run("enrich")


@app.command()
def publish() -> None:
    """Run the publish service: one consumer group per enabled sink (DROPWIRE_SINKS).

    Example: DROPWIRE_SINKS=jsonl,redis_stream,postgres dropwire publish
    """
    _run("publish")


@app.command()
def status(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Streams, groups (pending, lag, consumers), dead letters, throughput, inbox backlog.

    Example: dropwire status --json | jq .groups
    """
    from services.ops import status as get_status

    settings = _settings()
    st = get_status(_client(settings), settings)
    if as_json:
        typer.echo(json.dumps(st.as_dict(), indent=2))
        return
    streams = Table("stream", "length", title="Streams")
    for name, length in st.streams.items():
        streams.add_row(name, str(length))
    groups = Table("stream", "group", "pending", "lag", "consumers (idle)", title="Groups")
    for g in st.groups:
        consumers = ", ".join(f"{c['name']} ({c['idle_ms'] / 1000:.0f}s)" for c in g.consumers)
        groups.add_row(g.stream, g.group, str(g.pending), str(g.lag), consumers or "-")
    console.print(streams)
    console.print(groups)
    console.print(
        f"dead letters: {st.dead_letters}   published last minute: {st.published_last_minute}"
        f"   files waiting in inbox: {st.inbox_waiting}"
    )


@dlq_app.command("list")
def dlq_list(
    count: int = typer.Option(50, help="How many, newest first."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List dead letters: stage, document, error.

    Example: dropwire dlq list --count 10
    """
    from services.ops import dead_letters

    settings = _settings()
    letters = dead_letters(_client(settings), settings, count)
    if as_json:
        typer.echo(json.dumps(letters, indent=2))
        return
    table = Table("id", "stage", "doc", "error", "message", "attempts", title="Dead letters")
    for d in letters:
        table.add_row(
            d["dlq_id"],
            d.get("stage", ""),
            d.get("doc_id", "")[:12],
            d.get("error_type", ""),
            d.get("message", "")[:60],
            d.get("attempts", ""),
        )
    console.print(table)


@dlq_app.command("show")
def dlq_show(dlq_id: str) -> None:
    """Show every field of one dead letter.

    Example: dropwire dlq show 1764131234567-0
    """
    from services.ops import dead_letter

    settings = _settings()
    letter = dead_letter(_client(settings), settings, dlq_id)
    if letter is None:
        raise _Fail(f"no dead letter {dlq_id}")
    typer.echo(json.dumps(letter, indent=2, ensure_ascii=False))


@dlq_app.command("retry")
def dlq_retry(dlq_ids: list[str]) -> None:
    """Re-queue dead letters to the stage that failed (after a fix).

    For a failure after ingest, the running ingest service then moves the document's file
    from failed/ back to archive/ and removes its sidecar; an ingest failure's file moves
    from failed/ back into the inbox.

    Example: dropwire dlq retry 1764131234567-0
    """
    from services.ops import RetryError, retry_dead_letter

    settings = _settings()
    client = _client(settings)
    failed = False
    for dlq_id in dlq_ids:
        try:
            typer.echo(f"{dlq_id}: {retry_dead_letter(client, settings, dlq_id)}")
        except RetryError as exc:
            typer.echo(f"{dlq_id}: {exc}", err=True)
            failed = True
    if failed:
        raise typer.Exit(1)


@dlq_app.command("drop")
def dlq_drop(dlq_ids: list[str]) -> None:
    """Delete dead letters for good.

    Example: dropwire dlq drop 1764131234567-0
    """
    from services.ops import drop_dead_letter

    settings = _settings()
    client = _client(settings)
    for dlq_id in dlq_ids:
        done = drop_dead_letter(client, settings, dlq_id)
        typer.echo(f"{dlq_id}: {'dropped' if done else 'not found'}")


@app.command()
def tail(
    as_json: bool = typer.Option(False, "--json", help="Print the raw records."),
    from_start: bool = typer.Option(False, "--from-start", help="Begin at the oldest entry."),
    count: int = typer.Option(0, help="Stop after this many records (0: follow forever)."),
) -> None:
    """Follow the published stream: one line per record (time, title, top entities).

    Example: dropwire tail --count 5
    """
    from shared.wire import decode_record

    settings = _settings()
    client = _client(settings)
    last = "0" if from_start else "$"
    seen = 0
    while count == 0 or seen < count:
        batch = client.xread({settings.streams.published: last}, count=100, block=1000)
        for _stream, entries in batch or []:
            for entry_id, fields in entries:
                last = entry_id
                seen += 1
                if as_json:
                    typer.echo(fields["record"])
                else:
                    record = decode_record(fields)
                    top = sorted(record.enrichment.entities, key=lambda e: -e.salience)[:5]
                    title = record.enrichment.title or record.metadata.title or record.source.name
                    names = ", ".join(f"{e.name} ({e.label})" for e in top)
                    stamp = time.strftime("%H:%M:%S", time.localtime(int(entry_id[:-2]) / 1000))
                    typer.echo(f"{stamp}  {record.id[:12]}  {title}  |  {names}")
                if count and seen >= count:
                    return


@app.command()
def replay(
    paths: list[Path] = typer.Argument(  # noqa: B008 - typer's declaration style
        None, help="Archived files or folders to replay. None: the whole archive."
    ),
) -> None:
    """Re-enrich archived documents (after an enricher upgrade, or a fix).

    Sinks write a replayed record again only if the enricher version changed.
    Example: dropwire replay archive/2019
    """
    import asyncio

    from services.ingest.backfill import backfill, expand

    settings = _settings()
    archive = settings.archive_dir.resolve()
    targets = [p.resolve() for p in paths] if paths else [archive]
    for target in targets:
        if target != archive and archive not in target.parents:
            raise _Fail(f"{target} is not inside the archive {archive}")
    files = [(p, str(p.relative_to(archive))) for p, _name in expand(targets)]
    result = asyncio.run(backfill(files, settings, replay=True))
    for name, reason, message in result.failed:
        typer.echo(f"failed: {name}: {reason}: {message}", err=True)
    typer.echo(f"{len(files)} files: {result.accepted} replayed, {len(result.failed)} failed")
    if result.failed:
        raise typer.Exit(1)


_STYLES = {
    "PERSON": "bold cyan",
    "ORG": "bold magenta",
    "GPE": "bold green",
    "LOC": "green",
    "NORP": "yellow",
    "DATE": "bold blue",
    "LINK": "underline bright_blue",
}


@app.command()
def show(doc_id: str = typer.Argument(..., help="Document id (or its first characters).")) -> None:
    """One document's record: its text with entities, dates and links highlighted.

    Example: dropwire show 3f2a9c1e
    """
    from rich.text import Text

    from services.ops import RetryError, find_record
    from shared.wire import decode_record

    settings = _settings()
    try:
        found = find_record(_client(settings), settings, doc_id)
    except RetryError as exc:
        raise _Fail(str(exc)) from exc
    if found is None:
        raise _Fail(f"no published record for {doc_id!r}")
    record = decode_record(found)
    e = record.enrichment
    text = Text(record.text)
    for entity in e.entities:
        for m in entity.mentions:
            text.stylize(_STYLES.get(entity.label, "bold"), m.start, m.end)
    for d in e.dates:
        text.stylize(_STYLES["DATE"], d.start, d.end)
    for link in e.links:
        text.stylize(_STYLES["LINK"], link.start, link.end)
    console.rule(e.title or record.metadata.title or record.source.name)
    console.print(
        f"id {record.id}  file {record.source.path}  language {e.language}  "
        f"published {e.published_at or '-'} ({e.published_at_source or '-'})  "
        f"enricher {e.enricher.version}"
    )
    console.print(text)
    entities = Table("entity", "label", "count", "salience", "ids", title="Entities")
    for ent in e.entities:
        ids = " ".join(f"{k}:{v}" for k, v in ent.ids.items())
        entities.add_row(ent.name, ent.label, str(ent.count), f"{ent.salience:.2f}", ids)
    dates = Table("text", "value", "granularity", "relative", title="Dates")
    for d in e.dates:
        dates.add_row(d.text, d.value or "-", d.granularity, "yes" if d.relative else "")
    links = Table("text", "url", "kind", title="Links")
    for link in e.links:
        links.add_row(link.text, link.url, link.kind or "")
    for table in (entities, dates, links):
        console.print(table)


def main() -> None:
    try:
        app()
    except (_Fail, RedisNotConfiguredError, RedisError, OSError) as exc:
        if _state["debug"]:
            raise
        typer.echo(f"dropwire: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
