"""Traces and logs: OpenTelemetry spans for executions, nodes and model calls
(`tracing.py`, `execution.py`, `model_calls.py`), and JSON log lines that carry the
execution and node they belong to (`logs.py`).

Below `runtime/` and `agents/`, which call it; it imports only config, the engine's
ports and the OpenTelemetry packages (those only when tracing is on).
"""
