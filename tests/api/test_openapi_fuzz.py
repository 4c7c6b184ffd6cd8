"""Property-based fuzzing of the whole API against its own OpenAPI document.

Schemathesis generates requests for every documented operation (valid ones and
deliberately broken ones) and sends them to the app in process (ASGI, no network),
signed in as a user who owns a workflow, an execution, a webhook, a schedule and an
agent template, so that the operations on ids reach real rows half the time. Every
answer must be a documented status with a documented content type, body and headers,
and never a 5xx. The run is bounded: `RELAYFLOW_FUZZ_EXAMPLES` random examples per
operation (on top of Schemathesis's fixed coverage cases), a fixed seed unless
`RELAYFLOW_FUZZ_SEED` says otherwise, so a failure found in CI reproduces locally.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from relayflow.api.app import create_app
from relayflow.config import Settings
from tests.api.conftest import FUZZ_SUMMARY, PASSWORD, template_body, workflow_body
from tests.conftest import TEST_CREDENTIALS_KEY, TEST_SECRET
from tests.support.databases import BACKEND, DatabaseFactory

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("RELAYFLOW_FUZZ_EXAMPLES", "10"))
SEED = int(os.environ.get("RELAYFLOW_FUZZ_SEED", "20261130"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    unsupported_method,  # a 405, with an Allow header, for a method the path does not have
]
REQUEST_TIMEOUT_S = 30.0  # an event stream that does not end is cut here, not failed


@dataclass
class Seeded:
    """The fuzzing user and the ids of what they own."""

    headers: dict[str, str]
    ids: dict[str, str]
    cases: int = 0
    failures: int = 0  # cases that failed a check (Hypothesis then shrinks them)
    by_status: dict[int, int] = field(default_factory=dict)


def _seed(client: asgi.ASGIClient) -> Seeded:
    def ok(response: Any) -> dict[str, Any]:
        assert response.status_code < 300, response.text
        return dict(response.json())

    # The first account becomes an admin; the fuzzing user is the second, a plain user.
    ok(client.post("/api/v1/auth/register", json={"email": "root@x.io", "password": PASSWORD}))
    ok(client.post("/api/v1/auth/register", json={"email": "fuzz@x.io", "password": PASSWORD}))
    token = ok(client.post("/api/v1/auth/login", json={"email": "fuzz@x.io", "password": PASSWORD}))
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    workflow = ok(client.post("/api/v1/workflows", json=workflow_body(), headers=headers))
    flow = workflow["id"]
    start = f"/api/v1/workflows/{flow}/executions?wait=30"
    execution = ok(client.post(start, json={"input": 1}, headers=headers))
    webhook = ok(client.post(f"/api/v1/workflows/{flow}/webhooks", json={}, headers=headers))
    schedule = ok(
        client.post(f"/api/v1/workflows/{flow}/schedules", json={"cron": "@daily"}, headers=headers)
    )
    template = ok(client.post("/api/v1/agent-templates", json=template_body(), headers=headers))
    ids = {
        "workflow_id": flow,
        "execution_id": execution["id"],
        "webhook_id": webhook["id"],
        "schedule_id": schedule["id"],
        "template_id": template["id"],
    }
    return Seeded(headers=headers, ids=ids)


@pytest.fixture(scope="module")
def fuzz_app(
    request: pytest.FixtureRequest,
    database_factory: DatabaseFactory,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Any, Seeded]]:
    url = asyncio.run(database_factory.fresh_url())
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    app_settings = Settings(
        database_url=url,
        data_dir=data_dir,
        jwt_secret=TEST_SECRET,  # type: ignore[arg-type]
        credentials_key=TEST_CREDENTIALS_KEY,
        migrate_on_start=False,
        login_delay_max_s=0.05,
        web_dist=data_dir / "no-web-build",
    )
    app = create_app(app_settings)
    try:
        # The app's lifespan (database, embedded worker) runs on Schemathesis's event loop
        # thread, where every fuzzed request is served too.
        with asgi.get_client(app) as client:
            seeded = _seed(client)
        yield app, seeded
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(seeded.by_status.items()))
        request.config.stash[FUZZ_SUMMARY] = (
            f"API fuzz ({BACKEND}, seed {SEED}, {EXAMPLES} examples per operation): "
            f"{seeded.cases} cases, {seeded.failures} failing; answers by status {{{statuses}}}"
        )
    finally:
        asgi.shutdown_lifespans()
        asyncio.run(database_factory.drop(url))


def _document() -> dict[str, Any]:
    # The document does not depend on the database or the secret; neither is touched.
    with tempfile.TemporaryDirectory() as data_dir:
        return create_app(
            Settings(
                data_dir=Path(data_dir),
                database_url=f"sqlite:///{data_dir}/openapi.db",
                jwt_secret=TEST_SECRET,  # type: ignore[arg-type]
            )
        ).openapi()


# Loaded at import so that pytest reports one test per operation.
schema = schemathesis.openapi.from_dict(_document())
schema.config.seed = SEED


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_is_documented(case: Any, fuzz_app: tuple[Any, Seeded]) -> None:
    app, seeded = fuzz_app
    seeded.cases += 1
    # Every other case aims at the seeded rows; DELETEs never do, so the rows stay.
    if seeded.cases % 2 == 0 and case.method.upper() != "DELETE":
        for name in case.path_parameters or {}:
            if name in seeded.ids:
                case.path_parameters[name] = seeded.ids[name]
    try:
        response = case.call(app=app, headers=seeded.headers, timeout=REQUEST_TIMEOUT_S)
        seeded.by_status[response.status_code] = seeded.by_status.get(response.status_code, 0) + 1
        case.validate_response(response, checks=CHECKS, headers=seeded.headers)
    except Exception:  # an app error surfaces here in process, as a raised exception
        seeded.failures += 1
        raise
