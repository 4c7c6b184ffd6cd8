"""Changing your own password: the current one is checked, the sign-up rules apply,
every sign-in token from before stops working, and the caller carries on with a new one."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from relayflow.store.db import Database
from relayflow.store.models import User
from tests.api.conftest import PASSWORD, SignedIn, workflow_body

CHANGE = "/api/v1/auth/password"
ME = "/api/v1/auth/me"
LOGIN = "/api/v1/auth/login"
NEW = "a brand new passphrase"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_changing_the_password_ends_other_sessions_and_keeps_this_one(
    client: httpx.AsyncClient, alice: SignedIn, db: Database
) -> None:
    other_browser = await client.post(LOGIN, json={"email": alice.email, "password": PASSWORD})
    other = bearer(other_browser.json()["access_token"])
    assert (await client.get(ME, headers=other)).status_code == 200

    changed = await client.post(
        CHANGE, json={"current_password": PASSWORD, "new_password": NEW}, headers=alice.headers
    )

    assert changed.status_code == 200, changed.text
    assert changed.json()["user"]["email"] == alice.email
    fresh = bearer(changed.json()["access_token"])
    assert (await client.get(ME, headers=fresh)).status_code == 200
    for stale in (alice.headers, other):
        refused = await client.get(ME, headers=stale)
        assert refused.status_code == 401
        assert "password was changed" in refused.json()["error"]["message"]
    old_login = await client.post(LOGIN, json={"email": alice.email, "password": PASSWORD})
    assert old_login.status_code == 401
    new_login = await client.post(LOGIN, json={"email": alice.email, "password": NEW})
    assert new_login.status_code == 200
    async with db.session() as session:
        stored = await session.scalar(select(User.password_hash).where(User.id == alice.id))
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert NEW not in stored


async def test_a_wrong_current_password_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    refused = await client.post(
        CHANGE,
        json={"current_password": "not my password", "new_password": NEW},
        headers=alice.headers,
    )

    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "wrong_password"
    assert (await client.get(ME, headers=alice.headers)).status_code == 200
    still = await client.post(LOGIN, json={"email": alice.email, "password": PASSWORD})
    assert still.status_code == 200


async def test_the_new_password_follows_the_sign_up_rules(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    short = await client.post(
        CHANGE, json={"current_password": PASSWORD, "new_password": "short"}, headers=alice.headers
    )

    assert short.status_code == 422
    assert "new_password" in short.text
    assert (await client.get(ME, headers=alice.headers)).status_code == 200


async def test_api_tokens_cannot_change_the_password_and_survive_a_change(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    made = await client.post(
        "/api/v1/tokens", json={"name": "ci", "scopes": ["read"]}, headers=alice.headers
    )
    api_token = bearer(made.json()["token"])

    by_token = await client.post(
        CHANGE, json={"current_password": PASSWORD, "new_password": NEW}, headers=api_token
    )
    changed = await client.post(
        CHANGE, json={"current_password": PASSWORD, "new_password": NEW}, headers=alice.headers
    )

    assert by_token.status_code == 403
    assert changed.status_code == 200
    assert (await client.get(ME, headers=api_token)).status_code == 200


async def test_without_a_token_the_change_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(CHANGE, json={"current_password": PASSWORD, "new_password": NEW})
    assert response.status_code == 401


async def test_a_token_from_before_the_change_cannot_start_runs(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    made = await client.post("/api/v1/workflows", json=workflow_body(), headers=alice.headers)
    start = f"/api/v1/workflows/{made.json()['id']}/executions"
    changed = await client.post(
        CHANGE, json={"current_password": PASSWORD, "new_password": NEW}, headers=alice.headers
    )

    stale = await client.post(start, json={"input": {}}, headers=alice.headers)
    fresh = await client.post(
        start, json={"input": {}}, headers=bearer(changed.json()["access_token"])
    )

    assert stale.status_code == 401
    assert fresh.status_code == 202, fresh.text
