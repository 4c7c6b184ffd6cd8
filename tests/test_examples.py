"""Every workflow in examples/ runs offline with `relayflow run` and gives the expected output.

The example runs are real processes, started together (a module fixture) since
each spends most of its time importing the model SDKs; further inputs and the
error exits run in-process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from relayflow.cli import app
from relayflow.config import Settings
from relayflow.local_run import run_workflow_file

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DOCUMENTS = [
    {"title": "Tides", "text": "The moon pulls the sea."},
    {"title": "Winds", "text": "Air moves from high to low."},
]
# name -> (file, input, extra arguments)
RUNS: dict[str, tuple[str, Any, tuple[str, ...]]] = {
    "research": ("research-write-review.json", {"topic": "tides"}, ("--json",)),
    "router": ("router.json", {"message": "My billing statement charged me twice"}, ("--json",)),
    "map": ("map-summarize.json", {"documents": DOCUMENTS}, ("--json",)),
    "supervisor": ("supervisor.json", {"task": "tides"}, ()),
}


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str

    def document(self) -> dict[str, Any]:
        assert self.returncode == 0, self.stderr + self.stdout
        document: dict[str, Any] = json.loads(self.stdout)
        assert document["status"] == "completed"
        return document


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Done]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAYFLOW_")}
    env["RELAYFLOW_DATA_DIR"] = str(tmp_path_factory.mktemp("data"))
    started = {}
    for name, (file, value, extra) in RUNS.items():
        args = [sys.executable, "-m", "relayflow.cli", "run", str(EXAMPLES / file)]
        args += ["--input", json.dumps(value)]
        started[name] = subprocess.Popen(
            [*args, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
    done = {}
    for name, process in started.items():
        stdout, stderr = process.communicate(timeout=120)
        done[name] = Done(process.returncode, stdout, stderr)
    return done


def test_every_example_is_covered() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.json")) == [
        "map-summarize.json",
        "research-write-review.json",
        "router.json",
        "supervisor.json",
    ]


def test_research_write_review(runs: dict[str, Done]) -> None:
    document = runs["research"].document()
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


def test_router_sends_the_request_to_one_specialist(runs: dict[str, Done]) -> None:
    document = runs["router"].document()
    assert document["output"] == {
        "category": "billing",
        "answer": "[billing specialist] echo: My billing statement charged me twice",
    }
    statuses = {n["node_id"]: n["status"] for n in document["nodes"]}
    assert (statuses["billing"], statuses["technical"], statuses["general"]) == (
        "completed",
        "skipped",
        "skipped",
    )


@pytest.mark.parametrize(
    ("message", "answer"),
    [
        ("The sync fails with a technical error", "[technical specialist] echo: "),
        ("What are your opening hours?", "[support generalist] echo: "),
    ],
)
async def test_router_other_categories(tmp_path: Path, message: str, answer: str) -> None:
    settings = Settings(data_dir=tmp_path)
    result = await run_workflow_file(EXAMPLES / "router.json", {"message": message}, settings)
    assert result.outcome.output["answer"] == answer + message


def test_map_summarizes_every_document_in_order(runs: dict[str, Done]) -> None:
    output = runs["map"].document()["output"]
    assert output["count"] == 2
    assert output["summaries"] == [
        "[summarizer] echo: Summarize document 1, Tides: The moon pulls the sea.",
        "[summarizer] echo: Summarize document 2, Winds: Air moves from high to low.",
    ]
    assert output["digest"].startswith("[writer] echo: Combine these summaries")


def test_supervisor_asks_both_delegates_and_the_report_lists_nodes(
    runs: dict[str, Done],
) -> None:
    done = runs["supervisor"]
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[:2] for line in lines[:3]] == [
        ["task", "completed"],
        ["supervisor", "completed"],
        ["result", "completed"],
    ]
    output = lines[lines.index("output:") + 1 :]
    assert output[0] == "[supervisor] echo: Task: tides"
    assert "ask_researcher -> [researcher] echo: find the key facts about tides" in output
    assert "ask_writer -> [writer] echo: draft one paragraph about tides" in output


def test_a_failing_run_exits_1_with_the_error() -> None:
    result = CliRunner().invoke(app, ["run", str(EXAMPLES / "router.json"), "--input", "{}"])
    assert result.exit_code == 1
    assert "error: node 'request': the execution input does not match its schema" in (result.stdout)


def test_input_that_is_not_json_is_refused() -> None:
    result = CliRunner().invoke(app, ["run", str(EXAMPLES / "router.json"), "--input", "{nope"])
    assert result.exit_code == 2
    assert "--input is not valid JSON" in result.stderr
