"""An execution's node runs come a page at a time: the detail holds the first page and
totals over all of them; `/node-runs` continues. Same rules of who sees what."""

from __future__ import annotations

import httpx
import pytest

from relayflow.config import Settings
from tests.api.conftest import SignedIn
from tests.support.execution_graphs import create_workflow, start
from tests.support.rows import chain_graph

FIRST_PAGE = 5
STEPS = 12  # transforms between input and output: 14 node runs in all


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"execution_detail_node_runs": FIRST_PAGE})


async def run_long_chain(client: httpx.AsyncClient, user: SignedIn) -> dict[str, object]:
    steps = [("transform", {"value": f"{{{{ input.n + {i} }}}}"}) for i in range(STEPS)]
    graph = chain_graph(("input", {}), *steps, ("output", {"value": "{{ nodes.n12.output }}"}))
    workflow_id = await create_workflow(client, user.headers, graph)
    response = await start(client, user.headers, workflow_id, {"n": 1}, wait=20)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "completed"
    execution: dict[str, object] = response.json()
    return execution


async def test_the_detail_holds_the_first_page_and_totals_over_every_run(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    execution = await run_long_chain(client, alice)

    detail = await client.get(f"/api/v1/executions/{execution['id']}", headers=alice.headers)
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert [r["node_id"] for r in body["node_runs"]] == ["n0", "n1", "n2", "n3", "n4"]
    assert body["node_runs_next_cursor"]
    assert body["totals"]["attempts"] == STEPS + 2
    assert body["totals"]["nodes_by_status"] == {"completed": STEPS + 2}


async def test_node_runs_pages_continue_in_start_order_to_the_end(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    execution = await run_long_chain(client, alice)
    url = f"/api/v1/executions/{execution['id']}"
    detail = (await client.get(url, headers=alice.headers)).json()

    seen = [r["node_id"] for r in detail["node_runs"]]
    cursor = detail["node_runs_next_cursor"]
    pages = 0
    while cursor:
        page = await client.get(
            f"{url}/node-runs", params={"cursor": cursor, "limit": 4}, headers=alice.headers
        )
        assert page.status_code == 200, page.text
        seen += [r["node_id"] for r in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        pages += 1

    assert seen == [f"n{i}" for i in range(STEPS + 2)]
    assert pages == 3  # 9 more runs, 4 a page
    first = await client.get(f"{url}/node-runs", headers=alice.headers)
    assert [r["node_id"] for r in first.json()["items"]] == seen
    assert first.json()["next_cursor"] is None


async def test_node_runs_of_another_users_execution_are_not_found(
    client: httpx.AsyncClient, alice: SignedIn, bob: SignedIn
) -> None:
    execution = await run_long_chain(client, alice)

    response = await client.get(
        f"/api/v1/executions/{execution['id']}/node-runs", headers=bob.headers
    )

    assert response.status_code == 404
    assert response.json()["error"]["message"] == f"execution {execution['id']} not found"


@pytest.mark.parametrize("cursor", ["nonsense", "eyJvIjogLTF9", "eyJ4IjogMX0", "eyJvIjogdHJ1ZX0"])
async def test_a_cursor_the_api_did_not_give_is_a_422_naming_it(
    client: httpx.AsyncClient, alice: SignedIn, cursor: str
) -> None:
    execution = await run_long_chain(client, alice)

    response = await client.get(
        f"/api/v1/executions/{execution['id']}/node-runs",
        params={"cursor": cursor},
        headers=alice.headers,
    )

    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("cursor: not a cursor this API returned")
