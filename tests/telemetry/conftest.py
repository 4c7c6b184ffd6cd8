"""Telemetry tests: spans kept in memory (the SDK's exporter), a fake OpenAI server."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from relayflow.telemetry.tracing import use_tracer_provider
from tests.agents.conftest import no_outside_network  # noqa: F401 (autouse fixture)
from tests.support.fake_openai import FakeOpenAI


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Turns tracing on for the test; the exporter holds every finished span."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    use_tracer_provider(provider)
    yield exporter
    use_tracer_provider(None)
    provider.shutdown()


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    server = FakeOpenAI()
    await server.start()
    yield server
    await server.stop()


def by_name(finished: tuple[ReadableSpan, ...] | list[ReadableSpan]) -> dict[str, ReadableSpan]:
    named = {span.name: span for span in finished}
    assert len(named) == len(finished), [s.name for s in finished]
    return named


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.span_id


def write_workflow(tmp_path: Path, nodes: list[dict[str, Any]]) -> Path:
    """A linear workflow file: the nodes in order, each wired to the next."""
    edges = [
        {"id": f"e{i}", "source": a["id"], "target": b["id"]}
        for i, (a, b) in enumerate(itertools.pairwise(nodes))
    ]
    for index, node in enumerate(nodes):
        node.setdefault("position", {"x": 0, "y": index * 100})
    path = tmp_path / "workflow.json"
    path.write_text(json.dumps({"nodes": nodes, "edges": edges}))
    return path


# The runtime's fixtures, for spans of executions run by a worker.
from tests.runtime.conftest import bus, runtime_settings, start_worker  # noqa: E402, F401
