"""Acting on executions while workers run them: cancel, approvals, rerun from a node.

Everything goes through the HTTP API of an app whose embedded worker runs the
executions, as a user would see it.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from relayflow.config import Settings
from relayflow.store.db import Database
from relayflow.store.models import NodeRun
from tests.support.execution_graphs import (
    SignedInUser,
    approval_graph,
    create_workflow,
    sign_in,
    slow_graph,
    start,
    subworkflow_parent_graph,
    wait_for_status,
)
from tests.support.http_server import LocalHttpServer, ReceivedRequest, Reply
from tests.support.sse_client import finished_events


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.http_allowlist = ["127.0.0.1:*"]  # the counting server below (any port)
    settings.user_concurrency = 1  # a user's second execution queues behind the first
    return settings


@pytest.fixture
async def user(db: Database, settings: Settings) -> SignedInUser:
    return await sign_in(db, settings)


async def node_rows(db: Database, execution_id: str) -> list[NodeRun]:
    async with db.session() as session:
        result = await session.execute(
            select(NodeRun).where(NodeRun.execution_id == uuid.UUID(execution_id))
        )
        return list(result.scalars().all())


def at(event: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(event["created_at"])


# ----------------------------------------------------------------- cancel
async def test_cancelling_a_pending_execution_cancels_it_at_once(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    workflow_id = await create_workflow(client, user.headers, slow_graph(ms=3000))
    running = (await start(client, user.headers, workflow_id, "first")).json()["id"]
    await wait_for_status(client, user.headers, running, ("processing",))
    queued = (await start(client, user.headers, workflow_id, "second")).json()["id"]

    response = await client.post(f"/api/v1/executions/{queued}/cancel", headers=user.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "cancelled"
    assert body["completed_at"] is not None
    assert body["error"] == f"cancelled by user {user.id}"
    events = await finished_events(client, user.headers, queued)
    assert events[-1]["kind"] == "execution.status"
    assert events[-1]["payload"]["status"] == "cancelled"
    await client.post(f"/api/v1/executions/{running}/cancel", headers=user.headers)


async def test_a_running_execution_is_cancelled_by_its_worker_in_the_middle_of_a_step(
    client: httpx.AsyncClient, user: SignedInUser, db: Database
) -> None:
    workflow_id = await create_workflow(client, user.headers, slow_graph(ms=20_000, steps=2))
    execution_id = (await start(client, user.headers, workflow_id, "x")).json()["id"]
    await wait_for_status(client, user.headers, execution_id, ("processing",))

    response = await client.post(f"/api/v1/executions/{execution_id}/cancel", headers=user.headers)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "processing"
    assert response.json()["cancel_requested"] is True
    final = await wait_for_status(client, user.headers, execution_id)
    assert final["status"] == "cancelled"
    events = await finished_events(client, user.headers, execution_id)
    requested = next(e for e in events if e["kind"] == "execution.cancel_requested")
    assert requested["payload"]["by"] == str(user.id)
    assert events[-1]["payload"]["status"] == "cancelled"
    # Well before the 20 s step could end by itself: the step was interrupted, not waited
    # for (typically within tens of milliseconds; the margin is for a loaded CI machine).
    assert (at(events[-1]) - at(requested)).total_seconds() < 10.0
    statuses = {row.node_id: row.status for row in await node_rows(db, execution_id)}
    assert statuses.get("n1") == "cancelled"
    assert "n2" not in statuses  # the second slow step never started


async def test_cancelling_twice_is_harmless_and_a_finished_run_cannot_be_cancelled(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    workflow_id = await create_workflow(client, user.headers, approval_graph())
    execution_id = (await start(client, user.headers, workflow_id, {"title": "t"}, wait=20)).json()[
        "id"
    ]

    first = await client.post(f"/api/v1/executions/{execution_id}/cancel", headers=user.headers)
    again = await client.post(f"/api/v1/executions/{execution_id}/cancel", headers=user.headers)

    assert first.status_code == 200
    assert again.status_code == 409
    assert again.json()["error"]["message"] == (
        f"execution {execution_id} has already finished (cancelled); nothing to cancel"
    )


async def test_cancelling_a_waiting_execution_ends_its_approval(
    client: httpx.AsyncClient, user: SignedInUser, db: Database
) -> None:
    workflow_id = await create_workflow(client, user.headers, approval_graph())
    execution_id = (await start(client, user.headers, workflow_id, {"title": "t"}, wait=20)).json()[
        "id"
    ]

    response = await client.post(f"/api/v1/executions/{execution_id}/cancel", headers=user.headers)
    decided = await client.post(
        f"/api/v1/executions/{execution_id}/approvals/gate",
        json={"approved": True},
        headers=user.headers,
    )

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["waiting_on"] == []
    gate = [row.status for row in await node_rows(db, execution_id) if row.node_id == "gate"]
    assert gate == ["cancelled"]
    assert decided.status_code == 409
    assert "is cancelled, not waiting" in decided.json()["error"]["message"]


# ----------------------------------------------------------------- approvals
async def _waiting(client: httpx.AsyncClient, user: SignedInUser) -> str:
    workflow_id = await create_workflow(client, user.headers, approval_graph())
    body = (await start(client, user.headers, workflow_id, {"title": "Tides"}, wait=20)).json()
    assert body["status"] == "waiting"
    assert body["waiting_on"] == ["gate"]
    execution_id: str = body["id"]
    return execution_id


async def test_approving_resumes_the_run_on_the_approved_path(
    client: httpx.AsyncClient, user: SignedInUser, db: Database
) -> None:
    execution_id = await _waiting(client, user)

    response = await client.post(
        f"/api/v1/executions/{execution_id}/approvals/gate",
        json={"approved": True, "comment": "ship it"},
        headers=user.headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "pending"
    assert response.json()["decisions"]["gate"]["approved"] is True
    assert response.json()["decisions"]["gate"]["decided_by"] == str(user.id)
    final = await wait_for_status(client, user.headers, execution_id)
    assert final["status"] == "completed"
    assert final["output"] == "published"
    gate = [r for r in final["node_runs"] if r["node_id"] == "gate"]
    assert [r["status"] for r in gate] == ["waiting", "completed"]
    assert gate[-1]["output"]["comment"] == "ship it"
    # The input node finished before the pause and was not run again.
    assert [r.node_id for r in await node_rows(db, execution_id)].count("in") == 1
    skipped = {r["node_id"]: r["status"] for r in final["node_runs"]}["drop"]
    assert skipped == "skipped"


async def test_rejecting_resumes_the_run_on_the_rejected_path(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    execution_id = await _waiting(client, user)

    response = await client.post(
        f"/api/v1/executions/{execution_id}/approvals/gate",
        json={"approved": False, "comment": "too long"},
        headers=user.headers,
    )

    assert response.status_code == 200, response.text
    final = await wait_for_status(client, user.headers, execution_id)
    assert final["status"] == "completed"
    assert final["output"] == "dropped: too long"


async def test_a_decision_for_a_node_the_run_is_not_waiting_on_is_a_conflict(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    execution_id = await _waiting(client, user)
    url = f"/api/v1/executions/{execution_id}/approvals"

    wrong_node = await client.post(f"{url}/publish", json={"approved": True}, headers=user.headers)
    first = await client.post(f"{url}/gate", json={"approved": True}, headers=user.headers)
    second = await client.post(f"{url}/gate", json={"approved": False}, headers=user.headers)

    assert wrong_node.status_code == 409
    assert wrong_node.json()["error"]["message"] == (
        f"execution {execution_id} is not waiting on node 'publish' (waiting on: gate)"
    )
    assert first.status_code == 200
    assert second.status_code == 409
    final = await wait_for_status(client, user.headers, execution_id)
    assert final["output"] == "published"  # the second decision changed nothing


async def test_a_decision_needs_a_boolean(client: httpx.AsyncClient, user: SignedInUser) -> None:
    execution_id = await _waiting(client, user)

    response = await client.post(
        f"/api/v1/executions/{execution_id}/approvals/gate",
        json={"approved": "yes"},
        headers=user.headers,
    )

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "approved"


async def test_another_user_cannot_decide(
    client: httpx.AsyncClient, user: SignedInUser, db: Database, settings: Settings
) -> None:
    execution_id = await _waiting(client, user)
    stranger = await sign_in(db, settings)

    response = await client.post(
        f"/api/v1/executions/{execution_id}/approvals/gate",
        json={"approved": True},
        headers=stranger.headers,
    )

    assert response.status_code == 404
    still = await client.get(f"/api/v1/executions/{execution_id}", headers=user.headers)
    assert still.json()["status"] == "waiting"


async def test_an_approval_inside_a_sub_workflow_is_decided_by_its_full_name(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    child_id = await create_workflow(client, user.headers, approval_graph())
    parent = subworkflow_parent_graph(child_id, "review")
    parent_id = await create_workflow(client, user.headers, parent)
    waiting = (await start(client, user.headers, parent_id, {"title": "t"}, wait=20)).json()
    assert waiting["status"] == "waiting", waiting
    assert waiting["waiting_on"] == ["review/gate"]

    response = await client.post(
        f"/api/v1/executions/{waiting['id']}/approvals/review/gate",
        json={"approved": True},
        headers=user.headers,
    )

    assert response.status_code == 200, response.text
    final = await wait_for_status(client, user.headers, waiting["id"])
    assert final["status"] == "completed"
    assert final["output"] == "published"


# ----------------------------------------------------------------- rerun
@pytest.fixture
async def counting_server() -> AsyncIterator[LocalHttpServer]:
    """Counts side effects: each POST increments the count of its path."""
    hits: Counter[str] = Counter()

    async def handle(request: ReceivedRequest) -> Reply:
        hits[request.path] += 1
        return Reply.json({"count": hits[request.path]})

    async with LocalHttpServer(handle) as server:
        yield server


def side_effect_graph(url: str) -> dict[str, Any]:
    """in -> call (POST to the counting server) -> think (agent) -> out."""
    position = {"x": 0, "y": 0}
    return {
        "nodes": [
            {"id": "in", "type": "input", "position": position, "data": {}},
            {
                "id": "call",
                "type": "http",
                "position": position,
                "data": {"method": "POST", "url": url, "body": {"topic": "{{ input }}"}},
            },
            {
                "id": "think",
                "type": "agent",
                "position": position,
                "data": {
                    "model": "test:echo",
                    "prompt": "count {{ nodes.call.output.body.count }}",
                },
            },
            {
                "id": "out",
                "type": "output",
                "position": position,
                "data": {"value": "{{ nodes.think.output }}"},
            },
        ],
        "edges": [
            {"id": "e1", "source": "in", "target": "call"},
            {"id": "e2", "source": "call", "target": "think"},
            {"id": "e3", "source": "think", "target": "out"},
        ],
    }


async def _rerun(
    client: httpx.AsyncClient, user: SignedInUser, execution_id: str, **body: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/executions/{execution_id}/rerun", json=body, headers=user.headers
    )
    assert response.status_code == 202, response.text
    assert response.headers["location"] == response.json()["url"]
    return await wait_for_status(client, user.headers, response.json()["id"])


async def test_rerun_from_a_node_reuses_the_results_upstream_of_it(
    client: httpx.AsyncClient, user: SignedInUser, counting_server: LocalHttpServer
) -> None:
    workflow_id = await create_workflow(
        client, user.headers, side_effect_graph(counting_server.url("/effects"))
    )
    original = (await start(client, user.headers, workflow_id, "tides", wait=20)).json()
    assert original["status"] == "completed", original
    assert len(counting_server.requests) == 1

    rerun = await _rerun(client, user, original["id"], from_node="think")

    assert rerun["status"] == "completed"
    assert len(counting_server.requests) == 1  # the http node was not run again
    assert rerun["output"] == original["output"]
    assert rerun["trigger"] == {
        "type": "rerun",
        "of": original["id"],
        "from_node": "think",
        "by": str(user.id),
    }
    assert rerun["rerun_of"] == original["id"]
    assert rerun["rerun_from_node"] == "think"
    reused = {r["node_id"]: r["reused_from"] for r in rerun["node_runs"]}
    assert reused == {"in": original["id"], "call": original["id"], "think": None, "out": None}


async def test_rerun_from_a_node_runs_that_node_and_everything_downstream_again(
    client: httpx.AsyncClient, user: SignedInUser, counting_server: LocalHttpServer
) -> None:
    workflow_id = await create_workflow(
        client, user.headers, side_effect_graph(counting_server.url("/effects"))
    )
    original = (await start(client, user.headers, workflow_id, "tides", wait=20)).json()

    rerun = await _rerun(client, user, original["id"], from_node="call")
    fresh = await _rerun(client, user, original["id"])

    assert len(counting_server.requests) == 3
    assert "count 2" in rerun["output"]
    assert "count 3" in fresh["output"]
    assert all(r["reused_from"] is None for r in fresh["node_runs"])
    assert json.loads(counting_server.requests[-1].body) == {"topic": "tides"}


async def test_rerun_runs_the_pinned_graph_not_the_workflow_as_edited_since(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    graph = slow_graph(ms=1)
    workflow_id = await create_workflow(client, user.headers, graph)
    original = (await start(client, user.headers, workflow_id, "x", wait=20)).json()
    graph["nodes"][-1]["data"]["value"] = "edited"
    edited = await client.patch(
        f"/api/v1/workflows/{workflow_id}", json={"nodes": graph["nodes"]}, headers=user.headers
    )
    assert edited.status_code == 200, edited.text
    edited_run = (await start(client, user.headers, workflow_id, "x", wait=20)).json()
    assert edited_run["output"] == "edited"

    rerun = await _rerun(client, user, original["id"])

    assert rerun["status"] == "completed"
    assert rerun["output"] == original["output"] != "edited"
    assert rerun["graph"]["nodes"][-1]["data"]["value"] == "{{ nodes.n1.output }}"


async def test_rerun_from_an_unknown_node_is_refused_by_name(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    workflow_id = await create_workflow(client, user.headers, slow_graph(ms=1))
    original = (await start(client, user.headers, workflow_id, "x", wait=20)).json()

    response = await client.post(
        f"/api/v1/executions/{original['id']}/rerun",
        json={"from_node": "nope"},
        headers=user.headers,
    )

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["message"] == "from_node: node 'nope' is not in the execution's graph"
    assert error["details"][0]["field"] == "from_node"
    listed = await client.get("/api/v1/executions", headers=user.headers)
    assert [e["id"] for e in listed.json()["items"]] == [original["id"]]


async def test_rerun_from_a_sub_workflow_node_runs_its_inner_nodes_again(
    client: httpx.AsyncClient, user: SignedInUser, counting_server: LocalHttpServer
) -> None:
    child_id = await create_workflow(
        client, user.headers, side_effect_graph(counting_server.url("/effects"))
    )
    parent = subworkflow_parent_graph(child_id, "inner")
    parent_id = await create_workflow(client, user.headers, parent)
    original = (await start(client, user.headers, parent_id, "tides", wait=20)).json()
    assert original["status"] == "completed", original

    again = await _rerun(client, user, original["id"], from_node="inner")
    reused = await _rerun(client, user, original["id"], from_node="out")

    assert len(counting_server.requests) == 2  # once originally, once for `inner` again
    assert "count 2" in again["output"]
    assert reused["output"] == original["output"]
    inner_runs = {r["node_id"]: r["reused_from"] for r in again["node_runs"]}
    assert inner_runs["inner/call"] is None
    assert inner_runs["in"] == original["id"]


def agent_with_subworkflow_tool_graph(child_id: str) -> dict[str, Any]:
    """input -> `ask` (an offline agent that calls `child_id` as its tool `effects`) -> output."""
    position = {"x": 0, "y": 0}
    return {
        "nodes": [
            {"id": "in", "type": "input", "position": position, "data": {}},
            {
                "id": "ask",
                "type": "agent",
                "position": position,
                "data": {
                    "model": "test:echo",
                    "prompt": 'use it\n@tool effects {"input": "{{ input }}"}',
                    "workflows": [{"name": "effects", "workflow_id": child_id}],
                },
            },
            {
                "id": "out",
                "type": "output",
                "position": position,
                "data": {"value": "{{ nodes.ask.output }}"},
            },
        ],
        "edges": [
            {"id": "e1", "source": "in", "target": "ask"},
            {"id": "e2", "source": "ask", "target": "out"},
        ],
    }


async def test_rerun_from_an_agent_runs_the_sub_workflows_it_calls_as_tools_again(
    client: httpx.AsyncClient, user: SignedInUser, counting_server: LocalHttpServer
) -> None:
    position = {"x": 0, "y": 0}
    child = {
        "nodes": [
            {"id": "in", "type": "input", "position": position, "data": {}},
            {
                "id": "call",
                "type": "http",
                "position": position,
                "data": {"method": "POST", "url": counting_server.url("/effects"), "body": {}},
            },
            {
                "id": "out",
                "type": "output",
                "position": position,
                "data": {"value": "count {{ nodes.call.output.body.count }}"},
            },
        ],
        "edges": [
            {"id": "e1", "source": "in", "target": "call"},
            {"id": "e2", "source": "call", "target": "out"},
        ],
    }
    child_id = await create_workflow(client, user.headers, child)
    parent_id = await create_workflow(
        client, user.headers, agent_with_subworkflow_tool_graph(child_id)
    )
    original = (await start(client, user.headers, parent_id, "tides", wait=20)).json()
    assert original["status"] == "completed", original
    assert "effects -> count 1" in original["output"]
    original_runs = await client.get(f"/api/v1/executions/{original['id']}", headers=user.headers)
    recorded = {r["node_id"] for r in original_runs.json()["node_runs"]}
    assert "ask#1/call" in recorded  # the tool's sub-workflow, recorded under its call

    again = await _rerun(client, user, original["id"], from_node="ask")

    assert again["status"] == "completed", again
    assert len(counting_server.requests) == 2  # the tool's workflow ran again
    assert "effects -> count 2" in again["output"]
    reused = {r["node_id"]: r["reused_from"] for r in again["node_runs"]}
    assert reused["in"] == original["id"]
    assert reused["ask"] is None
    assert reused["ask#1/call"] is None
