"""The executor: edge resolution, concurrency, retries, timeouts, cancellation, resume, loops."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid

import pytest

from relayflow.domain import ExecutionStatus, NodeRunStatus
from relayflow.engine.executor import EngineOptions, ExecutionRun
from relayflow.engine.ports import TokenUsage
from relayflow.errors import LeaseLost
from tests.engine.fakes import GraphBuilder, Harness


def condition_graph(x_branch_extra: bool = False) -> GraphBuilder:
    g = (
        GraphBuilder()
        .node("in", "input")
        .node("c", "condition", cases=[{"handle": "big", "when": "input.x > 5"}], default="small")
        .agent("big", "big {{ input.x }}")
        .agent("small", "small {{ input.x }}")
        .node("out", "output")
        .edge("in", "c")
        .edge("c", "big", "big")
        .edge("c", "small", "small")
    )
    return g


# ----------------------------------------------------------------- basics
async def test_chain_passes_outputs_downstream_and_records_every_node() -> None:
    h = Harness()
    graph = (
        GraphBuilder()
        .node("in", "input")
        .agent("a", "hello {{ input.name }}")
        .agent("b", "again: {{ nodes.a.output }}")
        .node("out", "output", value="{{ nodes.b.output }}")
        .chain("in", "a", "b", "out")
        .build()
    )
    outcome = await h.run(graph, {"name": "Ada"})
    assert outcome.status is ExecutionStatus.COMPLETED
    assert outcome.output == "assistant: again: assistant: hello Ada"
    assert h.statuses() == {n: "completed" for n in ("in", "a", "b", "out")}
    # Each attempt is recorded RUNNING first, then finished with its times.
    a_history = [r.status for r in h.store.history if r.node_id == "a"]
    assert a_history == [NodeRunStatus.RUNNING, NodeRunStatus.COMPLETED]
    a, b = h.store.of("a")[0], h.store.of("b")[0]
    assert a.input == {"model": "fake:model", "prompt": "hello Ada"}
    assert a.started_at is not None
    assert a.finished_at is not None
    assert b.started_at is not None
    assert a.finished_at <= b.started_at


async def test_node_events_are_emitted_in_order() -> None:
    h = Harness()
    graph = GraphBuilder().node("in", "input").agent("a").node("out", "output")
    outcome = await h.run(graph.chain("in", "a", "out").build(), "hi")
    assert outcome.status is ExecutionStatus.COMPLETED
    assert h.event_kinds("a") == ["node.started", "agent.delta", "node.finished"]
    finished = next(p for k, p in h.events if k == "node.finished" and p["node_id"] == "a")
    assert finished["output"] == "assistant: hi"
    assert finished["attempt"] == 1


async def test_invalid_graph_fails_with_the_problems() -> None:
    h = Harness()
    graph = GraphBuilder().node("in", "input").node("x", "bogus").build()
    outcome = await h.run(graph)
    assert outcome.status is ExecutionStatus.FAILED
    assert outcome.error is not None
    assert "unknown node type 'bogus'" in outcome.error
    assert "no output node" in outcome.error
    assert h.store.history == []


# ----------------------------------------------------------------- edge resolution
async def test_condition_runs_only_the_chosen_branch_and_skips_propagate() -> None:
    h = Harness()
    g = condition_graph().agent("after_small", "{{ nodes.small.output }}")
    g.edge("small", "after_small").edge("big", "out").edge("after_small", "out")
    outcome = await h.run(g.build(), {"x": 9})
    assert outcome.status is ExecutionStatus.COMPLETED
    assert outcome.output == "assistant: big 9"
    statuses = h.statuses()
    assert statuses["big"] == "completed"
    assert statuses["small"] == "skipped"
    assert statuses["after_small"] == "skipped"
    assert statuses["out"] == "completed"
    assert h.event_kinds("after_small") == ["node.skipped"]
    assert h.agents.prompts("small") == []


async def test_node_whose_inputs_are_all_skipped_is_skipped() -> None:
    h = Harness()
    g = (
        GraphBuilder()
        .node("in", "input")
        .node("c", "condition", cases=[{"handle": "yes", "when": "false"}])
        .agent("a")
        .agent("b")
        .node("out", "output", value="done")
        .edge("in", "c")
        .edge("c", "a", "yes")
        .chain("a", "b", "out")
    )
    outcome = await h.run(g.build(), "x")
    assert outcome.status is ExecutionStatus.COMPLETED
    assert outcome.output is None  # the only output node was skipped
    assert {h.statuses()[n] for n in ("a", "b", "out")} == {"skipped"}


async def test_plain_join_runs_when_one_input_is_active() -> None:
    h = Harness()
    g = condition_graph().node("join", "transform", value="{{ nodes.small.output }}")
    g.edge("big", "join").edge("small", "join").edge("join", "out")
    outcome = await h.run(g.build(), {"x": 1})
    # The skipped branch is visible in templates as null output, status "skipped".
    assert outcome.output == "assistant: small 1"
    assert h.statuses()["big"] == "skipped"


async def test_merge_all_waits_for_every_active_input() -> None:
    h = Harness()
    g = (
        GraphBuilder()
        .node("in", "input")
        .agent("fast", parameters={"sleep_s": 0.01})
        .agent("slow", parameters={"sleep_s": 0.1})
        .node("m", "merge", mode="all")
        .node("out", "output")
        .edge("in", "fast")
        .edge("in", "slow")
        .edge("fast", "m")
        .edge("slow", "m")
        .edge("m", "out")
    )
    outcome = await h.run(g.build(), "q")
    assert outcome.output == {"fast": "assistant: q", "slow": "assistant: q"}
    merge, slow = h.store.of("m")[0], h.store.of("slow")[0]
    assert merge.started_at is not None
    assert slow.finished_at is not None
    assert merge.started_at >= slow.finished_at


async def test_merge_all_leaves_out_skipped_branches() -> None:
    h = Harness()
    g = condition_graph().node("m", "merge", mode="all")
    g.edge("big", "m").edge("small", "m").edge("m", "out")
    outcome = await h.run(g.build(), {"x": 7})
    assert outcome.output == {"big": "assistant: big 7"}


async def test_merge_any_runs_on_the_first_active_input() -> None:
    h = Harness()
    g = (
        GraphBuilder()
        .node("in", "input")
        .agent("fast", parameters={"sleep_s": 0.01, "answer": "quick"})
        .agent("slow", parameters={"sleep_s": 0.3, "answer": "late"})
        .node("m", "merge", mode="any")
        .node("out", "output")
        .edge("in", "fast")
        .edge("in", "slow")
        .edge("fast", "m")
        .edge("slow", "m")
        .edge("m", "out")
    )
    outcome = await h.run(g.build(), "q")
    assert outcome.status is ExecutionStatus.COMPLETED
    assert outcome.output == "quick"
    merge, slow = h.store.of("m")[0], h.store.of("slow")[0]
    assert merge.finished_at is not None
    assert slow.finished_at is not None
    assert merge.finished_at < slow.finished_at  # did not wait for the slow branch
    assert len(h.store.of("m")) == 1  # and did not run again when it arrived


async def test_merge_any_with_every_input_skipped_is_skipped() -> None:
    h = Harness()
    g = (
        GraphBuilder()
        .node("in", "input")
        .node("c", "condition", cases=[{"handle": "a", "when": "false"}], default="b")
        .agent("x")
        .node("m", "merge", mode="any")
        .node("other", "transform", value="fallback")
        .node("out", "output")
        .edge("in", "c")
        .edge("c", "x", "a")
        .edge("c", "other", "b")
        .edge("x", "m")
        .edge("m", "out")
        .edge("other", "out")
    )
    outcome = await h.run(g.build(), "q")
    assert h.statuses()["m"] == "skipped"
    assert outcome.output == "fallback"


# ----------------------------------------------------------------- concurrency
async def test_twenty_agents_run_in_parallel() -> None:
    h = Harness(options=EngineOptions(max_parallel_nodes=32))
    g = GraphBuilder().node("in", "input").node("m", "merge").node("out", "output")
    for i in range(20):
        g.agent(f"a{i}", parameters={"sleep_s": 0.2}).edge("in", f"a{i}").edge(f"a{i}", "m")
    g.edge("m", "out")
    outcome = await h.run(g.build(), "go")
    assert outcome.status is ExecutionStatus.COMPLETED
    assert len(outcome.output) == 20
    agents = [h.store.of(f"a{i}")[0] for i in range(20)]
    last_start = max(r.started_at or 0 for r in agents)
    first_finish = min(r.finished_at or 0 for r in agents)
    # Every agent started before any finished: they overlapped, not ran in turn.
    assert last_start < first_finish


async def test_max_parallel_nodes_caps_how_many_run_at_once() -> None:
    h = Harness(options=EngineOptions(max_parallel_nodes=2))
    g = GraphBuilder().node("in", "input").node("m", "merge").node("out", "output")
    for i in range(6):
        g.agent(f"a{i}", parameters={"sleep_s": 0.03}).edge("in", f"a{i}").edge(f"a{i}", "m")
    g.edge("m", "out")
    await h.run(g.build(), "go")
    spans = [(c.started, c.finished or 0) for c in h.agents.calls]
    for start, _ in spans:
        overlapping = sum(1 for s, f in spans if s <= start < f)
        assert overlapping <= 2


# ----------------------------------------------------------------- retries and timeouts
async def test_transient_failures_are_retried_with_exponential_backoff() -> None:
    h = Harness()
    g = GraphBuilder().node("in", "input").node("out", "output")
    g.agent("a", retries=3, retry_backoff_s=0.02, parameters={"fail_first": 2})
    outcome = await h.run(g.chain("in", "a", "out").build(), "x")
    assert outcome.status is ExecutionStatus.COMPLETED
    attempts = h.store.of("a")
    assert [(r.attempt, r.status.value) for r in attempts] == [
        (1, "failed"),
        (2, "failed"),
        (3, "completed"),
    ]
    assert attempts[0].error == "provider answered 429"
    gaps = [
        (later.started_at or 0) - (earlier.finished_at or 0)
        for earlier, later in itertools.pairwise(attempts)
    ]
    assert gaps[0] >= 0.02
    assert gaps[1] >= 0.04
    retrying = [p for k, p in h.events if k == "node.retrying"]
    assert [p["delay_s"] for p in retrying] == [0.02, 0.04]


async def test_retry_after_from_the_provider_is_respected() -> None:
    h = Harness()
    g = GraphBuilder().node("in", "input").node("out", "output")
    g.agent("a", retries=1, retry_backoff_s=0.001, parameters={"fail_first": 1, "retry_after": 0.1})
    await h.run(g.chain("in", "a", "out").build(), "x")
    first, second = h.store.of("a")
    assert (second.started_at or 0) - (first.finished_at or 0) >= 0.1


async def test_a_node_failing_beyond_its_retries_fails_the_execution() -> None:
    h = Harness()
    g = GraphBuilder().node("in", "input").agent("b").node("out", "output")
    g.agent("a", retries=1, parameters={"fail_first": 5})
    outcome = await h.run(g.chain("in", "a", "b", "out").build(), "x")
    assert outcome.status is ExecutionStatus.FAILED
    assert outcome.error == "node 'a' failed: provider answered 429"
    assert len(h.store.of("a")) == 2
    assert h.store.of("b") == []
    assert h.event_kinds("a")[-1] == "node.failed"


async def test_user_errors_are_not_retried() -> None:
    h = Harness()
    g = GraphBuilder().node("in", "input").node("out", "output")
    g.agent("a", "{{ input.missing }}", retries=3)
    outcome = await h.run(g.chain("in", "a", "out").build(), {"present": 1})
    assert outcome.status is ExecutionStatus.FAILED
    assert outcome.error == "node 'a': data.prompt: input.missing is undefined"
    assert len(h.store.of("a")) == 1


async def test_node_timeout_fails_the_attempt_and_retries_it() -> None:
    h = Harness()
    g = GraphBuilder().node("in", "input").node("out", "output")
    g.agent("a", timeout_s=0.05, retries=1, parameters={"sleep_s": 5})
    outcome = await h.run(g.chain("in", "a", "out").build(), "x")
    assert outcome.status is ExecutionStatus.FAILED
    assert outcome.error == "node 'a' timed out after 0.05 s"
    assert [r.status.value for r in h.store.of("a")] == ["failed", "failed"]
    for record in h.store.of("a"):
        assert (record.finished_at or 0) - (record.started_at or 0) < 5


async def test_execution_timeout_cancels_running_nodes() -> None:
    h = Harness(options=EngineOptions(execution_timeout_s=0.1))
    g = GraphBuilder().node("in", "input").node("out", "output")
    g.agent("a", parameters={"sleep_s": 5})
    outcome = await h.run(g.chain("in", "a", "out").build(), "x")
    assert outcome.status is ExecutionStatus.FAILED
    assert outcome.error == "the execution timed out after 0.1 s"
    assert h.statuses()["a"] == "cancelled"
    assert h.store.of("out") == []


async def test_a_failure_cancels_the_other_running_nodes() -> None:
    h = Harness()
    g = GraphBuilder().node("in", "input").node("m", "merge").node("out", "output")
    g.agent("bad", parameters={"error": "boom"}).agent("slow", parameters={"sleep_s": 5})
    g.edge("in", "bad").edge("in", "slow").edge("bad", "m").edge("slow", "m").edge("m", "out")
    outcome = await h.run(g.build(), "x")
    assert outcome.status is ExecutionStatus.FAILED
    assert outcome.error == "node 'bad' failed: boom"
    slow = h.store.of("slow")[-1]
    assert slow.status is NodeRunStatus.CANCELLED
    assert slow.error == "node 'bad' failed: boom"


# ----------------------------------------------------------------- cancellation
async def test_cancellation_stops_running_nodes_before_they_finish() -> None:
    h = Harness()
    g = GraphBuilder().node("in", "input").node("out", "output")
    g.agent("a", parameters={"sleep_s": 30})
    cancel = asyncio.Event()
    run = ExecutionRun(
        execution_id=uuid.uuid4(), graph=g.chain("in", "a", "out").build(), input="x", cancel=cancel
    )
    task = asyncio.create_task(h.executor().run(run))
    while not h.store.of("a"):
        await asyncio.sleep(0.01)
    cancelled_at = time.time()
    cancel.set()
    outcome = await task
    assert outcome.status is ExecutionStatus.CANCELLED
    record = h.store.of("a")[-1]
    assert record.status is NodeRunStatus.CANCELLED
    assert record.finished_at is not None
    # Far sooner than the 30 s the node would take (the margin is for a loaded machine).
    assert record.finished_at - cancelled_at < 10.0
    assert h.event_kinds("a")[-1] == "node.cancelled"
    assert h.store.of("out") == []


async def test_an_execution_cancelled_before_it_starts_runs_nothing() -> None:
    h = Harness()
    cancel = asyncio.Event()
    cancel.set()
    graph = GraphBuilder().node("in", "input").node("out", "output").chain("in", "out").build()
    outcome = await h.run(graph, "x", cancel=cancel)
    assert outcome.status is ExecutionStatus.CANCELLED
    assert h.store.history == []


# ----------------------------------------------------------------- resume
async def test_resume_never_reruns_finished_nodes() -> None:
    h = Harness()
    g = GraphBuilder().node("in", "input").node("out", "output", value="{{ nodes.b.output }}")
    g.agent("a", parameters={"usage": [10, 5], "cost_usd": 0.5})
    g.agent("b", "{{ nodes.a.output }}", parameters={"fail_first": 1, "usage": [1, 1]})
    graph = g.chain("in", "a", "b", "out").build()
    execution_id = uuid.uuid4()
    first = await h.run(graph, "x", execution_id=execution_id)
    assert first.status is ExecutionStatus.FAILED
    second = await h.run(graph, "x", execution_id=execution_id)
    assert second.status is ExecutionStatus.COMPLETED
    assert second.output == "assistant: assistant: x"
    assert h.agents.attempts["a"] == 1  # reused, not run again
    assert h.agents.attempts["b"] == 2
    assert len([r for r in h.store.of("a") if r.status is NodeRunStatus.COMPLETED]) == 1
    # Usage includes the reused node's.
    assert second.usage == TokenUsage(11, 6, 2)
    assert second.cost_usd == pytest.approx(0.5)


async def test_rerun_from_a_node_reuses_the_copied_upstream_records() -> None:
    h = Harness()
    g = GraphBuilder().node("in", "input").agent("a").agent("b", "{{ nodes.a.output }}")
    graph = g.node("out", "output").chain("in", "a", "b", "out").build()
    original = uuid.uuid4()
    await h.run(graph, "x", execution_id=original)
    rerun = uuid.uuid4()
    h.store.copy_finished(original, rerun, node_ids=["in", "a"])
    outcome = await h.run(graph, "x", execution_id=rerun)
    assert outcome.output == "assistant: assistant: x"
    assert h.agents.attempts == {"a": 1, "b": 2}
    started = [r for r in h.store.history if r.status is NodeRunStatus.RUNNING]
    assert {r.node_id for r in started if r.execution_id == rerun} == {"b", "out"}


async def test_a_lost_lease_stops_the_run() -> None:
    h = Harness()
    h.store.lease_token = 2
    graph = GraphBuilder().node("in", "input").node("out", "output").chain("in", "out").build()
    with pytest.raises(LeaseLost):
        await h.run(graph, "x", fence=1)
    assert h.store.history == []
    outcome = await h.run(graph, "x", fence=2)
    assert outcome.status is ExecutionStatus.COMPLETED


# ----------------------------------------------------------------- loops
def loop_graph(max_iterations: int, done_when: str) -> dict[str, object]:
    return (
        GraphBuilder()
        .node("in", "input")
        .agent(
            "draft",
            "draft {{ iteration }}{{ ' (reviewed)' if nodes.review.output }}",
            max_iterations=max_iterations,
        )
        .agent("review", "review {{ nodes.draft.output }}")
        .node("check", "condition", cases=[{"handle": "done", "when": done_when}], default="again")
        .node("out", "output", value="{{ nodes.draft.output }}")
        .chain("in", "draft", "review", "check")
        .edge("check", "out", "done")
        .edge("check", "draft", "again")
        .build()
    )


async def test_a_loop_runs_until_its_exit_is_taken() -> None:
    h = Harness()
    outcome = await h.run(loop_graph(5, "iteration >= 2"), "x")
    assert outcome.status is ExecutionStatus.COMPLETED
    assert outcome.output == "assistant: draft 2 (reviewed)"
    # The head reads the review of the previous pass (nothing on the first).
    assert h.agents.prompts("draft") == ["draft 0", "draft 1 (reviewed)", "draft 2 (reviewed)"]
    assert [r.iteration for r in h.store.of("review")] == [0, 1, 2]
    # The exit edge skipped in passes 0 and 1 did not skip the output node.
    assert [(r.iteration, r.status.value) for r in h.store.of("out")] == [(0, "completed")]


async def test_a_loop_past_max_iterations_fails() -> None:
    h = Harness()
    outcome = await h.run(loop_graph(2, "false"), "x")
    assert outcome.status is ExecutionStatus.FAILED
    assert outcome.error == ("node 'draft' reached max_iterations (2) and its loop would run again")
    assert h.agents.prompts("draft") == ["draft 0", "draft 1 (reviewed)"]


async def test_a_resumed_loop_reuses_finished_iterations() -> None:
    h = Harness()
    graph = loop_graph(5, "iteration >= 1")
    execution_id = uuid.uuid4()
    # Pretend the first pass finished before a crash: run, then drop later records.
    await h.run(graph, "x", execution_id=execution_id)
    for key in [k for k in h.store.attempts if k[2] == 1 or k[1] == "out"]:
        del h.store.attempts[key]
    h.agents.calls.clear()
    outcome = await h.run(graph, "x", execution_id=execution_id)
    assert outcome.output == "assistant: draft 1 (reviewed)"
    assert h.agents.prompts("draft") == ["draft 1 (reviewed)"]
