"""Running a workflow file in-process, with the real agent runner and offline models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from relayflow.config import Settings
from relayflow.domain import ExecutionStatus
from relayflow.engine.executor import ApprovalDecision
from relayflow.errors import InvalidInput
from relayflow.local_run import (
    FileTemplateCatalog,
    FileWorkflowCatalog,
    format_report,
    load_workflow_file,
    run_workflow_file,
)
from tests.engine.fakes import GraphBuilder


def write(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:  # no database: file runs keep node runs in memory
    return Settings(data_dir=tmp_path / "data")


async def test_templates_come_from_the_file_then_the_system_list_by_name_or_role(
    tmp_path: Path,
) -> None:
    doc = {"nodes": [], "templates": [{"id": "mine", "role": "poet", "model": "test:echo"}]}
    catalog = FileTemplateCatalog(load_workflow_file(write(tmp_path / "w.json", doc)).templates)
    mine = await catalog.get_profile("mine")
    assert mine is not None
    assert mine.role == "poet"
    by_name = await catalog.get_profile("Editor / critic")
    by_role = await catalog.get_profile("EDITOR")
    assert by_name is not None
    assert by_name == by_role
    assert by_name.model == "test:echo"
    assert await catalog.get_profile("nobody") is None


async def test_workflows_come_from_the_file_or_json_files_beside_it(tmp_path: Path) -> None:
    child = GraphBuilder().node("in", "input").node("out", "output").chain("in", "out").build()
    write(tmp_path / "child.json", child)
    (tmp_path / "sub").mkdir()
    doc = {"nodes": [], "workflows": {"inline": child}}
    catalog = FileWorkflowCatalog(load_workflow_file(write(tmp_path / "sub" / "w.json", doc)))
    assert await catalog.get_graph("inline", user_id=None) == child
    assert await catalog.get_graph("../child.json", user_id=None) is None  # outside the folder
    write(tmp_path / "sub" / "near.json", child)
    assert await catalog.get_graph("near.json", user_id=None) == child
    assert await catalog.get_graph("missing.json", user_id=None) is None


def test_a_file_that_is_not_a_workflow_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="must be a JSON object with a `nodes` list"):
        load_workflow_file(write(tmp_path / "w.json", {"edges": []}))
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(InvalidInput, match="is not valid JSON"):
        load_workflow_file(tmp_path / "bad.json")


async def test_a_file_runs_with_offline_models_and_reports_every_node(
    tmp_path: Path, settings: Settings
) -> None:
    g = GraphBuilder().node("in", "input").node("out", "output", value="{{ nodes.ask.output }}")
    g.node("ask", "agent", template_id="writer", prompt="Write about {{ input.topic }}")
    path = write(tmp_path / "w.json", g.chain("in", "ask", "out").build())
    result = await run_workflow_file(path, {"topic": "rain"}, settings)
    assert result.outcome.status is ExecutionStatus.COMPLETED
    assert result.outcome.output == "[writer] echo: Write about rain"
    assert result.outcome.usage.input_tokens > 0
    document = result.as_dict()
    assert [n["node_id"] for n in document["nodes"]] == ["in", "ask", "out"]
    assert {n["status"] for n in document["nodes"]} == {"completed"}
    report = format_report(result)
    assert "ask" in report
    assert "completed in" in report
    assert report.endswith("output:\n[writer] echo: Write about rain")


async def test_approvals_are_decided_on_the_command_line(
    tmp_path: Path, settings: Settings
) -> None:
    g = GraphBuilder().node("in", "input").node("ok", "approval", message="Ship?")
    g.node("out", "output", value="shipped")
    path = write(tmp_path / "w.json", g.chain("in", "ok", "out").build())
    waiting = await run_workflow_file(path, None, settings)
    assert waiting.outcome.status is ExecutionStatus.WAITING
    assert "waiting on approval: ok" in format_report(waiting)
    approved = await run_workflow_file(
        path, None, settings, decisions={"ok": ApprovalDecision(approved=True)}
    )
    assert approved.outcome.output == "shipped"
