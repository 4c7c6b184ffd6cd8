"""`relayflow credentials ...` and `relayflow token ...`: keys and tokens from the shell."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from relayflow.config import Settings

credentials_app = typer.Typer(
    help="The credentials key.", no_args_is_help=True, rich_markup_mode=None
)
token_app = typer.Typer(help="Personal API tokens.", no_args_is_help=True, rich_markup_mode=None)


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


@credentials_app.command("new-key")
def new_key() -> None:
    """Print a fresh key for RELAYFLOW_CREDENTIALS_KEY."""
    from relayflow.vault import new_key as make

    typer.echo(make())


async def rotate(settings: Settings) -> int:
    """Re-encrypt every credential under the current key; how many there were.

    With RELAYFLOW_CREDENTIALS_KEY set, the operator has put the new key there and
    the old one in RELAYFLOW_CREDENTIALS_PREVIOUS_KEYS. Otherwise (the data dir's
    key file) a new key is made here: written first alongside the old ones, so a
    crash midway leaves every value readable, and alone once all are re-encrypted.
    """
    from relayflow.config import CREDENTIALS_KEY_FILE
    from relayflow.store import credentials
    from relayflow.store.db import Database
    from relayflow.vault import Vault
    from relayflow.vault import new_key as make

    path = settings.data_dir / CREDENTIALS_KEY_FILE
    from_file = settings.credentials_key is None and not settings.is_postgres
    if from_file:
        old = settings.credential_key_file_lines()
        fresh = make()
        path.write_text("\n".join([fresh, *old]) + "\n")
    vault = Vault.from_settings(settings)
    db = Database.from_settings(settings)
    try:
        async with db.transaction() as session:
            count = await credentials.rotate_all(session, vault)
    finally:
        await db.dispose()
    if from_file:
        path.write_text(fresh + "\n")
    return count


@credentials_app.command("rotate-key")
def rotate_key() -> None:
    """Re-encrypt every credential under the current key (a new one on SQLite)."""
    import asyncio

    from relayflow.cli import load_settings
    from relayflow.errors import RelayflowError

    settings = load_settings()
    try:
        count = asyncio.run(rotate(settings))
    except RelayflowError as exc:
        raise _fail(exc.message) from exc
    typer.echo(f"re-encrypted {count} credential(s) under the current key")
    if settings.credentials_previous_keys:
        typer.echo("RELAYFLOW_CREDENTIALS_PREVIOUS_KEYS can now be removed")


@token_app.command("create")
def token_create(
    email: str = typer.Option(..., help="Whose token."),
    scope: list[str] = typer.Option(
        ..., "--scope", help="read, run, write, or a single scope; repeat for more."
    ),
    name: str = typer.Option("cli", help="A name to recognise it by."),
    days: int | None = typer.Option(None, help="Days until it expires."),
) -> None:
    """Print a new personal API token (shown only now)."""
    import asyncio
    import datetime as dt

    from relayflow.cli import load_settings
    from relayflow.domain import expand_scopes, utcnow
    from relayflow.errors import RelayflowError
    from relayflow.store import api_tokens, users
    from relayflow.store.db import Database

    settings = load_settings()
    try:
        scopes = expand_scopes(scope)
    except ValueError as exc:
        raise _fail(str(exc), 2) from exc
    lifetime = days or settings.api_token_default_days

    async def _run() -> str:
        db = Database.from_settings(settings)
        try:
            async with db.transaction() as session:
                user = await users.get_user_by_email(session, email)
                if user is None:
                    raise _fail(f"no account with the email {email}")
                issued = await api_tokens.create_token(
                    session,
                    user.id,
                    name=name,
                    scopes=scopes,
                    expires_at=utcnow() + dt.timedelta(days=lifetime),
                    max_per_user=settings.max_api_tokens_per_user,
                )
                return issued.token
        finally:
            await db.dispose()

    try:
        typer.echo(asyncio.run(_run()))
    except RelayflowError as exc:
        raise _fail(exc.message) from exc
