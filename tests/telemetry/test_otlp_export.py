"""`relayflow run` with RELAYFLOW_OTEL_ENDPOINT exports its spans over OTLP/HTTP
(protobuf) to a collector, here a real HTTP server on 127.0.0.1 that decodes them."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.support.http_server import LocalHttpServer, ReceivedRequest, Reply
from tests.telemetry.conftest import write_workflow

RELAYFLOW = [sys.executable, "-m", "relayflow.cli"]


async def collector_reply(_request: ReceivedRequest) -> Reply:
    # An empty ExportTraceServiceResponse: all spans accepted.
    return Reply(200, {"content-type": "application/x-protobuf"}, b"")


async def run_cli(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *RELAYFLOW,
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(120):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RELAYFLOW_", "OTEL_"))}
    env.update(RELAYFLOW_DATA_DIR=str(tmp_path / "data"), **extra)
    return env


async def test_relayflow_run_exports_its_spans_to_the_otlp_endpoint(tmp_path: Path) -> None:
    collector = LocalHttpServer(collector_reply)
    await collector.start()
    try:
        path = write_workflow(
            tmp_path,
            [
                {"id": "question", "type": "input", "data": {}},
                {"id": "writer", "type": "agent", "data": {"model": "test:echo", "prompt": "hi"}},
                {"id": "answer", "type": "output", "data": {"value": "{{ nodes.writer.output }}"}},
            ],
        )
        env = clean_env(
            tmp_path,
            RELAYFLOW_OTEL_ENDPOINT=collector.url("/"),
            RELAYFLOW_OTEL_SERVICE_NAME="relayflow-test",
        )
        code, out, err = await run_cli("run", str(path), "--json", env=env)
    finally:
        await collector.stop()
    assert code == 0, err

    exports = [r for r in collector.requests if r.path == "/v1/traces"]
    assert exports, [r.path for r in collector.requests]
    assert {r.method for r in exports} == {"POST"}
    assert {r.headers["content-type"] for r in exports} == {"application/x-protobuf"}
    spans = {}
    services = set()
    for request in exports:
        message = ExportTraceServiceRequest()
        message.ParseFromString(request.body)
        for resource_spans in message.resource_spans:
            for attribute in resource_spans.resource.attributes:
                if attribute.key == "service.name":
                    services.add(attribute.value.string_value)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    spans[span.name] = span
    assert services == {"relayflow-test"}
    assert {"execution", "node question", "node writer", "node answer", "chat echo"} <= set(spans)
    assert spans["chat echo"].parent_span_id == spans["node writer"].span_id
    assert spans["node writer"].parent_span_id == spans["execution"].span_id
    attributes = {a.key: a.value for a in spans["chat echo"].attributes}
    assert attributes["gen_ai.request.model"].string_value == "echo"
    assert attributes["gen_ai.usage.input_tokens"].int_value > 0
    assert '"status": "completed"' in out


async def test_json_log_lines_carry_the_execution_and_the_node(tmp_path: Path) -> None:
    import json

    path = write_workflow(
        tmp_path,
        [
            {"id": "question", "type": "input", "data": {}},
            {"id": "writer", "type": "agent", "data": {"model": "nope:model", "prompt": "hi"}},
            {"id": "answer", "type": "output", "data": {"value": "{{ nodes.writer.output }}"}},
        ],
    )
    env = clean_env(tmp_path, RELAYFLOW_LOG_FORMAT="json")
    code, out, err = await run_cli("run", str(path), "--json", env=env)
    assert code == 1  # the run failed, as the workflow asks
    execution_id = json.loads(out)["execution_id"]
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    failed = [line for line in lines if line["message"].startswith("node writer failed")]
    assert failed, err
    assert failed[0]["level"] == "WARNING"
    assert failed[0]["execution_id"] == execution_id
    assert failed[0]["node_id"] == "writer"
    assert "unknown model provider" in failed[0]["message"]
    finished = [line for line in lines if line["message"] == f"execution {execution_id} failed"]
    assert finished
    assert "node_id" not in finished[0]
