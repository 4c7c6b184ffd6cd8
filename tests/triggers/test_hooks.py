"""`POST /hooks/{id}`: every answer the issue lists, and what lands in the database."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from relayflow.api.app import create_app
from relayflow.config import Settings
from relayflow.domain import ExecutionStatus
from relayflow.signatures import compute_signature
from relayflow.store import models
from relayflow.store.db import Database
from relayflow.store.webhook_triggers import issue_signing_secret
from tests.support.rows import chain_graph
from tests.triggers.conftest import Hook, MakeHook, count_executions, executions_of


def key(hook: Hook) -> dict[str, str]:
    return {"X-API-Key": hook.key}


# ----------------------------------------------------------------- accepted
async def test_accepted_delivery_is_committed_before_the_202(
    client: httpx.AsyncClient, db: Database, hook: Hook
) -> None:
    response = await client.post(hook.url, json={"order": 42}, headers=key(hook))

    assert response.status_code == 202
    body = response.json()
    execution_id = uuid.UUID(body["execution_id"])
    assert body["status_url"].endswith(f"/api/v1/executions/{execution_id}")
    assert response.headers["location"] == body["status_url"]
    [execution] = await executions_of(db, hook.workflow_id)
    assert execution.id == execution_id
    # Committed before the answer; the embedded worker may already have picked it up.
    assert execution.status in {s.value for s in ExecutionStatus}
    assert execution.input == {"order": 42}
    assert execution.user_id == hook.owner.id
    assert execution.graph is not None
    assert execution.graph["nodes"][0]["type"] == "input"


async def test_bearer_key_is_accepted(client: httpx.AsyncClient, db: Database, hook: Hook) -> None:
    response = await client.post(
        hook.url, json={"via": "bearer"}, headers={"Authorization": f"Bearer {hook.key}"}
    )
    assert response.status_code == 202
    [execution] = await executions_of(db, hook.workflow_id)
    assert str(execution.id) == response.json()["execution_id"]
    assert execution.input == {"via": "bearer"}


async def test_trigger_keeps_headers_and_query_but_no_secrets(
    client: httpx.AsyncClient, db: Database, make_hook: MakeHook
) -> None:
    hook = await make_hook(allow_query_key=True)
    response = await client.post(
        f"{hook.url}?api_key={hook.key}&source=crm&tag=a&tag=b&access_token=t0k",
        json={"x": 1},
        headers={
            "X-Request-Source": "crm",
            "Cookie": "session=cookie-value-xyz",  # not hex: a uuid may hold "abc"
            "Authorization": "Basic Zm9vOmJhcg==",
            "X-Auth-Token": "hidden",
            "X-Client-Secret": "hidden",
        },
    )
    assert response.status_code == 202
    [execution] = await executions_of(db, hook.workflow_id)
    trigger = execution.trigger or {}
    assert trigger["type"] == "webhook"
    assert trigger["webhook_id"] == str(hook.id)
    assert trigger["query"] == {"source": "crm", "tag": ["a", "b"]}
    assert trigger["headers"]["x-request-source"] == "crm"
    dumped = str(trigger)
    for secret in (hook.key, "cookie-value-xyz", "Zm9vOmJhcg", "hidden", "t0k"):
        assert secret not in dumped


# ----------------------------------------------------------------- keys
async def test_missing_key_is_401(client: httpx.AsyncClient, db: Database, hook: Hook) -> None:
    response = await client.post(hook.url, json={})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert "X-API-Key" in response.json()["error"]["message"]
    assert await count_executions(db) == 0


async def test_wrong_key_is_401_and_writes_nothing(
    client: httpx.AsyncClient, db: Database, hook: Hook
) -> None:
    response = await client.post(hook.url, json={}, headers={"X-API-Key": hook.key + "x"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert await count_executions(db) == 0


@pytest.mark.parametrize("webhook_id", [str(uuid.uuid4()), "not-a-uuid"])
async def test_unknown_webhook_is_404(
    client: httpx.AsyncClient, hook: Hook, webhook_id: str
) -> None:
    response = await client.post(f"/hooks/{webhook_id}", json={}, headers=key(hook))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_another_webhooks_key_does_not_open_this_one(
    client: httpx.AsyncClient, db: Database, make_hook: MakeHook
) -> None:
    first, second = await make_hook(), await make_hook()
    response = await client.post(first.url, json={}, headers=key(second))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert await count_executions(db) == 0


async def test_query_key_only_where_the_webhook_allows_it(
    client: httpx.AsyncClient, db: Database, make_hook: MakeHook
) -> None:
    closed, open_ = await make_hook(), await make_hook(allow_query_key=True)
    refused = await client.post(f"{closed.url}?api_key={closed.key}", json={})
    assert refused.status_code == 401
    assert "query string" in refused.json()["error"]["message"]
    assert await executions_of(db, closed.workflow_id) == []
    accepted = await client.post(f"{open_.url}?api_key={open_.key}", json={})
    assert accepted.status_code == 202
    [execution] = await executions_of(db, open_.workflow_id)
    assert str(execution.id) == accepted.json()["execution_id"]


async def test_disabled_webhook_is_403_with_the_right_key_only(
    client: httpx.AsyncClient, db: Database, make_hook: MakeHook
) -> None:
    hook = await make_hook(enabled=False)
    response = await client.post(hook.url, json={}, headers=key(hook))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "webhook_disabled"
    stranger = await client.post(hook.url, json={}, headers={"X-API-Key": "rf_guess"})
    assert stranger.status_code == 401
    assert await count_executions(db) == 0


# ----------------------------------------------------------------- bodies
async def test_body_above_the_limit_is_413(
    settings: Settings, db: Database, make_hook: MakeHook
) -> None:
    hook = await make_hook()
    small = settings.model_copy(update={"max_body_bytes": 1024})
    application = create_app(small, db=db)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://testserver"
        ) as client,
    ):
        response = await client.post(hook.url, json={"blob": "x" * 2048}, headers=key(hook))
    assert response.status_code == 413
    assert await count_executions(db) == 0


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("application/xml", b"<a/>"), ("application/octet-stream", b"\x00\x01"), ("", b"<a/>")],
)
async def test_unreadable_content_type_is_415(
    client: httpx.AsyncClient, hook: Hook, content_type: str, body: bytes
) -> None:
    headers = {**key(hook), "Content-Type": content_type} if content_type else key(hook)
    response = await client.post(hook.url, content=body, headers=headers)
    assert response.status_code == 415
    assert "application/json" in response.json()["error"]["message"]


async def test_file_upload_is_415(client: httpx.AsyncClient, hook: Hook) -> None:
    response = await client.post(
        hook.url, files={"report": ("r.csv", b"a,b\n", "text/csv")}, headers=key(hook)
    )
    assert response.status_code == 415
    assert "report" in response.json()["error"]["message"]


async def test_malformed_json_is_422(client: httpx.AsyncClient, hook: Hook) -> None:
    response = await client.post(
        hook.url, content=b'{"a": ', headers={**key(hook), "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "body"


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        (
            "application/x-www-form-urlencoded",
            b"name=Ada&tag=a&tag=b&empty=",
            {"name": "Ada", "tag": ["a", "b"], "empty": ""},
        ),
        ("text/plain; charset=utf-8", "héllo".encode(), "héllo"),
        ("text/csv; charset=latin-1", "é,1".encode("latin-1"), "é,1"),
        ("application/vnd.api+json", b'{"data": 1}', {"data": 1}),
        ("application/json", b"", None),
        ("", b"[1, 2]", [1, 2]),
    ],
)
async def test_bodies_become_input_in_the_documented_shape(
    client: httpx.AsyncClient,
    db: Database,
    hook: Hook,
    content_type: str,
    body: bytes,
    expected: object,
) -> None:
    headers = {**key(hook), "Content-Type": content_type} if content_type else key(hook)
    response = await client.post(hook.url, content=body, headers=headers)
    assert response.status_code == 202, response.text
    [execution] = await executions_of(db, hook.workflow_id)
    assert execution.input == expected


async def test_multipart_fields_become_an_object(
    client: httpx.AsyncClient, db: Database, hook: Hook
) -> None:
    response = await client.post(
        hook.url, data={"name": "Ada", "lang": ["en", "fr"]}, files={}, headers=key(hook)
    )
    assert response.status_code == 202, response.text
    [execution] = await executions_of(db, hook.workflow_id)
    assert execution.input == {"name": "Ada", "lang": ["en", "fr"]}


async def test_input_failing_the_schema_is_422_naming_the_field(
    client: httpx.AsyncClient, db: Database, make_hook: MakeHook
) -> None:
    hook = await make_hook(
        schema={
            "type": "object",
            "properties": {
                "email": {"type": "string", "format": "email"},
                "n": {"type": "integer"},
            },
            "required": ["email"],
        }
    )
    response = await client.post(hook.url, json={"n": "seven"}, headers=key(hook))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    fields = {d["field"] for d in error["details"]}
    assert fields == {"input", "input.n"}
    assert "'email' is a required property" in error["message"]
    assert await count_executions(db) == 0
    ok = await client.post(hook.url, json={"email": "a@example.com", "n": 7}, headers=key(hook))
    assert ok.status_code == 202


# ----------------------------------------------------------------- rate limits
@pytest.fixture
async def second_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Another API 'process': its own app and its own database engine."""
    other_db = Database(settings.resolved_database_url)
    application: FastAPI = create_app(settings, db=other_db)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://testserver"
        ) as client,
    ):
        yield client
    await other_db.dispose()


