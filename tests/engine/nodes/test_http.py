"""The http node against a real server on 127.0.0.1 (allow-listed where a test needs it)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from relayflow.domain import ExecutionStatus
from relayflow.engine.executor import EngineOptions
from tests.engine.fakes import GraphBuilder, Harness
from tests.support.http_server import LocalHttpServer, ReceivedRequest, Reply


async def answer(request: ReceivedRequest) -> Reply:
    if request.path == "/json":
        return Reply.json({"ok": True, "method": request.method})
    if request.path == "/echo":
        return Reply.json(
            {
                "body": request.json() if request.body else None,
                "auth": request.headers.get("authorization"),
                "query": request.target.partition("?")[2],
            }
        )
    if request.path == "/teapot":
        return Reply(418, {"content-type": "text/plain"}, b"short and stout")
    return Reply(200, {"content-type": "text/plain"}, b"plain words")


@pytest.fixture
async def server() -> AsyncIterator[LocalHttpServer]:
    async with LocalHttpServer(answer) as s:
        yield s


def allowed() -> Harness:
    return Harness(
        options=EngineOptions(http_allowlist=("127.0.0.1:*",), default_retry_backoff_s=0)
    )


def graph(**data: object) -> dict[str, object]:
    g = GraphBuilder().node("in", "input").node("out", "output")
    g.node("h", "http", **data)
    return g.chain("in", "h", "out").build()


async def test_a_json_response_is_parsed(server: LocalHttpServer) -> None:
    outcome = await allowed().run(graph(url=server.url("/json")), None)
    assert outcome.status is ExecutionStatus.COMPLETED
    assert outcome.output["status"] == 200
    assert outcome.output["body"] == {"ok": True, "method": "GET"}
    assert outcome.output["headers"]["content-type"] == "application/json"


async def test_a_text_response_stays_text(server: LocalHttpServer) -> None:
    outcome = await allowed().run(graph(url=server.url("/text")), None)
    assert outcome.output["body"] == "plain words"


async def test_url_headers_and_json_body_are_templated(server: LocalHttpServer) -> None:
    h = allowed()
    data = {
        "method": "post",
        "url": server.url("/echo") + "?q={{ input.q }}",
        "headers": {"Authorization": "Bearer {{ input.token }}"},
        "body": {"name": "{{ input.q }}", "n": "{{ input.n }}"},
    }
    outcome = await h.run(graph(**data), {"q": "tide", "n": 2, "token": "s3cret"})
    assert outcome.output["body"] == {
        "body": {"name": "tide", "n": 2},
        "auth": "Bearer s3cret",
        "query": "q=tide",
    }
    assert server.requests[-1].method == "POST"
    # The credential never lands in the run record.
    recorded = h.store.of("h")[-1].input
    assert recorded["headers"] == {"Authorization": "[redacted]"}


async def test_a_non_2xx_status_fails_the_node(server: LocalHttpServer) -> None:
    outcome = await allowed().run(graph(url=server.url("/teapot")), None)
    assert outcome.status is ExecutionStatus.FAILED
    assert outcome.error is not None
    assert "answered 418: short and stout" in outcome.error


async def test_fail_on_status_false_returns_the_status(server: LocalHttpServer) -> None:
    outcome = await allowed().run(graph(url=server.url("/teapot"), fail_on_status=False), None)
    assert outcome.output["status"] == 418
    assert outcome.output["body"] == "short and stout"


async def test_loopback_is_refused_without_the_allowlist(server: LocalHttpServer) -> None:
    h = Harness()
    outcome = await h.run(graph(url=server.url("/json"), retries=3), None)
    assert outcome.status is ExecutionStatus.FAILED
    assert outcome.error is not None
    assert "loopback" in outcome.error
    assert "RELAYFLOW_HTTP_ALLOWLIST" in outcome.error
    assert server.requests == []
    assert len(h.store.of("h")) == 1  # a refused address is not retried
