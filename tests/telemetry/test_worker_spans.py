"""A worker traces the executions it runs: the same spans as an in-process run, tagged
with the workflow, and a failed execution's span says so."""

from __future__ import annotations

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from relayflow.runtime.events import EventBus
from relayflow.store.db import Database
from tests.runtime.conftest import StartWorker, final_event, submit
from tests.support.rows import echo_graph, make_user, make_workflow
from tests.telemetry.conftest import parent_of, span_id


async def test_a_worker_run_is_traced_with_its_workflow(
    db: Database, bus: EventBus, start_worker: StartWorker, spans: InMemorySpanExporter
) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user, echo_graph("test:echo"))
    await start_worker()
    execution_id = await submit(db, workflow, user, {"text": "hello"})
    final = await final_event(bus, execution_id)
    assert final.payload["status"] == "completed"

    finished = spans.get_finished_spans()
    (execution,) = [s for s in finished if s.name == "execution"]
    assert execution.attributes is not None
    assert execution.attributes["relayflow.execution_id"] == str(execution_id)
    assert execution.attributes["relayflow.workflow_id"] == str(workflow.id)
    assert execution.attributes["relayflow.trigger"] == "api"
    assert execution.attributes["relayflow.status"] == "completed"
    nodes = {s.name: s for s in finished if s.name.startswith("node ")}
    assert set(nodes) == {"node n0", "node n1", "node n2"}
    assert {parent_of(s) for s in nodes.values()} == {span_id(execution)}
    (call,) = [s for s in finished if s.name == "chat echo"]
    assert parent_of(call) == span_id(nodes["node n1"])
    assert call.attributes is not None
    assert call.attributes["gen_ai.usage.output_tokens"] > 0


async def test_a_failed_execution_span_has_an_error_status(
    db: Database, bus: EventBus, start_worker: StartWorker, spans: InMemorySpanExporter
) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user, echo_graph("nope:model"))
    await start_worker()
    execution_id = await submit(db, workflow, user, {"text": "hello"})
    final = await final_event(bus, execution_id)
    assert final.payload["status"] == "failed"
    finished = {s.name: s for s in spans.get_finished_spans()}
    assert finished["execution"].status.status_code is StatusCode.ERROR
    assert "nope" in (finished["execution"].status.description or "")
    assert finished["node n1"].status.status_code is StatusCode.ERROR
