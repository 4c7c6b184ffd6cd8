"""Webhook deliveries under the input limits: every unstorable body, query value or
header answers a clear 4xx naming the field, starts nothing, and the owner's and the
admin's execution history keep answering 200 (issue 10, cases 4 and 7)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from relayflow.config import Settings
from relayflow.domain import Role
from relayflow.signatures import compute_signature
from relayflow.store.db import Database
from relayflow.store.webhook_triggers import issue_signing_secret
from tests.triggers.conftest import Hook, MakeOwner, count_executions


def nested(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def headers_of(hook: Hook, content_type: str | None = "application/json") -> dict[str, str]:
    headers = {"X-API-Key": hook.key}
    if content_type:
        headers["Content-Type"] = content_type
    return headers


def refusal(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    return error


@pytest.fixture
async def nothing_started_and_history_readable(
    client: httpx.AsyncClient, db: Database, hook: Hook, make_owner: MakeOwner
) -> AsyncIterator[None]:
    admin = await make_owner(Role.ADMIN)
    yield
    assert await count_executions(db) == 0
    for headers in (hook.owner.headers, admin.headers):
        listed = await client.get("/api/v1/executions", headers=headers)
        assert listed.status_code == 200, listed.text


@pytest.mark.usefixtures("nothing_started_and_history_readable")
@pytest.mark.parametrize(
    ("content_type", "body", "code", "field"),
    [
        # The body is the input: its outermost list is level 1, so [0]*64 is level 65.
        ("application/json", nested(5000), "json_too_deep", "input" + "[0]" * 64),
        ("application/json", nested(900), "json_too_deep", "input" + "[0]" * 64),
        (None, nested(5000), "json_too_deep", "input" + "[0]" * 64),
        ("application/json", b'{"a": "x\\u0000"}', "invalid_character", "input.a"),
        ("application/json", b'{"a": "\\udc00"}', "invalid_character", "input.a"),
        ("application/json", b'{"a": NaN}', "number_out_of_range", "input.a"),
        ("application/json", b"[Infinity]", "number_out_of_range", "input[0]"),
        (None, b'{"n": 1e999}', "number_out_of_range", "input.n"),
        ("text/plain", b"a\x00b", "invalid_character", "input"),
        ("application/x-www-form-urlencoded", b"a=1&b=%00", "invalid_character", "input.b"),
        (
            "application/x-www-form-urlencoded",
            b"a%00=1",
            "invalid_character",
            'input["a\\u0000"] (name)',
        ),
    ],
    ids=[
        "json-5000-levels",
        "json-900-levels",
        "untyped-5000-levels",
        "json-nul",
        "json-lone-surrogate",
        "json-nan",
        "json-infinity",
        "untyped-1e999",
        "text-nul",
        "form-nul-value",
        "form-nul-name",
    ],
)
async def test_an_unstorable_body_is_refused_naming_the_field(
    client: httpx.AsyncClient,
    hook: Hook,
    content_type: str | None,
    body: bytes,
    code: str,
    field: str,
) -> None:
    response = await client.post(hook.url, content=body, headers=headers_of(hook, content_type))

    detail = refusal(response, 422, code)["details"][0]
    assert detail["field"] == field
    if code == "json_too_deep":
        assert detail["limit"] == 64
        assert detail["setting"] == "RELAYFLOW_MAX_JSON_DEPTH"


@pytest.mark.usefixtures("nothing_started_and_history_readable")
async def test_a_multipart_field_with_nul_is_refused(client: httpx.AsyncClient, hook: Hook) -> None:
    response = await client.post(
        hook.url, data={"name": "Ada", "note": "a\x00b"}, files={}, headers=headers_of(hook, None)
    )

    assert refusal(response, 422, "invalid_character")["details"][0]["field"] == "input.note"


@pytest.mark.usefixtures("nothing_started_and_history_readable")
async def test_a_query_value_with_nul_is_refused(client: httpx.AsyncClient, hook: Hook) -> None:
    # Query values are kept in the execution's trigger, so they are checked like input.
    response = await client.post(f"{hook.url}?source=a%00b", json={}, headers=headers_of(hook))

    assert refusal(response, 422, "invalid_character")["details"][0]["field"] == "query.source"


@pytest.mark.usefixtures("nothing_started_and_history_readable")
async def test_a_string_over_the_length_limit_is_refused(
    client: httpx.AsyncClient, settings: Settings, hook: Hook
) -> None:
    settings.max_string_length = 8

    response = await client.post(
        hook.url, content=b'{"text": "123456789"}', headers=headers_of(hook)
    )

    detail = refusal(response, 422, "string_too_long")["details"][0]
    assert (detail["field"], detail["limit"]) == ("input.text", 8)
    assert detail["setting"] == "RELAYFLOW_MAX_STRING_LENGTH"


@pytest.mark.usefixtures("nothing_started_and_history_readable")
@pytest.mark.parametrize(
    "timestamp",
    [b"\xb2", b"4" * 400, b"4" * 5000, b"17\xb9\xb2", b"-1", b"1e9"],
    ids=["superscript-two", "400-digits", "5000-digits", "superscripts", "negative", "float"],
)
async def test_a_timestamp_that_is_not_a_few_ascii_digits_is_a_401(
    client: httpx.AsyncClient, db: Database, settings: Settings, hook: Hook, timestamp: bytes
) -> None:
    async with db.transaction() as session:
        issued = await issue_signing_secret(
            session, hook.owner.actor, hook.id, server_secret=settings.signing_secret()
        )
    body = b'{"event": "paid"}'
    signature = compute_signature(issued.signing_secret, int(time.time()), body)
    headers = [(k.encode(), v.encode()) for k, v in headers_of(hook).items()]
    headers += [
        (b"X-Relayflow-Timestamp", timestamp),
        (b"X-Relayflow-Signature", signature.encode()),
    ]

    response = await client.post(hook.url, content=body, headers=headers)

    error = refusal(response, 401, "signature_invalid")
    assert error["details"] == {"reason": "bad_timestamp"}
    assert "X-Relayflow-Timestamp" in error["message"]
