"""Webhooks of a workflow: keys shown once and stored hashed, enable, rotate, delete."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx

from relayflow.store.db import Database
from relayflow.store.models import Webhook
from relayflow.store.webhooks import webhook_for_key
from tests.api.conftest import SignedIn, count_rows, workflow_body

WORKFLOWS = "/api/v1/workflows"
WEBHOOKS = "/api/v1/webhooks"


async def new_workflow(client: httpx.AsyncClient, who: SignedIn, **extra: Any) -> str:
    response = await client.post(WORKFLOWS, json=workflow_body(**extra), headers=who.headers)
    assert response.status_code == 201
    workflow_id: str = response.json()["id"]
    return workflow_id


async def new_webhook(
    client: httpx.AsyncClient, who: SignedIn, workflow_id: str, name: str | None = None
) -> dict[str, Any]:
    response = await client.post(
        f"{WORKFLOWS}/{workflow_id}/webhooks", json={"name": name}, headers=who.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def stored_digest(db: Database, webhook_id: str) -> str:
    async with db.session() as session:
        webhook = await session.get(Webhook, uuid.UUID(webhook_id))
        assert webhook is not None
        return webhook.api_key


async def test_key_is_shown_once_and_stored_only_as_its_hash(
    client: httpx.AsyncClient, alice: SignedIn, db: Database
) -> None:
    workflow_id = await new_workflow(client, alice)

    created = await new_webhook(client, alice, workflow_id, name="CRM")
    listed = await client.get(f"{WORKFLOWS}/{workflow_id}/webhooks", headers=alice.headers)

    key = created["api_key"]
    assert key.startswith("rf_")
    assert len(key) >= 40
    assert created["key_prefix"] == key[:8]
    assert created["url"] == f"/hooks/{created['id']}"
    assert created["enabled"] is True
    assert created["name"] == "CRM"
    assert await stored_digest(db, created["id"]) == hashlib.sha256(key.encode()).hexdigest()
    (item,) = listed.json()["items"]
    assert "api_key" not in item
    assert key not in listed.text
    assert item["key_prefix"] == key[:8]
    async with db.session() as session:
        found = await webhook_for_key(session, key)
        assert found is not None
        assert str(found.id) == created["id"]
        assert await webhook_for_key(session, key + "x") is None


async def test_rotating_issues_a_new_key_and_retires_the_old_one(
    client: httpx.AsyncClient, alice: SignedIn, db: Database
) -> None:
    created = await new_webhook(client, alice, await new_workflow(client, alice))

    rotated = await client.post(f"{WEBHOOKS}/{created['id']}/rotate", headers=alice.headers)

    assert rotated.status_code == 200
    new_key = rotated.json()["api_key"]
    assert new_key != created["api_key"]
    assert rotated.json()["key_prefix"] == new_key[:8]
    assert rotated.json()["id"] == created["id"]
    async with db.session() as session:
        assert await webhook_for_key(session, created["api_key"]) is None
        found = await webhook_for_key(session, new_key)
        assert found is not None


async def test_disable_enable_and_rename(
    client: httpx.AsyncClient, alice: SignedIn, db: Database
) -> None:
    created = await new_webhook(client, alice, await new_workflow(client, alice), name="old")
    url = f"{WEBHOOKS}/{created['id']}"

    disabled = await client.patch(url, json={"enabled": False}, headers=alice.headers)
    renamed = await client.patch(url, json={"name": "new"}, headers=alice.headers)
    cleared = await client.patch(url, json={"name": None, "enabled": True}, headers=alice.headers)

    assert disabled.json()["enabled"] is False
    assert disabled.json()["name"] == "old"
    assert renamed.json()["enabled"] is False
    assert renamed.json()["name"] == "new"
    assert cleared.json()["enabled"] is True
    assert cleared.json()["name"] is None
    assert (
        await stored_digest(db, created["id"])
        == hashlib.sha256(created["api_key"].encode()).hexdigest()
    )


async def test_delete_removes_the_webhook(
    client: httpx.AsyncClient, alice: SignedIn, db: Database
) -> None:
    workflow_id = await new_workflow(client, alice)
    created = await new_webhook(client, alice, workflow_id)

    deleted = await client.delete(f"{WEBHOOKS}/{created['id']}", headers=alice.headers)
    again = await client.delete(f"{WEBHOOKS}/{created['id']}", headers=alice.headers)

    assert deleted.status_code == 204
    assert again.status_code == 404
    assert await count_rows(db, Webhook) == 0


async def test_nobody_but_the_owner_manages_webhooks_of_a_public_workflow(
    client: httpx.AsyncClient, alice: SignedIn, bob: SignedIn, db: Database
) -> None:
    workflow_id = await new_workflow(client, alice, is_public=True)

    create = await client.post(f"{WORKFLOWS}/{workflow_id}/webhooks", json={}, headers=bob.headers)
    listing = await client.get(f"{WORKFLOWS}/{workflow_id}/webhooks", headers=bob.headers)

    assert create.status_code == 403
    assert "owner" in create.json()["error"]["message"]
    assert listing.status_code == 403
    assert await count_rows(db, Webhook) == 0
