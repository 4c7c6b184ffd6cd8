"""Agent templates over the REST API, and the seeded system templates."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from relayflow.store.db import Database
from relayflow.store.models import AgentTemplate
from relayflow.store.seed import SYSTEM_TEMPLATES, seed_system_templates
from tests.api.conftest import SignedIn, count_rows, table_snapshot, template_body

TEMPLATES = "/api/v1/agent-templates"


async def list_all(client: httpx.AsyncClient, who: SignedIn, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(TEMPLATES, params={"limit": 200, **params}, headers=who.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def create(client: httpx.AsyncClient, who: SignedIn, **body: Any) -> dict[str, Any]:
    response = await client.post(TEMPLATES, json=template_body(**body), headers=who.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_system_templates_are_seeded_for_everyone(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    system = await list_all(client, alice, scope="system")

    by_role = {t["role"]: t for t in system}
    for role in (
        "researcher",
        "writer",
        "editor",
        "summarizer",
        "classifier",
        "planner",
        "extractor",
        "code_reviewer",
    ):
        assert role in by_role, role
        assert by_role[role]["is_system"] is True
        assert by_role[role]["model"] == "test:echo"
        assert len(by_role[role]["system_prompt"]) > 80
    assert by_role["extractor"]["parameters"]["output_schema"]["type"] == "object"


async def test_seeding_again_adds_nothing_and_keeps_admin_edits(
    client: httpx.AsyncClient, admin: SignedIn, db: Database
) -> None:
    writer = next(t for t in await list_all(client, admin, scope="system") if t["role"] == "writer")
    await client.patch(
        f"{TEMPLATES}/{writer['id']}", json={"model": "openai:gpt-4o"}, headers=admin.headers
    )

    async with db.transaction() as session:
        added = await seed_system_templates(session)

    assert added == 0
    assert await count_rows(db, AgentTemplate) == len(SYSTEM_TEMPLATES)
    again = (await client.get(f"{TEMPLATES}/{writer['id']}", headers=admin.headers)).json()
    assert again["model"] == "openai:gpt-4o"


async def test_default_list_is_system_plus_mine(
    client: httpx.AsyncClient, alice: SignedIn, bob: SignedIn
) -> None:
    mine = await create(client, alice, name="Alice's")
    bobs = await create(client, bob, name="Bob's")

    visible = {t["id"] for t in await list_all(client, alice)}
    only_mine = [t["id"] for t in await list_all(client, alice, scope="mine")]

    assert mine["id"] in visible
    assert bobs["id"] not in visible
    assert len(visible) == len(SYSTEM_TEMPLATES) + 1
    assert only_mine == [mine["id"]]
    assert mine["user_id"] == str(alice.id)
    assert mine["is_system"] is False


async def test_pages_through_templates(client: httpx.AsyncClient, alice: SignedIn) -> None:
    first = await client.get(TEMPLATES, params={"limit": 5}, headers=alice.headers)
    rest = await client.get(
        TEMPLATES, params={"limit": 5, "cursor": first.json()["next_cursor"]}, headers=alice.headers
    )

    ids = [t["id"] for t in first.json()["items"] + rest.json()["items"]]
    assert len(ids) == len(set(ids)) == len(SYSTEM_TEMPLATES)
    assert rest.json()["next_cursor"] is None


async def test_owner_updates_and_deletes_their_template(
    client: httpx.AsyncClient, alice: SignedIn, db: Database
) -> None:
    created = await create(client, alice)

    put = await client.put(
        f"{TEMPLATES}/{created['id']}",
        json=template_body(name="Renamed", model="anthropic:claude-sonnet-4-5"),
        headers=alice.headers,
    )
    patch = await client.patch(
        f"{TEMPLATES}/{created['id']}", json={"system_prompt": None}, headers=alice.headers
    )
    deleted = await client.delete(f"{TEMPLATES}/{created['id']}", headers=alice.headers)

    assert put.status_code == 200
    assert put.json()["name"] == "Renamed"
    assert put.json()["model"] == "anthropic:claude-sonnet-4-5"
    assert patch.status_code == 200
    assert patch.json()["system_prompt"] is None
    assert patch.json()["name"] == "Renamed"
    assert deleted.status_code == 204
    assert await count_rows(db, AgentTemplate) == len(SYSTEM_TEMPLATES)


async def test_only_admins_create_system_templates(
    client: httpx.AsyncClient, alice: SignedIn, admin: SignedIn, db: Database
) -> None:
    refused = await client.post(
        TEMPLATES, json=template_body(is_system=True), headers=alice.headers
    )
    made = await client.post(TEMPLATES, json=template_body(is_system=True), headers=admin.headers)

    assert refused.status_code == 403
    assert "admins" in refused.json()["error"]["message"]
    assert made.status_code == 201
    assert made.json()["is_system"] is True
    assert made.json()["user_id"] is None
    assert await count_rows(db, AgentTemplate) == len(SYSTEM_TEMPLATES) + 1


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("PUT", template_body()),
        ("PATCH", {"system_prompt": "Be terse."}),
        ("DELETE", None),
    ],
)
async def test_users_cannot_change_system_templates(
    client: httpx.AsyncClient,
    alice: SignedIn,
    db: Database,
    method: str,
    body: dict[str, Any] | None,
) -> None:
    planner = next(
        t for t in await list_all(client, alice, scope="system") if t["role"] == "planner"
    )
    before = await table_snapshot(db, AgentTemplate)

    response = await client.request(
        method, f"{TEMPLATES}/{planner['id']}", json=body, headers=alice.headers
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert "system template" in response.json()["error"]["message"]
    assert "Planner" in response.json()["error"]["message"]
    assert await table_snapshot(db, AgentTemplate) == before


async def test_is_system_cannot_be_flipped_after_creation(
    client: httpx.AsyncClient, admin: SignedIn
) -> None:
    created = await create(client, admin)

    response = await client.patch(
        f"{TEMPLATES}/{created['id']}", json={"is_system": True}, headers=admin.headers
    )

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "is_system"
