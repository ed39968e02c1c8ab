"""The ``dropwire`` command line: run the whole pipeline, or one service alone."""

from __future__ import annotations

import typer
from pydantic import ValidationError

from shared.redis import RedisNotConfiguredError
from shared.settings import Settings

app = typer.Typer(
    help="Dropwire: drop files in a folder, get enriched records out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        typer.echo(f"dropwire: invalid settings: {exc.errors()[0]['msg']}", err=True)
        raise typer.Exit(2) from exc


@app.command()
def up(
    enrich_workers: int = typer.Option(
        1, "--enrich-workers", "-w", min=1, help="Enrich processes."
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
        typer.echo(f"dropwire {service}: {exc}", err=True)
        raise typer.Exit(2) from exc


@app.command()
def ingest() -> None:
    """Run the ingest service alone: watch DROPWIRE_INBOX, publish raw documents."""
    _run("ingest")


@app.command()
def enrich() -> None:
    """Run one enrich worker (a consumer-group member); start several to scale out."""
    _run("enrich")


@app.command()
def publish() -> None:
    """Run the publish service: write enriched records to the JSONL and stream sinks."""
    _run("publish")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
