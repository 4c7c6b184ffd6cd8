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
    )
