"""Credentials over the API: values write-only (masked, replaced, never returned),
encrypted at rest, others' answer 404, shared ones usable by all and changed by admins."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from relayflow.store.db import Database
from relayflow.store.models import Credential
from tests.api.conftest import SignedIn

KEY = "sk-alice-0123456789abcdef"


async def make(client: httpx.AsyncClient, user: SignedIn, **body: Any) -> dict[str, Any]:
    body = {"name": "OpenAI", "kind": "openai", "value": KEY, **body}
    response = await client.post("/api/v1/credentials", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


async def test_a_value_is_stored_encrypted_and_only_ever_shown_masked(
    client: httpx.AsyncClient, db: Database, alice: SignedIn
) -> None:
    made = await make(client, alice)
    one = await client.get(f"/api/v1/credentials/{made['id']}", headers=alice.headers)
    listed = await client.get("/api/v1/credentials", headers=alice.headers)

    for answer in (str(made), one.text, listed.text):
        assert KEY not in answer
    assert made["value_hint"] == "••••cdef"
    assert made["has_value"] is True
    assert one.json()["used_by"] == []
    async with db.session() as session:
        row = (await session.scalars(select(Credential))).one()
    assert KEY not in str(row.__dict__)


async def test_replacing_the_value_keeps_only_the_new_one(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    made = await make(client, alice)

    changed = await client.patch(
        f"/api/v1/credentials/{made['id']}",
        json={"value": "sk-new-value-9999999999zzzz", "name": "Renamed"},
        headers=alice.headers,
    )

    assert changed.status_code == 200, changed.text
    assert changed.json()["value_hint"] == "••••zzzz"
    assert changed.json()["name"] == "Renamed"


async def test_another_users_credential_answers_404_to_everything(
    client: httpx.AsyncClient, alice: SignedIn, bob: SignedIn
) -> None:
    made = await make(client, alice)
    url = f"/api/v1/credentials/{made['id']}"

    answers = [
        await client.get(url, headers=bob.headers),
        await client.patch(url, json={"value": "x" * 20}, headers=bob.headers),
        await client.delete(url, headers=bob.headers),
    ]
    listed = await client.get("/api/v1/credentials", headers=bob.headers)

    assert [a.status_code for a in answers] == [404, 404, 404]
    assert made["id"] not in listed.text


async def test_shared_credentials_are_made_by_admins_and_read_only_to_others(
    client: httpx.AsyncClient, alice: SignedIn, admin: SignedIn
) -> None:
    refused = await client.post(
        "/api/v1/credentials",
        json={"name": "x", "kind": "openai", "value": KEY, "shared": True},
        headers=alice.headers,
    )
    shared = await make(client, admin, shared=True)
    url = f"/api/v1/credentials/{shared['id']}"

    seen = await client.get(url, headers=alice.headers)
    change = await client.patch(url, json={"name": "mine now"}, headers=alice.headers)

    assert refused.status_code == 403
    assert seen.status_code == 200
    assert seen.json()["owned"] is False
    assert seen.json()["shared"] is True
    assert change.status_code == 403


async def test_each_kind_names_what_it_is_missing(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    cases = [
        ({"kind": "openai_compatible"}, "base_url: is required"),
        ({"kind": "http_basic", "value": "pw"}, "username: is required"),
        ({"kind": "http_header", "value": "v", "header": "bad header"}, "not an HTTP header"),
        ({"kind": "openai"}, "value: is required"),
        ({"kind": "secret", "name": "has space", "value": "v"}, "secrets.NAME"),
        ({"kind": "openai", "value": "k", "username": "u"}, "does not apply"),
    ]
    for body, message in cases:
        response = await client.post(
            "/api/v1/credentials", json={"name": "N", **body}, headers=alice.headers
        )
        assert response.status_code == 422, (body, response.text)
        assert message in response.json()["error"]["message"], response.text
