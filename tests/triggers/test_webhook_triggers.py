"""A webhook's trigger settings over the REST API: signing secret, query key, rate limit."""

from __future__ import annotations

import time

import httpx

from relayflow.signatures import compute_signature
from tests.triggers.conftest import Hook, MakeOwner


def secret_url(hook: Hook) -> str:
    return f"/api/v1/webhooks/{hook.id}/signing-secret"


async def webhook_answer(client: httpx.AsyncClient, hook: Hook) -> dict[str, object]:
    listed = await client.get(
        f"/api/v1/workflows/{hook.workflow_id}/webhooks", headers=hook.owner.headers
    )
    [item] = listed.json()["items"]
    assert isinstance(item, dict)
    return item


def signed(secret: str, body: bytes) -> dict[str, str]:
    stamp = int(time.time())
    return {
        "X-Relayflow-Timestamp": str(stamp),
        "X-Relayflow-Signature": compute_signature(secret, stamp, body),
        "Content-Type": "application/json",
    }


async def test_signing_secret_is_shown_once_and_then_required(
    client: httpx.AsyncClient, hook: Hook
) -> None:
    issued = await client.post(secret_url(hook), headers=hook.owner.headers)
    assert issued.status_code == 201
    secret = issued.json()["signing_secret"]
    assert secret.startswith("whsec_")
    assert issued.json()["require_signature"] is True
    assert issued.json()["tolerance_s"] == 300

    answer = await webhook_answer(client, hook)
    assert answer["has_signing_secret"] is True
    assert answer["require_signature"] is True
    assert secret not in str(answer)

    body = b'{"a": 1}'
    unsigned = await client.post(hook.url, content=body, headers={"X-API-Key": hook.key})
    good = await client.post(
        hook.url, content=body, headers={"X-API-Key": hook.key, **signed(secret, body)}
    )
    assert (unsigned.status_code, good.status_code) == (401, 202)


async def test_optional_signature_is_checked_only_when_sent(
    client: httpx.AsyncClient, hook: Hook
) -> None:
    issued = await client.post(
        secret_url(hook), json={"require_signature": False}, headers=hook.owner.headers
    )
    secret = issued.json()["signing_secret"]
    body = b"{}"
    unsigned = await client.post(hook.url, content=body, headers={"X-API-Key": hook.key})
    wrong = await client.post(
        hook.url, content=body, headers={"X-API-Key": hook.key, **signed(secret + "x", body)}
    )
    assert (unsigned.status_code, wrong.status_code) == (202, 401)


async def test_removing_the_secret_stops_signature_checks(
    client: httpx.AsyncClient, hook: Hook
) -> None:
    await client.post(secret_url(hook), headers=hook.owner.headers)
    assert (await client.delete(secret_url(hook), headers=hook.owner.headers)).status_code == 204
    answer = await webhook_answer(client, hook)
    assert (answer["has_signing_secret"], answer["require_signature"]) == (False, False)
    accepted = await client.post(hook.url, json={}, headers={"X-API-Key": hook.key})
    assert accepted.status_code == 202


async def test_requiring_signatures_needs_a_secret_first(
    client: httpx.AsyncClient, hook: Hook
) -> None:
    response = await client.patch(
        f"/api/v1/webhooks/{hook.id}", json={"require_signature": True}, headers=hook.owner.headers
    )
    assert response.status_code == 409
    assert "signing-secret" in response.json()["error"]["message"]


async def test_trigger_settings_change_through_the_webhook_patch(
    client: httpx.AsyncClient, hook: Hook
) -> None:
    url = f"/api/v1/webhooks/{hook.id}"
    changed = await client.patch(
        url,
        json={"allow_query_key": True, "rate_limit_per_minute": 120},
        headers=hook.owner.headers,
    )
    assert changed.status_code == 200
    assert changed.json()["allow_query_key"] is True
    assert changed.json()["rate_limit_per_minute"] == 120
    assert (await client.post(f"{hook.url}?api_key={hook.key}", json={})).status_code == 202

    unlimited = await client.patch(
        url, json={"rate_limit_per_minute": None}, headers=hook.owner.headers
    )
    assert unlimited.json()["rate_limit_per_minute"] is None
    assert unlimited.json()["allow_query_key"] is True  # untouched

    bad = await client.patch(url, json={"rate_limit_per_minute": 0}, headers=hook.owner.headers)
    assert bad.status_code == 422
    assert "rate_limit_per_minute" in bad.json()["error"]["message"]


async def test_the_webhook_answer_has_a_curl_line_without_the_key(
    client: httpx.AsyncClient, hook: Hook
) -> None:
    answer = await webhook_answer(client, hook)
    curl = str(answer["curl"])
    assert curl.startswith(f'curl -X POST "http://testserver/hooks/{hook.id}"')
    assert "$RELAYFLOW_WEBHOOK_KEY" in curl
    assert hook.key not in curl


async def test_only_the_owner_manages_the_signing_secret(
    client: httpx.AsyncClient, hook: Hook, make_owner: MakeOwner
) -> None:
    stranger = await make_owner()
    assert (await client.post(secret_url(hook), headers=stranger.headers)).status_code == 404
    assert (await client.delete(secret_url(hook), headers=stranger.headers)).status_code == 404
    assert (await client.post(secret_url(hook))).status_code == 401
