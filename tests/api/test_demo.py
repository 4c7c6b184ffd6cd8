"""Every new account starts with a demo workflow that runs offline."""

from __future__ import annotations

import httpx

from relayflow.config import Settings


async def _register(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    password = "correct horse battery"
    response = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": password}
    )
    assert response.status_code == 201, response.text
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def test_a_new_account_gets_the_demo_and_it_runs_offline(
    client: httpx.AsyncClient,
) -> None:
    headers = await _register(client, "demo@example.com")

    listed = (await client.get("/api/v1/workflows", headers=headers)).json()["items"]
    assert [w["name"] for w in listed] == ["Demo: Research, write, review"]
    demo = listed[0]
    check = await client.post(
        "/api/v1/workflows/validate",
        json={"nodes": demo["nodes"], "edges": demo["edges"]},
        headers=headers,
    )
    assert check.status_code == 200, check.text

    run = await client.post(
        f"/api/v1/workflows/{demo['id']}/executions?wait=30",
        json={"input": {"topic": "tide pools"}},
        headers=headers,
    )
    assert run.status_code == 200, run.text
    execution = run.json()
    assert execution["status"] == "completed"
    assert execution["output"]["topic"] == "tide pools"
    assert "tide pools" in execution["output"]["draft"]


async def test_the_demo_can_be_switched_off(client: httpx.AsyncClient, settings: Settings) -> None:
    settings.demo_workflow = False
    headers = await _register(client, "nodemo@example.com")
    listed = (await client.get("/api/v1/workflows", headers=headers)).json()["items"]
    assert listed == []
