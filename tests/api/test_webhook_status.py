"""The webhook that started an execution reads it at its status URL with its own key."""

from __future__ import annotations

import httpx

from tests.api.conftest import SignedIn, workflow_body


async def webhook(client: httpx.AsyncClient, user: SignedIn, workflow_id: str) -> dict[str, str]:
    response = await client.post(
        f"/api/v1/workflows/{workflow_id}/webhooks", json={}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    made: dict[str, str] = response.json()
    return made


async def test_the_status_url_answers_to_the_webhooks_own_key(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    created = await client.post("/api/v1/workflows", json=workflow_body(), headers=alice.headers)
    workflow_id = created.json()["id"]
    hook, other = (
        await webhook(client, alice, workflow_id),
        await webhook(client, alice, workflow_id),
    )
    started = await client.post(
        f"/hooks/{hook['id']}?wait=30", json={"n": 1}, headers={"X-API-Key": hook["api_key"]}
    )
    by_api = await client.post(
        f"/api/v1/workflows/{workflow_id}/executions", json={"input": 2}, headers=alice.headers
    )
    status_url = started.json()["status_url"]

    by_header = await client.get(status_url, headers={"X-API-Key": hook["api_key"]})
    by_bearer = await client.get(status_url, headers={"Authorization": f"Bearer {hook['api_key']}"})
    other_key = await client.get(status_url, headers={"X-API-Key": other["api_key"]})
    not_its_own = await client.get(
        f"/api/v1/executions/{by_api.json()['id']}", headers={"X-API-Key": hook["api_key"]}
    )
    wrong_key = await client.get(status_url, headers={"X-API-Key": "rf_not-a-key"})

    assert started.status_code == 200, started.text
    assert by_header.status_code == 200, by_header.text
    assert by_header.json()["status"] == "completed"
    assert by_header.json()["output"] == {"n": 1}
    assert by_bearer.status_code == 200
    assert [other_key.status_code, not_its_own.status_code, wrong_key.status_code] == [404] * 3
