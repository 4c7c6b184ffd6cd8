"""`GET /api/v1/executions/{id}/events`: live events over SSE, resumable with Last-Event-ID.

The live tests use real HTTP on 127.0.0.1; the last one runs the worker and the
API in two separate `relayflow` processes, so events cross process boundaries.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from relayflow.api.app import create_app
from relayflow.config import Settings
from relayflow.store.db import Database
from relayflow.store.models import ExecutionEvent
from tests.conftest import TEST_SECRET
from tests.support.execution_graphs import (
    SignedInUser,
    approval_graph,
    create_workflow,
    sign_in,
    slow_graph,
    start,
)
from tests.support.live_server import (
    free_port,
    relayflow_process,
    serve_in_process,
    wait_until_ready,
)
from tests.support.rows import echo_graph, make_workflow
from tests.support.sse_client import (
    SseMessage,
    events_of,
    finished_events,
    iter_messages,
    parse_stream,
)


@pytest.fixture
async def user(db: Database, settings: Settings) -> SignedInUser:
    return await sign_in(db, settings)


async def stored_event_ids(db: Database, execution_id: str) -> list[int]:
    async with db.session() as session:
        result = await session.execute(
            select(ExecutionEvent.id)
            .where(ExecutionEvent.execution_id == uuid.UUID(execution_id))
            .order_by(ExecutionEvent.id)
        )
        return list(result.scalars().all())


def events_url(execution_id: str) -> str:
    return f"/api/v1/executions/{execution_id}/events"


# ----------------------------------------------------------------- a finished run
async def test_the_stream_replays_every_event_and_ends_after_the_final_status(
    client: httpx.AsyncClient, user: SignedInUser, db: Database
) -> None:
    workflow_id = await create_workflow(client, user.headers, echo_graph())
    execution_id = (await start(client, user.headers, workflow_id, {"text": "hi"}, wait=20)).json()[
        "id"
    ]

    response = await client.get(events_url(execution_id), headers=user.headers)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.text.startswith("retry: 1000\n")
    messages = [m for m in parse_stream(response.text) if m.data]
    for message in messages:
        assert message.id == str(message.body["id"])
        assert message.event == message.body["kind"]
        assert message.body["execution_id"] == execution_id
    events = events_of(messages)
    assert [e["id"] for e in events] == await stored_event_ids(db, execution_id)
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "execution.status"
    assert kinds.count("node.started") == kinds.count("node.finished") == 3
    assert "agent.delta" in kinds
    assert events[-1]["kind"] == "execution.status"
    assert events[-1]["payload"]["status"] == "completed"
    assert "hi" in events[-1]["payload"]["output"]


async def test_last_event_id_resumes_after_that_event(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    workflow_id = await create_workflow(client, user.headers, echo_graph())
    execution_id = (await start(client, user.headers, workflow_id, {"text": "hi"}, wait=20)).json()[
        "id"
    ]
    everything = await finished_events(client, user.headers, execution_id)
    middle = everything[3]["id"]

    by_header = await finished_events(client, user.headers, execution_id, after=middle)
    by_query = await client.get(
        events_url(execution_id), params={"last_event_id": middle}, headers=user.headers
    )

    assert by_header == everything[4:]
    assert events_of(parse_stream(by_query.text)) == everything[4:]


async def test_a_malformed_last_event_id_is_refused_by_name(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    workflow_id = await create_workflow(client, user.headers, echo_graph())
    execution_id = (await start(client, user.headers, workflow_id, {"text": "hi"})).json()["id"]

    response = await client.get(
        events_url(execution_id), headers={**user.headers, "Last-Event-ID": "yesterday"}
    )

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "Last-Event-ID"


async def test_others_cannot_follow_an_execution(
    client: httpx.AsyncClient, user: SignedInUser, db: Database, settings: Settings
) -> None:
    workflow_id = await create_workflow(client, user.headers, echo_graph())
    execution_id = (await start(client, user.headers, workflow_id, {"text": "hi"})).json()["id"]
    stranger = await sign_in(db, settings)

    foreign = await client.get(events_url(execution_id), headers=stranger.headers)
    anonymous = await client.get(events_url(execution_id))

    assert foreign.status_code == 404
    assert foreign.json()["error"]["message"] == f"execution {execution_id} not found"
    assert anonymous.status_code == 401


# ----------------------------------------------------------------- live, over HTTP
@pytest.fixture
async def live_url(settings: Settings, db: Database) -> AsyncIterator[str]:
    settings.sse_keepalive_s = 0.2
    async with serve_in_process(create_app(settings, db=db)) as url:
        yield url


async def read_until(response: httpx.Response, stop: Any, into: list[SseMessage]) -> None:
    async for message in iter_messages(response):
        into.append(message)
        if stop(message):
            return


def is_final(message: SseMessage) -> bool:
    return (
        bool(message.data)
        and message.body["kind"] == "execution.status"
        and message.body["payload"]["status"] in ("completed", "failed", "cancelled")
    )


async def follow_with_a_reconnect(
    http: httpx.AsyncClient, headers: dict[str, str], execution_id: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Follow the stream until the first node finishes, drop the connection, wait a
    little while events go on, reconnect with Last-Event-ID and follow to the end."""
    first: list[SseMessage] = []
    async with http.stream("GET", events_url(execution_id), headers=headers) as response:
        assert response.status_code == 200
        await read_until(
            response, lambda m: bool(m.data) and m.body["kind"] == "node.finished", first
        )
    await asyncio.sleep(0.4)
    before = events_of(first)
    resume = {**headers, "Last-Event-ID": str(before[-1]["id"])}
    async with http.stream("GET", events_url(execution_id), headers=resume) as response:
        assert response.status_code == 200
        # Read to the end: the server ends the stream after the final status.
        async with asyncio.timeout(20):
            rest = [message async for message in iter_messages(response)]
    after = events_of(rest)
    assert is_final(next(m for m in reversed(rest) if m.data))
    return before, after


