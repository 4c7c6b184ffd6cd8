"""Agents run with their runner's credentials, against a fake OpenAI-compatible server
that checks the key it receives; others' credentials cannot be used, read or named."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from relayflow.agents.runner import ModelAgentRunner
from relayflow.cli_accounts import rotate
from relayflow.config import Settings
from relayflow.engine.ports import AgentProfile, AgentRequest
from relayflow.runtime.run_credentials import Redactor, RunCredentials
from relayflow.store.db import Database
from relayflow.vault import new_key
from tests.api.conftest import SignedIn
from tests.support.fake_openai import FakeOpenAI
from tests.support.http_server import ReceivedRequest, Reply
from tests.support.rows import chain_graph

ALICE_KEY = "sk-alice-own-key-5c1e9a7f3b"
SHARED_KEY = "sk-shared-admin-key-0d4b8f2a6e"


class KeyedFakeOpenAI(FakeOpenAI):
    """Accepts only the keys it was given, and says which one each request carried."""

    api_key = None

    def __init__(self, *keys: str) -> None:
        super().__init__()
        self.keys = set(keys)

    def refuse(self, request: ReceivedRequest) -> Reply | None:
        if request.headers.get("authorization") in {f"Bearer {k}" for k in self.keys}:
            return None
        return Reply.json({"error": {"message": "bad key", "code": "invalid_api_key"}}, 401)

    def keys_received(self) -> list[str]:
        return [str(r.headers.get("authorization")).removeprefix("Bearer ") for r in self.requests]


@pytest.fixture
async def fake() -> AsyncIterator[KeyedFakeOpenAI]:
    server = KeyedFakeOpenAI(ALICE_KEY, SHARED_KEY)
    await server.start()
    yield server
    await server.stop()


def agent_graph(credential_id: str) -> dict[str, Any]:
    return chain_graph(
        ("input", {}),
        (
            "agent",
            {
                "model": "openai:gpt-4o-mini",
                "credential_id": credential_id,
                "prompt": "{{ input }}",
            },
        ),
        ("output", {"value": "{{ nodes.n1.output }}"}),
    )


async def add_credential(
    client: httpx.AsyncClient, user: SignedIn, base_url: str, key: str, **extra: Any
) -> str:
    body = {"name": "my server", "kind": "openai_compatible", "base_url": base_url, "value": key}
    response = await client.post(
        "/api/v1/credentials", json={**body, **extra}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def save(
    client: httpx.AsyncClient, user: SignedIn, graph: dict[str, Any], **extra: Any
) -> httpx.Response:
    return await client.post(
        "/api/v1/workflows", json={"name": "agent", **graph, **extra}, headers=user.headers
    )


async def run(client: httpx.AsyncClient, user: SignedIn, workflow_id: str) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/workflows/{workflow_id}/executions?wait=30",
        json={"input": "hello"},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    finished: dict[str, Any] = response.json()
    return finished


async def test_an_agent_runs_with_the_key_of_its_users_own_credential(
    client: httpx.AsyncClient, alice: SignedIn, fake: KeyedFakeOpenAI
) -> None:
    credential_id = await add_credential(client, alice, fake.base_url, ALICE_KEY)
    saved = await save(client, alice, agent_graph(credential_id))
    assert saved.status_code == 201, saved.text
    fake.reply_text("hi from alice's server")

    finished = await run(client, alice, saved.json()["id"])

    assert finished["status"] == "completed", finished
    assert finished["output"] == "hi from alice's server"
    assert fake.keys_received() == [ALICE_KEY]


async def test_another_user_cannot_read_reference_or_use_it(
    client: httpx.AsyncClient, alice: SignedIn, bob: SignedIn, fake: KeyedFakeOpenAI
) -> None:
    credential_id = await add_credential(client, alice, fake.base_url, ALICE_KEY)
    public = await save(client, alice, agent_graph(credential_id), is_public=True)
    fake.reply_text("never sent")

    read = await client.get(f"/api/v1/credentials/{credential_id}", headers=bob.headers)
    referenced = await save(client, bob, agent_graph(credential_id))
    used = await run(client, bob, public.json()["id"])  # a public workflow: bob's credentials

    assert read.status_code == 404
    assert referenced.status_code == 404
    assert referenced.json()["error"]["message"] == f"credential {credential_id} not found"
    assert used["status"] == "failed"
    assert f"credential {credential_id} not found" in used["error"]
    assert fake.requests == []


async def test_a_shared_admin_credential_works_for_everyone(
    client: httpx.AsyncClient,
    alice: SignedIn,
    bob: SignedIn,
    admin: SignedIn,
    fake: KeyedFakeOpenAI,
) -> None:
    shared_id = await add_credential(client, admin, fake.base_url, SHARED_KEY, shared=True)
    for user in (alice, bob):
        saved = await save(client, user, agent_graph(shared_id))
        assert saved.status_code == 201, saved.text
        fake.reply_text(f"hi {user.email}")

        finished = await run(client, user, saved.json()["id"])

        assert finished["output"] == f"hi {user.email}"
    assert fake.keys_received() == [SHARED_KEY, SHARED_KEY]


async def test_a_model_without_a_usable_key_or_provider_is_a_problem_at_save(
    client: httpx.AsyncClient, alice: SignedIn, fake: KeyedFakeOpenAI
) -> None:
    http_credential = await client.post(
        "/api/v1/credentials",
        json={"name": "hook", "kind": "http_bearer", "value": "t" * 20},
        headers=alice.headers,
    )
    cases = [
        ("nope:thing", None, "unknown model provider 'nope'"),
        ("openai:gpt-4o", None, "pick a credential or set RELAYFLOW_OPENAI_API_KEY"),
        ("anthropic:claude", await add_credential(client, alice, fake.base_url, "k"), "cannot"),
        ("openai:gpt-4o", http_credential.json()["id"], "not a model provider credential"),
    ]
    for model, credential_id, message in cases:
        data: dict[str, Any] = {"model": model, "prompt": "hi"}
        if credential_id:
            data["credential_id"] = credential_id
        graph = chain_graph(("input", {}), ("agent", data), ("output", {"value": "x"}))

        response = await save(client, alice, graph)

        assert response.status_code == 422, response.text
        assert message in response.text
        assert response.json()["error"]["details"][0]["node_id"] == "n1"


async def test_rotating_the_key_keeps_every_credential_usable(
    settings: Settings,
    db: Database,
    client: httpx.AsyncClient,
    alice: SignedIn,
    admin: SignedIn,
    fake: KeyedFakeOpenAI,
) -> None:
    own = await add_credential(client, alice, fake.base_url, ALICE_KEY)
    shared = await add_credential(client, admin, fake.base_url, SHARED_KEY, shared=True)
    assert settings.credentials_key is not None
    fresh = new_key()
    # Step 1: the new key in place, the old one still accepted; re-encrypt everything.
    during = settings.model_copy(
        update={
            "credentials_key": type(settings.credentials_key)(fresh),
            "credentials_previous_keys": [settings.credentials_key],
        }
    )
    assert await rotate(during) == 2
    # Step 2: only the new key. (Checked beside the app, whose worker keeps the old key.)
    after = settings.model_copy(update={"credentials_key": type(settings.credentials_key)(fresh)})
    agents = ModelAgentRunner(after)
    try:
        for credential_id in (own, shared):
            source = RunCredentials(db, after, alice.id, Redactor())
            profile = AgentProfile(
                id=None,
                name="writer",
                role="assistant",
                model="openai:gpt-4o-mini",
                credential=await source.provider(credential_id),
            )
            fake.reply_text("still works")
            result = await agents.run(AgentRequest(node_id="n1", profile=profile, prompt="hi"))
            assert result.output == "still works"
    finally:
        await agents.aclose()
    assert fake.keys_received() == [ALICE_KEY, SHARED_KEY]


async def test_an_agent_template_carries_its_credential(
    client: httpx.AsyncClient, alice: SignedIn, bob: SignedIn, fake: KeyedFakeOpenAI
) -> None:
    credential_id = await add_credential(client, alice, fake.base_url, ALICE_KEY)
    template = {
        "name": "Writer",
        "role": "writer",
        "model": "openai:gpt-4o-mini",
        "credential_id": credential_id,
    }
    made = await client.post("/api/v1/agent-templates", json=template, headers=alice.headers)
    foreign = await client.post("/api/v1/agent-templates", json=template, headers=bob.headers)
    graph = chain_graph(
        ("input", {}),
        ("agent", {"template_id": made.json()["id"], "prompt": "{{ input }}"}),
        ("output", {"value": "{{ nodes.n1.output }}"}),
    )
    saved = await save(client, alice, graph)
    fake.reply_text("from the template")

    finished = await run(client, alice, saved.json()["id"])

    assert made.json()["credential_id"] == credential_id
    assert foreign.status_code == 404
    assert finished["output"] == "from the template"
    assert fake.keys_received() == [ALICE_KEY]
