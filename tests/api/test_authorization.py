"""Who may call what, for every endpoint under /api/v1.

Every route must appear in ENDPOINTS (or OPEN_ENDPOINTS): a new route without
an entry fails `test_every_route_is_in_the_matrix`. Each entry then gets:
- no token, or a bad one: 401;
- another user on the owner's private objects: 404, exactly like an unknown id,
  lists leak none of them, and nothing in the database changes;
- an admin: allowed on everybody's objects;
- a visible object the caller may not change (someone's public workflow, a
  system template): reads succeed, changes are 403 and change nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from relayflow.domain import TokenScope
from relayflow.store.db import Database
from relayflow.store.models import (
    AgentTemplate,
    ApiToken,
    Credential,
    Execution,
    Schedule,
    User,
    Webhook,
    Workflow,
    WorkflowVersion,
)
from relayflow.store.queue.pending import create_pending_execution
from tests.api.conftest import PASSWORD, SignedIn, table_snapshot, template_body, workflow_body

TABLES = (Workflow, WorkflowVersion, AgentTemplate, Webhook, Schedule, Credential)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    body: dict[str, Any] | None = None
    # What the path's id points at: "workflow", "template", "webhook", "schedule",
    # "execution", "token", or None.
    target: str | None = None
    # Only the target's owner (or an admin) may call it, even where others can see the target.
    owner_only: bool = False
    ok: int = 200
    # On someone else's public workflow, an action anyone who can read it may take
    # (starting a run) answers this instead of a read's 200.
    public_ok: int | None = None
    # Path placeholders filled from another of the ids: (placeholder, key in ids).
    aliases: tuple[tuple[str, str], ...] = ()
    # The scope a personal API token needs to call it; None: sign-in tokens only.
    scope: TokenScope | None = TokenScope.READ
    # Path placeholders that are not ids (a version number): (placeholder, value).
    fixed: tuple[tuple[str, str], ...] = ()
    # On a system template, what a user who may not change it gets instead of 403 from
    # an action that makes something of their own (a copy).
    system_ok: int | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.path)

    def url(self, ids: dict[str, str]) -> str:
        values = {**ids, **{name: ids[key] for name, key in self.aliases if key in ids}}
        values.update(self.fixed)
        return self.path.format(**values)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


WF = "/api/v1/workflows/{workflow_id}"
TPL = "/api/v1/agent-templates/{template_id}"
HOOK = "/api/v1/webhooks/{webhook_id}"
SCHEDULE = WF + "/schedules/{schedule_id}"
EXE = "/api/v1/executions/{execution_id}"
TOKEN = "/api/v1/tokens/{token_id}"
CRED = "/api/v1/credentials/{credential_id}"
W_WF, W_HOOK, W_SCHED = (
    TokenScope.WRITE_WORKFLOWS,
    TokenScope.WRITE_WEBHOOKS,
    TokenScope.WRITE_SCHEDULES,
)
VERSION = (("number", "1"),)

ENDPOINTS: list[Endpoint] = [
    Endpoint("GET", "/api/v1/auth/me"),
    Endpoint(
        "POST",
        "/api/v1/auth/password",
        body={"current_password": PASSWORD, "new_password": "a new passphrase"},
        scope=None,
    ),
    Endpoint("GET", "/api/v1/workflows"),
    Endpoint("POST", "/api/v1/workflows", body=workflow_body(), ok=201, scope=W_WF),
    Endpoint("POST", "/api/v1/workflows/validate", body=workflow_body()),
    Endpoint("GET", WF, target="workflow"),
    Endpoint(
        "PUT", WF, body=workflow_body("Replaced"), target="workflow", owner_only=True, scope=W_WF
    ),
    Endpoint("PATCH", WF, body={"name": "Renamed"}, target="workflow", owner_only=True, scope=W_WF),
    Endpoint("DELETE", WF, target="workflow", owner_only=True, ok=204, scope=W_WF),
    Endpoint("GET", WF + "/webhooks", target="workflow", owner_only=True),
    Endpoint(
        "POST", WF + "/webhooks", body={}, target="workflow", owner_only=True, ok=201, scope=W_HOOK
    ),
    Endpoint(
        "PATCH", HOOK, body={"enabled": False}, target="webhook", owner_only=True, scope=W_HOOK
    ),
    Endpoint("POST", HOOK + "/rotate", target="webhook", owner_only=True, scope=W_HOOK),
    Endpoint("DELETE", HOOK, target="webhook", owner_only=True, ok=204, scope=W_HOOK),
    Endpoint(
        "POST",
        HOOK + "/signing-secret",
        body={},
        target="webhook",
        owner_only=True,
        ok=201,
        scope=W_HOOK,
    ),
    Endpoint(
        "DELETE",
        HOOK + "/signing-secret",
        target="webhook",
        owner_only=True,
        ok=204,
        scope=W_HOOK,
    ),
    Endpoint("GET", WF + "/schedules", target="workflow", owner_only=True),
    Endpoint(
        "POST",
        WF + "/schedules",
        body={"cron": "0 * * * *"},
        target="workflow",
        owner_only=True,
        ok=201,
        scope=W_SCHED,
    ),
    Endpoint("GET", SCHEDULE, target="schedule", owner_only=True),
    Endpoint(
        "PATCH",
        SCHEDULE,
        body={"enabled": False},
        target="schedule",
        owner_only=True,
        scope=W_SCHED,
    ),
    Endpoint("DELETE", SCHEDULE, target="schedule", owner_only=True, ok=204, scope=W_SCHED),
    Endpoint("GET", "/api/v1/agent-templates"),
    Endpoint("POST", "/api/v1/agent-templates", body=template_body(), ok=201, scope=W_WF),
    Endpoint("GET", TPL, target="template"),
    Endpoint(
        "PUT",
        TPL,
        body=template_body("Replaced"),
        target="template",
        owner_only=True,
        scope=W_WF,
    ),
    Endpoint(
        "PATCH", TPL, body={"name": "Renamed"}, target="template", owner_only=True, scope=W_WF
    ),
    Endpoint("DELETE", TPL, target="template", owner_only=True, ok=204, scope=W_WF),
    Endpoint("GET", TPL + "/usage", target="template"),
    Endpoint("POST", TPL + "/copy", target="template", ok=201, system_ok=201, scope=W_WF),
    Endpoint(
        "POST",
        WF + "/executions",
        body={"input": 1},
        target="workflow",
        ok=202,
        public_ok=202,
        scope=TokenScope.RUN_START,
    ),
    Endpoint("GET", WF + "/versions", target="workflow", public_ok=200),
    Endpoint("GET", WF + "/versions/{number}", target="workflow", public_ok=200, fixed=VERSION),
    Endpoint(
        "GET",
        WF + "/versions/{a}/diff/{b}",
        target="workflow",
        public_ok=200,
        fixed=(("a", "1"), ("b", "1")),
    ),
    Endpoint(
        "POST",
        WF + "/publish",
        body={"message": "reviewed"},  # the published version's note changes
        target="workflow",
        owner_only=True,
        scope=W_WF,
    ),
    Endpoint(
        "POST",
        WF + "/versions/{number}/restore",
        target="workflow",
        owner_only=True,
        ok=201,
        fixed=VERSION,
        scope=W_WF,
    ),
    Endpoint("GET", "/api/v1/executions"),
    Endpoint("GET", EXE, target="execution"),
    Endpoint("GET", EXE + "/node-runs", target="execution"),
    Endpoint("POST", EXE + "/cancel", target="execution", scope=TokenScope.RUN_CANCEL),
    Endpoint(
        "POST", EXE + "/rerun", body={}, target="execution", ok=202, scope=TokenScope.RUN_START
    ),
    Endpoint(
        "POST",
        EXE + "/approvals/{node_id}",
        body={"approved": True},
        target="execution",
        scope=TokenScope.RUN_APPROVE,
    ),
    # A finished execution's stream ends; a waiting one's would stay open.
    Endpoint(
        "GET",
        EXE + "/events",
        target="execution",
        aliases=(("execution_id", "finished_execution_id"),),
    ),
    Endpoint("GET", "/api/v1/tokens", scope=None),
    Endpoint("POST", "/api/v1/tokens", body={"name": "ci", "scopes": ["read"]}, ok=201, scope=None),
    Endpoint("DELETE", TOKEN, target="token", owner_only=True, ok=204, scope=None),
    Endpoint("GET", "/api/v1/credentials"),
    Endpoint(
        "POST",
        "/api/v1/credentials",
        body={"name": "key", "kind": "openai", "value": "sk-a"},
        ok=201,
        scope=TokenScope.WRITE_CREDENTIALS,
    ),
    Endpoint("GET", CRED, target="credential"),
    # Alice's credential has no base URL: the check goes out to the provider (or fails
    # to), answering 200 either way.
    Endpoint("POST", CRED + "/test", target="credential"),
    Endpoint(
        "PATCH",
        CRED,
        body={"value": "sk-b"},
        target="credential",
        owner_only=True,
        scope=TokenScope.WRITE_CREDENTIALS,
    ),
    Endpoint(
        "DELETE",
        CRED,
        target="credential",
        owner_only=True,
        ok=204,
        scope=TokenScope.WRITE_CREDENTIALS,
    ),
]
# Reachable without a token: signing up and signing in.
OPEN_ENDPOINTS = {
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/token"),
}
TARGETED = [e for e in ENDPOINTS if e.target]
LISTS = [e for e in ENDPOINTS if e.method == "GET" and not e.target]


def ids_of(endpoints: list[Endpoint]) -> list[str]:
    return [str(e) for e in endpoints]


@dataclass
class Objects:
    """Alice's objects, private unless said otherwise."""

    # workflow_id, template_id, webhook_id, schedule_id, execution_id (waiting on node_id),
    # finished_execution_id
    ids: dict[str, str]
    public_workflow_id: str


