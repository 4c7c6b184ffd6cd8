"""Keeping only the newest N unpublished versions (`versions_keep_unpublished`)."""

from __future__ import annotations

import httpx
import pytest

from relayflow.config import Settings
from tests.api.conftest import SignedIn
from tests.api.test_versions import create, save_prompt, versions_of


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"versions_keep_unpublished": 2})


async def test_retention_keeps_the_newest_unpublished_and_the_published(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    workflow_id = (await create(client, alice))["id"]  # version 1, published
    for prompt in ("a", "b", "c", "d"):
        await save_prompt(client, alice, workflow_id, prompt)

    listed = await versions_of(client, alice, workflow_id)

    assert [v["number"] for v in listed["items"]] == [5, 4, 1]
    assert listed["items"][-1]["is_published"]
