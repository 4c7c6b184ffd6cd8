"""Long runs over relayflow's `/mcp`: progress notifications as nodes finish, and a
client that goes away does not lose the run (the official `mcp` SDK client)."""

from __future__ import annotations

import asyncio

from relayflow.config import Settings
from relayflow.store.db import Database
from tests.support.rows import chain_graph

from .conftest import offered_workflow
from .test_mcp_tools import executions_of, mcp_client, new_user, text_of

SLOW = chain_graph(
    ("input", {}),
    ("agent", {"model": "test:sleep-300", "prompt": "first"}),
    ("agent", {"model": "test:sleep-300", "prompt": "second {{ nodes.n1.output }}"}),
    ("output", {"value": "{{ nodes.n2.output }}"}),
)


async def test_a_long_call_reports_progress_as_nodes_finish(
    base_url: str, db: Database, settings: Settings
) -> None:
    alice = await new_user(db, settings)
    slow = await offered_workflow(db, alice, name="slow", graph=SLOW, mcp_tool=True)
    heard: list[tuple[float, float | None, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        heard.append((done, total, message))

    async with mcp_client(base_url, alice) as client:
        result = await client.call_tool(f"slow_{slow.id.hex[:8]}", {}, progress_callback=progress)

    assert not result.is_error, text_of(result)
    assert "second" in text_of(result)
    assert [done for done, _, _ in heard] == [1, 2, 3, 4]
    assert {total for _, total, _ in heard} == {4}
    assert heard[1][2] == "node n1 finished"


async def test_a_client_that_goes_away_does_not_lose_the_run(
    base_url: str, db: Database, settings: Settings
) -> None:
    alice = await new_user(db, settings)
    slow = await offered_workflow(db, alice, name="slow", graph=SLOW, mcp_tool=True)

    async with mcp_client(base_url, alice) as client:
        call = asyncio.create_task(client.call_tool(f"slow_{slow.id.hex[:8]}", {}))
        for _ in range(100):  # until the run exists, then hang up mid-run
            if await executions_of(db, slow.id):
                break
            await asyncio.sleep(0.05)
        call.cancel()
    (run,) = await executions_of(db, slow.id)
    assert run.status in ("pending", "processing")

    async with asyncio.timeout(30):
        while run.status != "completed":
            await asyncio.sleep(0.2)
            (run,) = await executions_of(db, slow.id)
    assert "second" in str(run.output)
