"""Bad requests get a 4xx that names the problem, and write nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from relayflow.config import Settings
from relayflow.store.db import Database
from relayflow.store.models import AgentTemplate, User, Webhook, Workflow
from tests.api.conftest import PASSWORD, SignedIn, table_snapshot, template_body, workflow_body

TABLES = (User, Workflow, AgentTemplate, Webhook)
WORKFLOWS = "/api/v1/workflows"


def error(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    assert set(body) == {"code", "message", "details"}
    return body


@pytest.fixture
async def nothing_written(
    db: Database, client: httpx.AsyncClient, alice: SignedIn
) -> AsyncIterator[None]:
    """Snapshot after the app has started (seeded) and alice exists; compare at the end."""
    before = await table_snapshot(db, *TABLES)
    yield
    assert await table_snapshot(db, *TABLES) == before, "a refused request wrote to the database"


@pytest.mark.usefixtures("nothing_written")
@pytest.mark.parametrize(
    "path",
    [WORKFLOWS, "/api/v1/agent-templates", "/api/v1/auth/register", "/api/v1/auth/login"],
)
async def test_malformed_json_is_refused(
    client: httpx.AsyncClient, alice: SignedIn, path: str
) -> None:
    response = await client.post(
        path,
        content=b'{"name": "x", "nodes": [',
        headers={**alice.headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert error(response)["code"] == "invalid_input"
    assert "malformed JSON" in error(response)["message"]


@pytest.mark.usefixtures("nothing_written")
@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({**workflow_body(), "name": 42}, "name", id="name-number"),
        pytest.param({**workflow_body(), "name": ""}, "name", id="name-empty"),
        pytest.param({**workflow_body(), "name": "x" * 256}, "name", id="name-too-long"),
        pytest.param({**workflow_body(), "nodes": "n1,n2"}, "nodes", id="nodes-not-list"),
        pytest.param({**workflow_body(), "edges": {"e": 1}}, "edges", id="edges-not-list"),
        pytest.param({**workflow_body(), "is_public": "yes"}, "is_public", id="public-string"),
        pytest.param({**workflow_body(), "metadata": [1]}, "metadata", id="metadata-list"),
        pytest.param({"name": "x", "edges": []}, "nodes", id="nodes-missing"),
        pytest.param({"nodes": [], "edges": []}, "name", id="name-missing"),
    ],
)
async def test_workflow_with_wrong_types_or_missing_fields_is_refused(
    client: httpx.AsyncClient, alice: SignedIn, body: dict[str, Any], field: str
) -> None:
    response = await client.post(WORKFLOWS, json=body, headers=alice.headers)

    assert response.status_code == 422
    assert error(response)["code"] == "invalid_input"
    assert error(response)["message"].startswith(f"{field}:")
    assert error(response)["details"][0]["field"] == field


def _edges_with_bad_third() -> dict[str, Any]:
    body = workflow_body()
    body["edges"] = [
        {"id": "e0", "source": "n0", "target": "n1"},
        {"id": "e1", "source": "n0", "target": "n1"},
        {"id": "e2", "source": "n0"},
    ]
    return body


@pytest.mark.usefixtures("nothing_written")
@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param(_edges_with_bad_third(), "edges[2].target", id="edge-no-target"),
        pytest.param({**workflow_body(), "nodes": [7]}, "nodes[0]", id="node-not-object"),
        pytest.param(
            {**workflow_body(), "nodes": [{"id": "a"}]}, "nodes[0].type", id="node-no-type"
        ),
        pytest.param(
            {**workflow_body(), "nodes": [{"id": 1, "type": "input"}]},
            "nodes[0].id",
            id="node-id-number",
        ),
        pytest.param(
            {**workflow_body(), "nodes": [{"id": "a", "type": "input", "data": "x"}]},
            "nodes[0].data",
            id="node-data-string",
        ),
        pytest.param(
            {**workflow_body(), "edges": [{"source": "a", "target": "b"}]},
            "edges[0].id",
            id="edge-no-id",
        ),
    ],
)
async def test_malformed_graph_is_refused_naming_index_and_field(
    client: httpx.AsyncClient, alice: SignedIn, body: dict[str, Any], field: str
) -> None:
    response = await client.post(WORKFLOWS, json=body, headers=alice.headers)

    assert response.status_code == 422
    assert error(response)["code"] == "invalid_input"
    assert field in error(response)["message"]
    assert [d["field"] for d in error(response)["details"]] == [field]


@pytest.mark.usefixtures("nothing_written")
@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param(template_body(model="gpt-4o"), "model", id="model-no-provider"),
        pytest.param(template_body(model="openai:"), "model", id="model-no-name"),
        pytest.param(template_body(parameters="hot"), "parameters", id="parameters-string"),
        pytest.param({"name": "x", "model": "test:echo"}, "role", id="role-missing"),
    ],
)
async def test_template_with_bad_fields_is_refused(
    client: httpx.AsyncClient, alice: SignedIn, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/api/v1/agent-templates", json=body, headers=alice.headers)

    assert response.status_code == 422
    assert error(response)["details"][0]["field"] == field
    assert error(response)["message"].startswith(f"{field}:")


@pytest.mark.usefixtures("nothing_written")
@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"email": "not-an-email", "password": PASSWORD}, "email", id="bad-email"),
        pytest.param({"email": "a@example.com", "password": "short"}, "password", id="short"),
        pytest.param({"email": "a@example.com"}, "password", id="no-password"),
        pytest.param({"email": ["a@example.com"], "password": PASSWORD}, "email", id="email-list"),
    ],
)
async def test_registration_with_bad_fields_is_refused(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/api/v1/auth/register", json=body)

    assert response.status_code == 422
    assert error(response)["details"][0]["field"] == field


async def test_duplicate_email_is_409_and_adds_no_account(
    client: httpx.AsyncClient, alice: SignedIn, db: Database
) -> None:
    before = await table_snapshot(db, User)

    response = await client.post(
        "/api/v1/auth/register", json={"email": "ALICE@example.com", "password": PASSWORD}
    )

    assert response.status_code == 409
    assert error(response)["code"] == "conflict"
    assert "alice@example.com" in error(response)["message"]
    assert error(response)["details"][0]["field"] == "email"
    assert await table_snapshot(db, User) == before


@pytest.mark.usefixtures("nothing_written")
async def test_oversized_body_is_413_naming_the_limit(
    client: httpx.AsyncClient, alice: SignedIn, settings: Settings
) -> None:
    body = workflow_body(description="x" * settings.max_body_bytes)

    response = await client.post(WORKFLOWS, json=body, headers=alice.headers)

    assert response.status_code == 413
    assert error(response)["code"] == "payload_too_large"
    assert str(settings.max_body_bytes) in error(response)["message"]


@pytest.mark.usefixtures("nothing_written")
async def test_oversized_body_without_a_length_header_is_413(
    client: httpx.AsyncClient, alice: SignedIn, settings: Settings
) -> None:
    payload = json.dumps(workflow_body(description="x" * settings.max_body_bytes)).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(payload), 64 * 1024):
            yield payload[start : start + 64 * 1024]

    response = await client.post(
        WORKFLOWS, content=chunks(), headers={**alice.headers, "Content-Type": "application/json"}
    )

    assert response.status_code == 413
    assert error(response)["code"] == "payload_too_large"
    assert str(settings.max_body_bytes) in error(response)["message"]


async def test_body_just_under_the_limit_is_accepted(
    client: httpx.AsyncClient, alice: SignedIn, settings: Settings
) -> None:
    overhead = len(json.dumps(workflow_body(description="")).encode())
    body = workflow_body(description="x" * (settings.max_body_bytes - overhead))
    assert len(json.dumps(body).encode()) == settings.max_body_bytes

    response = await client.post(WORKFLOWS, json=body, headers=alice.headers)

    assert response.status_code == 201


@pytest.mark.usefixtures("nothing_written")
@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
async def test_unknown_workflow_id_is_404_naming_it(
    client: httpx.AsyncClient, alice: SignedIn, method: str
) -> None:
    unknown = "6f1c2a1e-0000-4000-8000-00000000abcd"
    body = workflow_body() if method in ("PUT", "PATCH") else None

    response = await client.request(
        method, f"{WORKFLOWS}/{unknown}", json=body, headers=alice.headers
    )

    assert response.status_code == 404
    assert error(response)["code"] == "not_found"
    assert error(response)["message"] == f"workflow {unknown} not found"


@pytest.mark.usefixtures("nothing_written")
@pytest.mark.parametrize(
    "path",
    [f"{WORKFLOWS}/not-a-uuid", "/api/v1/agent-templates/42", "/api/v1/webhooks/x/rotate"],
)
async def test_malformed_id_is_422_naming_the_parameter(
    client: httpx.AsyncClient, alice: SignedIn, path: str
) -> None:
    method = "POST" if path.endswith("/rotate") else "GET"

    response = await client.request(method, path, headers=alice.headers)

    assert response.status_code == 422
    assert error(response)["details"][0]["field"].endswith("_id")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "bm90IGEgY3Vyc29y"}, "cursor"),
        ({"scope": "everyone"}, "scope"),
    ],
)
async def test_bad_list_parameters_are_422_naming_them(
    client: httpx.AsyncClient, alice: SignedIn, params: dict[str, Any], field: str
) -> None:
    response = await client.get(WORKFLOWS, params=params, headers=alice.headers)

    assert response.status_code == 422
    assert error(response)["details"][0]["field"] == field


async def test_webhook_patch_cannot_null_enabled(
    client: httpx.AsyncClient, alice: SignedIn, db: Database
) -> None:
    workflow = await client.post(WORKFLOWS, json=workflow_body(), headers=alice.headers)
    hook = await client.post(
        f"{WORKFLOWS}/{workflow.json()['id']}/webhooks", json={}, headers=alice.headers
    )
    before = await table_snapshot(db, Webhook)

    response = await client.patch(
        f"/api/v1/webhooks/{hook.json()['id']}", json={"enabled": None}, headers=alice.headers
    )

    assert response.status_code == 422
    assert error(response)["details"][0]["field"] == "enabled"
    assert await table_snapshot(db, Webhook) == before