GATE = "alices-gate"


async def alices_executions(db: Database, workflow_id: str) -> tuple[str, str]:
    """One execution waiting at an approval, one finished, as a worker leaves them."""
    position = {"x": 0, "y": 0}
    graph = {
        "nodes": [
            {"id": "in", "type": "input", "position": position, "data": {}},
            {"id": GATE, "type": "approval", "position": position, "data": {}},
            {"id": "out", "type": "output", "position": position, "data": {"value": "done"}},
        ],
        "edges": [
            {"id": "e1", "source": "in", "target": GATE},
            {"id": "e2", "source": GATE, "target": "out"},
        ],
    }
    async with db.transaction() as session:
        workflow = await session.get(Workflow, uuid.UUID(workflow_id))
        assert workflow is not None
        made = []
        for status in ("waiting", "completed"):
            execution = await create_pending_execution(
                session, workflow=workflow, input={}, trigger={"type": "api"}, user_id=None
            )
            execution.graph, execution.status = graph, status
            execution.waiting_on = [GATE] if status == "waiting" else None
            made.append(str(execution.id))
    return made[0], made[1]


@pytest.fixture
async def alices(client: httpx.AsyncClient, alice: SignedIn, db: Database) -> Objects:
    async def post(path: str, body: dict[str, Any]) -> str:
        response = await client.post(path, json=body, headers=alice.headers)
        assert response.status_code == 201, response.text
        new_id: str = response.json()["id"]
        return new_id

    workflow_id = await post("/api/v1/workflows", workflow_body("Alice's private"))
    public_id = await post("/api/v1/workflows", workflow_body("Alice's public", is_public=True))
    template_id = await post("/api/v1/agent-templates", template_body("Alice's agent"))
    webhook_id = await post(f"/api/v1/workflows/{workflow_id}/webhooks", {"name": "hook"})
    schedule_id = await post(f"/api/v1/workflows/{workflow_id}/schedules", {"cron": "0 * * * *"})
    execution_id, finished_execution_id = await alices_executions(db, workflow_id)
    token_id = await post("/api/v1/tokens", {"name": "Alice's token", "scopes": ["read"]})
    credential_id = await post(
        "/api/v1/credentials", {"name": "Alice's key", "kind": "openai", "value": "sk-alice"}
    )
    return Objects(
        ids={
            "workflow_id": workflow_id,
            "template_id": template_id,
            "webhook_id": webhook_id,
            "schedule_id": schedule_id,
            "execution_id": execution_id,
            "node_id": GATE,
            "finished_execution_id": finished_execution_id,
            "token_id": token_id,
            "credential_id": credential_id,
        },
        public_workflow_id=public_id,
    )


