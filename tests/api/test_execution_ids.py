"""Executions and their node runs get time-ordered ids, so that new rows land where
the last ones did in every index that starts with an id, however long the history."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from relayflow.config import Settings
from relayflow.store.db import Database
from tests.support.execution_graphs import (
    SignedInUser,
    create_workflow,
    identity_graph,
    sign_in,
    start,
)


@pytest.fixture
async def user(db: Database, settings: Settings) -> SignedInUser:
    return await sign_in(db, settings)


async def test_executions_and_node_runs_get_ids_in_the_order_they_started(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    workflow_id = await create_workflow(client, user.headers, identity_graph())
    ids = []
    for n in range(3):
        finished = await start(client, user.headers, workflow_id, n, wait=20)
        assert finished.json()["status"] == "completed"
        ids.append(uuid.UUID(finished.json()["id"]))
        await asyncio.sleep(0.002)

    assert [i.version for i in ids] == [7, 7, 7]
    assert sorted(ids) == ids
    detail = await client.get(f"/api/v1/executions/{ids[-1]}", headers=user.headers)
    runs = [uuid.UUID(run["id"]) for run in detail.json()["node_runs"]]
    assert len(runs) == 2
    assert {run.version for run in runs} == {7}
    # Made after the execution they belong to (to the millisecond, which the id holds).
    assert min(run.int >> 80 for run in runs) >= ids[-1].int >> 80
