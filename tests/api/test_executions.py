"""The executions API: starting (with `?wait=`), listing, reading, who sees what."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from relayflow.domain import Role
from relayflow.store.db import Database
from relayflow.store.models import Execution, User
from tests.api.conftest import MakeUser, SignedIn
from tests.support.execution_graphs import (
    approval_graph,
    create_workflow,
    identity_graph,
    slow_graph,
    start,
    wait_for_status,
)
from tests.support.rows import chain_graph, echo_graph


async def count_executions(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Execution)) or 0)


# ----------------------------------------------------------------- starting
async def test_start_answers_202_with_the_queued_execution_and_its_url(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    workflow_id = await create_workflow(client, alice.headers, identity_graph())

    response = await start(client, alice.headers, workflow_id, {"n": 1})

    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] in ("pending", "processing", "completed")
    assert body["workflow_id"] == workflow_id
    assert body["input"] == {"n": 1}
    assert body["user_id"] == str(alice.id)
    assert body["trigger"]["type"] == "api"
    assert body["url"] == f"http://testserver/api/v1/executions/{body['id']}"
    assert response.headers["location"] == body["url"]
    finished = await wait_for_status(client, alice.headers, body["id"])
    assert finished["status"] == "completed"
    assert finished["output"] == {"n": 1}


async def test_wait_answers_200_with_the_finished_execution(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    workflow_id = await create_workflow(client, alice.headers, echo_graph())

    response = await start(client, alice.headers, workflow_id, {"text": "hello"}, wait=20)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "completed"
    assert "hello" in body["output"]
    assert body["completed_at"] is not None
    assert body["input_tokens"] > 0


async def test_wait_answers_202_when_the_run_outlasts_it(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    workflow_id = await create_workflow(client, alice.headers, slow_graph(ms=3000))

    response = await start(client, alice.headers, workflow_id, "x", wait=0.2)

    assert response.status_code == 202, response.text
    assert response.json()["status"] in ("pending", "processing")


async def test_wait_answers_202_at_once_when_the_run_pauses_for_approval(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    workflow_id = await create_workflow(client, alice.headers, approval_graph())

    response = await start(client, alice.headers, workflow_id, {"title": "Tides"}, wait=60)

    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "waiting"
    assert body["waiting_on"] == ["gate"]


@pytest.mark.parametrize("wait", [-1, 61])
async def test_wait_is_limited_to_sixty_seconds(
    client: httpx.AsyncClient, alice: SignedIn, db: Database, wait: float
) -> None:
    workflow_id = await create_workflow(client, alice.headers, identity_graph())

    response = await start(client, alice.headers, workflow_id, 1, wait=wait)

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "wait"
    assert await count_executions(db) == 0


async def test_input_is_checked_against_the_input_schema(
    client: httpx.AsyncClient, alice: SignedIn, db: Database
) -> None:
    schema = {
        "type": "object",
        "properties": {"title": {"type": "string"}, "count": {"type": "integer"}},
        "required": ["title"],
    }
    workflow_id = await create_workflow(client, alice.headers, identity_graph(schema))

    response = await start(client, alice.headers, workflow_id, {"title": "ok", "count": "many"})

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert [d["field"] for d in error["details"]] == ["input.count"]
    assert "input.count" in error["message"]
    assert await count_executions(db) == 0
    accepted = await start(client, alice.headers, workflow_id, {"title": "ok", "count": 2})
    assert accepted.status_code == 202


async def test_unknown_body_fields_are_refused_by_name(
    client: httpx.AsyncClient, alice: SignedIn, db: Database
) -> None:
    workflow_id = await create_workflow(client, alice.headers, identity_graph())

    response = await client.post(
        f"/api/v1/workflows/{workflow_id}/executions",
        json={"inputs": {"n": 1}},
        headers=alice.headers,
    )

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "inputs"
    assert await count_executions(db) == 0


async def test_a_body_is_optional(client: httpx.AsyncClient, alice: SignedIn) -> None:
    workflow_id = await create_workflow(client, alice.headers, identity_graph())

    response = await client.post(
        f"/api/v1/workflows/{workflow_id}/executions", headers=alice.headers
    )

    assert response.status_code == 202, response.text
    assert response.json()["input"] is None


async def test_a_run_started_from_the_editor_is_named_so_in_the_list(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    workflow_id = await create_workflow(client, alice.headers, identity_graph())
    url = f"/api/v1/workflows/{workflow_id}/executions"

    from_editor = await client.post(
        url, json={"input": {"n": 1}, "trigger": "editor"}, headers=alice.headers
    )
    from_script = await client.post(url, json={"input": {"n": 2}}, headers=alice.headers)

    assert from_editor.status_code == 202, from_editor.text
    assert from_editor.json()["trigger"] == {"type": "editor", "user_id": str(alice.id)}
    assert from_script.json()["trigger"]["type"] == "api"
    listed = await client.get(
        "/api/v1/executions", params={"workflow_id": workflow_id}, headers=alice.headers
    )
    by_input = {e["input"]["n"]: e["trigger"]["type"] for e in listed.json()["items"]}
    assert by_input == {1: "editor", 2: "api"}


@pytest.mark.parametrize("trigger", ["webhook", "schedule", "EDITOR", ""])
async def test_a_run_cannot_claim_another_trigger(
    client: httpx.AsyncClient, alice: SignedIn, db: Database, trigger: str
) -> None:
    # Webhooks and schedules start runs themselves: the API cannot pose as them.
    workflow_id = await create_workflow(client, alice.headers, identity_graph())

    response = await client.post(
        f"/api/v1/workflows/{workflow_id}/executions",
        json={"input": 1, "trigger": trigger},
        headers=alice.headers,
    )

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "trigger"
    assert await count_executions(db) == 0


async def test_others_private_workflows_cannot_be_started(
    client: httpx.AsyncClient, alice: SignedIn, bob: SignedIn, db: Database
) -> None:
    workflow_id = await create_workflow(client, alice.headers, identity_graph())

    response = await start(client, bob.headers, workflow_id, 1)

    assert response.status_code == 404
    assert response.json()["error"]["message"] == f"workflow {workflow_id} not found"
    assert await count_executions(db) == 0


async def test_the_202_answer_is_the_execution_as_stored(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    # The answer is built from the values written, not read back: it must not differ.
    workflow_id = await create_workflow(client, alice.headers, approval_graph())

    started = (await start(client, alice.headers, workflow_id, {"n": "é"})).json()
    stored = (await client.get(started["url"], headers=alice.headers)).json()

    assert stored["trigger"] == started["trigger"]
    assert (stored["input"], stored["user_id"]) == (started["input"], started["user_id"])
    assert dt.datetime.fromisoformat(stored["started_at"]) == dt.datetime.fromisoformat(
        started["started_at"]
    )


async def test_a_deleted_account_cannot_start_runs_with_its_old_token(
    client: httpx.AsyncClient, alice: SignedIn, bob: SignedIn, db: Database
) -> None:
    workflow_id = await create_workflow(client, alice.headers, identity_graph(), is_public=True)
    async with db.transaction() as session:
        await session.delete(await session.get(User, bob.id))

    response = await start(client, bob.headers, workflow_id, 1)

    assert response.status_code == 401
    assert "no longer exists" in response.json()["error"]["message"]
    assert await count_executions(db) == 0


async def test_a_demoted_admin_loses_admin_reach_at_once(
    client: httpx.AsyncClient, alice: SignedIn, admin: SignedIn, db: Database
) -> None:
    # The token still says admin; the account, read with the start, says otherwise.
    workflow_id = await create_workflow(client, alice.headers, identity_graph())
    assert (await start(client, admin.headers, workflow_id, 1)).status_code == 202
    async with db.transaction() as session:
        account = await session.get(User, admin.id)
        assert account is not None
        account.role = Role.USER.value

    response = await start(client, admin.headers, workflow_id, 1)

    assert response.status_code == 404
    assert await count_executions(db) == 1


# ----------------------------------------------------------------- who sees what
async def test_a_run_of_a_public_workflow_belongs_to_whoever_started_it(
    client: httpx.AsyncClient, make_user: MakeUser, alice: SignedIn, bob: SignedIn
) -> None:
    carol = await make_user("carol@example.com")
    workflow_id = await create_workflow(client, alice.headers, identity_graph(), is_public=True)

    started = await start(client, bob.headers, workflow_id, {"secret": "bob's"})

    assert started.status_code == 202, started.text
    execution_id = started.json()["id"]
    assert started.json()["user_id"] == str(bob.id)
    for who, visible in ((bob, True), (alice, True), (carol, False)):
        one = await client.get(f"/api/v1/executions/{execution_id}", headers=who.headers)
        listed = await client.get("/api/v1/executions", headers=who.headers)
        assert one.status_code == (200 if visible else 404), who.email
        assert (execution_id in listed.text) is visible, who.email


async def test_foreign_and_unknown_executions_answer_404_alike(
    client: httpx.AsyncClient, alice: SignedIn, bob: SignedIn
) -> None:
    workflow_id = await create_workflow(client, alice.headers, identity_graph())
    execution_id = (await start(client, alice.headers, workflow_id, 1)).json()["id"]
    unknown = "00000000-0000-4000-8000-000000000000"

    for target in (execution_id, unknown):
        response = await client.get(f"/api/v1/executions/{target}", headers=bob.headers)
        assert response.status_code == 404
        assert response.json()["error"]["message"] == f"execution {target} not found"


async def test_admins_see_every_execution(
    client: httpx.AsyncClient, alice: SignedIn, admin: SignedIn
) -> None:
    workflow_id = await create_workflow(client, alice.headers, identity_graph())
    execution_id = (await start(client, alice.headers, workflow_id, 1)).json()["id"]

    listed = await client.get("/api/v1/executions", headers=admin.headers)
    one = await client.get(f"/api/v1/executions/{execution_id}", headers=admin.headers)

    assert [e["id"] for e in listed.json()["items"]] == [execution_id]
    assert one.status_code == 200


async def test_without_a_token_the_executions_api_is_401(client: httpx.AsyncClient) -> None:
    for method, path in (
        ("GET", "/api/v1/executions"),
        ("GET", "/api/v1/executions/00000000-0000-4000-8000-000000000000/events"),
    ):
        response = await client.request(method, path)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


# ----------------------------------------------------------------- listing
async def _started(client: httpx.AsyncClient, who: SignedIn, workflow_id: str, n: int) -> list[str]:
    ids = []
    for i in range(n):
        response = await start(client, who.headers, workflow_id, i)
        assert response.status_code == 202
        ids.append(response.json()["id"])
    return ids


async def _all_pages(client: httpx.AsyncClient, who: SignedIn, limit: int) -> list[str]:
    """The ids of every execution `who` lists, following the cursors."""
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        page = await client.get("/api/v1/executions", params=params, headers=who.headers)
        assert page.status_code == 200
        seen += [e["id"] for e in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return seen


async def test_list_is_newest_first_and_pages_without_gaps_or_repeats(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    workflow_id = await create_workflow(client, alice.headers, identity_graph())
    ids = await _started(client, alice, workflow_id, 5)

    seen = await _all_pages(client, alice, limit=2)

    assert seen == list(reversed(ids))


async def test_the_list_merges_every_run_you_can_see_newest_first_across_pages(
    client: httpx.AsyncClient, alice: SignedIn, bob: SignedIn
) -> None:
    # Yours come from two sides: runs you started (on your workflows or on someone's
    # public one) and every run of your workflows (bob's runs of yours included).
    mine = await create_workflow(client, alice.headers, identity_graph(), is_public=True)
    other = await create_workflow(client, alice.headers, identity_graph())
    bobs = await create_workflow(client, bob.headers, identity_graph(), is_public=True)
    expected: list[str] = []
    for who, workflow_id in (
        (alice, mine), (bob, mine), (alice, bobs), (alice, other), (bob, bobs), (bob, mine),
        (alice, mine), (alice, bobs),
    ):  # fmt: skip
        started = (await _started(client, who, workflow_id, 1))[0]
        if who is alice or workflow_id != bobs:
            expected.append(started)

    seen = await _all_pages(client, alice, limit=3)
    of_bobs = await client.get(
        "/api/v1/executions", params={"workflow_id": bobs}, headers=alice.headers
    )
    of_mine = await client.get(
        "/api/v1/executions", params={"workflow_id": mine}, headers=alice.headers
    )

    assert seen == list(reversed(expected))
    assert len(seen) == 7  # bob's run of his own workflow is not alice's
    assert len(of_bobs.json()["items"]) == 2  # on bob's workflow, only what she started
    assert len(of_mine.json()["items"]) == 4  # on hers, everyone's


async def test_list_filters_by_workflow_status_and_time(
    client: httpx.AsyncClient, alice: SignedIn, db: Database
) -> None:
    first = await create_workflow(client, alice.headers, identity_graph())
    second = await create_workflow(client, alice.headers, approval_graph())
    [done] = await _started(client, alice, first, 1)
    await wait_for_status(client, alice.headers, done)
    waiting = (await start(client, alice.headers, second, {"title": "t"}, wait=20)).json()
    assert waiting["status"] == "waiting"
    # Put the finished one a day back, to filter on time.
    day_ago = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=1)
    async with db.transaction() as session:
        execution = await session.get(Execution, uuid.UUID(done))
        assert execution is not None
        execution.started_at = day_ago

    async def listed(**params: Any) -> list[str]:
        response = await client.get("/api/v1/executions", params=params, headers=alice.headers)
        assert response.status_code == 200, response.text
        return [e["id"] for e in response.json()["items"]]

    assert await listed(workflow_id=first) == [done]
    assert await listed(workflow_id=second) == [waiting["id"]]
    assert await listed(status="waiting") == [waiting["id"]]
    assert await listed(status="completed") == [done]
    hour_ago = (day_ago + dt.timedelta(hours=23)).replace(tzinfo=dt.UTC).isoformat()
    assert await listed(since=hour_ago) == [waiting["id"]]
    assert await listed(until=hour_ago) == [done]


async def test_list_refuses_bad_filters_by_name(client: httpx.AsyncClient, alice: SignedIn) -> None:
    bad_status = await client.get(
        "/api/v1/executions", params={"status": "running"}, headers=alice.headers
    )
    backwards = await client.get(
        "/api/v1/executions",
        params={"since": "2026-01-02T00:00:00", "until": "2026-01-01T00:00:00"},
        headers=alice.headers,
    )

    assert bad_status.status_code == 422
    assert bad_status.json()["error"]["details"][0]["field"] == "status"
    assert backwards.status_code == 422
    assert backwards.json()["error"]["details"][0]["field"] == "until"


# ----------------------------------------------------------------- one execution
async def test_an_agents_tool_calls_are_kept_on_its_node_run(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    child_id = await create_workflow(client, alice.headers, identity_graph())
    agent = {
        "model": "test:echo",
        "prompt": 'Look it up\n@tool lookup {"input": {"q": "{{ input.q }}"}}',
        "workflows": [{"name": "lookup", "description": "Find things", "workflow_id": child_id}],
    }
    graph = chain_graph(("input", {}), ("agent", agent), ("output", {"value": "done"}))
    workflow_id = await create_workflow(client, alice.headers, graph)

    started = await start(client, alice.headers, workflow_id, {"q": "otters"}, wait=20)
    detail = (await client.get(started.json()["url"], headers=alice.headers)).json()

    assert detail["status"] == "completed", detail
    runs = {r["node_id"]: r for r in detail["node_runs"]}
    [call] = runs["n1"]["tool_calls"]
    assert (call["tool"], call["kind"], call["status"]) == ("lookup", "subworkflow", "completed")
    assert call["args"] == {"input": {"q": "otters"}}
    assert call["result"] == {"q": "otters"}
    assert call["duration_ms"] >= 0
    assert runs["n0"]["tool_calls"] == []


async def test_detail_lists_node_runs_with_timings_usage_and_totals(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    workflow_id = await create_workflow(client, alice.headers, echo_graph())
    execution_id = (
        await start(client, alice.headers, workflow_id, {"text": "hi"}, wait=20)
    ).json()["id"]

    detail = (await client.get(f"/api/v1/executions/{execution_id}", headers=alice.headers)).json()

    assert detail["status"] == "completed"
    assert detail["graph"]["nodes"][1]["data"]["model"] == "test:echo"
    runs = detail["node_runs"]
    assert [r["node_id"] for r in runs] == ["n0", "n1", "n2"]
    assert all(r["status"] == "completed" and r["attempt"] == 1 for r in runs)
    assert all(r["started_at"] <= r["finished_at"] for r in runs)
    agent = runs[1]
    assert agent["input_tokens"] > 0
    assert agent["output_tokens"] > 0
    assert "hi" in agent["output"]
    assert agent["reused_from"] is None
    totals = detail["totals"]
    assert totals["attempts"] == 3
    assert totals["input_tokens"] == agent["input_tokens"]
    assert totals["nodes_by_status"] == {"completed": 3}
    assert detail["input_tokens"] == agent["input_tokens"]
