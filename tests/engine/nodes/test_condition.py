from __future__ import annotations

from relayflow.domain import ExecutionStatus
from tests.engine.fakes import GraphBuilder, Harness

CASES = [
    {"handle": "high", "when": "input.score > 8"},
    {"handle": "mid", "when": "{{ input.score > 4 }}"},  # wrapped in {{ }}: accepted too
]


def graph(default: str | None = "low") -> dict[str, object]:
    g = GraphBuilder().node("in", "input")
    g.node("c", "condition", cases=CASES, **({"default": default} if default else {}))
    for handle in ("high", "mid", "low"):
        g.node(handle, "output", value=handle)
        if handle != "low" or default:
            g.edge("c", handle, handle)
    return g.edge("in", "c").build()


async def test_the_first_true_case_picks_the_handle() -> None:
    h = Harness()
    outcome = await h.run(graph(), {"score": 9})
    assert outcome.output == "high"
    assert h.store.of("c")[0].output == {"handle": "high"}
    assert h.store.of("c")[0].active_handles == ["high"]
    assert h.statuses()["mid"] == "skipped"


async def test_later_cases_are_tried_in_order() -> None:
    outcome = await Harness().run(graph(), {"score": 5})
    assert outcome.output == "mid"


async def test_no_true_case_takes_the_default() -> None:
    outcome = await Harness().run(graph(), {"score": 1})
    assert outcome.output == "low"


async def test_no_true_case_and_no_default_skips_every_branch() -> None:
    h = Harness()
    outcome = await h.run(graph(default=None), {"score": 1})
    assert outcome.status is ExecutionStatus.COMPLETED
    assert h.store.of("c")[0].output == {"handle": None}
    assert h.statuses()["high"] == h.statuses()["mid"] == "skipped"


async def test_a_broken_expression_fails_naming_the_case() -> None:
    outcome = await Harness().run(graph(), {"points": 1})
    assert outcome.status is ExecutionStatus.FAILED
    assert outcome.error == "node 'c': data.cases[0].when: input.score is undefined"
