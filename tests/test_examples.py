"""Every workflow in examples/ runs offline with `relayflow run` and gives the expected output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def relayflow_run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAYFLOW_")}
    env["RELAYFLOW_DATA_DIR"] = str(tmp_path)
    return subprocess.run(
        [sys.executable, "-m", "relayflow.cli", "run", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def run_example(tmp_path: Path, name: str, value: Any) -> dict[str, Any]:
    done = relayflow_run(tmp_path, str(EXAMPLES / name), "--input", json.dumps(value), "--json")
    assert done.returncode == 0, done.stderr + done.stdout
    document: dict[str, Any] = json.loads(done.stdout)
    assert document["status"] == "completed"
    return document


def test_every_example_is_covered() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.json")) == [
        "map-summarize.json",
        "research-write-review.json",
        "router.json",
        "supervisor.json",
    ]


def test_research_write_review(tmp_path: Path) -> None:
    document = run_example(tmp_path, "research-write-review.json", {"topic": "tides"})
    output = document["output"]
    assert output["notes"] == "[researcher] echo: Gather the key facts about tides."
    assert output["draft"].startswith("[writer] echo: Write a short article about tides")
    assert output["draft"].endswith(output["notes"])
    assert output["review"].startswith("[editor] echo: Review this draft:\n[writer]")
    assert [n["node_id"] for n in document["nodes"]] == [
        "topic",
        "research",
        "write",
        "review",
        "result",
    ]
    assert document["input_tokens"] > 0


@pytest.mark.parametrize(
    ("message", "category"),
    [
        ("My billing statement charged me twice", "billing"),
        ("The sync fails with a technical error", "technical"),
        ("What are your opening hours?", "general"),
    ],
)
def test_router_sends_each_request_to_one_specialist(
    tmp_path: Path, message: str, category: str
) -> None:
    document = run_example(tmp_path, "router.json", {"message": message})
    assert document["output"]["category"] == category
    assert document["output"]["answer"].startswith(f"[{category} specialist]") or (
        category == "general" and document["output"]["answer"].startswith("[support generalist]")
    )
    statuses = {n["node_id"]: n["status"] for n in document["nodes"]}
    specialists = {"billing", "technical", "general"}
    assert [s for s in specialists if statuses[s] == "completed"] == [category]


def test_map_summarizes_every_document_in_order(tmp_path: Path) -> None:
    documents = [
        {"title": "Tides", "text": "The moon pulls the sea."},
        {"title": "Winds", "text": "Air moves from high to low."},
    ]
    document = run_example(tmp_path, "map-summarize.json", {"documents": documents})
    output = document["output"]
    assert output["count"] == 2
    assert output["summaries"] == [
        "[summarizer] echo: Summarize document 1, Tides: The moon pulls the sea.",
        "[summarizer] echo: Summarize document 2, Winds: Air moves from high to low.",
    ]
    assert output["digest"].startswith("[writer] echo: Combine these summaries")


def test_supervisor_asks_both_delegates(tmp_path: Path) -> None:
    document = run_example(tmp_path, "supervisor.json", {"task": "tides"})
    lines = document["output"].splitlines()
    assert lines[0] == "[supervisor] echo: Task: tides"
    assert "ask_researcher -> [researcher] echo: find the key facts about tides" in lines
    assert "ask_writer -> [writer] echo: draft one paragraph about tides" in lines


def test_the_text_report_lists_nodes_and_output(tmp_path: Path) -> None:
    done = relayflow_run(tmp_path, str(EXAMPLES / "supervisor.json"), "--input", '{"task": "rain"}')
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].split()[:2] == ["task", "completed"]
    assert "output:\n[supervisor] echo: Task: rain" in done.stdout


def test_bad_input_is_refused_and_a_failing_run_exits_1(tmp_path: Path) -> None:
    bad_json = relayflow_run(tmp_path, str(EXAMPLES / "router.json"), "--input", "{nope")
    assert bad_json.returncode == 2
    assert "--input is not valid JSON" in bad_json.stderr
    wrong_shape = relayflow_run(tmp_path, str(EXAMPLES / "router.json"), "--input", "{}")
    assert wrong_shape.returncode == 1
    assert "error: node 'request': the execution input does not match its schema" in (
        wrong_shape.stdout
    )
