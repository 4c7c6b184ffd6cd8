"""Template budgets: what the bounded sandbox costs, and what a hostile render costs others.

1. Render cost of ordinary templates (a prompt with a loop over 200 items, a lone
   expression, a condition, a 2,000-iteration numeric loop), per render, against
   the baseline of Jinja's own immutable sandbox (no budget) in the same run: the
   bounded render inline, and the way the engine renders (in a thread, awaited).
2. Event-loop lag while a CPU-bound template (nested loops) renders in a thread
   for 2 s: how late a 1 ms timer fires (median, p99, max), against the same timer
   with nothing rendering.

Run: `.venv/bin/python bench/templates.py [--repeat N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from relayflow.engine import templating
from relayflow.engine.template_limits import RenderBudget, TemplateLimits
from relayflow.errors import TemplateError

ITEMS = [{"name": f"item {i}", "score": i % 10, "tags": ["a", "b"]} for i in range(200)]
CONTEXT: dict[str, Any] = {
    "input": {"name": "Ada", "entries": ITEMS, "n": 3},
    "nodes": {"a": {"output": {"score": 7, "text": "hello " * 50}}},
    "execution": {"id": "e1", "trigger": {"type": "manual"}},
    "iteration": 0,
}
TEMPLATES = {
    "prompt with a loop": (
        "Summarise for {{ input.name }}:\n{% for item in input.entries %}"
        "- {{ item.name }} ({{ item.score * 10 }}%): {{ item.tags|join(', ') }}\n{% endfor %}"
    ),
    "lone expression": "{{ nodes.a.output.score + input.n }}",
    "lookup (inline)": "Hello {{ input.name }}: {{ nodes.a.output.text }}",
    "condition": "{{ nodes.a.output.score > 5 and input.name == 'Ada' }}",
    "numeric loop": "{% for i in range(2000) %}{{ i * 2 }},{% endfor %}",
}
HOSTILE = "{% for i in range(20000) %}{% for j in range(20000) %}{% endfor %}{% endfor %}x"


def per_call_us(function: Callable[[], Any], repeat: int) -> float:
    function()  # compile and warm caches
    started = time.perf_counter()
    for _ in range(repeat):
        function()
    return (time.perf_counter() - started) / repeat * 1e6


async def per_await_us(source: str, repeat: int) -> float:
    limits = TemplateLimits()

    async def once() -> Any:
        return await templating.render_async(
            source, CONTEXT, where="bench", budget=RenderBudget(limits)
        )

    await once()
    started = time.perf_counter()
    for _ in range(repeat):
        await once()
    return (time.perf_counter() - started) / repeat * 1e6


def render_costs(repeat: int) -> None:
    baseline_env = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    print(f"1. render cost per call, {repeat} renders each (µs)")
    print(f"   {'template':<20} {'jinja sandbox':>14} {'bounded':>9} {'ratio':>6} {'awaited':>9}")
    for name, source in TEMPLATES.items():
        template = baseline_env.from_string(source)
        baseline = per_call_us(partial(template.render, CONTEXT), repeat)
        bounded = per_call_us(partial(templating.render, source, CONTEXT, where="bench"), repeat)
        awaited = asyncio.run(per_await_us(source, repeat))
        print(
            f"   {name:<20} {baseline:>14.1f} {bounded:>9.1f} {bounded / baseline:>6.2f} "
            f"{awaited:>9.1f}"
        )


async def timer_lag(duration_s: float) -> list[float]:
    lags = []
    end = time.perf_counter() + duration_s
    while time.perf_counter() < end:
        started = time.perf_counter()
        await asyncio.sleep(0.001)
        lags.append((time.perf_counter() - started - 0.001) * 1000)
    return lags


async def lag_during_hostile_render(budget_s: float) -> tuple[list[float], str]:
    budget = RenderBudget(TemplateLimits(), budget_s=budget_s, time_limit=f"{budget_s:g} s")
    render = asyncio.ensure_future(
        templating.render_async(HOSTILE, CONTEXT, where="bench", budget=budget)
    )
    await asyncio.sleep(0.01)  # the thread is under way
    lags = await timer_lag(budget_s * 0.9)
    try:
        await render
        outcome = "completed (unexpected)"
    except TemplateError as exc:
        outcome = str(exc)
    return lags, outcome


def describe(lags: list[float]) -> str:
    ordered = sorted(lags)
    p99 = ordered[int(len(ordered) * 0.99)]
    return f"median {statistics.median(ordered):.2f}  p99 {p99:.2f}  max {ordered[-1]:.2f}"


def loop_lag(budget_s: float) -> None:
    print(f"2. lateness of a 1 ms timer on the event loop (ms), over {budget_s * 0.9:g} s")
    idle = asyncio.run(timer_lag(budget_s * 0.9))
    print(f"   nothing rendering:       {describe(idle)}")
    started = time.perf_counter()
    lags, outcome = asyncio.run(lag_during_hostile_render(budget_s))
    print(f"   hostile render running:  {describe(lags)}")
    print(f"   the render: {outcome} (after {time.perf_counter() - started:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=500)
    parser.add_argument("--budget-s", type=float, default=2.0)
    args = parser.parse_args()
    render_costs(args.repeat)
    loop_lag(args.budget_s)


if __name__ == "__main__":
    main()
