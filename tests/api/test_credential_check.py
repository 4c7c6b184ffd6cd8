"""Testing a model provider credential: one request to the provider's models listing
with the stored key, through the address guard; the answer never carries the key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from relayflow.config import Settings
from tests.api.conftest import SignedIn
from tests.support import fake_anthropic, fake_openai
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.fake_ollama import FakeOllama
from tests.support.fake_openai import FakeOpenAI


@pytest.fixture
async def openai() -> AsyncIterator[FakeOpenAI]:
    server = await FakeOpenAI().start()
    yield server
    await server.stop()


@pytest.fixture
async def anthropic() -> AsyncIterator[FakeAnthropic]:
    server = await FakeAnthropic().start()
    yield server
    await server.stop()


@pytest.fixture
async def ollama() -> AsyncIterator[FakeOllama]:
    server = await FakeOllama().start()
    yield server
    await server.stop()


async def check(
    client: httpx.AsyncClient, user: SignedIn, **body: Any
) -> tuple[httpx.Response, str]:
    made = await client.post(
        "/api/v1/credentials", json={"name": "P", **body}, headers=user.headers
    )
    assert made.status_code == 201, made.text
    answer = await client.post(
        f"/api/v1/credentials/{made.json()['id']}/test", headers=user.headers
    )
    return answer, answer.text


async def test_a_working_key_is_reported_ok_for_each_provider(
    client: httpx.AsyncClient,
    settings: Settings,
    alice: SignedIn,
    openai: FakeOpenAI,
    anthropic: FakeAnthropic,
    ollama: FakeOllama,
) -> None:
    settings.http_allowlist = ["127.0.0.1:*"]
    cases = [
        {"kind": "openai", "value": fake_openai.API_KEY, "base_url": openai.base_url},
        {"kind": "anthropic", "value": fake_anthropic.API_KEY, "base_url": anthropic.base_url},
        {"kind": "openai_compatible", "value": fake_openai.API_KEY, "base_url": openai.base_url},
        {"kind": "ollama", "value": fake_openai.API_KEY, "base_url": ollama.base_url},
    ]
    for body in cases:
        answer, text = await check(client, alice, **body)
        assert answer.status_code == 200, text
        assert answer.json()["ok"] is True, (body["kind"], text)
        assert "1 models" in answer.json()["message"]
        assert body["value"] not in text


async def test_a_wrong_key_is_reported_refused_without_echoing_it(
    client: httpx.AsyncClient, settings: Settings, alice: SignedIn, openai: FakeOpenAI
) -> None:
    settings.http_allowlist = ["127.0.0.1:*"]
    wrong = "sk-wrong-key-0123456789"

    answer, text = await check(client, alice, kind="openai", value=wrong, base_url=openai.base_url)

    assert answer.status_code == 200
    assert answer.json()["ok"] is False
    assert "refused the key (HTTP 401)" in answer.json()["message"]
    assert wrong not in text


async def test_an_inside_address_is_refused_by_the_guard(
    client: httpx.AsyncClient, alice: SignedIn, openai: FakeOpenAI
) -> None:
    # No allow-list entry: 127.0.0.1 is loopback, as an HTTP node would find.
    answer, _ = await check(
        client, alice, kind="openai", value=fake_openai.API_KEY, base_url=openai.base_url
    )

    assert answer.status_code == 200
    assert answer.json()["ok"] is False
    assert "loopback" in answer.json()["message"]
    assert openai.requests == []


async def test_kinds_without_a_test_answer_422(client: httpx.AsyncClient, alice: SignedIn) -> None:
    answer, text = await check(client, alice, kind="http_bearer", value="tok-0123456789")

    assert answer.status_code == 422
    assert "cannot be tested" in answer.json()["error"]["message"]
    assert "tok-0123456789" not in text
