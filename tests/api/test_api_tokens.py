"""Personal API tokens: shown once, stored hashed, expiring, revocable at once, last use."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
from sqlalchemy import select, update

from relayflow.store.db import Database
from relayflow.store.models import ApiToken
from tests.api.conftest import SignedIn, workflow_body


async def create(
    client: httpx.AsyncClient, user: SignedIn, scopes: list[str], **extra: object
) -> dict[str, object]:
    response = await client.post(
        "/api/v1/tokens", json={"name": "ci", "scopes": scopes, **extra}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def bearer(token: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_token_works_like_a_sign_in_and_is_stored_only_as_a_digest(
    client: httpx.AsyncClient, db: Database, alice: SignedIn
) -> None:
    made = await create(client, alice, ["read", "write"])
    token = str(made["token"])

    me = await client.get("/api/v1/auth/me", headers=bearer(token))
    created = await client.post(
        "/api/v1/workflows",
        json=workflow_body("by token"),
        headers=bearer(token),
    )
    listed = await client.get("/api/v1/tokens", headers=alice.headers)

    assert me.json()["email"] == alice.email
    assert created.status_code == 201, created.text
    assert made["scopes"] == [
        "read",
        "write:credentials",
        "write:schedules",
        "write:webhooks",
        "write:workflows",
    ]
    assert token not in listed.text
    assert "token" not in listed.json()[0]
    assert listed.json()[0]["prefix"] == token[:12]
    async with db.session() as session:
        row = (await session.scalars(select(ApiToken))).one()
    assert token not in str(row.__dict__)
    assert row.last_used_at is not None


async def test_revoking_a_token_stops_it_at_once(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    made = await create(client, alice, ["read"])
    assert (await client.get("/api/v1/auth/me", headers=bearer(made["token"]))).status_code == 200

    revoked = await client.delete(f"/api/v1/tokens/{made['id']}", headers=alice.headers)
    after = await client.get("/api/v1/auth/me", headers=bearer(made["token"]))

    assert revoked.status_code == 204
    assert after.status_code == 401
    assert "revoked" in after.json()["error"]["message"]


async def test_an_expired_token_is_refused(
    client: httpx.AsyncClient, db: Database, alice: SignedIn
) -> None:
    made = await create(client, alice, ["read"], expires_in_days=1)
    async with db.transaction() as session:
        await session.execute(
            update(ApiToken)
            .where(ApiToken.id == uuid.UUID(str(made["id"])))
            .values(expires_at=dt.datetime(2020, 1, 1))
        )

    response = await client.get("/api/v1/auth/me", headers=bearer(made["token"]))

    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


async def test_unknown_scopes_and_too_long_lives_are_refused(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    bad_scope = await client.post(
        "/api/v1/tokens", json={"name": "x", "scopes": ["root"]}, headers=alice.headers
    )
    too_long = await client.post(
        "/api/v1/tokens",
        json={"name": "x", "scopes": ["read"], "expires_in_days": 5000},
        headers=alice.headers,
    )

    assert bad_scope.status_code == 422
    assert "unknown scope 'root'" in bad_scope.text
    assert too_long.status_code == 422
    assert "RELAYFLOW_API_TOKEN_MAX_DAYS" in too_long.text


async def test_a_token_cannot_manage_tokens(client: httpx.AsyncClient, alice: SignedIn) -> None:
    made = await create(client, alice, ["read", "run", "write"])

    response = await client.post(
        "/api/v1/tokens", json={"name": "more", "scopes": ["read"]}, headers=bearer(made["token"])
    )

    assert response.status_code == 403
    assert "sign-in token" in response.json()["error"]["message"]


async def test_admins_see_and_revoke_anyones_tokens(
    client: httpx.AsyncClient, alice: SignedIn, bob: SignedIn, admin: SignedIn
) -> None:
    alices = await create(client, alice, ["read"])

    bob_sees = await client.get("/api/v1/tokens?everyone=true", headers=bob.headers)
    bob_revokes = await client.delete(f"/api/v1/tokens/{alices['id']}", headers=bob.headers)
    admin_sees = await client.get("/api/v1/tokens?everyone=true", headers=admin.headers)
    admin_revokes = await client.delete(f"/api/v1/tokens/{alices['id']}", headers=admin.headers)

    assert bob_sees.json() == []
    assert bob_revokes.status_code == 404
    assert [t["id"] for t in admin_sees.json()] == [alices["id"]]
    assert admin_revokes.status_code == 204
    gone = await client.get("/api/v1/auth/me", headers=bearer(alices["token"]))
    assert gone.status_code == 401


async def test_a_run_token_starts_and_cancels_but_cannot_edit(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    created = await client.post(
        "/api/v1/workflows",
        json=workflow_body("f"),
        headers=alice.headers,
    )
    workflow_id = created.json()["id"]
    made = await create(client, alice, ["run"])

    edit = await client.patch(
        f"/api/v1/workflows/{workflow_id}", json={"name": "g"}, headers=bearer(made["token"])
    )
    read = await client.get(f"/api/v1/workflows/{workflow_id}", headers=bearer(made["token"]))

    assert edit.status_code == 403
    assert "write:workflows" in edit.json()["error"]["message"]
    assert read.status_code == 403  # `run` alone does not include `read`
