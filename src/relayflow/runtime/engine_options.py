"""The engine's options from the settings: the runtime reads config, the engine does not."""

from __future__ import annotations

from relayflow.config import Settings
from relayflow.engine.run import EngineOptions
from relayflow.engine.template_limits import TemplateLimits


def engine_options(settings: Settings) -> EngineOptions:
    return EngineOptions(
        max_parallel_nodes=settings.max_parallel_nodes,
        execution_timeout_s=settings.execution_timeout_s,
        subworkflow_max_depth=settings.subworkflow_max_depth,
        http_allowlist=tuple(settings.http_allowlist),
        templates=TemplateLimits.from_settings(settings),
        max_node_runs=settings.max_node_runs_per_execution,
        max_map_items=settings.max_map_items,
        max_node_output_bytes=settings.max_node_output_bytes,
        max_events=settings.max_events_per_execution,
        max_active_child_nodes=settings.max_active_child_nodes,
    )
