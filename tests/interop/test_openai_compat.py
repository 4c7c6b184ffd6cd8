"""The OpenAI-compatible API (issue 16): the official `openai` SDK talks to a real server."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import openai
import pytest
from sqlalchemy import select

from relayflow.config import Settings
from relayflow.domain import TokenScope
from relayflow.store import api_tokens, models
from relayflow.store.db import Database
from tests.support.rows import chain_graph

from .conftest import User, new_user, offered_workflow

ECHO_GRAPH = chain_graph(
    ("input", {}),
    (
        "agent",
        {"model": "test:echo", "prompt": "{{ input.message }} ({{ input.messages|length }})"},
    ),
    ("output", {"value": "{{ nodes.n1.output }}"}),
)


def client_for(base_url: str, token: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{base_url}/v1", api_key=token, max_retries=0)


async def executions_of(db: Database, workflow_id: uuid.UUID) -> list[models.Execution]:
    async with db.session() as session:
        query = select(models.Execution).where(models.Execution.workflow_id == workflow_id)
        return list((await session.scalars(query)).all())


async def test_the_openai_sdk_gets_a_completion_and_a_stream_from_a_workflow(
    base_url: str, db: Database, settings: Settings
) -> None:
    alice = await new_user(db, settings)
    workflow = await offered_workflow(db, alice, graph=ECHO_GRAPH, chat_model=True)
    await offered_workflow(db, alice, name="not offered")
    client = client_for(base_url, alice.token)
    model = f"workflow/{workflow.id}"

    assert [m.id for m in (await client.models.list()).data] == [model]

    messages: list[openai.types.chat.ChatCompletionMessageParam] = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "hi"},
        {"role": "user", "content": "how are you?"},
    ]
    completion = await client.chat.completions.create(model=model, messages=messages)
    text = completion.choices[0].message.content
    assert completion.choices[0].message.role == "assistant"
    assert text is not None
    assert "echo: how are you? (4)" in text
    assert completion.choices[0].finish_reason == "stop"

    (run,) = await executions_of(db, workflow.id)  # in the history, like any run
    assert run.status == "completed"
    assert run.input == {
        "message": "how are you?",
        "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
    }
    assert completion.id == f"chatcmpl-{run.id}"
    assert completion.usage is not None
    assert completion.usage.total_tokens == run.input_tokens + run.output_tokens

    stream = await client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "stream me"}], stream=True
    )
    pieces, usage = [], None
    async for chunk in stream:
        pieces += [c.delta.content or "" for c in chunk.choices]
        usage = chunk.usage or usage
    assert "echo: stream me (1)" in "".join(pieces)
    assert usage is not None
    assert len(await executions_of(db, workflow.id)) == 2


async def test_another_users_workflows_never_appear_or_run(
    base_url: str, db: Database, settings: Settings
) -> None:
    alice, mallory = await new_user(db, settings), await new_user(db, settings)
    private = await offered_workflow(db, alice, chat_model=True)
    public = await offered_workflow(db, alice, chat_model=True)
    async with db.transaction() as session:
        row = await session.get(models.Workflow, public.id)
        assert row is not None
        row.is_public = True
    client = client_for(base_url, mallory.token)

    assert (await client.models.list()).data == []
    for workflow in (private, public):
        with pytest.raises(openai.NotFoundError) as caught:
            await client.chat.completions.create(
                model=f"workflow/{workflow.id}", messages=[{"role": "user", "content": "x"}]
            )
        body = caught.value.body
        assert isinstance(body, dict)
        assert {"message", "type", "code"} <= set(body)
        assert await executions_of(db, workflow.id) == []


async def test_errors_have_openais_shape(base_url: str, db: Database, settings: Settings) -> None:
    alice = await new_user(db, settings)
    failing = await offered_workflow(
        db,
        alice,
        graph=chain_graph(("input", {}), ("agent", {"model": "test:fail", "prompt": "x"})),
        chat_model=True,
    )
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        anonymous = await http.get("/v1/models")
        assert anonymous.status_code == 401
        assert anonymous.json()["error"]["type"] == "authentication_error"

        bad = await http.post("/v1/chat/completions", json={"model": "x"}, headers=alice.headers)
        assert bad.status_code == 422
        assert set(bad.json()["error"]) == {"message", "type", "param", "code"}
        assert "messages" in bad.json()["error"]["message"]

        failed = await http.post(
            "/v1/chat/completions",
            json={
                "model": f"workflow/{failing.id}",
                "messages": [{"role": "user", "content": "x"}],
            },
            headers=alice.headers,
        )
    assert failed.status_code == 500
    assert failed.headers["x-should-retry"] == "false"  # one call never starts two runs
    (run,) = await executions_of(db, failing.id)
    assert str(run.id) in failed.json()["error"]["message"]


async def personal_token(db: Database, user: User, *scopes: TokenScope) -> str:
    async with db.transaction() as session:
        issued = await api_tokens.create_token(
            session,
            user.id,
            name="sdk",
            scopes=frozenset(scopes),
            expires_at=dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(days=1),
            max_per_user=10,
        )
    return issued.token


async def test_a_personal_api_token_with_run_start_gets_a_completion(
    base_url: str, db: Database, settings: Settings
) -> None:
    alice = await new_user(db, settings)
    workflow = await offered_workflow(db, alice, graph=ECHO_GRAPH, chat_model=True)
    model = f"workflow/{workflow.id}"
    message: list[openai.types.chat.ChatCompletionMessageParam] = [
        {"role": "user", "content": "hi"}
    ]

    runner = client_for(base_url, await personal_token(db, alice, TokenScope.RUN_START))
    completion = await runner.chat.completions.create(model=model, messages=message)
    assert "echo: hi (1)" in (completion.choices[0].message.content or "")

    reader = client_for(base_url, await personal_token(db, alice, TokenScope.READ))
    assert [m.id for m in (await reader.models.list()).data] == [model]
    with pytest.raises(openai.PermissionDeniedError):
        await reader.chat.completions.create(model=model, messages=message)
    assert len(await executions_of(db, workflow.id)) == 1
