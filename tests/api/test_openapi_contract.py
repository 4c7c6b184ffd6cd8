"""The OpenAPI document is the contract: what it says is what the app answers.

Timestamps are RFC 3339 in UTC with `Z`; datetime query parameters take only real
date-times; a wrong method on a known path is a 405 naming every allowed method;
the event stream is declared as `text/event-stream`; every operation declares the
errors it can answer, with the app's error body.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import httpx
import jsonschema
import pytest
from fastapi import FastAPI

from tests.api.conftest import SignedIn, template_body
from tests.support.execution_graphs import create_workflow, identity_graph, start
from tests.support.sse_client import events_of, parse_stream

HTTP_METHODS = ("get", "put", "post", "delete", "patch")
ERROR_REF = "#/components/schemas/ErrorOut"
RFC3339_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")


@pytest.fixture
def document(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def timestamps_in(value: Any, key: str = "") -> list[str | None]:
    """Every value under a key that names a moment (`*_at`, `next_runs`), at any depth."""
    found: list[str | None] = []
    if isinstance(value, dict):
        for name, item in value.items():
            found += timestamps_in(item, name)
    elif isinstance(value, list):
        for item in value:
            found += timestamps_in(item, key)
    elif key.endswith("_at") or key == "next_runs":
        found.append(value)
    return found


def concrete(path: str) -> str:
    """A document path with real-looking values for its parameters."""
    path = path.replace("{node_id}", "gate")
    return re.sub(r"{\w+}", str(uuid.uuid4()), path)


# ----------------------------------------------------------------- timestamps
async def test_every_timestamp_served_ends_in_z(client: httpx.AsyncClient, alice: SignedIn) -> None:
    h = alice.headers
    workflow_id = await create_workflow(client, h, identity_graph())
    started = await start(client, h, workflow_id, {"n": 1}, wait=20)
    assert started.json()["status"] == "completed", started.text
    execution_id = started.json()["id"]
    schedules = f"/api/v1/workflows/{workflow_id}/schedules"
    answers = [
        started,
        await client.get(f"/api/v1/executions/{execution_id}", headers=h),
        await client.get("/api/v1/executions", headers=h),
        await client.get(f"/api/v1/workflows/{workflow_id}", headers=h),
        await client.get("/api/v1/auth/me", headers=h),
        await client.post("/api/v1/agent-templates", json=template_body(), headers=h),
        await client.post(f"/api/v1/workflows/{workflow_id}/webhooks", json={}, headers=h),
        await client.post(schedules, json={"cron": "@hourly", "timezone": "Asia/Tokyo"}, headers=h),
    ]
    stream = await client.get(f"/api/v1/executions/{execution_id}/events", headers=h)
    events = events_of(parse_stream(stream.text))

    assert all(a.status_code < 300 for a in answers), [a.text for a in answers]
    served = [t for a in answers for t in timestamps_in(a.json())] + timestamps_in(events)
    present = [t for t in served if t is not None]
    assert len(present) >= 20, served  # the check saw the timestamps it means to check
    assert [t for t in present if not RFC3339_UTC.fullmatch(str(t))] == []
    # The moment is right, not just the suffix: the run started within the last minutes.
    started_at = dt.datetime.fromisoformat(started.json()["started_at"])
    assert abs(dt.datetime.now(dt.UTC) - started_at) < dt.timedelta(minutes=5)


@pytest.mark.parametrize("until", ["0.5", "0", "1700000000", "2026-01-31", "tomorrow"])
async def test_a_datetime_parameter_takes_only_a_date_time(
    client: httpx.AsyncClient, alice: SignedIn, until: str
) -> None:
    response = await client.get(
        "/api/v1/executions", params={"until": until}, headers=alice.headers
    )

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert [d["field"] for d in error["details"]] == ["until"]
    assert "RFC 3339" in error["message"] or "datetime" in error["message"]


async def test_a_datetime_parameter_takes_an_offset(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    workflow_id = await create_workflow(client, alice.headers, identity_graph())
    started = (await start(client, alice.headers, workflow_id, 1)).json()
    at = dt.datetime.fromisoformat(started["started_at"])
    # The same moments, written in Paris summer time and in UTC.
    before = (at - dt.timedelta(minutes=1)).astimezone(dt.timezone(dt.timedelta(hours=2)))
    after = at + dt.timedelta(minutes=1)

    paris, utc = before.isoformat(), after.isoformat().replace("+00:00", "Z")
    assert paris.endswith("+02:00")
    assert utc.endswith("Z")

    async def listed(**params: str) -> list[str]:
        response = await client.get("/api/v1/executions", params=params, headers=alice.headers)
        assert response.status_code == 200, response.text
        return [e["id"] for e in response.json()["items"]]

    assert await listed(since=paris) == [started["id"]]
    assert await listed(until=paris) == []
    assert await listed(since=utc) == []
    assert await listed(until=utc) == [started["id"]]


def test_the_document_declares_every_timestamp_as_a_date_time(document: dict[str, Any]) -> None:
    stated = {}
    for name, schema in document["components"]["schemas"].items():
        for field, prop in schema.get("properties", {}).items():
            if field.endswith("_at") or field == "next_runs":
                stated[f"{name}.{field}"] = prop
    assert len(stated) >= 10
    not_date_time = {
        where: prop
        for where, prop in stated.items()
        if "date-time" not in str(prop)  # directly, in anyOf with null, or as array items
    }
    assert not_date_time == {}


# ----------------------------------------------------------------- methods
async def test_put_on_validate_is_405_allowing_post(client: httpx.AsyncClient) -> None:
    response = await client.put("/api/v1/workflows/validate", json={})

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response.json()["error"]["details"] == {"allowed": ["POST"]}


async def test_a_wrong_method_names_every_method_of_the_path(
    client: httpx.AsyncClient, document: dict[str, Any]
) -> None:
    wrong: dict[str, tuple[str, set[str], int, str]] = {}
    for path, item in document["paths"].items():
        declared = {m.upper() for m in item if m in HTTP_METHODS}
        for method in sorted({m.upper() for m in HTTP_METHODS} - declared):
            response = await client.request(method, concrete(path))
            allowed = {m.strip() for m in response.headers.get("allow", "").split(",")}
            expected = declared | ({"HEAD"} if "GET" in declared else set())
            code = response.json().get("error", {}).get("code", "")
            if (response.status_code, allowed - {"HEAD"}, code) != (
                405,
                expected - {"HEAD"},
                "method_not_allowed",
            ):
                wrong[f"{method} {path}"] = (
                    path,
                    allowed,
                    response.status_code,
                    code,
                )
    assert wrong == {}


async def test_a_malformed_id_is_422_naming_it_on_every_id_route(
    client: httpx.AsyncClient, alice: SignedIn, document: dict[str, Any]
) -> None:
    checked = 0
    for method, path, _ in operations(document):
        if "_id}" not in path or path.startswith("/hooks/"):
            continue
        first = re.search(r"{(\w+_id)}", path)
        assert first is not None
        malformed = concrete(path.replace(first.group(0), "not-a-uuid", 1))
        response = await client.request(method.upper(), malformed, headers=alice.headers)
        assert response.status_code == 422, (method, malformed, response.text)
        assert response.json()["error"]["details"][0]["field"] == first.group(1)
        checked += 1
    assert checked >= 20


# ----------------------------------------------------------------- event stream
async def test_the_event_stream_is_declared_as_text_event_stream(
    client: httpx.AsyncClient, alice: SignedIn, document: dict[str, Any]
) -> None:
    declared = document["paths"]["/api/v1/executions/{execution_id}/events"]["get"]
    content = declared["responses"]["200"]["content"]
    assert list(content) == ["text/event-stream"]
    event = content["text/event-stream"]["schema"]
    assert event["type"] == "object"
    data = event["properties"]["data"]
    assert data["contentMediaType"] == "application/json"

    workflow_id = await create_workflow(client, alice.headers, identity_graph())
    execution = (await start(client, alice.headers, workflow_id, {"n": 2}, wait=20)).json()
    stream = await client.get(f"/api/v1/executions/{execution['id']}/events", headers=alice.headers)
    messages = [m for m in parse_stream(stream.text) if m.data]

    assert stream.headers["content-type"].startswith("text/event-stream")
    assert len(messages) >= 3
    for message in messages:
        fields = {"event": message.event, "data": message.data, "id": message.id}
        jsonschema.validate(fields, event)
        jsonschema.validate(
            message.body, data["contentSchema"], format_checker=jsonschema.FormatChecker()
        )


# ----------------------------------------------------------------- declared errors
def test_every_operation_declares_the_errors_it_can_answer(document: dict[str, Any]) -> None:
    missing: dict[str, list[int]] = {}
    for method, path, operation in operations(document):
        expected: set[int] = set()
        if operation.get("security"):
            expected.add(401)  # signed-in operations
        if "requestBody" in operation:
            expected |= {400, 413, 422}  # unparseable, too large, invalid
        if operation.get("parameters"):
            expected.add(422)
        if "{" in path and "_id}" in path:
            expected.add(404)
        declared = {int(s) for s in operation["responses"] if s.isdigit()}
        if expected - declared:
            missing[f"{method.upper()} {path}"] = sorted(expected - declared)
    assert missing == {}


def test_every_declared_error_has_the_error_body(document: dict[str, Any]) -> None:
    wrong: dict[str, Any] = {}
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if not status.startswith("4") or "text/event-stream" in response.get("content", {}):
                continue
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            if schema.get("$ref") != ERROR_REF:
                wrong[f"{method.upper()} {path} {status}"] = schema
    assert wrong == {}
    assert "HTTPValidationError" not in document["components"]["schemas"]
    error = document["components"]["schemas"]["ErrorInfo"]
    assert set(error["required"]) == {"code", "message"}


def test_errors_declare_the_headers_they_carry(document: dict[str, Any]) -> None:
    headers = {
        (status, name)
        for _, _, operation in operations(document)
        for status, response in operation["responses"].items()
        for name in response.get("headers", {})
    }
    assert ("401", "WWW-Authenticate") in headers
    assert ("429", "Retry-After") in headers
    statuses = {status: {name for s, name in headers if s == status} for status, _ in headers}
    assert statuses["401"] == {"WWW-Authenticate"}


async def test_a_declared_error_answers_with_its_declared_headers(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/auth/me")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "unauthorized"
