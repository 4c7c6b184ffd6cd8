"""`map`: runs an agent template or a workflow over each item of a list.

`items` is an expression that must yield a list. With `template_id`, each item
becomes an agent turn whose prompt is `prompt` rendered with `item` and `index` in
the context (default: the item itself); with `workflow_id`, each item is the input
of a child run of that workflow. At most `concurrency` items run at once; the
output is the list of results in item order. The first failing item fails the
node (naming the item) and cancels the rest. A list longer than `max_map_items`
(`RELAYFLOW_MAX_MAP_ITEMS`) fails the node before any item runs; each agent item
counts as a node run of the execution's budget (`engine.budget`).

Each finished agent item is recorded as `node_id[index]` and each child workflow
node as `node_id[index]/child_node`, so a resumed execution only runs the items
that had not finished. Those rows carry the items' token usage; the map node's
own row carries none (no double counting when rows are summed).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from relayflow.domain import NodeRunStatus
from relayflow.engine.naming import item_key
from relayflow.engine.nodes.agent import check_output, load_profile
from relayflow.engine.nodes.base import NodeContext, NodeOutcome, child_result
from relayflow.engine.ports import AgentProfile, AgentRequest, NodeRunRecord
from relayflow.engine.spec import MapData
from relayflow.errors import InvalidInput, LeaseLost, RelayflowError

DEFAULT_PROMPT = "{{ item }}"


async def _agent_item(
    ctx: NodeContext, profile: AgentProfile, data: MapData, index: int, item: Any
) -> Any:
    key = item_key(ctx.node_id, index)
    reused = ctx.reusable.get((key, ctx.iteration))
    if reused is not None:
        return reused.output
    ctx.budget.charge_node_run(key)
    prompt = await ctx.render_text(
        data.prompt or DEFAULT_PROMPT, "data.prompt", item=item, index=index
    )
    output_schema = profile.parameters.get("output_schema")
    started = time.time()
    result = await ctx.agents.run(
        AgentRequest(
            node_id=key,
            profile=profile,
            prompt=prompt,
            output_schema=output_schema,
            on_event=ctx.emit if ctx.events is not None else None,
        )
    )
    check_output(ctx, result.output, output_schema)
    ctx.budget.check_output(key, result.output)
    await ctx.record_item(
        NodeRunRecord(
            execution_id=ctx.execution_id,
            node_id=key,
            iteration=ctx.iteration,
            attempt=1,
            status=NodeRunStatus.COMPLETED,
            input={"item": item, "prompt": prompt},
            output=result.output,
            started_at=started,
            finished_at=time.time(),
            usage=result.usage,
            cost_usd=result.cost_usd,
        )
    )
    return result.output


async def run(ctx: NodeContext) -> NodeOutcome:
    data: MapData = ctx.data
    items = await ctx.evaluate(data.items, "data.items")
    if isinstance(items, tuple):
        items = list(items)
    if not isinstance(items, list):
        raise InvalidInput(
            f"{ctx.where('data.items')}: expected a list, got {type(items).__name__}"
        )
    ctx.budget.check_map_items(ctx.node_id, len(items))
    ctx.input = {"items": len(items)}
    profile = None
    if data.template_id:
        profile = await load_profile(ctx, data.template_id, "data.template_id")
    results: list[Any] = [None] * len(items)
    waiting_on: list[str] = []

    async def one(index: int) -> None:
        item = items[index]
        try:
            if profile is not None:
                results[index] = await _agent_item(ctx, profile, data, index, item)
                return
            assert data.workflow_id is not None
            key = item_key(ctx.node_id, index)
            outcome = await ctx.run_child(data.workflow_id, item, key)
            result = child_result(outcome, f"sub-workflow {data.workflow_id!r}")
            waiting_on.extend(result.waiting_on)
            results[index] = result.output
        except RelayflowError as exc:
            exc.message = f"item {index}: {exc.message}"
            exc.args = (exc.message,)
            raise

    await run_bounded(len(items), data.concurrency, one)
    if waiting_on:
        return NodeOutcome(status=NodeRunStatus.WAITING, waiting_on=waiting_on)
    return NodeOutcome(output=results)


async def run_bounded(count: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> None:
    """Run `one(0)` .. `one(count - 1)`, at most `concurrency` at once.

    `concurrency` lanes take the next index in turn, so a map of 100,000 items holds a
    handful of tasks, not 100,000; each lane lets the event loop run between items
    (an item that never waits, like an offline model, would otherwise hold it). The
    first failure cancels the other lanes and is raised as itself, never as a group.
    """
    indexes = iter(range(count))

    async def lane() -> None:
        for index in indexes:
            await one(index)
            await asyncio.sleep(0)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(concurrency, count)):
                group.create_task(lane())
    except BaseExceptionGroup as failures:
        raise first_failure(failures) from None


def first_failure(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The failure to report from a task group: a lost lease first (the run must stop),
    then the first of the project's errors, then the first of any other kind."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        exc = pending.pop(0)
        if isinstance(exc, BaseExceptionGroup):
            pending[:0] = exc.exceptions
        else:
            leaves.append(exc)
    for kind in (LeaseLost, RelayflowError, Exception):
        for leaf in leaves:
            if isinstance(leaf, kind):
                return leaf
    return leaves[0]
