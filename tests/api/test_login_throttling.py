"""Sign-in throttling that holds under concurrency (issue 10, case 5): past the limit,
parallel guesses are refused with 429 and Retry-After without their password being
checked, the right password included, and an unknown email gets the same answers."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from relayflow.config import Settings
from tests.api.conftest import PASSWORD, MakeUser, SignedIn

LOGIN = "/api/v1/auth/login"
TOKEN = "/api/v1/auth/token"
ACCOUNT_SETTING = "RELAYFLOW_LOGIN_MAX_FAILURES_PER_ACCOUNT"
ADDRESS_SETTING = "RELAYFLOW_LOGIN_MAX_FAILURES_PER_ADDRESS"


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post(LOGIN, json={"email": email, "password": password})


def comparable(response: httpx.Response) -> tuple[int, Any]:
    """Status and body, with the seconds left in the window (which tick) taken out."""
    body = response.json()
    if response.status_code == 429:
        assert 1 <= int(response.headers["retry-after"]) <= 900
        body["error"]["message"] = re.sub(
            r"retry in \d+ s", "retry in N s", body["error"]["message"]
        )
    return response.status_code, body.get("error", "signed in")


@pytest.fixture
async def ada(make_user: MakeUser) -> SignedIn:
    return await make_user("ada@example.com")


@pytest.fixture
async def client_from(app: FastAPI) -> AsyncIterator[Any]:
    """Clients that connect from a given address."""
    clients: list[httpx.AsyncClient] = []

    def make(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        made = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        clients.append(made)
        return made

    yield make
    for made in clients:
        await made.aclose()


async def attack(client: httpx.AsyncClient, email: str) -> list[tuple[int, Any]]:
    """Nine failures, then twenty guesses at once, then the right password."""
    for _ in range(9):
        assert (await login(client, email, "wrong-guess")).status_code == 401
    burst = await asyncio.gather(*(login(client, email, f"guess-{n}") for n in range(20)))
    right = await login(client, email, PASSWORD)
    return [comparable(r) for r in burst] + [comparable(right)]


@pytest.mark.usefixtures("ada")
async def test_parallel_guesses_past_the_limit_are_refused_unchecked_known_or_unknown_email(
    client: httpx.AsyncClient, client_from: Any, settings: Settings
) -> None:
    assert settings.login_max_failures_per_account == 10
    known = await attack(client, "ada@example.com")
    unknown = await attack(client_from("198.51.100.2"), "nobody@example.com")

    statuses = Counter(status for status, _ in known[:20])
    # One place was left (10 allowed, 9 used): exactly one guess was checked.
    assert statuses == {401: 1, 429: 19}
    status, error = known[20]
    assert status == 429  # the right password, too: it was never checked
    assert error["code"] == "rate_limited"
    assert error["details"] == {"limit": 10, "window_s": 900.0, "setting": ACCOUNT_SETTING}
    assert ACCOUNT_SETTING in error["message"]
    # The same answers, in the same numbers, whether or not the account exists.
    assert sorted(map(repr, unknown)) == sorted(map(repr, known))


async def test_the_oauth_form_is_throttled_by_the_same_counters(
    client: httpx.AsyncClient, ada: SignedIn, settings: Settings
) -> None:
    settings.login_max_failures_per_account = 2
    for _ in range(2):
        assert (await login(client, ada.email, "wrong-guess")).status_code == 401

    response = await client.post(TOKEN, data={"username": ada.email, "password": PASSWORD})

    assert response.status_code == 429
    assert "retry-after" in response.headers


async def test_guesses_spread_over_many_emails_hit_the_address_limit(
    client_from: Any, ada: SignedIn, settings: Settings
) -> None:
    settings.login_max_failures_per_address = 5
    guesser, elsewhere = client_from("203.0.113.5"), client_from("203.0.113.6")
    for n in range(5):
        assert (await login(guesser, f"user{n}@example.com", "wrong")).status_code == 401

    refused = await login(guesser, ada.email, PASSWORD)
    allowed = await login(elsewhere, ada.email, PASSWORD)

    assert refused.status_code == 429
    assert refused.json()["error"]["details"]["setting"] == ADDRESS_SETTING
    assert allowed.status_code == 200


async def test_signing_in_to_ones_own_account_does_not_reset_the_address_count(
    client_from: Any, ada: SignedIn, settings: Settings
) -> None:
    settings.login_max_failures_per_address = 3
    guesser = client_from("203.0.113.7")
    for n in range(2):
        assert (await login(guesser, f"victim{n}@example.com", "wrong")).status_code == 401
    assert (await login(guesser, ada.email, PASSWORD)).status_code == 200

    assert (await login(guesser, "victim9@example.com", "wrong")).status_code == 401
    assert (await login(guesser, "victim10@example.com", "wrong")).status_code == 429


async def test_a_success_below_the_limit_clears_the_accounts_failures(
    client: httpx.AsyncClient, ada: SignedIn, settings: Settings
) -> None:
    settings.login_max_failures_per_account = 3
    for _ in range(2):
        await login(client, ada.email, "wrong-guess")
    assert (await login(client, ada.email, PASSWORD)).status_code == 200

    for _ in range(3):
        assert (await login(client, ada.email, "wrong-guess")).status_code == 401
    assert (await login(client, ada.email, PASSWORD)).status_code == 429
