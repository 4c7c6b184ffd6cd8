"""Planted secrets never leave the vault: after a run that uses every kind of credential
(and echoes them back), no table row, API answer or log line holds any of them."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from relayflow.config import Settings
from relayflow.store.base import Base
from relayflow.store.db import Database
from tests.api.conftest import SignedIn
from tests.api.test_credential_runs import KeyedFakeOpenAI, add_credential, run, save
from tests.support.http_server import LocalHttpServer, ReceivedRequest, Reply
from tests.support.rows import chain_graph

PROVIDER_KEY = "sk-PLANTED-provider-3e7c1a9b5d"
BEARER = "PLANTED-bearer-token-8f2d6b4a0c"
QUERY_KEY = "PLANTED-query-key-1a3c5e7g9i"
SECRET = "PLANTED-generic-secret-2b4d6f8h0j"
PLANTED = (PROVIDER_KEY, BEARER, QUERY_KEY, SECRET)


@pytest.fixture(autouse=True)
def allow_local_requests(settings: Settings) -> None:
    settings.http_allowlist = ["127.0.0.1:*"]  # the echo server below


@pytest.fixture
async def echo() -> AsyncIterator[LocalHttpServer]:
    """Answers with everything it received: the credentials come straight back."""

    async def handle(request: ReceivedRequest) -> Reply:
        return Reply.json({"target": request.target, "headers": request.headers})

    server = LocalHttpServer(handle)
    await server.start()
    yield server
    await server.stop()


async def every_row(db: Database) -> str:
    dumped: list[str] = []
    async with db.session() as session:
        for table in Base.metadata.sorted_tables:
            rows = (await session.execute(select(table))).all()
            dumped.extend(repr(tuple(row)) for row in rows)
    return "\n".join(dumped)


async def credential(client: httpx.AsyncClient, user: SignedIn, **body: Any) -> str:
    response = await client.post("/api/v1/credentials", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_planted_secrets_are_found_nowhere(
    client: httpx.AsyncClient,
    db: Database,
    alice: SignedIn,
    echo: LocalHttpServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = KeyedFakeOpenAI(PROVIDER_KEY)
    await fake.start()
    try:
        provider = await add_credential(client, alice, fake.base_url, PROVIDER_KEY)
        bearer = await credential(client, alice, name="api", kind="http_bearer", value=BEARER)
        query = await credential(
            client, alice, name="q", kind="http_query", param="key", value=QUERY_KEY
        )
        await credential(client, alice, name="PLANTED", kind="secret", value=SECRET)
        graph = chain_graph(
            ("input", {}),
            ("http", {"url": echo.url("/a"), "credential_id": bearer}),
            ("http", {"url": echo.url("/b?x={{ secrets.PLANTED }}"), "credential_id": query}),
            (
                "agent",
                {
                    "model": "openai:gpt-4o-mini",
                    "credential_id": provider,
                    "prompt": "{{ nodes.n1.output }} {{ nodes.n2.output }} {{ secrets.PLANTED }}",
                },
            ),
            ("transform", {"value": "{{ secrets.PLANTED }}"}),
            (
                "output",
                {
                    "value": {
                        "echoed": "{{ nodes.n1.output }} {{ nodes.n2.output }}",
                        "agent": "{{ nodes.n3.output }}",
                        "secret": "{{ nodes.n4.output }}",
                    }
                },
            ),
        )
        saved = await save(client, alice, graph)
        assert saved.status_code == 201, saved.text
        fake.reply_text(f"I was called with {PROVIDER_KEY} and told {SECRET}")

        finished = await run(client, alice, saved.json()["id"])
    finally:
        await fake.stop()

    assert finished["status"] == "completed", finished
    # The run really used every secret: they went over the wire.
    assert fake.keys_received() == [PROVIDER_KEY]
    assert SECRET in fake.requests[0].body.decode()
    assert "[secret]" in str(finished["output"])
    execution_url = f"/api/v1/executions/{finished['id']}"
    answers = [
        str(finished),
        (await client.get(execution_url, headers=alice.headers)).text,
        (await client.get(execution_url + "/events", headers=alice.headers)).text,
        (await client.get("/api/v1/executions", headers=alice.headers)).text,
        (await client.get("/api/v1/credentials", headers=alice.headers)).text,
        (await client.get(f"/api/v1/workflows/{saved.json()['id']}", headers=alice.headers)).text,
    ]
    searched = {
        "every table": await every_row(db),
        "logs": caplog.text,
        "answers": "\n".join(answers),
    }
    for where, text in searched.items():
        for planted in PLANTED:
            assert planted not in text, f"{planted} found in {where}"
