"""Stored data always serialises (issue 10, case 4): rows written before the input
limits existed, inserted here straight into the database, are served by every read
endpoint of executions, node runs and events with 200, the parts no serialiser can
write replaced by a marker instead of breaking the whole answer."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from relayflow.domain import Role
from relayflow.store.db import Database
from relayflow.stored_json import SERVE_MAX_DEPTH, TRUNCATED
from tests.api.conftest import MakeUser, SignedIn
from tests.support.rows import make_workflow
from tests.support.sse_client import events_of, parse_stream

START = dt.datetime(2026, 1, 1)


def nested_text(levels: int, leaf: str = '"bottom"') -> str:
    return "[" * levels + leaf + "]" * levels


def marker_depth(value: Any) -> int:
    """How many single-item lists lead down to the marker (fails if there is none)."""
    depth = 0
    while isinstance(value, list):
        [value] = value
        depth += 1
    assert value == TRUNCATED
    return depth


@dataclass(frozen=True)
class LegacyRun:
    execution_id: uuid.UUID
    workflow_id: uuid.UUID


async def insert(db: Database, table: str, values: dict[str, Any], json_columns: set[str]) -> None:
    """One row through plain SQL: JSON given as text, as an old version may have stored it."""
    pg = not db.is_sqlite
    columns = ", ".join(values)
    params = ", ".join(
        f"CAST(:{c} AS jsonb)" if pg and c in json_columns else f":{c}" for c in values
    )
    bound = {k: _sqlite_value(v) if not pg else v for k, v in values.items()}
    async with db.engine.begin() as conn:
        await conn.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({params})"), bound)


def _sqlite_value(value: Any) -> Any:
    # As SQLAlchemy's types store them on SQLite: 32 hex digits, ISO text.
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return value


@pytest.fixture
async def owner(make_user: MakeUser) -> SignedIn:
    return await make_user("owner@example.com")


@pytest.fixture
async def legacy_run(db: Database, owner: SignedIn) -> LegacyRun:
    workflow = await make_workflow(db, owner.id)
    execution_id = uuid.uuid4()
    # SQLite keeps what PostgreSQL's jsonb refuses: lone surrogates and NaN.
    odd_string = '"\\ud800 lone"' if db.is_sqlite else '"fine"'
    odd_number = "NaN" if db.is_sqlite else "1.5"
    await insert(
        db,
        "executions",
        {
            "id": execution_id,
            "workflow_id": workflow.id,
            "user_id": owner.id,
            "status": "completed",
            "input": nested_text(900),  # past pydantic's serialiser (about 255 levels)
            "output": nested_text(3000),  # past json.loads (Python's recursion limit)
            "trigger": f'{{"type": "api", "note": {odd_string}, "score": {odd_number}}}',
            "graph": json.dumps({"nodes": [], "edges": []}),
            "decisions": "{}",
            "started_at": START,
            "completed_at": START + dt.timedelta(seconds=1),
            "lease_token": 0,
            "lost_leases": 0,
            "cancel_requested": False,
            "input_tokens": 0,
            "output_tokens": 0,
            "cost_usd": 0.0,
        },
        {"input", "output", "trigger", "graph", "decisions"},
    )
    await insert(
        db,
        "node_runs",
        {
            "id": uuid.uuid4(),
            "execution_id": execution_id,
            "node_id": "n1",
            "iteration": 0,
            "attempt": 1,
            "status": "completed",
            "input": nested_text(900),
            "output": nested_text(3000),
            "details": '{"tool_calls": [{"agent": "a", "tool": "t", "kind": "http", "args": {}, '
            f'"result": {nested_text(700)}}}]}}',
            "started_at": START,
            "input_tokens": 0,
            "output_tokens": 0,
            "cost_usd": 0.0,
        },
        {"input", "output", "details"},
    )
    for kind, payload in (
        ("node.finished", f'{{"node_id": "n1", "output": {nested_text(3000)}}}'),
        ("execution.status", f'{{"status": "completed", "output": {nested_text(900)}}}'),
    ):
        await insert(
            db,
            "execution_events",
            {
                "execution_id": execution_id,
                "kind": kind,
                "payload": payload,
                "created_at": START + dt.timedelta(seconds=1),
            },
            {"payload"},
        )
    return LegacyRun(execution_id, workflow.id)


async def test_lists_of_executions_answer_200_for_the_owner_and_the_admin(
    client: httpx.AsyncClient, owner: SignedIn, make_user: MakeUser, legacy_run: LegacyRun
) -> None:
    admin = await make_user("admin@example.com", Role.ADMIN)
    for user in (owner, admin):
        for params in ({}, {"workflow_id": str(legacy_run.workflow_id)}, {"status": "completed"}):
            listed = await client.get("/api/v1/executions", params=params, headers=user.headers)
            assert listed.status_code == 200, listed.text
            [item] = listed.json()["items"]
            assert marker_depth(item["input"]) == SERVE_MAX_DEPTH
            assert marker_depth(item["output"]) == SERVE_MAX_DEPTH


async def test_the_detail_with_node_runs_answers_200(
    client: httpx.AsyncClient, db: Database, owner: SignedIn, legacy_run: LegacyRun
) -> None:
    detail = await client.get(
        f"/api/v1/executions/{legacy_run.execution_id}", headers=owner.headers
    )

    assert detail.status_code == 200, detail.text
    body = detail.json()
    [run] = body["node_runs"]
    assert marker_depth(run["input"]) == SERVE_MAX_DEPTH
    assert marker_depth(run["output"]) == SERVE_MAX_DEPTH
    # The tool call's result sits three containers down in the stored details.
    assert marker_depth(run["tool_calls"][0]["result"]) == SERVE_MAX_DEPTH - 3
    if db.is_sqlite:
        assert body["trigger"]["note"] == "\ufffd lone"
        assert body["trigger"]["score"] is None


async def test_the_event_stream_answers_200_and_ends(
    client: httpx.AsyncClient, owner: SignedIn, legacy_run: LegacyRun
) -> None:
    response = await client.get(
        f"/api/v1/executions/{legacy_run.execution_id}/events", headers=owner.headers
    )

    assert response.status_code == 200
    finished, status = events_of(parse_stream(response.text))
    assert finished["kind"] == "node.finished"
    assert marker_depth(finished["payload"]["output"]) == SERVE_MAX_DEPTH - 1
    assert status["payload"]["status"] == "completed"
    assert marker_depth(status["payload"]["output"]) == SERVE_MAX_DEPTH - 1
