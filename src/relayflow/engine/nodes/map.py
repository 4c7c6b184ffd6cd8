"""`map`: runs an agent template or a workflow over each item of a list.

`items` is an expression that must yield a list. With `template_id`, each item
becomes an agent turn whose prompt is `prompt` rendered with `item` and `index` in
the context (default: the item itself); with `workflow_id`, each item is the input
of a child run of that workflow. At most `concurrency` items run at once; the
output is the list of results in item order. The first failing item fails the
node (naming the item) and cancels the rest.

Each finished agent item is recorded as `node_id[index]` and each child workflow
node as `node_id[index]/child_node`, so a resumed execution only runs the items
that had not finished. Those rows carry the items' token usage; the map node's
own row carries none (no double counting when rows are summed).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from relayflow.domain import NodeRunStatus
from relayflow.engine.naming import item_key
from relayflow.engine.nodes.agent import check_output, load_profile
from relayflow.engine.nodes.base import NodeContext, NodeOutcome, child_result
from relayflow.engine.ports import AgentProfile, AgentRequest, NodeRunRecord
from relayflow.engine.spec import MapData
from relayflow.errors import InvalidInput, RelayflowError

DEFAULT_PROMPT = "{{ item }}"


async def _agent_item(
    ctx: NodeContext, profile: AgentProfile, data: MapData, index: int, item: Any
) -> Any:
    key = item_key(ctx.node_id, index)
    reused = ctx.reusable.get((key, ctx.iteration))
    if reused is not None:
        return reused.output
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
    ctx.input = {"items": len(items)}
    profile = None
    if data.template_id:
        profile = await load_profile(ctx, data.template_id, "data.template_id")
    limit = asyncio.Semaphore(data.concurrency)
    waiting_on: list[str] = []

    async def one(index: int, item: Any) -> Any:
        async with limit:
            try:
                if profile is not None:
                    return await _agent_item(ctx, profile, data, index, item)
                assert data.workflow_id is not None
                key = item_key(ctx.node_id, index)
                outcome = await ctx.run_child(data.workflow_id, item, key)
                result = child_result(outcome, f"sub-workflow {data.workflow_id!r}")
                waiting_on.extend(result.waiting_on)
                return result.output
            except RelayflowError as exc:
                exc.message = f"item {index}: {exc.message}"
                exc.args = (exc.message,)
                raise

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(i, item)) for i, item in enumerate(items)]
    except* RelayflowError as failures:
        raise failures.exceptions[0] from None
    if waiting_on:
        return NodeOutcome(status=NodeRunStatus.WAITING, waiting_on=waiting_on)
    return NodeOutcome(output=[task.result() for task in tasks])
