"""Copying agent templates, "used by N workflows", and the guarded delete."""

from __future__ import annotations

from typing import Any

import httpx

from relayflow.store.db import Database
from relayflow.store.models import AgentTemplate
from tests.api.conftest import SignedIn, graph, table_snapshot, template_body

TEMPLATES = "/api/v1/agent-templates"
WORKFLOWS = "/api/v1/workflows"


async def system_template(client: httpx.AsyncClient, who: SignedIn, role: str) -> dict[str, Any]:
    response = await client.get(
        TEMPLATES, params={"scope": "system", "limit": 200}, headers=who.headers
    )
    found: dict[str, Any] = next(t for t in response.json()["items"] if t["role"] == role)
    return found


async def post(client: httpx.AsyncClient, who: SignedIn, path: str, body: Any) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=who.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def using(
    name: str, template_id: str, *, delegate: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A workflow whose agent node uses `template_id` (and asks `delegate`)."""
    body = {"name": name, **graph(3), **extra}
    body["nodes"][1].update(
        type="agent",
        data={
            "template_id": template_id,
            "prompt": "{{ input }}",
            "delegates": [delegate] if delegate else [],
        },
    )
    return body


async def usage(client: httpx.AsyncClient, who: SignedIn, template_id: str) -> dict[str, Any]:
    response = await client.get(f"{TEMPLATES}/{template_id}/usage", headers=who.headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def used_by(client: httpx.AsyncClient, who: SignedIn, template_id: str) -> int:
    listed = await client.get(TEMPLATES, params={"limit": 200}, headers=who.headers)
    one = await client.get(f"{TEMPLATES}/{template_id}", headers=who.headers)
    in_list = next(t for t in listed.json()["items"] if t["id"] == template_id)
    assert in_list["used_by"] == one.json()["used_by"]
    figure: int = one.json()["used_by"]
    return figure


# ---------------------------------------------------------------- copy
async def test_anyone_copies_a_system_template_as_their_own(
    client: httpx.AsyncClient, alice: SignedIn, admin: SignedIn
) -> None:
    writer = await system_template(client, alice, "writer")

    first = await post(client, alice, f"{TEMPLATES}/{writer['id']}/copy", None)
    second = await post(client, alice, f"{TEMPLATES}/{writer['id']}/copy", None)
    admins = await post(client, admin, f"{TEMPLATES}/{writer['id']}/copy", None)

    assert first["name"] == f"{writer['name']} (copy)"
    assert second["name"] == f"{writer['name']} (copy 2)"
    for copy, owner in ((first, alice), (second, alice), (admins, admin)):
        assert copy["is_system"] is False
        assert copy["user_id"] == str(owner.id)
        assert copy["id"] != writer["id"]
        for field in ("role", "model", "system_prompt", "parameters"):
            assert copy[field] == writer[field]
    # the admin's copy is named apart from the admin's own templates only
    assert admins["name"] == f"{writer['name']} (copy)"
    mine = await client.get(TEMPLATES, params={"scope": "mine"}, headers=alice.headers)
    assert {t["id"] for t in mine.json()["items"]} == {first["id"], second["id"]}


async def test_copying_my_own_template_duplicates_it(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    mine = await post(client, alice, TEMPLATES, template_body("Triage"))
    await post(client, alice, TEMPLATES, template_body("Triage (copy)"))

    copy = await post(client, alice, f"{TEMPLATES}/{mine['id']}/copy", None)

    assert copy["name"] == "Triage (copy 2)"
    assert copy["parameters"] == {"temperature": 0.5}


async def test_a_long_name_is_shortened_to_fit_its_copy_suffix(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    mine = await post(client, alice, TEMPLATES, template_body("x" * 255))

    copy = await post(client, alice, f"{TEMPLATES}/{mine['id']}/copy", None)

    assert len(copy["name"]) == 255
    assert copy["name"].endswith("x (copy)")


async def test_another_users_template_cannot_be_copied(
    client: httpx.AsyncClient, alice: SignedIn, bob: SignedIn, db: Database
) -> None:
    alices = await post(client, alice, TEMPLATES, template_body("Alice's"))
    before = await table_snapshot(db, AgentTemplate)

    response = await client.post(f"{TEMPLATES}/{alices['id']}/copy", headers=bob.headers)

    assert response.status_code == 404
    assert await table_snapshot(db, AgentTemplate) == before


async def test_a_copy_keeps_only_a_credential_its_new_owner_may_use(
    client: httpx.AsyncClient, alice: SignedIn, admin: SignedIn
) -> None:
    key = await post(
        client, admin, "/api/v1/credentials", {"name": "k", "kind": "openai", "value": "sk-1"}
    )
    system = await post(
        client,
        admin,
        TEMPLATES,
        template_body("Keyed", is_system=True, model="openai:gpt-4o", credential_id=key["id"]),
    )

    alices = await post(client, alice, f"{TEMPLATES}/{system['id']}/copy", None)
    admins = await post(client, admin, f"{TEMPLATES}/{system['id']}/copy", None)

    assert alices["credential_id"] is None
    assert admins["credential_id"] == key["id"]


# ---------------------------------------------------------------- used by
async def test_used_by_counts_workflows_naming_the_template(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    mine = await post(client, alice, TEMPLATES, template_body("Mine"))
    other = await post(client, alice, TEMPLATES, template_body("Other"))
    assert await used_by(client, alice, mine["id"]) == 0

    await post(client, alice, WORKFLOWS, using("Direct", mine["id"]))
    await post(client, alice, WORKFLOWS, using("As delegate", other["id"], delegate=mine["id"]))
    await post(client, alice, WORKFLOWS, {"name": "Unrelated", **graph()})

    assert await used_by(client, alice, mine["id"]) == 2
    assert await used_by(client, alice, other["id"]) == 1
    seen = await usage(client, alice, mine["id"])
    assert [w["name"] for w in seen["workflows"]] == ["As delegate", "Direct"]
    assert seen == {"used_by": 2, "workflows": seen["workflows"], "others": 0}


async def test_the_published_version_counts_while_the_draft_no_longer_uses_it(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    mine = await post(client, alice, TEMPLATES, template_body("Mine"))
    flow = await post(client, alice, WORKFLOWS, using("Live", mine["id"]))

    unpublished = await client.patch(
        f"{WORKFLOWS}/{flow['id']}", json=graph(), headers=alice.headers
    )
    assert unpublished.status_code == 200, unpublished.text
    assert unpublished.json()["published_version"] == 1
    assert unpublished.json()["draft_version"] == 2

    assert await used_by(client, alice, mine["id"]) == 1


async def test_system_templates_count_others_workflows_without_naming_them(
    client: httpx.AsyncClient, alice: SignedIn, bob: SignedIn, admin: SignedIn
) -> None:
    writer = await system_template(client, alice, "writer")
    await post(client, alice, WORKFLOWS, using("Alice's private", writer["id"]))
    await post(client, alice, WORKFLOWS, using("Alice's public", writer["id"], is_public=True))
    await post(client, bob, WORKFLOWS, using("Bob's", writer["id"]))

    bobs_view = await usage(client, bob, writer["id"])
    admins_view = await usage(client, admin, writer["id"])

    assert await used_by(client, bob, writer["id"]) == 3
    assert [w["name"] for w in bobs_view["workflows"]] == ["Alice's public", "Bob's"]
    assert bobs_view["others"] == 1
    assert "Alice's private" not in str(bobs_view)
    assert admins_view["used_by"] == 3
    assert admins_view["others"] == 0
    assert len(admins_view["workflows"]) == 3


async def test_another_users_template_usage_is_404(
    client: httpx.AsyncClient, alice: SignedIn, bob: SignedIn
) -> None:
    alices = await post(client, alice, TEMPLATES, template_body("Alice's"))

    response = await client.get(f"{TEMPLATES}/{alices['id']}/usage", headers=bob.headers)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


# ---------------------------------------------------------------- guarded delete
async def test_deleting_a_template_in_use_is_refused_naming_the_workflows(
    client: httpx.AsyncClient, alice: SignedIn, db: Database
) -> None:
    mine = await post(client, alice, TEMPLATES, template_body("Mine"))
    flow = await post(client, alice, WORKFLOWS, using("Support router", mine["id"]))
    before = await table_snapshot(db, AgentTemplate)

    refused = await client.delete(f"{TEMPLATES}/{mine['id']}", headers=alice.headers)

    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "conflict"
    assert "'Support router'" in error["message"]
    assert "force=true" in error["message"]
    assert error["details"] == {
        "workflows": [{"id": flow["id"], "name": "Support router"}],
        "others": 0,
    }
    assert await table_snapshot(db, AgentTemplate) == before

    forced = await client.delete(
        f"{TEMPLATES}/{mine['id']}", params={"force": "true"}, headers=alice.headers
    )
    assert forced.status_code == 204
    gone = await client.get(f"{TEMPLATES}/{mine['id']}", headers=alice.headers)
    assert gone.status_code == 404


async def test_an_unused_template_deletes_without_force(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    mine = await post(client, alice, TEMPLATES, template_body("Mine"))

    response = await client.delete(f"{TEMPLATES}/{mine['id']}", headers=alice.headers)

    assert response.status_code == 204


async def test_an_admin_deleting_a_seeded_template_is_told_of_every_demo_using_it(
    client: httpx.AsyncClient, admin: SignedIn, db: Database
) -> None:
    for email in ("carol@example.com", "dave@example.com"):
        registered = await client.post(
            "/api/v1/auth/register", json={"email": email, "password": "correct horse battery"}
        )
        assert registered.status_code == 201, registered.text
    writer = await system_template(client, admin, "writer")
    before = await table_snapshot(db, AgentTemplate)

    refused = await client.delete(f"{TEMPLATES}/{writer['id']}", headers=admin.headers)

    assert refused.status_code == 409
    names = [w["name"] for w in refused.json()["error"]["details"]["workflows"]]
    assert names == ["Demo: Research, write, review"] * 2
    assert await table_snapshot(db, AgentTemplate) == before


async def test_a_user_cannot_delete_a_system_template_even_with_force(
    client: httpx.AsyncClient, alice: SignedIn, db: Database
) -> None:
    planner = await system_template(client, alice, "planner")
    before = await table_snapshot(db, AgentTemplate)

    response = await client.delete(
        f"{TEMPLATES}/{planner['id']}", params={"force": "true"}, headers=alice.headers
    )

    assert response.status_code == 403
    assert "only admins" in response.json()["error"]["message"]
    assert await table_snapshot(db, AgentTemplate) == before
