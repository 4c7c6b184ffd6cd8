"""Workflow versions over the REST API: saves, publishing, what runs what, restore, diff."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.api.conftest import SignedIn
from tests.support.rows import echo_graph

WORKFLOWS = "/api/v1/workflows"


def prompted_graph(prompt: str) -> dict[str, Any]:
    """input -> agent(test:echo, prompt) -> output: the output shows which prompt ran."""
    graph = echo_graph()
    graph["nodes"][1]["data"]["prompt"] = prompt
    return graph


async def create(client: httpx.AsyncClient, who: SignedIn, **body: Any) -> dict[str, Any]:
    response = await client.post(
        WORKFLOWS,
        json={"name": "Versioned", **prompted_graph("first {{ input.text }}"), **body},
        headers=who.headers,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def save(
    client: httpx.AsyncClient, who: SignedIn, workflow_id: str, **changes: Any
) -> httpx.Response:
    return await client.patch(f"{WORKFLOWS}/{workflow_id}", json=changes, headers=who.headers)


async def save_prompt(
    client: httpx.AsyncClient, who: SignedIn, workflow_id: str, prompt: str
) -> dict[str, Any]:
    response = await save(client, who, workflow_id, **prompted_graph(prompt))
    assert response.status_code == 200, response.text
    saved: dict[str, Any] = response.json()
    return saved


async def versions_of(client: httpx.AsyncClient, who: SignedIn, workflow_id: str) -> dict[str, Any]:
    response = await client.get(f"{WORKFLOWS}/{workflow_id}/versions", headers=who.headers)
    assert response.status_code == 200, response.text
    listed: dict[str, Any] = response.json()
    return listed


async def publish(
    client: httpx.AsyncClient, who: SignedIn, workflow_id: str, **body: Any
) -> httpx.Response:
    return await client.post(f"{WORKFLOWS}/{workflow_id}/publish", json=body, headers=who.headers)


async def test_a_new_workflow_is_version_one_draft_and_published(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    created = await create(client, alice)

    listed = await versions_of(client, alice, created["id"])

    assert (created["draft_version"], created["published_version"]) == (1, 1)
    [only] = listed["items"]
    assert only["number"] == 1
    assert only["is_draft"]
    assert only["is_published"]
    assert only["author_id"] == str(alice.id)


async def test_each_save_of_the_graph_is_a_version_and_renames_are_not(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    workflow_id = (await create(client, alice))["id"]

    await save_prompt(client, alice, workflow_id, "second {{ input.text }}")
    third = await save(
        client, alice, workflow_id, **prompted_graph("third"), version_message="Shorter"
    )
    renamed = await save(client, alice, workflow_id, name="Renamed", metadata={"team": "ops"})
    unchanged = await client.put(
        f"{WORKFLOWS}/{workflow_id}",
        json={"name": "Renamed", **prompted_graph("third")},
        headers=alice.headers,
    )
    listed = await versions_of(client, alice, workflow_id)

    assert third.json()["draft_version"] == 3
    assert renamed.json()["draft_version"] == 3
    assert unchanged.json()["draft_version"] == 3  # same graph: no new version
    assert [v["number"] for v in listed["items"]] == [3, 2, 1]  # newest first
    assert listed["items"][0]["message"] == "Shorter"
    assert (listed["draft_version"], listed["published_version"]) == (3, 1)
    second = await client.get(f"{WORKFLOWS}/{workflow_id}/versions/2", headers=alice.headers)
    assert second.json()["nodes"][1]["data"]["prompt"] == "second {{ input.text }}"
    assert not second.json()["is_draft"]
    assert not second.json()["is_published"]


async def test_publish_the_draft_or_a_chosen_version(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    workflow_id = (await create(client, alice))["id"]
    await save_prompt(client, alice, workflow_id, "second")
    await save_prompt(client, alice, workflow_id, "third")

    drafted = await publish(client, alice, workflow_id, message="Ready for traffic")
    chosen = await publish(client, alice, workflow_id, version=2)
    missing = await publish(client, alice, workflow_id, version=9)

    assert drafted.status_code == 200, drafted.text
    assert drafted.json()["number"] == 3
    assert drafted.json()["message"] == "Ready for traffic"
    assert chosen.json()["number"] == 2
    assert chosen.json()["is_published"]
    assert missing.status_code == 404
    assert "no version 9" in missing.json()["error"]["message"]
    workflow = (await client.get(f"{WORKFLOWS}/{workflow_id}", headers=alice.headers)).json()
    assert (workflow["draft_version"], workflow["published_version"]) == (3, 2)


async def test_a_webhook_runs_the_published_graph_and_an_editor_run_the_draft(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    workflow_id = (await create(client, alice))["id"]
    await save_prompt(client, alice, workflow_id, "published {{ input.text }}")
    assert (await publish(client, alice, workflow_id)).status_code == 200
    await save_prompt(client, alice, workflow_id, "draft {{ input.text }}")  # version 3
    hook = await client.post(
        f"{WORKFLOWS}/{workflow_id}/webhooks", json={"name": "in"}, headers=alice.headers
    )
    key = hook.json()["api_key"]

    delivered = await client.post(
        f"/hooks/{hook.json()['id']}?wait=20", json={"text": "ping"}, headers={"X-API-Key": key}
    )
    edited = await client.post(
        f"{WORKFLOWS}/{workflow_id}/executions?wait=20",
        json={"input": {"text": "ping"}},
        headers=alice.headers,
    )
    asked = await client.post(
        f"{WORKFLOWS}/{workflow_id}/executions?wait=20",
        json={"input": {"text": "ping"}, "version": 1},
        headers=alice.headers,
    )

    assert delivered.status_code == 200, delivered.text
    assert "published ping" in delivered.json()["output"]
    assert edited.status_code == 200, edited.text
    assert "draft ping" in edited.json()["output"]
    assert edited.json()["workflow_version"] == 3
    assert "first ping" in asked.json()["output"]
    assert asked.json()["workflow_version"] == 1
    hooked = await client.get(
        f"/api/v1/executions/{delivered.json()['execution_id']}", headers=alice.headers
    )
    assert hooked.json()["workflow_version"] == 2
    history = await client.get(
        "/api/v1/executions", params={"workflow_id": workflow_id}, headers=alice.headers
    )
    assert sorted(e["workflow_version"] for e in history.json()["items"]) == [1, 2, 3]


async def test_an_unpublished_workflow_cannot_be_triggered(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    workflow_id = (await create(client, alice, publish=False))["id"]
    hook = await client.post(
        f"{WORKFLOWS}/{workflow_id}/webhooks", json={"name": "in"}, headers=alice.headers
    )
    headers = {"X-API-Key": hook.json()["api_key"]}

    refused = await client.post(f"/hooks/{hook.json()['id']}", json={}, headers=headers)
    schedule = await client.post(
        f"{WORKFLOWS}/{workflow_id}/schedules", json={"cron": "0 * * * *"}, headers=alice.headers
    )
    from_editor = await client.post(
        f"{WORKFLOWS}/{workflow_id}/executions", json={"input": {}}, headers=alice.headers
    )
    await publish(client, alice, workflow_id)
    accepted = await client.post(f"/hooks/{hook.json()['id']}", json={}, headers=headers)

    assert refused.status_code == 409
    assert "has no published version" in refused.json()["error"]["message"]
    assert "/publish" in refused.json()["error"]["message"]
    assert schedule.status_code == 409
    assert from_editor.status_code == 202  # the draft runs from the editor
    assert accepted.status_code == 202, accepted.text


async def test_restore_makes_an_old_version_the_draft_as_a_new_version(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    workflow_id = (await create(client, alice))["id"]
    await save_prompt(client, alice, workflow_id, "second")

    restored = await client.post(
        f"{WORKFLOWS}/{workflow_id}/versions/1/restore", headers=alice.headers
    )
    workflow = (await client.get(f"{WORKFLOWS}/{workflow_id}", headers=alice.headers)).json()
    listed = await versions_of(client, alice, workflow_id)

    assert restored.status_code == 201, restored.text
    assert restored.json()["number"] == 3
    assert restored.json()["message"] == "Restored from version 1"
    assert workflow["draft_version"] == 3
    assert workflow["nodes"][1]["data"]["prompt"] == "first {{ input.text }}"
    assert [v["number"] for v in listed["items"]] == [3, 2, 1]  # history kept


async def test_diff_of_a_changed_prompt_names_the_node_field_and_both_values(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    workflow_id = (await create(client, alice))["id"]
    graph = prompted_graph("Summarise {{ input.text }} in one line")
    graph["nodes"].append(
        {"id": "n3", "type": "transform", "position": {"x": 0, "y": 300}, "data": {"value": "x"}}
    )
    graph["edges"].append({"id": "e2", "source": "n1", "target": "n3"})
    graph["nodes"][0]["position"] = {"x": 50, "y": 0}
    await save(client, alice, workflow_id, **graph)

    diff = await client.get(f"{WORKFLOWS}/{workflow_id}/versions/1/diff/2", headers=alice.headers)
    back = await client.get(f"{WORKFLOWS}/{workflow_id}/versions/2/diff/1", headers=alice.headers)

    assert diff.status_code == 200, diff.text
    body = diff.json()
    assert (body["from_version"], body["to_version"]) == (1, 2)
    assert body["nodes"]["changed"] == [
        {
            "id": "n1",
            "type": "agent",
            "fields": [
                {
                    "field": "prompt",
                    "old": "first {{ input.text }}",
                    "new": "Summarise {{ input.text }} in one line",
                }
            ],
        }
    ]
    assert [n["id"] for n in body["nodes"]["added"]] == ["n3"]
    assert body["nodes"]["removed"] == []
    assert body["nodes"]["moved"] == ["n0"]
    assert [(e["source"], e["target"]) for e in body["edges"]["added"]] == [("n1", "n3")]
    assert body["edges"]["removed"] == []
    assert [n["id"] for n in back.json()["nodes"]["removed"]] == ["n3"]
    assert [(e["source"], e["target"]) for e in back.json()["edges"]["removed"]] == [("n1", "n3")]


async def test_versions_follow_the_workflows_permissions(
    client: httpx.AsyncClient, alice: SignedIn, bob: SignedIn, admin: SignedIn
) -> None:
    private = (await create(client, alice))["id"]
    public = (await create(client, alice, is_public=True))["id"]
    base = f"{WORKFLOWS}/{private}"

    hidden = [
        await client.get(f"{base}/versions", headers=bob.headers),
        await client.get(f"{base}/versions/1", headers=bob.headers),
        await client.get(f"{base}/versions/1/diff/1", headers=bob.headers),
        await client.post(f"{base}/publish", headers=bob.headers),
        await client.post(f"{base}/versions/1/restore", headers=bob.headers),
    ]
    readable = await client.get(f"{WORKFLOWS}/{public}/versions", headers=bob.headers)
    not_writable = [
        await client.post(f"{WORKFLOWS}/{public}/publish", headers=bob.headers),
        await client.post(f"{WORKFLOWS}/{public}/versions/1/restore", headers=bob.headers),
    ]
    by_admin = await client.post(f"{base}/versions/1/restore", headers=admin.headers)
    anonymous = await client.get(f"{base}/versions")

    assert [r.status_code for r in hidden] == [404] * 5
    assert readable.status_code == 200
    assert [r.status_code for r in not_writable] == [403, 403]
    assert by_admin.status_code == 201
    assert anonymous.status_code == 401


async def test_bad_version_numbers_are_named(client: httpx.AsyncClient, alice: SignedIn) -> None:
    workflow_id = (await create(client, alice))["id"]

    zero = await client.get(f"{WORKFLOWS}/{workflow_id}/versions/0", headers=alice.headers)
    unknown = await client.get(f"{WORKFLOWS}/{workflow_id}/versions/7", headers=alice.headers)
    bad_publish = await publish(client, alice, workflow_id, version="latest")

    assert zero.status_code == 422
    assert unknown.status_code == 404
    assert f"workflow {workflow_id} has no version 7" in unknown.json()["error"]["message"]
    assert bad_publish.status_code == 422


async def test_concurrent_saves_get_distinct_numbers(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    workflow_id = (await create(client, alice))["id"]

    answers = await asyncio.gather(
        *(save(client, alice, workflow_id, **prompted_graph(f"p{i}")) for i in range(4))
    )
    listed = await versions_of(client, alice, workflow_id)

    assert [a.status_code for a in answers] == [200] * 4
    assert sorted(a.json()["draft_version"] for a in answers) == [2, 3, 4, 5]
    assert [v["number"] for v in listed["items"]] == [5, 4, 3, 2, 1]
