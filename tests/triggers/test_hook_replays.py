"""Webhook semantics like Stripe's (issue 10, case 9): a signed delivery is accepted
once, and an Idempotency-Key stands for one request (method, path and body)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import httpx
import pytest
from sqlalchemy import select

from relayflow.config import Settings
from relayflow.signatures import compute_signature
from relayflow.store import models
from relayflow.store.db import Database
from relayflow.store.webhook_triggers import issue_signing_secret
from tests.triggers.conftest import Hook, count_executions, executions_of


@pytest.fixture
async def secret(db: Database, settings: Settings, hook: Hook) -> str:
    async with db.transaction() as session:
        issued = await issue_signing_secret(
            session, hook.owner.actor, hook.id, server_secret=settings.signing_secret()
        )
    return issued.signing_secret


def signed(hook: Hook, secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if timestamp is None else timestamp
    return {
        "X-API-Key": hook.key,
        "Content-Type": "application/json",
        "X-Relayflow-Timestamp": str(stamp),
        "X-Relayflow-Signature": compute_signature(secret, stamp, body),
    }


# ----------------------------------------------------------------- signatures: once
async def test_a_replayed_signed_delivery_is_409_and_starts_nothing(
    client: httpx.AsyncClient, db: Database, hook: Hook, secret: str
) -> None:
    body = b'{"event": "paid"}'
    headers = signed(hook, secret, body)

    first = await client.post(hook.url, content=body, headers=headers)
    replay = await client.post(hook.url, content=body, headers=headers)
    # Even asking to wait for the outcome (the query is not signed) changes nothing.
    replay_waiting = await client.post(f"{hook.url}?wait=1", content=body, headers=headers)

    assert first.status_code == 202
    for response in (replay, replay_waiting):
        assert response.status_code == 409
        error = response.json()["error"]
        assert error["code"] == "signature_replayed"
        assert "fresh X-Relayflow-Timestamp" in error["message"]
        assert "output" not in response.json()
    assert await count_executions(db) == 1


async def test_a_signed_retry_with_its_idempotency_key_gets_the_first_execution(
    client: httpx.AsyncClient, db: Database, hook: Hook, secret: str
) -> None:
    body = b'{"event": "paid"}'
    headers = {**signed(hook, secret, body), "Idempotency-Key": "evt-1"}

    first = await client.post(hook.url, content=body, headers=headers)
    retry = await client.post(hook.url, content=body, headers=headers)
    # The same signature under a key that holds nothing would start a second run: refused.
    other_key = await client.post(
        hook.url, content=body, headers={**headers, "Idempotency-Key": "evt-2"}
    )

    assert (first.status_code, retry.status_code) == (202, 202)
    assert retry.json()["execution_id"] == first.json()["execution_id"]
    assert retry.headers["idempotent-replayed"] == "true"
    assert other_key.status_code == 409
    assert await count_executions(db) == 1


async def test_concurrent_copies_of_one_signed_delivery_start_one_execution(
    client: httpx.AsyncClient, db: Database, hook: Hook, secret: str
) -> None:
    body = b'{"event": "paid"}'
    headers = signed(hook, secret, body)

    answers = await asyncio.gather(
        *(client.post(hook.url, content=body, headers=headers) for _ in range(10))
    )

    assert sorted(a.status_code for a in answers) == [202] + [409] * 9
    assert await count_executions(db) == 1


async def test_a_retry_signed_afresh_is_accepted(
    client: httpx.AsyncClient, db: Database, hook: Hook, secret: str
) -> None:
    body = b'{"event": "paid"}'
    now = int(time.time())
    first = await client.post(hook.url, content=body, headers=signed(hook, secret, body, now - 1))
    retry = await client.post(hook.url, content=body, headers=signed(hook, secret, body, now))

    assert (first.status_code, retry.status_code) == (202, 202)
    assert await count_executions(db) == 2


async def test_the_replay_record_lasts_as_long_as_the_signature_is_valid(
    client: httpx.AsyncClient, db: Database, settings: Settings, hook: Hook, secret: str
) -> None:
    body = b"{}"
    stamp = int(time.time())
    await client.post(hook.url, content=body, headers=signed(hook, secret, body, stamp))

    async with db.session() as session:
        [row] = (await session.scalars(select(models.SeenSignature))).all()
    assert row.webhook_id == hook.id
    assert row.signature == compute_signature(secret, stamp, body)
    valid_until = stamp + settings.webhook_signature_tolerance_s
    expires = row.expires_at.replace(tzinfo=dt.UTC).timestamp()  # stored as naive UTC
    assert valid_until < expires <= valid_until + 2


# ----------------------------------------------------------------- idempotency keys
async def test_a_key_reused_with_another_body_is_422_naming_the_key(
    client: httpx.AsyncClient, db: Database, hook: Hook
) -> None:
    headers = {"X-API-Key": hook.key, "Idempotency-Key": "order-42"}
    first = await client.post(hook.url, json={"amount": 10}, headers=headers)
    same = await client.post(hook.url, json={"amount": 10}, headers=headers)
    different = await client.post(hook.url, json={"amount": 99}, headers=headers)

    assert first.status_code == same.status_code == 202
    assert same.json()["execution_id"] == first.json()["execution_id"]
    assert same.headers["idempotent-replayed"] == "true"
    assert different.status_code == 422
    error = different.json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert "order-42" in error["message"]
    assert error["details"][0]["field"] == "Idempotency-Key"
    assert error["details"][0]["key"] == "order-42"
    [execution] = await executions_of(db, hook.workflow_id)
    assert execution.input == {"amount": 10}


async def test_concurrent_reuses_of_a_key_with_two_bodies_replay_or_refuse(
    client: httpx.AsyncClient, db: Database, hook: Hook
) -> None:
    headers = {"X-API-Key": hook.key, "Idempotency-Key": "race"}
    bodies = [{"amount": n % 2} for n in range(12)]

    answers = await asyncio.gather(
        *(client.post(hook.url, json=b, headers=headers) for b in bodies)
    )

    [execution] = await executions_of(db, hook.workflow_id)
    for body, answer in zip(bodies, answers, strict=True):
        if body == execution.input:
            assert answer.status_code == 202
            assert answer.json()["execution_id"] == str(execution.id)
        else:
            assert answer.status_code == 422
            assert answer.json()["error"]["code"] == "idempotency_key_reused"
