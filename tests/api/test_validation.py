"""`POST /api/v1/workflows/validate`, and the same validation on workflow create and update."""

from __future__ import annotations

from typing import Any

import httpx

from relayflow.store.db import Database
from relayflow.store.models import Workflow
from tests.api.conftest import SignedIn, count_rows, graph, template_body, workflow_body

VALIDATE = "/api/v1/workflows/validate"


def agent_graph(template_id: str) -> dict[str, Any]:
    g = graph(2)
    g["nodes"].insert(
        1,
        {
            "id": "writer",
            "type": "agent",
            "position": {"x": 50, "y": 0},
            "data": {"template_id": template_id, "prompt": "{{ input }}"},
        },
    )
    g["edges"] = [
        {"id": "e0", "source": "n0", "target": "writer"},
        {"id": "e1", "source": "writer", "target": "n1"},
    ]
    return g


async def test_a_valid_graph_answers_valid(client: httpx.AsyncClient, alice: SignedIn) -> None:
    response = await client.post(VALIDATE, json=graph(3), headers=alice.headers)
    assert response.status_code == 200
    assert response.json() == {"valid": True, "problems": []}


async def test_an_invalid_graph_answers_422_with_every_problem(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    g = graph(3)
    g["nodes"][1]["type"] = "teleport"
    g["edges"].append({"id": "loose", "source": "n2", "target": "nowhere"})
    g["edges"].append({"id": "back", "source": "n2", "target": "n0"})
    response = await client.post(VALIDATE, json=g, headers=alice.headers)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "graph_invalid"
    assert error["message"].startswith("the workflow graph is invalid: node 'n1': type: unknown")
    by_where = {(p["node_id"], p["edge_id"], p["field"]) for p in error["details"]}
    assert (None, "loose", "target") in by_where
    assert ("n1", None, "type") in by_where
    assert any("form a cycle" in p["message"] for p in error["details"])


async def test_template_ids_are_checked_against_the_callers_templates(
    client: httpx.AsyncClient, alice: SignedIn, bob: SignedIn
) -> None:
    created = await client.post(
        "/api/v1/agent-templates", json=template_body("Alice's"), headers=alice.headers
    )
    template_id = created.json()["id"]
    mine = await client.post(VALIDATE, json=agent_graph(template_id), headers=alice.headers)
    assert mine.status_code == 200, mine.text
    theirs = await client.post(VALIDATE, json=agent_graph(template_id), headers=bob.headers)
    assert theirs.status_code == 422
    assert theirs.json()["error"]["details"] == [
        {
            "node_id": "writer",
            "edge_id": None,
            "field": "data.template_id",
            "message": f"unknown agent template {template_id!r}",
        }
    ]


async def test_malformed_bodies_are_refused_naming_the_field(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    response = await client.post(VALIDATE, json={"edges": []}, headers=alice.headers)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "nodes"


async def test_creating_an_invalid_workflow_is_refused_and_writes_nothing(
    client: httpx.AsyncClient, alice: SignedIn, db: Database
) -> None:
    body = workflow_body()
    body["nodes"][1]["data"] = {"value": "{{ nodes.ghost.output }}"}
    response = await client.post("/api/v1/workflows", json=body, headers=alice.headers)
    assert response.status_code == 422
    assert response.json()["error"]["details"] == [
        {
            "node_id": "n1",
            "edge_id": None,
            "field": "data.value",
            "message": "refers to nodes.ghost, which is not a node",
        }
    ]
    assert await count_rows(db, Workflow) == 0


async def test_updating_to_an_invalid_graph_is_refused(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    created = (
        await client.post("/api/v1/workflows", json=workflow_body(), headers=alice.headers)
    ).json()
    nodes = [n for n in created["nodes"] if n["type"] != "output"]
    response = await client.patch(
        f"/api/v1/workflows/{created['id']}",
        json={"nodes": nodes, "edges": []},
        headers=alice.headers,
    )
    assert response.status_code == 422
    assert "the graph has no output node" in response.json()["error"]["message"]
