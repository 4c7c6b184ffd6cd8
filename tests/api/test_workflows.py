"""Workflows over the REST API: create, list, read, replace, change, delete."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from relayflow.store.db import Database
from relayflow.store.models import Webhook, Workflow
from tests.api.conftest import SignedIn, count_rows, graph, workflow_body

WORKFLOWS = "/api/v1/workflows"


async def create(client: httpx.AsyncClient, who: SignedIn, **body: Any) -> dict[str, Any]:
    response = await client.post(WORKFLOWS, json=workflow_body(**body), headers=who.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_created_workflow_keeps_its_graph_exactly(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    # React Flow's arrays are stored as given, including keys relayflow does not use.
    nodes = graph(3)["nodes"]
    nodes[1]["data"]["label"] = "Ünïcode ✓"
    nodes[1]["selected"] = True
    edges = [
        {"id": "a", "source": "n0", "target": "n1", "sourceHandle": None, "animated": True},
        {"id": "b", "source": "n1", "target": "n2"},
    ]

    created = await create(
        client, alice, name="Digest", description="Daily", nodes=nodes, edges=edges
    )
    fetched = (await client.get(f"{WORKFLOWS}/{created['id']}", headers=alice.headers)).json()

    assert fetched == created
    assert fetched["nodes"] == nodes
    assert fetched["edges"] == edges
    assert fetched["name"] == "Digest"
    assert fetched["description"] == "Daily"
    assert fetched["metadata"] == {}
    assert fetched["is_public"] is False
    assert fetched["owned"] is True
    assert fetched["user_id"] == str(alice.id)


async def test_list_is_newest_first_and_pages_without_gaps(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    made = [(await create(client, alice, name=f"w{i}"))["id"] for i in range(5)]

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(WORKFLOWS, params=params, headers=alice.headers)).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == list(reversed(made))
    assert pages == 3


async def test_lists_by_scope(
    client: httpx.AsyncClient, alice: SignedIn, bob: SignedIn, admin: SignedIn
) -> None:
    private = await create(client, alice, name="private")
    public = await create(client, alice, name="public", is_public=True)
    bobs = await create(client, bob, name="bob's")

    async def ids(who: SignedIn, scope: str) -> list[str]:
        response = await client.get(WORKFLOWS, params={"scope": scope}, headers=who.headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids(alice, "mine") == [public["id"], private["id"]]
    assert await ids(bob, "mine") == [bobs["id"]]
    assert await ids(bob, "public") == [public["id"]]
    assert await ids(admin, "all") == [bobs["id"], public["id"], private["id"]]
    seen_by_bob = await client.get(WORKFLOWS, params={"scope": "public"}, headers=bob.headers)
    assert seen_by_bob.json()["items"][0]["owned"] is False
    refused = await client.get(WORKFLOWS, params={"scope": "all"}, headers=bob.headers)
    assert refused.status_code == 403
    assert "scope=all" in refused.json()["error"]["message"]


async def test_put_replaces_the_whole_workflow(client: httpx.AsyncClient, alice: SignedIn) -> None:
    created = await create(
        client, alice, description="old", metadata={"tags": ["a"]}, is_public=True
    )

    replaced = await client.put(
        f"{WORKFLOWS}/{created['id']}",
        json={"name": "New", **graph(3)},
        headers=alice.headers,
    )

    assert replaced.status_code == 200, replaced.text
    body = replaced.json()
    assert body["name"] == "New"
    assert body["description"] is None
    assert body["metadata"] == {}
    assert body["is_public"] is False
    assert len(body["nodes"]) == 3
    assert body["created_at"] == created["created_at"]
    assert body["updated_at"] > created["updated_at"]


async def test_patch_changes_only_the_given_fields(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    created = await create(client, alice, description="keep me", metadata={"k": 1})

    patched = await client.patch(
        f"{WORKFLOWS}/{created['id']}", json={"is_public": True}, headers=alice.headers
    )

    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["is_public"] is True
    assert body["description"] == "keep me"
    assert body["metadata"] == {"k": 1}
    assert body["nodes"] == created["nodes"]


async def test_patching_nodes_alone_is_checked_against_the_stored_edges(
    client: httpx.AsyncClient, alice: SignedIn, db: Database
) -> None:
    created = await create(client, alice)

    response = await client.patch(
        f"{WORKFLOWS}/{created['id']}",
        json={"nodes": [{"id": "n0", "type": "input"}, {"type": "output"}]},
        headers=alice.headers,
    )

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "nodes[1].id"
    after = (await client.get(f"{WORKFLOWS}/{created['id']}", headers=alice.headers)).json()
    assert after == created


@pytest.mark.parametrize("field", ["name", "nodes", "edges", "is_public"])
async def test_patch_cannot_null_a_required_field(
    client: httpx.AsyncClient, alice: SignedIn, field: str
) -> None:
    created = await create(client, alice)

    response = await client.patch(
        f"{WORKFLOWS}/{created['id']}", json={field: None}, headers=alice.headers
    )

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == field


async def test_delete_removes_the_workflow_and_its_webhooks(
    client: httpx.AsyncClient, alice: SignedIn, db: Database
) -> None:
    created = await create(client, alice)
    hook = await client.post(
        f"{WORKFLOWS}/{created['id']}/webhooks", json={}, headers=alice.headers
    )
    assert hook.status_code == 201

    deleted = await client.delete(f"{WORKFLOWS}/{created['id']}", headers=alice.headers)

    assert deleted.status_code == 204
    assert deleted.content == b""
    gone = await client.get(f"{WORKFLOWS}/{created['id']}", headers=alice.headers)
    assert gone.status_code == 404
    assert await count_rows(db, Workflow) == 0
    assert await count_rows(db, Webhook) == 0


async def test_admin_sees_and_changes_other_users_workflows(
    client: httpx.AsyncClient, alice: SignedIn, admin: SignedIn
) -> None:
    created = await create(client, alice)

    seen = await client.get(f"{WORKFLOWS}/{created['id']}", headers=admin.headers)
    changed = await client.patch(
        f"{WORKFLOWS}/{created['id']}", json={"name": "Fixed by admin"}, headers=admin.headers
    )

    assert seen.status_code == 200
    assert seen.json()["owned"] is False
    assert changed.status_code == 200
    assert changed.json()["name"] == "Fixed by admin"
    assert changed.json()["user_id"] == str(alice.id)  # ownership does not move


async def test_a_graph_may_use_system_and_own_templates_but_not_someone_elses(
    client: httpx.AsyncClient, alice: SignedIn, bob: SignedIn
) -> None:
    templates = "/api/v1/agent-templates"
    system = await client.get(templates, params={"scope": "system"}, headers=bob.headers)
    system_id = system.json()["items"][0]["id"]
    alices = await client.post(
        templates,
        json={"name": "private", "role": "r", "model": "test:echo"},
        headers=alice.headers,
    )

    def with_agent(template_id: str) -> dict[str, Any]:
        body = workflow_body()
        body["nodes"].insert(
            1,
            {"id": "agent", "type": "agent", "data": {"template_id": template_id, "prompt": "hi"}},
        )
        body["edges"] = [
            {"id": "a", "source": "n0", "target": "agent"},
            {"id": "b", "source": "agent", "target": "n1"},
        ]
        return body

    allowed = await client.post(WORKFLOWS, json=with_agent(system_id), headers=bob.headers)
    refused = await client.post(
        WORKFLOWS, json=with_agent(alices.json()["id"]), headers=bob.headers
    )

    assert allowed.status_code == 201, allowed.text
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "graph_invalid"
    assert any(d.get("node_id") == "agent" for d in refused.json()["error"]["details"])


async def test_retention_and_parallelism_are_set_changed_and_cleared(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    created = await create(client, alice, retention_days=30, max_parallel_nodes=100)
    assert (created["retention_days"], created["max_parallel_nodes"]) == (30, 100)
    url = f"{WORKFLOWS}/{created['id']}"

    patched = await client.patch(url, json={"retention_days": 7}, headers=alice.headers)
    assert patched.status_code == 200, patched.text
    assert (patched.json()["retention_days"], patched.json()["max_parallel_nodes"]) == (7, 100)

    cleared = await client.patch(
        url, json={"retention_days": None, "max_parallel_nodes": None}, headers=alice.headers
    )
    fetched = (await client.get(url, headers=alice.headers)).json()
    assert cleared.json() == fetched
    assert (fetched["retention_days"], fetched["max_parallel_nodes"]) == (None, None)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("retention_days", 0),
        ("retention_days", -3),
        ("retention_days", "thirty"),
        ("max_parallel_nodes", 0),
        ("max_parallel_nodes", -1),
        ("max_parallel_nodes", 1.5),
    ],
)
async def test_retention_and_parallelism_must_be_positive(
    client: httpx.AsyncClient, alice: SignedIn, field: str, value: Any
) -> None:
    created = await create(client, alice)
    responses = [
        await client.post(WORKFLOWS, json=workflow_body(**{field: value}), headers=alice.headers),
        await client.patch(
            f"{WORKFLOWS}/{created['id']}", json={field: value}, headers=alice.headers
        ),
    ]
    for response in responses:
        assert response.status_code == 422, response.text
        assert field in response.text


async def test_parallelism_above_the_server_ceiling_is_refused(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    created = await create(client, alice)
    response = await client.patch(
        f"{WORKFLOWS}/{created['id']}", json={"max_parallel_nodes": 257}, headers=alice.headers
    )
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert "max_parallel_nodes: 257 is above this server's ceiling of 256" in message
    assert "RELAYFLOW_MAX_PARALLEL_NODES_CEILING" in message
