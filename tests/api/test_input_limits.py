"""Input limits at the API's edge: values no database stores or no serialiser writes
back are refused with a 422 naming the JSON path and the limit, nothing is stored,
and everyone's execution history keeps answering 200 (issue 10, cases 4 and 7)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from relayflow.api.body_parsing import CheckedRoute
from relayflow.api.routes import ROUTERS
from relayflow.config import Settings
from relayflow.store.db import Database
from relayflow.store.models import Execution, Schedule, User, Workflow
from relayflow.stored_json import SERVE_MAX_DEPTH
from tests.api.conftest import PASSWORD, SignedIn, count_rows, workflow_body

DEPTH = "RELAYFLOW_MAX_JSON_DEPTH"


def nested(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def deep_field(root: str, levels_above: int) -> str:
    """The path of a list nested inside `root` under `levels_above` other lists."""
    return root + "[0]" * levels_above


def refusal(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    return error


@pytest.fixture
async def workflow_id(client: httpx.AsyncClient, alice: SignedIn) -> str:
    created = await client.post("/api/v1/workflows", json=workflow_body(), headers=alice.headers)
    assert created.status_code == 201
    return str(created.json()["id"])


@pytest.fixture
async def history_stays_readable(
    client: httpx.AsyncClient, alice: SignedIn, admin: SignedIn
) -> AsyncIterator[None]:
    """After the hostile request: the victim's and the admin's history still answer 200."""
    yield
    for user in (alice, admin):
        listed = await client.get("/api/v1/executions", headers=user.headers)
        assert listed.status_code == 200, listed.text


async def start_raw(
    client: httpx.AsyncClient, user: SignedIn, workflow_id: str, body: bytes
) -> httpx.Response:
    return await client.post(
        f"/api/v1/workflows/{workflow_id}/executions",
        content=body,
        headers={**user.headers, "Content-Type": "application/json"},
    )


# ----------------------------------------------------------------- starting a run
@pytest.mark.usefixtures("history_stays_readable")
@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        # {"input": [[...]]}: the body is level 1, so input's 63rd list is level 65.
        pytest.param(
            b'{"input": ' + nested(900) + b"}",
            "json_too_deep",
            deep_field("input", 63),
            id="900-levels",
        ),
        pytest.param(
            b'{"input": ' + nested(5000) + b"}",
            "json_too_deep",
            deep_field("input", 63),
            id="5000-levels",
        ),
        pytest.param(
            b'{"input": {"text": "a\\u0000b"}}', "invalid_character", "input.text", id="nul"
        ),
        pytest.param(
            b'{"input": {"k\\u0000": 1}}',
            "invalid_character",
            'input["k\\u0000"] (key)',
            id="nul-in-key",
        ),
        pytest.param(b'{"input": ["\\ud800"]}', "invalid_character", "input[0]", id="surrogate"),
        pytest.param(b'{"input": NaN}', "number_out_of_range", "input", id="nan"),
        pytest.param(b'{"input": [1, Infinity]}', "number_out_of_range", "input[1]", id="inf"),
        pytest.param(b'{"input": {"x": 1e999}}', "number_out_of_range", "input.x", id="1e999"),
        pytest.param(
            b'{"input": 18446744073709551616}', "number_out_of_range", "input", id="int-2**64"
        ),
    ],
)
async def test_a_start_with_an_unstorable_input_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient,
    db: Database,
    alice: SignedIn,
    workflow_id: str,
    body: bytes,
    code: str,
    field: str,
) -> None:
    response = await start_raw(client, alice, workflow_id, body)

    error = refusal(response, 422, code)
    assert error["details"][0]["field"] == field
    assert error["message"].startswith(field)
    assert await count_rows(db, Execution) == 0


@pytest.mark.usefixtures("history_stays_readable")
async def test_the_depth_refusal_names_the_limit_and_its_setting(
    client: httpx.AsyncClient, alice: SignedIn, workflow_id: str
) -> None:
    response = await start_raw(client, alice, workflow_id, b'{"input": ' + nested(65) + b"}")

    detail = refusal(response, 422, "json_too_deep")["details"][0]
    assert detail["limit"] == 64
    assert detail["setting"] == DEPTH
    assert "64 levels" in detail["message"]


async def test_the_deepest_accepted_input_runs_and_reads_back(
    client: httpx.AsyncClient, alice: SignedIn, admin: SignedIn, workflow_id: str
) -> None:
    # 64 levels in all: the body object and 63 lists.
    started = await start_raw(client, alice, workflow_id, b'{"input": ' + nested(63) + b"}")
    assert started.status_code == 202, started.text

    for user in (alice, admin):
        detail = await client.get(
            f"/api/v1/executions/{started.json()['id']}", headers=user.headers
        )
        assert detail.status_code == 200
        assert detail.json()["input"] == started.json()["input"]


async def test_a_lower_depth_setting_is_what_the_refusal_names(
    client: httpx.AsyncClient, settings: Settings, alice: SignedIn, workflow_id: str
) -> None:
    settings.max_json_depth = 3

    response = await start_raw(client, alice, workflow_id, b'{"input": {"a": [[1]]}}')

    detail = refusal(response, 422, "json_too_deep")["details"][0]
    assert detail["field"] == "input.a[0]"
    assert detail["limit"] == 3


async def test_a_string_over_the_length_limit_is_refused_naming_the_setting(
    client: httpx.AsyncClient, db: Database, settings: Settings, alice: SignedIn, workflow_id: str
) -> None:
    settings.max_string_length = 10

    response = await start_raw(client, alice, workflow_id, b'{"input": {"note": "12345678901"}}')

    detail = refusal(response, 422, "string_too_long")["details"][0]
    assert detail["field"] == "input.note"
    assert detail["limit"] == 10
    assert detail["setting"] == "RELAYFLOW_MAX_STRING_LENGTH"
    assert await count_rows(db, Execution) == 0


# ----------------------------------------------------------------- names, emails, schedules
@pytest.mark.usefixtures("history_stays_readable")
async def test_a_workflow_name_with_nul_is_refused(
    client: httpx.AsyncClient, db: Database, alice: SignedIn
) -> None:
    before = await count_rows(db, Workflow)
    response = await client.post(
        "/api/v1/workflows",
        json={**workflow_body(), "name": "evil\x00name"},
        headers=alice.headers,
    )

    assert refusal(response, 422, "invalid_character")["details"][0]["field"] == "name"
    assert await count_rows(db, Workflow) == before


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/auth/register", {"email": "a\x00@example.com", "password": PASSWORD}),
        ("/api/v1/auth/login", {"email": "a\x00@example.com", "password": "whatever"}),
    ],
)
async def test_an_email_with_nul_is_refused(
    client: httpx.AsyncClient, db: Database, path: str, body: dict[str, str]
) -> None:
    before = await count_rows(db, User)

    response = await client.post(path, json=body)

    assert refusal(response, 422, "invalid_character")["details"][0]["field"] == "email"
    assert await count_rows(db, User) == before


async def test_a_form_username_with_nul_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/token", data={"username": "a\x00@example.com", "password": "whatever"}
    )

    assert refusal(response, 422, "invalid_character")["details"][0]["field"] == "username"


@pytest.mark.usefixtures("history_stays_readable")
async def test_a_schedule_input_with_nul_is_refused(
    client: httpx.AsyncClient, db: Database, alice: SignedIn, workflow_id: str
) -> None:
    response = await client.post(
        f"/api/v1/workflows/{workflow_id}/schedules",
        json={"cron": "*/5 * * * *", "input": {"note": "a\x00b"}},
        headers=alice.headers,
    )

    assert refusal(response, 422, "invalid_character")["details"][0]["field"] == "input.note"
    assert await count_rows(db, Schedule) == 0


# ----------------------------------------------------------------- query values and headers
@pytest.mark.usefixtures("history_stays_readable")
@pytest.mark.parametrize("field", ["since", "until"])
async def test_a_datetime_out_of_range_in_utc_is_a_422_naming_it(
    client: httpx.AsyncClient, alice: SignedIn, field: str
) -> None:
    value = "0001-01-01T00:00:00+00:02" if field == "since" else "9999-12-31T23:59:00-00:02"

    response = await client.get("/api/v1/executions", params={field: value}, headers=alice.headers)

    error = refusal(response, 422, "invalid_input")
    assert error["details"][0]["field"] == field
    assert "out of range" in error["message"]


@pytest.mark.usefixtures("history_stays_readable")
@pytest.mark.parametrize(
    "value", ["269909584773554595059258722615296", "9223372036854775808", "²", "-1", "1e3"]
)
async def test_a_last_event_id_beyond_the_event_ids_is_refused_before_the_stream(
    client: httpx.AsyncClient, alice: SignedIn, workflow_id: str, value: str
) -> None:
    started = await start_raw(client, alice, workflow_id, b'{"input": 1}')
    url = f"/api/v1/executions/{started.json()['id']}/events"

    # Header values as bytes: a client may send any Latin-1 octets.
    headers = [(k.encode(), v.encode()) for k, v in alice.headers.items()]
    headers.append((b"Last-Event-ID", value.encode("latin-1")))
    by_header = await client.get(url, headers=headers)
    by_query = await client.get(url, params={"last_event_id": value}, headers=alice.headers)

    assert refusal(by_header, 422, "invalid_input")["details"][0]["field"] == "Last-Event-ID"
    assert refusal(by_query, 422, "invalid_input")["details"][0]["field"] == "last_event_id"


# ----------------------------------------------------------------- one mechanism
def test_every_api_route_reads_its_body_through_the_checked_request(app: FastAPI) -> None:
    # A router added without `route_class=CheckedRoute` would bypass the input limits.
    routes = [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]
    routes += [r for r in app.routes if isinstance(r, APIRoute)]
    assert len(routes) > 30
    unchecked = [r.path for r in routes if not isinstance(r, CheckedRoute)]
    assert unchecked == []


def test_the_depth_setting_cannot_exceed_what_is_served_whole() -> None:
    ceiling = Settings.model_fields["max_json_depth"].metadata
    assert any(getattr(m, "le", None) == SERVE_MAX_DEPTH for m in ceiling)
