"""Log lines as JSON (`RELAYFLOW_LOG_FORMAT=json`), each with the execution and node
it belongs to when known.

The runtime sets `execution_id` for an execution's task and `node_id` for a node's
task (`bind_execution`, `bind_node`); a record's own `extra={"execution_id": ...}`
wins. A record may also name its `worker` and, for lines about several
executions, their `execution_ids`. Secrets never reach a log line from here: only
the message and these ids.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from contextvars import ContextVar
from typing import Any

from relayflow.config import Settings

execution_id_var: ContextVar[str | None] = ContextVar("relayflow_execution_id", default=None)
node_id_var: ContextVar[str | None] = ContextVar("relayflow_node_id", default=None)

# Fields a record carries only in its own `extra`.
RECORD_FIELDS = ("worker", "execution_ids")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def bind_execution(execution_id: object) -> None:
    """Tag this task's log lines (and the tasks it starts) with the execution."""
    execution_id_var.set(str(execution_id))
    node_id_var.set(None)


def bind_node(node_id: str | None) -> None:
    node_id_var.set(node_id)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, ids, exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, var in (("execution_id", execution_id_var), ("node_id", node_id_var)):
            value = getattr(record, key, None) or var.get()
            if value:
                line[key] = str(value)
        for key in RECORD_FIELDS:
            value = getattr(record, key, None)
            if value:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def json_lines_on() -> bool:
    """Whether the root logger writes JSON lines (then node ids are worth tracking)."""
    return any(isinstance(h.formatter, JsonFormatter) for h in logging.getLogger().handlers)


def setup_logging(settings: Settings, *, stream: Any = None) -> None:
    """The root logger's one handler, in the configured format and level."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