def test_every_route_is_in_the_matrix(app: FastAPI) -> None:
    routes = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/api/v1/")
        for method in operations
    }
    covered = {e.key for e in ENDPOINTS} | OPEN_ENDPOINTS
    missing, stale = sorted(routes - covered), sorted(covered - routes)
    assert not missing, (
        f"add these routes to ENDPOINTS in tests/api/test_authorization.py: {missing}"
    )
    assert not stale, f"these ENDPOINTS entries match no route: {stale}"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ids_of(ENDPOINTS))
async def test_without_a_valid_token_every_endpoint_is_401(
    client: httpx.AsyncClient, db: Database, alices: Objects, endpoint: Endpoint
) -> None:
    before = await table_snapshot(db, *TABLES)

    for authorization in (None, "Bearer not-a-token", "Basic YTpi"):
        headers = {"Authorization": authorization} if authorization else {}
        response = await client.request(
            endpoint.method, endpoint.url(alices.ids), json=endpoint.body, headers=headers
        )
        assert response.status_code == 401, (authorization, response.text)
        assert response.json()["error"]["code"] == "unauthorized"

    assert await table_snapshot(db, *TABLES) == before


@pytest.mark.parametrize("endpoint", TARGETED, ids=ids_of(TARGETED))
async def test_another_users_private_objects_answer_404(
    client: httpx.AsyncClient, db: Database, alices: Objects, bob: SignedIn, endpoint: Endpoint
) -> None:
    before = await table_snapshot(db, *TABLES)

    response = await client.request(
        endpoint.method, endpoint.url(alices.ids), json=endpoint.body, headers=bob.headers
    )

    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "not_found"
    assert await table_snapshot(db, *TABLES) == before