async def test_a_client_that_reconnects_gets_every_event_exactly_once_in_order(
    live_url: str, user: SignedInUser, db: Database
) -> None:
    async with httpx.AsyncClient(base_url=live_url, timeout=30) as http:
        workflow_id = await create_workflow(http, user.headers, slow_graph(ms=300, steps=3))
        execution_id = (await start(http, user.headers, workflow_id, "x")).json()["id"]

        before, after = await follow_with_a_reconnect(http, user.headers, execution_id)

    ids = [e["id"] for e in before + after]
    assert before
    assert after
    assert ids == await stored_event_ids(db, execution_id)
    assert after[-1]["payload"]["status"] == "completed"


async def test_a_quiet_stream_sends_keep_alive_comments(live_url: str, user: SignedInUser) -> None:
    async with httpx.AsyncClient(base_url=live_url, timeout=30) as http:
        workflow_id = await create_workflow(http, user.headers, approval_graph())
        waiting = (await start(http, user.headers, workflow_id, {"title": "t"}, wait=20)).json()
        assert waiting["status"] == "waiting"
        seen: list[SseMessage] = []
        async with http.stream("GET", events_url(waiting["id"]), headers=user.headers) as response:
            await read_until(response, lambda m: "keep-alive" in m.comments, seen)

    kinds = [m.body["kind"] for m in seen if m.data]
    assert kinds[-1] == "execution.status"  # the pause: nothing more until a decision
    assert "keep-alive" in seen[-1].comments


# ----------------------------------------------------------------- across processes
@pytest.mark.slow
async def test_events_reach_an_api_process_from_a_worker_process(
    settings: Settings, db: Database, database_url: str, tmp_path: Path
) -> None:
    user = await sign_in(db, settings)
    workflow = await make_workflow(db, user.id, slow_graph(ms=300, steps=3))
    port, worker_metrics_port = free_port(), free_port()
    env = {
        "RELAYFLOW_DATABASE_URL": database_url,
        "RELAYFLOW_JWT_SECRET": TEST_SECRET,
        "RELAYFLOW_DATA_DIR": str(tmp_path / "processes"),
        "RELAYFLOW_SCHEDULER_ENABLED": "false",
    }
    base_url = f"http://127.0.0.1:{port}"
    worker_args = ["worker", "--no-migrate", "--metrics-port", str(worker_metrics_port)]
    api_args = ["serve", "--no-worker", "--no-migrate", "--host", "127.0.0.1", "--port", str(port)]
    async with relayflow_process(worker_args, env), relayflow_process(api_args, env) as api:
        await wait_until_ready(base_url, api)
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            execution_id = (await start(http, user.headers, str(workflow.id), "x")).json()["id"]
            before, after = await follow_with_a_reconnect(http, user.headers, execution_id)
            worker_metrics = await http.get(f"http://127.0.0.1:{worker_metrics_port}/metrics")
            api_metrics = await http.get("/metrics")

    ids = [e["id"] for e in before + after]
    assert before
    assert after
    assert ids == await stored_event_ids(db, execution_id)
    assert after[-1]["payload"]["status"] == "completed"
    assert [e["kind"] for e in before + after].count("node.finished") == 5
    # The worker process serves the figures of the nodes it ran; the API process
    # (no worker) the database's counts.
    agent_runs = 'relayflow_node_duration_seconds_count{kind="agent",status="completed"} 3.0'
    assert agent_runs in worker_metrics.text
    assert "relayflow_queue_depth" not in worker_metrics.text
    assert 'relayflow_executions{status="completed"} 1.0' in api_metrics.text
    assert 'kind="agent"' not in api_metrics.text
