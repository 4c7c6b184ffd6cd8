"""Accounts: registration, sign-in, tokens, and the slow-down of repeated failures."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import jwt
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from relayflow import security
from relayflow.cli import app as cli_app
from relayflow.config import Settings
from relayflow.domain import Actor, Role
from relayflow.store.db import Database
from relayflow.store.login_failures import LoginThrottle, subject
from relayflow.store.models import LoginCounter, User
from tests.api.conftest import PASSWORD, SignedIn, count_rows

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
TOKEN = "/api/v1/auth/token"
ME = "/api/v1/auth/me"


async def register(client: httpx.AsyncClient, email: str, **extra: str) -> httpx.Response:
    return await client.post(REGISTER, json={"email": email, "password": PASSWORD, **extra})


async def test_first_account_becomes_admin_and_later_ones_are_users(
    client: httpx.AsyncClient,
) -> None:
    first = await register(client, "Ada@Example.com", name="Ada")
    second = await register(client, "bea@example.com")

    assert first.status_code == 201
    assert first.json()["role"] == "admin"
    assert first.json()["email"] == "ada@example.com"  # stored in one canonical form
    assert first.json()["name"] == "Ada"
    assert "password" not in first.text
    assert second.status_code == 201
    assert second.json()["role"] == "user"


async def test_password_is_stored_as_an_argon2id_hash(
    client: httpx.AsyncClient, db: Database
) -> None:
    await register(client, "ada@example.com")
    async with db.session() as session:
        stored = await session.scalar(select(User.password_hash))
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


async def test_closed_registration_still_lets_the_first_account_in(
    client: httpx.AsyncClient, settings: Settings, db: Database
) -> None:
    settings.allow_registration = False

    first = await register(client, "ada@example.com")
    second = await register(client, "bea@example.com")

    assert first.status_code == 201
    assert second.status_code == 403
    assert second.json()["error"]["code"] == "registration_closed"
    assert "registration" in second.json()["error"]["message"]
    assert await count_rows(db, User) == 1


async def test_login_returns_a_bearer_token_that_identifies_the_user(
    client: httpx.AsyncClient,
) -> None:
    await register(client, "ada@example.com", name="Ada")

    login = await client.post(LOGIN, json={"email": "ADA@example.com ", "password": PASSWORD})

    assert login.status_code == 200
    body = login.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 60 * 60
    assert body["user"]["email"] == "ada@example.com"
    me = await client.get(ME, headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["id"] == body["user"]["id"]


async def test_oauth2_form_login_works_for_the_openapi_authorize_button(
    client: httpx.AsyncClient,
) -> None:
    await register(client, "ada@example.com")

    response = await client.post(TOKEN, data={"username": "ada@example.com", "password": PASSWORD})

    assert response.status_code == 200
    token = response.json()["access_token"]
    assert (await client.get(ME, headers={"Authorization": f"Bearer {token}"})).status_code == 200
    schemes = (await client.get("/openapi.json")).json()["components"]["securitySchemes"]
    (scheme,) = schemes.values()
    assert scheme["flows"]["password"]["tokenUrl"] == TOKEN


async def test_wrong_password_and_unknown_email_fail_alike(client: httpx.AsyncClient) -> None:
    await register(client, "ada@example.com")

    wrong_password = await client.post(
        LOGIN, json={"email": "ada@example.com", "password": "not the password"}
    )
    unknown_email = await client.post(
        LOGIN, json={"email": "nobody@example.com", "password": "not the password"}
    )
    wrong_form = await client.post(
        TOKEN, data={"username": "ada@example.com", "password": "not the password"}
    )

    assert wrong_password.status_code == unknown_email.status_code == wrong_form.status_code == 401
    assert wrong_password.json() == unknown_email.json() == wrong_form.json()
    assert wrong_password.json()["error"]["message"] == "invalid email or password"


async def test_me_tells_the_editor_the_default_model_for_new_agents(
    client: httpx.AsyncClient, settings: Settings, alice: SignedIn
) -> None:
    first = await client.get(ME, headers=alice.headers)
    settings.default_model = "openai:gpt-4o-mini"
    second = await client.get(ME, headers=alice.headers)

    assert first.json()["default_model"] == "test:echo"
    assert second.json()["default_model"] == "openai:gpt-4o-mini"
    assert second.json()["email"] == "alice@example.com"


def test_the_default_model_setting_must_name_a_provider() -> None:
    with pytest.raises(ValueError, match="default_model"):
        Settings(default_model="gpt-4o")


async def test_me_without_a_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get(ME)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_expired_token_is_401(
    client: httpx.AsyncClient, settings: Settings, alice: SignedIn
) -> None:
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=settings.access_token_minutes + 1)
    expired = security.issue_access_token(settings, alice.actor, now=long_ago).token

    response = await client.get(ME, headers={"Authorization": f"Bearer {expired}"})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert "expired" in response.json()["error"]["message"]
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda t, s: t[:-4] + ("AAAA" if t[-4:] != "AAAA" else "BBBB"), id="bad-sig"),
        pytest.param(
            lambda t, s: jwt.encode(
                {**jwt.decode(t, options={"verify_signature": False}), "role": "admin"},
                "another-secret-" + "y" * 40,
                algorithm="HS256",
            ),
            id="other-secret",
        ),
        pytest.param(
            lambda t, s: jwt.encode(
                jwt.decode(t, options={"verify_signature": False}), key=None, algorithm="none"
            ),
            id="alg-none",
        ),
        pytest.param(
            lambda t, s: jwt.encode({"sub": "x", "role": "admin"}, s, algorithm="HS256"),
            id="no-expiry",
        ),
        pytest.param(lambda t, s: "not-a-jwt", id="garbage"),
    ],
)
async def test_tampered_or_forged_token_is_401(
    client: httpx.AsyncClient, settings: Settings, alice: SignedIn, forge: object
) -> None:
    token = alice.headers["Authorization"].removeprefix("Bearer ")
    forged = forge(token, settings.signing_secret())  # type: ignore[operator]

    response = await client.get(ME, headers={"Authorization": f"Bearer {forged}"})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


async def test_token_of_a_deleted_account_is_401(
    client: httpx.AsyncClient, db: Database, alice: SignedIn
) -> None:
    async with db.transaction() as session:
        await session.delete(await session.get(User, alice.id))

    response = await client.get(ME, headers=alice.headers)

    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "unauthorized",
        "message": "the access token's account no longer exists",
        "details": None,
    }


async def test_role_comes_from_the_account_not_the_token(
    client: httpx.AsyncClient, settings: Settings, alice: SignedIn
) -> None:
    # A token claiming admin for a plain user grants nothing more than a user's rights.
    token = security.issue_access_token(settings, Actor(alice.id, Role.ADMIN)).token

    response = await client.get(
        "/api/v1/workflows?scope=all", headers={"Authorization": f"Bearer {token}"}
    )
    as_user = await client.get("/api/v1/workflows", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert "scope" in response.json()["error"]["message"]
    assert as_user.status_code == 200  # the token itself is good: only the claimed role is not


async def failures(db: Database, email: str) -> int | None:
    async with db.session() as session:
        row = await session.get(LoginCounter, subject("account", email))
        return None if row is None else row.failures


@pytest.mark.parametrize("email", ["ada@example.com", "nobody@example.com"])
async def test_repeated_failures_are_counted_and_delay_the_next_attempt(
    client: httpx.AsyncClient, db: Database, settings: Settings, email: str
) -> None:
    await register(client, "ada@example.com")
    throttle = LoginThrottle.from_settings(settings)
    attempts = settings.login_failures_before_delay + 2

    for _ in range(attempts):
        response = await client.post(LOGIN, json={"email": email, "password": "wrong-guess"})
        assert response.status_code == 401

    # The count and the delay are the same whether or not the account exists.
    assert await failures(db, email) == attempts
    assert throttle.delay_after(attempts) == settings.login_delay_max_s


async def test_successful_login_resets_the_failure_count(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    await register(client, "ada@example.com")
    for _ in range(settings.login_failures_before_delay + 1):
        await client.post(LOGIN, json={"email": "ada@example.com", "password": "wrong-guess"})
    assert await failures(db, "ada@example.com") == settings.login_failures_before_delay + 1

    ok = await client.post(LOGIN, json={"email": "ada@example.com", "password": PASSWORD})

    assert ok.status_code == 200
    assert await failures(db, "ada@example.com") is None


async def test_cli_creates_an_admin(settings: Settings, db: Database) -> None:
    env = {
        "RELAYFLOW_DATABASE_URL": settings.resolved_database_url,
        "RELAYFLOW_DATA_DIR": str(settings.data_dir),
        "RELAYFLOW_JWT_SECRET": settings.signing_secret(),
        "RELAYFLOW_USER_PASSWORD": PASSWORD,
    }
    args = ["user", "create", "--email", "ops@example.com", "--name", "Ops", "--admin"]

    result = await asyncio.to_thread(CliRunner().invoke, cli_app, args, env=env)
    again = await asyncio.to_thread(CliRunner().invoke, cli_app, args, env=env)

    assert result.exit_code == 0, result.output
    assert "ops@example.com" in result.output
    assert again.exit_code != 0
    assert "already exists" in again.output
    async with db.session() as session:
        user = await session.scalar(select(User).where(User.email == "ops@example.com"))
    assert user is not None
    assert user.role == "admin"
    assert security.verify_password(user.password_hash, PASSWORD)


async def test_cli_reads_the_password_from_stdin_and_checks_it(
    settings: Settings, db: Database
) -> None:
    env = {
        "RELAYFLOW_DATABASE_URL": settings.resolved_database_url,
        "RELAYFLOW_DATA_DIR": str(settings.data_dir),
        "RELAYFLOW_JWT_SECRET": settings.signing_secret(),
    }
    base = ["user", "create", "--password-stdin", "--email"]

    short = await asyncio.to_thread(
        CliRunner().invoke, cli_app, [*base, "a@example.com"], input="short\n", env=env
    )
    ok = await asyncio.to_thread(
        CliRunner().invoke, cli_app, [*base, "b@example.com"], input=f"{PASSWORD}\n", env=env
    )

    assert short.exit_code != 0
    assert "password" in short.output
    assert ok.exit_code == 0, ok.output
    async with db.session() as session:
        user = await session.scalar(select(User).where(User.email == "b@example.com"))
    assert user is not None
    assert user.role == "user"
    assert await count_rows(db, User) == 1