async def test_rate_limit_holds_across_processes_and_says_when_to_retry(
    client: httpx.AsyncClient,
    second_client: httpx.AsyncClient,
    db: Database,
    make_hook: MakeHook,
) -> None:
    hook = await make_hook(rate_limit_per_minute=3)
    # The limit counts per fixed minute: start in a fresh one, so all four land in it.
    left_in_window = 60 - time.time() % 60
    if left_in_window < 20:
        await asyncio.sleep(left_in_window + 0.1)
    answers = []
    for target in (client, second_client, client, second_client):
        answers.append(await target.post(hook.url, json={}, headers=key(hook)))
    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    refused = answers[-1]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.json()["error"]["code"] == "rate_limited"
    assert await count_executions(db) == 3


async def test_rate_limits_are_per_webhook(client: httpx.AsyncClient, make_hook: MakeHook) -> None:
    limited, other = await make_hook(rate_limit_per_minute=1), await make_hook()
    assert (await client.post(limited.url, json={}, headers=key(limited))).status_code == 202
    assert (await client.post(limited.url, json={}, headers=key(limited))).status_code == 429
    assert (await client.post(other.url, json={}, headers=key(other))).status_code == 202


# ----------------------------------------------------------------- idempotency
async def test_same_idempotency_key_returns_the_first_execution(
    client: httpx.AsyncClient, db: Database, hook: Hook
) -> None:
    headers = {**key(hook), "Idempotency-Key": "order-42"}
    first = await client.post(hook.url, json={"n": 1}, headers=headers)
    again = await client.post(hook.url, json={"n": 1}, headers=headers)
    other = await client.post(
        hook.url, json={"n": 1}, headers={**key(hook), "Idempotency-Key": "order-43"}
    )

    assert first.status_code == again.status_code == 202
    assert again.json()["execution_id"] == first.json()["execution_id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert other.json()["execution_id"] != first.json()["execution_id"]
    assert len(await executions_of(db, hook.workflow_id)) == 2


async def test_twenty_concurrent_duplicates_start_exactly_one_execution(
    client: httpx.AsyncClient, db: Database, hook: Hook
) -> None:
    headers = {**key(hook), "Idempotency-Key": "burst-1"}
    answers = await asyncio.gather(
        *(client.post(hook.url, json={"n": 1}, headers=headers) for _ in range(20))
    )
    assert [a.status_code for a in answers] == [202] * 20
    assert len({a.json()["execution_id"] for a in answers}) == 1
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 19
    [execution] = await executions_of(db, hook.workflow_id)
    assert str(execution.id) == answers[0].json()["execution_id"]


async def test_idempotency_key_expires_after_the_window(
    client: httpx.AsyncClient, db: Database, hook: Hook
) -> None:
    headers = {**key(hook), "Idempotency-Key": "daily-report"}
    first = await client.post(hook.url, json={}, headers=headers)
    async with db.transaction() as session:
        await session.execute(
            update(models.IdempotencyKey).values(
                created_at=models.IdempotencyKey.created_at - dt.timedelta(hours=25)
            )
        )
    later = await client.post(hook.url, json={}, headers=headers)
    assert later.json()["execution_id"] != first.json()["execution_id"]
    assert "idempotent-replayed" not in later.headers
    # ...and the key now names the new execution.
    again = await client.post(hook.url, json={}, headers=headers)
    assert again.json()["execution_id"] == later.json()["execution_id"]


async def test_a_refused_delivery_does_not_take_the_idempotency_key(
    client: httpx.AsyncClient, db: Database, make_hook: MakeHook
) -> None:
    hook = await make_hook(schema={"type": "object", "required": ["email"]})
    headers = {**key(hook), "Idempotency-Key": "k1"}
    assert (await client.post(hook.url, json={}, headers=headers)).status_code == 422
    accepted = await client.post(hook.url, json={"email": "a@b.c"}, headers=headers)
    assert accepted.status_code == 202
    assert "idempotent-replayed" not in accepted.headers


async def test_oversized_idempotency_key_is_422(client: httpx.AsyncClient, hook: Hook) -> None:
    response = await client.post(
        hook.url, json={}, headers={**key(hook), "Idempotency-Key": "k" * 256}
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "Idempotency-Key"


# ----------------------------------------------------------------- signatures
async def signed_hook(db: Database, settings: Settings, hook: Hook) -> str:
    async with db.transaction() as session:
        issued = await issue_signing_secret(
            session, hook.owner.actor, hook.id, server_secret=settings.signing_secret()
        )
    return issued.signing_secret


def signed(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if timestamp is None else timestamp
    return {
        "X-Relayflow-Timestamp": str(stamp),
        "X-Relayflow-Signature": compute_signature(secret, stamp, body),
        "Content-Type": "application/json",
    }


async def test_valid_signature_is_accepted(
    client: httpx.AsyncClient, db: Database, settings: Settings, hook: Hook
) -> None:
    secret = await signed_hook(db, settings, hook)
    body = b'{"event": "paid"}'
    response = await client.post(
        hook.url, content=body, headers={**key(hook), **signed(secret, body)}
    )
    assert response.status_code == 202
    [execution] = await executions_of(db, hook.workflow_id)
    assert execution.trigger is not None
    assert execution.trigger["signed"] is True
    assert "x-relayflow-signature" not in execution.trigger["headers"]


async def test_wrong_signature_is_401(
    client: httpx.AsyncClient, db: Database, settings: Settings, hook: Hook
) -> None:
    secret = await signed_hook(db, settings, hook)
    body = b'{"event": "paid"}'
    tampered = await client.post(
        hook.url, content=b'{"event": "refund"}', headers={**key(hook), **signed(secret, body)}
    )
    wrong_secret = await client.post(
        hook.url, content=body, headers={**key(hook), **signed("whsec_guess", body)}
    )
    unsigned = await client.post(
        hook.url, content=body, headers={**key(hook), "Content-Type": "application/json"}
    )
    for response in (tampered, wrong_secret, unsigned):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "signature_invalid"
    assert await count_executions(db) == 0


async def test_stale_timestamp_is_401(
    client: httpx.AsyncClient, db: Database, settings: Settings, hook: Hook
) -> None:
    secret = await signed_hook(db, settings, hook)
    body = b"{}"
    replayed = signed(secret, body, timestamp=int(time.time()) - 600)
    response = await client.post(hook.url, content=body, headers={**key(hook), **replayed})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "signature_invalid"
    assert "stale" in response.json()["error"]["message"]
    assert await count_executions(db) == 0


async def test_rotated_secret_invalidates_the_old_one(
    client: httpx.AsyncClient, db: Database, settings: Settings, hook: Hook
) -> None:
    old = await signed_hook(db, settings, hook)
    new = await signed_hook(db, settings, hook)
    assert old != new
    body = b"{}"
    refused = await client.post(hook.url, content=body, headers={**key(hook), **signed(old, body)})
    accepted = await client.post(hook.url, content=body, headers={**key(hook), **signed(new, body)})
    assert (refused.status_code, accepted.status_code) == (401, 202)
    [execution] = await executions_of(db, hook.workflow_id)
    assert str(execution.id) == accepted.json()["execution_id"]


# ----------------------------------------------------------------- waiting for the outcome
async def test_wait_returns_the_output_when_the_run_finishes_in_time(
    client: httpx.AsyncClient, hook: Hook
) -> None:
    response = await client.post(f"{hook.url}?wait=20", json={"n": 7}, headers=key(hook))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "completed"
    assert body["output"] == {"n": 7}
    assert body["error"] is None
    assert body["status_url"].endswith(body["execution_id"])


async def test_wait_answers_202_when_the_run_is_not_done_in_time(
    client: httpx.AsyncClient, db: Database, make_hook: MakeHook
) -> None:
    # An approval node pauses the run until a person decides: it cannot finish in time.
    hook = await make_hook(
        graph=chain_graph(
            ("input", {}), ("approval", {"message": "ok?"}), ("output", {"value": "{{ input }}"})
        )
    )
    response = await client.post(f"{hook.url}?wait=0.5", json={}, headers=key(hook))
    assert response.status_code == 202
    assert set(response.json()) == {"execution_id", "status_url"}
    [execution] = await executions_of(db, hook.workflow_id)
    assert str(execution.id) == response.json()["execution_id"]


async def test_negative_wait_is_422(client: httpx.AsyncClient, db: Database, hook: Hook) -> None:
    response = await client.post(f"{hook.url}?wait=-1", json={}, headers=key(hook))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert [d["field"] for d in error["details"]] == ["wait"]
    assert await count_executions(db) == 0


async def test_workers_are_woken_at_once_not_at_their_next_poll(
    settings: Settings, db: Database, make_hook: MakeHook
) -> None:
    # Workers that would otherwise look for work only once a minute: the run can only
    # finish within the wait if the accepted delivery woke them.
    slow_poll = settings.model_copy(update={"poll_seconds": 60.0})
    hook = await make_hook()
    application = create_app(slow_poll, db=db)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://testserver"
        ) as client,
    ):
        await asyncio.sleep(0.2)  # let the worker settle into its wait
        first = await client.post(f"{hook.url}?wait=15", json={"n": 1}, headers=key(hook))
        second = await client.post(f"{hook.url}?wait=15", json={"n": 2}, headers=key(hook))
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["output"] == {"n": 2}
