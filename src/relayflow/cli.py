"""The `relayflow` command line.

Each command imports what it uses inside its function, so `relayflow --help` loads
only typer, and `relayflow run` on a file starts without the database layer, the web
framework, the settings loader's dependencies until it reads them, or (for a graph
without agents) the model library. `bench/cli_startup.py` measures both;
tests/test_cli_imports.py keeps the module light.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from relayflow.config import Settings

# Plain help and error text (rich_markup_mode=None): typer's rich formatting imports
# rich and markdown-it, about 0.2 s, for every `--help`.
app = typer.Typer(
    help="relayflow: durable multi-agent AI workflows.", no_args_is_help=True, rich_markup_mode=None
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(db_app, name="db")


def start_observability(settings: Settings) -> None:
    """Log lines in the configured format; traces exported when an endpoint is set."""
    from relayflow.telemetry.logs import setup_logging
    from relayflow.telemetry.tracing import setup_tracing

    setup_logging(settings)
    if setup_tracing(settings):
        typer.echo(f"exporting traces to {settings.otel_endpoint}", err=True)


def load_settings() -> Settings:
    from relayflow.config import Settings
    from relayflow.errors import ConfigError

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
    import asyncio

    from relayflow.store.db import Database
    from relayflow.store.migrate import upgrade

    settings = load_settings()

    async def _run() -> None:
        db = Database.from_settings(settings)
        try:
            await upgrade(db)
        finally:
            await db.dispose()

    asyncio.run(_run())
    typer.echo("database is up to date")


@db_app.command("prune")
def db_prune(
    older_than: str = typer.Option(
        ..., "--older-than", help="Age of the finished executions to delete, e.g. 30d, 12h, 2w."
    ),
    batch_size: int = typer.Option(
        None, help="Executions deleted per transaction (default RELAYFLOW_RETENTION_BATCH_SIZE)."
    ),
) -> None:
    """Delete finished executions (with their node runs and events) older than a duration.

    Executions still pending, processing or waiting are never deleted, nor those tied
    to a live rerun. Runs in small transactions, safe while relayflow is serving.
    """
    import asyncio

    from relayflow.domain import utcnow
    from relayflow.runtime.retention import parse_duration, prune_older_than
    from relayflow.store.db import Database
    from relayflow.store.migrate import upgrade

    try:
        age = parse_duration(older_than)
    except ValueError as exc:
        typer.secho(f"error: --older-than: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    if batch_size is not None and batch_size < 1:
        typer.secho("error: --batch-size must be at least 1", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    settings = load_settings()

    async def _run() -> int:
        db = Database.from_settings(settings)
        try:
            if settings.migrate_on_start:
                await upgrade(db)
            return await prune_older_than(
                db,
                before=utcnow() - age,
                batch_size=batch_size or settings.retention_batch_size,
            )
        finally:
            await db.dispose()

    deleted = asyncio.run(_run())
    typer.echo(f"deleted {deleted} finished execution(s) older than {older_than.strip()}")


@app.command()
def serve(
    host: str = typer.Option(None, help="Interface to bind (default 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default 8000)."),
    migrate: bool = typer.Option(True, help="Apply pending migrations at start-up."),
    worker: bool = typer.Option(
        True, "--worker/--no-worker", help="Run executions too (default on)."
    ),
    single_process: bool = typer.Option(
        False,
        "--single-process",
        help="API and worker in this one process, not in supervised child processes.",
    ),
    api_processes: int = typer.Option(
        None,
        help="API processes, beside the worker if there is one (default 1; "
        "RELAYFLOW_API_PROCESSES).",
    ),
    fd: int = typer.Option(None, hidden=True, help="Serve on this inherited socket."),
) -> None:
    """Run the API and the web UI, and (unless --no-worker) a worker in its own process.

    Supervised child processes unless --single-process, or unless --no-worker leaves
    one API process to run."""
    settings = load_settings()
    if host:
        settings.host = host
    if port:
        settings.port = port
    if api_processes is not None:
        if api_processes < 1:
            typer.secho("error: --api-processes must be at least 1", fg=typer.colors.RED, err=True)
            raise typer.Exit(2)
        settings.api_processes = api_processes
    settings.migrate_on_start = migrate
    settings.embedded_worker = settings.embedded_worker and worker
    settings.serve_single_process = settings.serve_single_process or single_process
    start_observability(settings)
    supervise = settings.embedded_worker or settings.api_processes > 1
    if fd is None and supervise and not settings.serve_single_process:
        raise typer.Exit(_serve_supervised(settings))
    _serve_here(settings, fd=fd)


def _serve_here(settings: Settings, *, fd: int | None) -> None:
    """The API (and the worker, if embedded) in this process."""
    import uvicorn

    from relayflow.api.app import create_app
    from relayflow.runtime.supervisor import inherited_socket

    application = create_app(settings)
    config = uvicorn.Config(
        application,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        # JSON lines: uvicorn's loggers go through the root handler (start_observability).
        log_config=None if settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG,
    )
    if fd is None:
        typer.echo(f"relayflow is starting on http://{settings.host}:{settings.port}/")
        uvicorn.Server(config).run()
        return
    uvicorn.Server(config).run(sockets=[inherited_socket(fd)])


def _serve_supervised(settings: Settings) -> int:
    """API processes (and a worker process), started and watched by this one."""
    import asyncio

    from relayflow.runtime.supervisor import Supervisor, listening_socket, serve_children
    from relayflow.store.db import Database
    from relayflow.store.migrate import upgrade

    async def _migrate() -> None:
        db = Database.from_settings(settings)
        try:
            await upgrade(db)
        finally:
            await db.dispose()

    if settings.migrate_on_start:  # once, here, rather than racing in every child
        asyncio.run(_migrate())
    try:
        sock = listening_socket(settings.host, settings.port)
    except OSError as exc:
        typer.secho(
            f"error: cannot listen on {settings.host}:{settings.port}: {exc.strerror}",
            fg=typer.colors.RED,
            err=True,
        )
        return 2
    url = f"http://{settings.host}:{settings.port}/"
    shape = f"{settings.api_processes} API process(es)"
    shape += " and a worker process" if settings.embedded_worker else ", no worker"
    supervisor = Supervisor(
        serve_children(
            fd=sock.fileno(),
            api_processes=settings.api_processes,
            worker=settings.embedded_worker,
        ),
        shutdown_grace_s=settings.shutdown_grace_s,
        on_started=lambda: typer.echo(f"relayflow is starting on {url} ({shape})"),
    )
    try:
        return asyncio.run(supervisor.run())
    finally:
        sock.close()


@app.command("worker")
def worker_command(
    concurrency: int = typer.Option(
        None, "--concurrency", "-c", help="Executions run at once (default 8)."
    ),
    name: str = typer.Option(None, help="Worker name in leases and logs (default host-pid)."),
    migrate: bool = typer.Option(True, help="Apply pending migrations at start-up."),
    metrics_port: int = typer.Option(
        None, help="Serve this worker's Prometheus figures at http://127.0.0.1:PORT/metrics."
    ),
) -> None:
    """Run executions from the queue until SIGTERM (then finish or hand back running ones)."""
    from relayflow.runtime import event_loop
    from relayflow.runtime.service import run_worker_process

    settings = load_settings()
    settings.migrate_on_start = migrate
    if metrics_port is not None:
        settings.metrics_port = metrics_port
    if concurrency is not None and concurrency < 1:
        typer.secho("error: --concurrency must be at least 1", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    start_observability(settings)
    slots = concurrency or settings.worker_concurrency
    typer.echo(f"relayflow worker starting (concurrency {slots})")
    if settings.metrics_port:  # served by the worker process below
        typer.echo(f"metrics at http://{settings.metrics_host}:{settings.metrics_port}/metrics")
    event_loop.run(run_worker_process(settings, concurrency=concurrency, name=name))


user_app = typer.Typer(help="Accounts.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(user_app, name="user")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return typer.get_text_stream("stdin").readline().rstrip("\r\n")
    from_env = os.environ.get("RELAYFLOW_USER_PASSWORD")
    if from_env:
        return from_env
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@user_app.command("create")
def user_create(
    email: str = typer.Option(..., help="The account's email, used to sign in."),
    name: str | None = typer.Option(None, help="Display name."),
    admin: bool = typer.Option(False, "--admin", help="Make the account an administrator."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input."
    ),
) -> None:
    """Create an account. The password is prompted for (hidden), or read from
    RELAYFLOW_USER_PASSWORD, or from standard input with --password-stdin."""
    import asyncio

    from relayflow.domain import Role
    from relayflow.errors import RelayflowError
    from relayflow.store.db import Database
    from relayflow.store.migrate import upgrade
    from relayflow.store.seed import seed_system_templates
    from relayflow.store.users import create_user

    settings = load_settings()
    password = _read_password(password_stdin)
    role = Role.ADMIN if admin else Role.USER

    async def _run() -> None:
        db = Database.from_settings(settings)
        try:
            if settings.migrate_on_start:
                await upgrade(db)
            async with db.transaction() as session:
                await seed_system_templates(session)
                await create_user(
                    session,
                    email=email,
                    password=password,
                    name=name,
                    role=role,
                    with_demo=settings.demo_workflow,
                )
        finally:
            await db.dispose()

    try:
        asyncio.run(_run())
    except RelayflowError as exc:
        typer.secho(f"error: {exc.message}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"created {role.value} account {email.strip().lower()}")


@user_app.command("set-password")
def user_set_password(
    email: str = typer.Option(..., help="The account's email."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input."
    ),
) -> None:
    """Give an account a new password (prompted for, or from RELAYFLOW_USER_PASSWORD, or
    standard input with --password-stdin)."""
    import asyncio

    from relayflow.errors import RelayflowError
    from relayflow.store.db import Database
    from relayflow.store.users import set_password

    settings = load_settings()
    password = _read_password(password_stdin)

    async def _run() -> None:
        db = Database.from_settings(settings)
        try:
            async with db.transaction() as session:
                await set_password(session, email, password)
        finally:
            await db.dispose()

    try:
        asyncio.run(_run())
    except RelayflowError as exc:
        typer.secho(f"error: {exc.message}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"password changed for {email.strip().lower()}")


@app.command("run")
def run_file(
    file: Path = typer.Argument(..., help="A workflow JSON file ({nodes, edges, ...})."),
    input: str = typer.Option("null", "--input", "-i", help="The execution input, as JSON."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
    approve: list[str] = typer.Option([], "--approve", help="Approve this approval node."),
    reject: list[str] = typer.Option([], "--reject", help="Reject this approval node."),
) -> None:
    """Run a workflow file in-process and print each node's status, timing and the output."""
    import asyncio
    import json

    from relayflow.config import Settings
    from relayflow.engine.executor import ApprovalDecision
    from relayflow.errors import RelayflowError
    from relayflow.local_run import format_report, run_workflow_file

    try:
        value = json.loads(input)
    except json.JSONDecodeError as exc:
        typer.secho(f"error: --input is not valid JSON: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    decisions = {node: ApprovalDecision(approved=True, decided_by="cli") for node in approve}
    decisions |= {node: ApprovalDecision(approved=False, decided_by="cli") for node in reject}
    settings = Settings()
    if settings.otel_endpoint or settings.log_format == "json":
        start_observability(settings)
    try:
        result = asyncio.run(run_workflow_file(file, value, settings, decisions=decisions))
    except RelayflowError as exc:
        typer.secho(f"error: {exc.message}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    finally:
        if settings.otel_endpoint:
            from relayflow.telemetry.tracing import shutdown_tracing

            shutdown_tracing()  # export the run's spans before the process ends
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False, default=str))
    else:
        typer.echo(format_report(result))
    if result.outcome.status.value in ("failed", "cancelled"):
        raise typer.Exit(1)


if __name__ == "__main__":
    app()


def _add_account_commands() -> None:
    from relayflow.cli_accounts import credentials_app, token_app

    app.add_typer(credentials_app, name="credentials")
    app.add_typer(token_app, name="token")


_add_account_commands()
