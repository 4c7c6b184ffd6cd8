"""Engine overhead: what the executor adds on top of the work its nodes do.

1. A 40-node chain of 10 ms agent nodes (input -> 40 agents -> output), against a
   baseline of 40 sequential 10 ms sleeps measured in the same run: total time and
   overhead per node.
2. Fan-out: 100 parallel 100 ms agent nodes between an input and a merge: total
   time as a ratio to 100 ms (1.0 would be perfect overlap).

In-process, in-memory run store, no event sink: the executor's own cost.
Run: `.venv/bin/python bench/engine_overhead.py [--repeat N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import time
import uuid
from typing import Any

from relayflow.domain import ExecutionStatus
from relayflow.engine.executor import EngineOptions, ExecutionRun, Executor
from relayflow.engine.memory import (
    InMemoryRunStore,
    InMemoryTemplateCatalog,
    InMemoryWorkflowCatalog,
)
from relayflow.engine.ports import AgentRequest, AgentResult

CHAIN_NODES = 40
CHAIN_SLEEP_S = 0.010
FAN_OUT_NODES = 100
FAN_OUT_SLEEP_S = 0.100


class SleepingAgents:
    """An agent runner whose every call takes `sleep_s` from the profile's parameters."""

    async def run(self, request: AgentRequest) -> AgentResult:
        await asyncio.sleep(float(request.profile.parameters["sleep_s"]))
        return AgentResult(output=request.prompt, model=request.profile.model)


def node(node_id: str, kind: str, **data: Any) -> dict[str, Any]:
    return {"id": node_id, "type": kind, "position": {"x": 0, "y": 0}, "data": data}


def edge(source: str, target: str) -> dict[str, Any]:
    return {"id": f"{source}->{target}", "source": source, "target": target}


def agent(node_id: str, sleep_s: float, prompt: str) -> dict[str, Any]:
    return node(
        node_id, "agent", model="bench:sleep", prompt=prompt, parameters={"sleep_s": sleep_s}
    )


def chain_graph() -> dict[str, Any]:
    ids = [f"a{i}" for i in range(CHAIN_NODES)]
    nodes = [node("in", "input")]
    nodes += [agent(n, CHAIN_SLEEP_S, "step {{ iteration }}") for n in ids]
    nodes.append(node("out", "output"))
    order = ["in", *ids, "out"]
    return {"nodes": nodes, "edges": [edge(a, b) for a, b in itertools.pairwise(order)]}


def fan_out_graph() -> dict[str, Any]:
    ids = [f"a{i}" for i in range(FAN_OUT_NODES)]
    nodes = [node("in", "input"), node("join", "merge", mode="all"), node("out", "output")]
    nodes += [agent(n, FAN_OUT_SLEEP_S, "part") for n in ids]
    edges = [edge("in", n) for n in ids] + [edge(n, "join") for n in ids] + [edge("join", "out")]
    return {"nodes": nodes, "edges": edges}


async def timed_run(graph: dict[str, Any], options: EngineOptions) -> float:
    executor = Executor(
        store=InMemoryRunStore(),
        agents=SleepingAgents(),
        templates=InMemoryTemplateCatalog(),
        workflows=InMemoryWorkflowCatalog(),
        options=options,
    )
    started = time.perf_counter()
    outcome = await executor.run(ExecutionRun(execution_id=uuid.uuid4(), graph=graph, input={}))
    elapsed = time.perf_counter() - started
    assert outcome.status is ExecutionStatus.COMPLETED, outcome.error
    return elapsed


async def baseline() -> float:
    started = time.perf_counter()
    for _ in range(CHAIN_NODES):
        await asyncio.sleep(CHAIN_SLEEP_S)
    return time.perf_counter() - started


async def main(repeat: int) -> None:
    options = EngineOptions(max_parallel_nodes=FAN_OUT_NODES + 8)
    await timed_run(chain_graph(), options)  # warm-up: imports, template compilation
    chain = [await timed_run(chain_graph(), options) for _ in range(repeat)]
    sleeps = [await baseline() for _ in range(repeat)]
    fan_out = [await timed_run(fan_out_graph(), options) for _ in range(repeat)]
    total, base = statistics.median(chain), statistics.median(sleeps)
    per_node_ms = (total - base) / CHAIN_NODES * 1000
    print(f"chain of {CHAIN_NODES} x {CHAIN_SLEEP_S * 1000:g} ms nodes (median of {repeat}):")
    print(f"  total            {total * 1000:8.1f} ms   (goal < 500 ms)")
    print(f"  baseline sleeps  {base * 1000:8.1f} ms")
    print(f"  overhead         {(total - base) * 1000:8.1f} ms = {per_node_ms:.2f} ms per node")
    fan = statistics.median(fan_out)
    print(f"fan-out of {FAN_OUT_NODES} x {FAN_OUT_SLEEP_S * 1000:g} ms nodes (median of {repeat}):")
    print(f"  total            {fan * 1000:8.1f} ms")
    print(f"  efficiency       {fan / FAN_OUT_SLEEP_S:8.2f} x 100 ms   (goal <= 1.5x)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    asyncio.run(main(parser.parse_args().repeat))
