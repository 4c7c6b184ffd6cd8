"""JSON log lines carry the execution, node and worker as fields of their own."""

from __future__ import annotations

import json
import logging

from relayflow.telemetry.logs import JsonFormatter


def line_of(**extra: object) -> dict[str, object]:
    record = logging.LogRecord(
        "relayflow.test", logging.WARNING, __file__, 1, "msg %s", ("x",), None
    )
    for key, value in extra.items():
        setattr(record, key, value)
    parsed: dict[str, object] = json.loads(JsonFormatter().format(record))
    return parsed


def test_a_line_names_its_execution_node_and_worker() -> None:
    line = line_of(execution_id="e-1", node_id="ask#1/call", worker="w-1")
    assert line["message"] == "msg x"
    assert (line["execution_id"], line["node_id"], line["worker"]) == ("e-1", "ask#1/call", "w-1")


def test_a_line_about_several_executions_lists_them() -> None:
    line = line_of(worker="w-1", execution_ids=["e-1", "e-2"])
    assert line["execution_ids"] == ["e-1", "e-2"]
    assert "execution_id" not in line
