"""The `relayflow` command as a user types it: the README's `run` line works as written,
and each command loads only what it uses (start-up time is measured by
bench/cli_startup.py, never asserted here)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RELAYFLOW = Path(sys.executable).with_name("relayflow")
# What a command that does not need them must not import.
HEAVY = ("sqlalchemy", "fastapi", "uvicorn", "pydantic_ai", "rich", "opentelemetry.sdk")


def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAYFLOW_")}
    env["RELAYFLOW_DATA_DIR"] = str(tmp_path)
    return env


def loaded_by(args: list[str], tmp_path: Path) -> set[str]:
    """The top-level modules (and `opentelemetry.sdk`) imported by `relayflow *args`."""
    script = (
        "import sys\n"
        "from relayflow.cli import app\n"
        "try:\n"
        f"    app({args!r})\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print('MODULES', *sorted(sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=clean_env(tmp_path),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    names = done.stdout.rsplit("MODULES ", 1)[1].split()
    return {n for n in names for heavy in HEAVY if n == heavy or n.startswith(heavy + ".")}


def test_the_readme_run_example_works_as_written(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    line = re.search(r"`(relayflow run examples/[^`]+)`", readme)
    assert line, "README shows a `relayflow run examples/...` command"
    args = shlex.split(line.group(1))

    done = subprocess.run(
        [str(RELAYFLOW), *args[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=clean_env(tmp_path),
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr + done.stdout
    assert "completed in" in done.stdout
    output = json.loads(done.stdout.split("output:\n", 1)[1])
    assert output["category"] == "billing"
    assert output["answer"].startswith("[billing specialist] echo: ")


def test_help_loads_no_settings_database_web_or_model_library(tmp_path: Path) -> None:
    assert loaded_by(["--help"], tmp_path) == set()


@pytest.mark.parametrize("command", [["run", "--help"], ["token", "--help"], ["db", "--help"]])
def test_command_help_is_as_light(tmp_path: Path, command: list[str]) -> None:
    assert loaded_by(command, tmp_path) == set()


def three_node_file(tmp_path: Path, middle: dict[str, object]) -> Path:
    """input -> `middle` (id `mid`) -> output of its answer, as a workflow file."""
    position = {"x": 0, "y": 0}
    graph = {
        "nodes": [
            {"id": "in", "type": "input", "position": position, "data": {}},
            {"id": "mid", "position": position, **middle},
            {
                "id": "out",
                "type": "output",
                "position": position,
                "data": {"value": "{{ nodes.mid.output }}"},
            },
        ],
        "edges": [
            {"id": "a", "source": "in", "target": "mid"},
            {"id": "b", "source": "mid", "target": "out"},
        ],
    }
    file = tmp_path / "graph.json"
    file.write_text(json.dumps(graph))
    return file


def test_a_graph_without_agents_runs_without_the_model_library(tmp_path: Path) -> None:
    file = three_node_file(
        tmp_path, {"type": "transform", "data": {"value": "{{ input | upper }}"}}
    )

    loaded = loaded_by(["run", str(file), "--input", '"hello"'], tmp_path)

    # httpx (the HTTP nodes' client) imports rich for its own command line when rich is
    # installed, as typer has it; everything else stays out.
    assert loaded - {n for n in loaded if n == "rich" or n.startswith("rich.")} == set()


def test_an_offline_agent_graph_runs_without_the_model_library(tmp_path: Path) -> None:
    file = three_node_file(
        tmp_path, {"type": "agent", "data": {"model": "test:echo", "prompt": "Say {{ input }}"}}
    )

    loaded = loaded_by(["run", str(file), "--input", '"hello"'], tmp_path)

    assert not {n for n in loaded if n == "pydantic_ai" or n.startswith("pydantic_ai.")}
