"""The `relayflow` command line."""

from __future__ import annotations

import asyncio

import typer

from relayflow.config import Settings
from relayflow.errors import ConfigError
from relayflow.store.db import Database
from relayflow.store.migrate import upgrade

app = typer.Typer(help="relayflow: durable multi-agent AI workflows.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def load_settings() -> Settings:
    try:
        settings = Settings()
        settings.signing_secret()
    except ConfigError as exc:
        typer.secho(f"error: {exc.message}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    return settings


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending database migrations."""
    settings = load_settings()

    async def _run() -> None:
        db = Database(settings.resolved_database_url)
        try:
            await upgrade(db)
        finally:
            await db.dispose()

    asyncio.run(_run())
    typer.echo("database is up to date")


@app.command()
def serve(
    host: str = typer.Option(None, help="Interface to bind (default 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default 8000)."),
    migrate: bool = typer.Option(True, help="Apply pending migrations at start-up."),
) -> None:
    """Run the API and the web UI."""
    import uvicorn

    from relayflow.api.app import create_app

    settings = load_settings()
    if host:
        settings.host = host
    if port:
        settings.port = port
    settings.migrate_on_start = migrate
    application = create_app(settings)
    typer.echo(f"relayflow is starting on http://{settings.host}:{settings.port}/")
    uvicorn.run(application, host=settings.host, port=settings.port, log_level="info")


if __name__ == "__main__":
    app()
