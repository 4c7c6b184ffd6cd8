"""Spans of a run with an agent: names, parent/child, GenAI token attributes, cost."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from relayflow.config import ModelPrice, Settings
from relayflow.local_run import run_workflow_file
from tests.support.fake_openai import API_KEY, FakeOpenAI
from tests.telemetry.conftest import by_name, parent_of, span_id, write_workflow

AGENT_NODES = [
    {"id": "question", "type": "input", "data": {}},
    {
        "id": "writer",
        "type": "agent",
        "data": {"model": "openai:gpt-4o-mini", "prompt": "Write about {{ input.topic }}"},
    },
    {"id": "answer", "type": "output", "data": {"value": "{{ nodes.writer.output }}"}},
]


def openai_settings(tmp_path: Path, fake: FakeOpenAI, **extra: object) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        openai_api_key=API_KEY,
        openai_base_url=fake.base_url,
        prices={"openai:gpt-4o-mini": ModelPrice(input=2.0, output=8.0)},
        **extra,
    )


async def test_a_run_with_an_agent_is_one_trace_of_execution_nodes_and_model_call(
    tmp_path: Path, fake_openai: FakeOpenAI, spans: InMemorySpanExporter
) -> None:
    fake_openai.reply_text("A short brief.", input_tokens=120, output_tokens=30)
    path = write_workflow(tmp_path, AGENT_NODES)
    result = await run_workflow_file(
        path, {"topic": "tides"}, openai_settings(tmp_path, fake_openai)
    )
    assert result.outcome.status.value == "completed"

    named = by_name(spans.get_finished_spans())
    assert set(named) == {
        "execution",
        "node question",
        "node writer",
        "node answer",
        "chat gpt-4o-mini",
    }
    execution, writer, call = named["execution"], named["node writer"], named["chat gpt-4o-mini"]
    # One trace: execution -> each node; the model call under the node whose agent made it.
    assert len({s.context.trace_id for s in named.values() if s.context}) == 1
    assert execution.parent is None
    for node in ("node question", "node writer", "node answer"):
        assert parent_of(named[node]) == span_id(execution), node
    assert parent_of(call) == span_id(writer)

    assert call.kind is SpanKind.CLIENT
    assert call.attributes is not None
    assert call.attributes["gen_ai.operation.name"] == "chat"
    assert call.attributes["gen_ai.provider.name"] == "openai"
    assert call.attributes["gen_ai.system"] == "openai"
    assert call.attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert call.attributes["gen_ai.usage.input_tokens"] == 120
    assert call.attributes["gen_ai.usage.output_tokens"] == 30
    assert call.attributes["relayflow.cost_usd"] == pytest.approx((120 * 2.0 + 30 * 8.0) / 1e6)

    assert writer.attributes is not None
    assert writer.attributes["relayflow.node.kind"] == "agent"
    assert writer.attributes["relayflow.status"] == "finished"
    assert writer.attributes["relayflow.usage.input_tokens"] == 120
    assert execution.attributes is not None
    assert execution.attributes["relayflow.execution_id"] == str(result.execution_id)
    assert execution.attributes["relayflow.status"] == "completed"
    assert execution.attributes["relayflow.usage.output_tokens"] == 30
    # The model call happened inside the node, the node inside the execution.
    assert execution.start_time <= writer.start_time <= call.start_time
    assert call.end_time <= writer.end_time <= execution.end_time


async def test_a_failed_model_call_marks_its_span_node_and_execution(
    tmp_path: Path, fake_openai: FakeOpenAI, spans: InMemorySpanExporter
) -> None:
    fake_openai.reply_error(400, "the model refuses this prompt")
    path = write_workflow(tmp_path, AGENT_NODES)
    result = await run_workflow_file(
        path, {"topic": "tides"}, openai_settings(tmp_path, fake_openai)
    )
    assert result.outcome.status.value == "failed"
    named = by_name(spans.get_finished_spans())
    assert "node answer" not in named  # never ran: skipped nodes after a failure are not spans
    for name in ("chat gpt-4o-mini", "node writer", "execution"):
        assert named[name].status.status_code is StatusCode.ERROR, name
    assert named["node writer"].attributes is not None
    assert named["node writer"].attributes["relayflow.status"] == "failed"


async def test_offline_models_and_delegates_make_model_call_spans_too(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    path = write_workflow(
        tmp_path,
        [
            {"id": "start", "type": "input", "data": {}},
            {
                "id": "lead",
                "type": "agent",
                "data": {
                    "model": "test:echo",
                    "prompt": "@ask researcher: what is a tide?",
                    "delegates": ["researcher"],
                },
            },
            {"id": "out", "type": "output", "data": {"value": "{{ nodes.lead.output }}"}},
        ],
    )
    result = await run_workflow_file(path, None, Settings(data_dir=tmp_path / "data"))
    assert result.outcome.status.value == "completed"
    finished = spans.get_finished_spans()
    lead = next(s for s in finished if s.name == "node lead")
    calls = [s for s in finished if s.name == "chat echo"]
    # The lead asks (a tool call), the researcher answers, the lead answers: three calls,
    # all inside the lead's node, each with its own agent and tokens.
    assert len(calls) == 3
    assert {parent_of(call) for call in calls} == {span_id(lead)}
    agents = [str((call.attributes or {})["relayflow.agent"]).casefold() for call in calls]
    assert agents.count("researcher") == 1
    for call in calls:
        assert call.attributes is not None
        assert call.attributes["gen_ai.provider.name"] == "test"
        assert call.attributes["gen_ai.usage.input_tokens"] > 0
    total = sum(int((c.attributes or {})["gen_ai.usage.input_tokens"]) for c in calls)
    assert total == result.outcome.usage.input_tokens


async def test_no_spans_and_no_sdk_work_when_tracing_is_off(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    from relayflow.telemetry.tracing import active_tracer

    assert active_tracer() is None
    fake_openai.reply_text("fine")
    path = write_workflow(tmp_path, AGENT_NODES)
    result = await run_workflow_file(path, {"topic": "x"}, openai_settings(tmp_path, fake_openai))
    assert result.outcome.status.value == "completed"
    # Without a sink the engine streams nothing: the request was a plain completion.
    assert fake_openai.bodies[0].get("stream") in (None, False)
