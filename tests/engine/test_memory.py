from __future__ import annotations

import uuid

import pytest

from relayflow.domain import NodeRunStatus
from relayflow.engine.memory import InMemoryRunStore, InMemoryWorkflowCatalog
from relayflow.engine.ports import NodeRunRecord
from relayflow.errors import LeaseLost


def record(
    execution: uuid.UUID, node: str, status: NodeRunStatus, attempt: int = 1, iteration: int = 0
) -> NodeRunRecord:
    return NodeRunRecord(execution, node, iteration, attempt, status, output=f"{node}{attempt}")


async def test_finished_gives_the_completed_or_skipped_record_per_node_and_iteration() -> None:
    store = InMemoryRunStore()
    e, other = uuid.uuid4(), uuid.uuid4()
    await store.record(record(e, "a", NodeRunStatus.RUNNING))
    await store.record(record(e, "a", NodeRunStatus.FAILED))
    await store.record(record(e, "a", NodeRunStatus.RUNNING, attempt=2))
    await store.record(record(e, "a", NodeRunStatus.COMPLETED, attempt=2))
    await store.record(record(e, "a", NodeRunStatus.COMPLETED, iteration=1))
    await store.record(record(e, "b", NodeRunStatus.SKIPPED))
    await store.record(record(e, "c", NodeRunStatus.WAITING))
    await store.record(record(other, "a", NodeRunStatus.COMPLETED))
    found = {(r.node_id, r.iteration): r.output for r in await store.finished(e)}
    assert found == {("a", 0): "a2", ("a", 1): "a1", ("b", 0): "b1"}
    assert len(store.history) == 8


async def test_a_stale_fence_is_refused() -> None:
    store = InMemoryRunStore()
    store.lease_token = 3
    e = uuid.uuid4()
    with pytest.raises(LeaseLost):
        await store.record(record(e, "a", NodeRunStatus.RUNNING), fence=2)
    await store.record(record(e, "a", NodeRunStatus.RUNNING), fence=3)
    assert len(store.history) == 1


async def test_stored_records_are_copies() -> None:
    store = InMemoryRunStore()
    original = record(uuid.uuid4(), "a", NodeRunStatus.RUNNING)
    await store.record(original)
    original.status = NodeRunStatus.FAILED
    assert store.history[0].status is NodeRunStatus.RUNNING


async def test_workflow_catalog_hides_other_users_workflows() -> None:
    catalog = InMemoryWorkflowCatalog()
    owner = uuid.uuid4()
    catalog.add("mine", {"nodes": []}, owner=owner)
    catalog.add("shared", {"nodes": []})
    assert await catalog.get_graph("mine", user_id=owner) == {"nodes": []}
    assert await catalog.get_graph("mine", user_id=uuid.uuid4()) is None
    assert await catalog.get_graph("shared", user_id=None) == {"nodes": []}
    assert await catalog.get_graph("nope", user_id=owner) is None