@pytest.mark.parametrize("endpoint", TARGETED, ids=ids_of(TARGETED))
async def test_unknown_ids_answer_exactly_like_foreign_ones(
    client: httpx.AsyncClient, alices: Objects, bob: SignedIn, endpoint: Endpoint
) -> None:
    unknown = dict.fromkeys(alices.ids, "00000000-0000-4000-8000-000000000000")

    foreign = await client.request(
        endpoint.method, endpoint.url(alices.ids), json=endpoint.body, headers=bob.headers
    )
    missing = await client.request(
        endpoint.method, endpoint.url(unknown), json=endpoint.body, headers=bob.headers
    )

    assert foreign.status_code == missing.status_code == 404
    for answer, ids in ((foreign, alices.ids), (missing, unknown)):
        message = answer.json()["error"]["message"]
        for value in ids.values():
            message = message.replace(value, "<id>")
        assert message.endswith("<id> not found")


@pytest.mark.parametrize("endpoint", LISTS, ids=ids_of(LISTS))
async def test_lists_show_nothing_of_another_users_private_objects(
    client: httpx.AsyncClient, alices: Objects, bob: SignedIn, endpoint: Endpoint
) -> None:
    response = await client.request(endpoint.method, endpoint.url({}), headers=bob.headers)

    assert response.status_code == 200
    for value in alices.ids.values():
        assert value not in response.text


def as_seen(response: httpx.Response) -> Any:
    """An answer without what depends on who asks (`owned`)."""
    if not response.headers["content-type"].startswith("application/json"):
        return response.text
    body = response.json()
    if isinstance(body, dict):
        body.pop("owned", None)
    return body


# Changes nothing stored, whoever calls it.
NOTHING_STORED = {("POST", "/api/v1/workflows/validate"), ("POST", CRED + "/test")}


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ids_of(ENDPOINTS))
async def test_admin_may_use_every_endpoint_on_anyones_objects(
    client: httpx.AsyncClient,
    db: Database,
    alices: Objects,
    alice: SignedIn,
    admin: SignedIn,
    endpoint: Endpoint,
) -> None:
    url = endpoint.url(alices.ids)
    owners_view = await client.get(url, headers=alice.headers) if endpoint.target else None
    before = await table_snapshot(db, *TABLES, Execution, User, ApiToken)

    response = await client.request(endpoint.method, url, json=endpoint.body, headers=admin.headers)

    assert response.status_code == endpoint.ok, response.text
    changed = await table_snapshot(db, *TABLES, Execution, User, ApiToken) != before
    if endpoint.method == "GET":
        assert not changed
        if owners_view is not None:  # the admin sees alice's object as she does
            assert owners_view.status_code == 200
            assert as_seen(response) == as_seen(owners_view)
    elif endpoint.key in NOTHING_STORED:
        assert not changed
    else:  # the admin's change took effect
        assert changed


# A schedule's path names its workflow, so the public workflow's owner check applies first.
WORKFLOW_ENDPOINTS = [e for e in TARGETED if e.target in ("workflow", "schedule")]


@pytest.mark.parametrize("endpoint", WORKFLOW_ENDPOINTS, ids=ids_of(WORKFLOW_ENDPOINTS))
async def test_public_workflows_are_readable_but_not_changeable_by_others(
    client: httpx.AsyncClient, db: Database, alices: Objects, bob: SignedIn, endpoint: Endpoint
) -> None:
    before = await table_snapshot(db, *TABLES)
    ids = {**alices.ids, "workflow_id": alices.public_workflow_id}

    response = await client.request(
        endpoint.method, endpoint.url(ids), json=endpoint.body, headers=bob.headers
    )

    if endpoint.owner_only:
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "forbidden"
        assert "owner" in response.json()["error"]["message"]
    elif endpoint.public_ok is not None:
        assert response.status_code == endpoint.public_ok, response.text
    else:
        assert response.status_code == 200, response.text
        assert response.json()["owned"] is False
    assert await table_snapshot(db, *TABLES) == before


TEMPLATE_ENDPOINTS = [e for e in TARGETED if e.target == "template"]


@pytest.mark.parametrize("endpoint", TEMPLATE_ENDPOINTS, ids=ids_of(TEMPLATE_ENDPOINTS))
async def test_system_templates_are_readable_but_not_changeable_by_users(
    client: httpx.AsyncClient, db: Database, alices: Objects, bob: SignedIn, endpoint: Endpoint
) -> None:
    system = await client.get(
        "/api/v1/agent-templates", params={"scope": "system", "limit": 1}, headers=bob.headers
    )
    ids = {**alices.ids, "template_id": system.json()["items"][0]["id"]}
    before = await table_snapshot(db, *TABLES)

    response = await client.request(
        endpoint.method, endpoint.url(ids), json=endpoint.body, headers=bob.headers
    )

    if endpoint.system_ok is not None:  # bob's own copy; the system template is unchanged
        assert response.status_code == endpoint.system_ok, response.text
        assert response.json()["user_id"] == str(bob.id)
        after = await table_snapshot(db, *TABLES)
        assert all(row in after["agent_templates"] for row in before["agent_templates"])
        return
    if endpoint.owner_only:
        assert response.status_code == 403, response.text
        assert "only admins" in response.json()["error"]["message"]
    else:
        assert response.status_code == 200, response.text
        assert response.json().get("is_system", True) is True
    assert await table_snapshot(db, *TABLES) == before


# ---------------------------------------------------------------- personal API tokens
# A column per scope: a token holding any one scope but the endpoint's own, or every
# scope but that one, is refused (403, nothing changes); the endpoint's own scope alone
# is enough. Endpoints with no scope (managing tokens) refuse every API token.


async def api_token(client: httpx.AsyncClient, user: SignedIn, scopes: list[str]) -> dict[str, str]:
    response = await client.post(
        "/api/v1/tokens", json={"name": "matrix", "scopes": scopes}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ids_of(ENDPOINTS))
async def test_api_tokens_need_the_endpoints_scope(
    client: httpx.AsyncClient, db: Database, alices: Objects, alice: SignedIn, endpoint: Endpoint
) -> None:
    others = [s.value for s in TokenScope if s is not endpoint.scope]
    refused = [[scope] for scope in others] + [others]
    before = await table_snapshot(db, *TABLES)

    for scopes in refused:
        headers = await api_token(client, alice, scopes)
        response = await client.request(
            endpoint.method, endpoint.url(alices.ids), json=endpoint.body, headers=headers
        )
        assert response.status_code == 403, (scopes, response.text)
        assert response.json()["error"]["code"] == "forbidden"
        assert await table_snapshot(db, *TABLES) == before

    if endpoint.scope is not None:
        headers = await api_token(client, alice, [endpoint.scope.value])
        response = await client.request(
            endpoint.method, endpoint.url(alices.ids), json=endpoint.body, headers=headers
        )
        assert response.status_code == endpoint.ok, response.text
