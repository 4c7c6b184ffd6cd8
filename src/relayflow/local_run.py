"""Run a workflow file in-process: what `relayflow run FILE.json` does.

A workflow file is a JSON object with the graph's `nodes` and `edges` (a workflow
exported from the API works as is), and optionally:
- `templates`: agent templates of its own, `[{id, name, role, model, system_prompt?,
  parameters?}]`;
- `workflows`: graphs for `subworkflow` and `map` nodes, `{workflow_id: {nodes, edges}}`.

An agent node's `template_id` names one of the file's templates, or a system
template by name or role (`researcher`, `Editor / critic`, `editor`), or the node
sets `model` (and `system_prompt`) inline. A `workflow_id` not in `workflows` is
read as a JSON file path relative to the workflow file.

Node runs are kept in memory (`InMemoryRunStore`); agents run through the real
`ModelAgentRunner`, so `test:` models work offline and provider models use the
keys from the environment. The model library behind it takes most of a short run's
time to import, so it is imported when the first agent runs, not before. With
`RELAYFLOW_OTEL_ENDPOINT` set, the run's spans are exported like a worker's
(`telemetry/`).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relayflow import netguard
from relayflow.config import Settings
from relayflow.domain import NodeRunStatus
from relayflow.engine.executor import (
    ApprovalDecision,
    ExecutionOutcome,
    ExecutionRun,
    Executor,
)
from relayflow.engine.memory import InMemoryRunStore
from relayflow.engine.ports import (
    AgentProfile,
    AgentRequest,
    AgentResult,
    NodeRunRecord,
    TokenUsage,
)
from relayflow.errors import InvalidInput
from relayflow.ids import time_ordered_id
from relayflow.runtime.engine_options import engine_options
from relayflow.store.seed import DEFAULT_MODEL, SYSTEM_TEMPLATES
from relayflow.telemetry.execution import ExecutionTrace

if TYPE_CHECKING:
    from relayflow.agents.runner import ModelAgentRunner


@dataclass
class WorkflowFile:
    path: Path
    graph: dict[str, Any]
    templates: list[AgentProfile] = field(default_factory=list)
    workflows: dict[str, Mapping[str, Any]] = field(default_factory=dict)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{path} is not valid JSON: {exc}") from exc


def load_workflow_file(path: Path) -> WorkflowFile:
    raw = _read_json(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("nodes"), list):
        raise InvalidInput(f"{path} must be a JSON object with a `nodes` list (and `edges`)")
    templates = []
    for index, item in enumerate(raw.get("templates", [])):
        try:
            templates.append(
                AgentProfile(
                    id=str(item["id"]),
                    name=str(item.get("name", item["id"])),
                    role=str(item.get("role", "assistant")),
                    model=str(item.get("model", DEFAULT_MODEL)),
                    system_prompt=item.get("system_prompt"),
                    parameters=dict(item.get("parameters") or {}),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"{path}: templates[{index}] needs an `id` ({exc})") from exc
    return WorkflowFile(
        path=path,
        graph={"nodes": raw["nodes"], "edges": raw.get("edges", [])},
        templates=templates,
        workflows=dict(raw.get("workflows", {})),
    )


def system_profiles() -> list[AgentProfile]:
    return [
        AgentProfile(
            id=t.name,
            name=t.name,
            role=t.role,
            model=DEFAULT_MODEL,
            system_prompt=t.system_prompt,
            parameters=dict(t.parameters),
        )
        for t in SYSTEM_TEMPLATES
    ]


class FileTemplateCatalog:
    """The file's own templates by id, then system templates by name or role."""

    def __init__(self, own: list[AgentProfile]) -> None:
        self.own = {p.id: p for p in own if p.id}
        self.system = system_profiles()

    async def get_profile(self, template_id: str) -> AgentProfile | None:
        if template_id in self.own:
            return self.own[template_id]
        wanted = template_id.casefold()
        for attribute in ("name", "role"):
            for profile in self.system:
                if getattr(profile, attribute).casefold() == wanted:
                    return profile
        return None


class FileWorkflowCatalog:
    """The file's embedded workflows, else JSON files beside it."""

    def __init__(self, workflow_file: WorkflowFile) -> None:
        self.embedded = workflow_file.workflows
        self.base = workflow_file.path.resolve().parent

    async def get_graph(
        self, workflow_id: str, *, user_id: uuid.UUID | None
    ) -> Mapping[str, Any] | None:
        if workflow_id in self.embedded:
            return self.embedded[workflow_id]
        candidate = (self.base / workflow_id).resolve()
        if not candidate.is_relative_to(self.base) or not candidate.is_file():
            return None
        return load_workflow_file(candidate).graph


class AgentsOnFirstUse:
    """The `ModelAgentRunner`, made (and its module imported) when an agent first needs it.

    Plain offline requests (a `test:echo` or `test:sleep-<ms>` model, no tools, no
    schema, no tracing) are answered here with the offline text alone, so a local
    run of an offline workflow never imports the model library (most of its start-up).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.runner: ModelAgentRunner | None = None

    async def run(self, request: AgentRequest) -> AgentResult:
        if self.runner is None and _plainly_offline(request):
            return await _answer_offline(request, self.settings)
        if self.runner is None:
            from relayflow.agents.runner import ModelAgentRunner

            self.runner = ModelAgentRunner(self.settings)
        return await self.runner.run(request)

    async def aclose(self) -> None:
        if self.runner is not None:
            await self.runner.aclose()


def _plainly_offline(request: AgentRequest) -> bool:
    from relayflow.agents import offline_text
    from relayflow.telemetry.tracing import active_tracer

    provider, _, name = request.profile.model.partition(":")
    if provider != offline_text.PROVIDER or active_tracer() is not None:
        return False
    try:
        behaviour = offline_text.behaviour_for(name)
    except InvalidInput:
        return False  # the runner reports an unknown offline model
    return not (
        behaviour.always_fail
        or behaviour.fail_first
        or request.output_schema is not None
        or request.http_tools
        or request.delegates
        or request.subworkflow_tools
        or request.mcp_servers
    )


async def _answer_offline(request: AgentRequest, settings: Settings) -> AgentResult:
    from relayflow.agents import offline_text, pricing
    from relayflow.agents.prompts import system_prompt_for

    profile = request.profile
    _, _, name = profile.model.partition(":")
    behaviour = offline_text.behaviour_for(name)
    if behaviour.sleep_s:
        await asyncio.sleep(behaviour.sleep_s)
    answer = offline_text.plain_answer(
        profile.model,
        role=profile.role or profile.name,
        system_prompt=system_prompt_for(profile),
        prompt=request.prompt,
    )
    if request.on_event is not None:
        await request.on_event(
            "agent.delta",
            {"node_id": request.node_id, "agent": profile.name, "delta": answer.text},
        )
    usage = TokenUsage(answer.input_tokens, answer.output_tokens, 1)
    return AgentResult(
        output=answer.text,
        model=profile.model,
        usage=usage,
        cost_usd=pricing.cost_usd(settings.prices, profile.model, usage),
    )


@dataclass
class LocalRunResult:
    execution_id: uuid.UUID
    outcome: ExecutionOutcome
    runs: list[NodeRunRecord]  # the latest attempt of each node (and iteration), in start order
    attempts: dict[tuple[str, int], int]
    duration_s: float

    def as_dict(self) -> dict[str, Any]:
        outcome = self.outcome
        return {
            "execution_id": str(self.execution_id),
            "status": outcome.status.value,
            "output": outcome.output,
            "error": outcome.error,
            "waiting_on": outcome.waiting_on,
            "input_tokens": outcome.usage.input_tokens,
            "output_tokens": outcome.usage.output_tokens,
            "cost_usd": outcome.cost_usd,
            "duration_ms": round(self.duration_s * 1000, 1),
            "nodes": [self._node(r) for r in self.runs],
        }

    def _node(self, record: NodeRunRecord) -> dict[str, Any]:
        return {
            "node_id": record.node_id,
            "iteration": record.iteration,
            "status": record.status.value,
            "attempts": self.attempts[(record.node_id, record.iteration)],
            "duration_ms": duration_ms(record),
            "output": record.output,
            "error": record.error,
            "input_tokens": record.usage.input_tokens,
            "output_tokens": record.usage.output_tokens,
            "cost_usd": record.cost_usd,
        }


def duration_ms(record: NodeRunRecord) -> float | None:
    if record.started_at is None or record.finished_at is None:
        return None
    return round((record.finished_at - record.started_at) * 1000, 1)


async def run_workflow_file(
    path: Path,
    input: Any,
    settings: Settings,
    *,
    decisions: Mapping[str, ApprovalDecision] | None = None,
) -> LocalRunResult:
    workflow_file = load_workflow_file(path)
    store = InMemoryRunStore()
    agents = AgentsOnFirstUse(settings)
    execution_id = time_ordered_id()
    started = time.perf_counter()
    try:
        trigger = {"type": "cli", "file": str(path)}
        trace = ExecutionTrace.start(execution_id, trigger=trigger)
        async with netguard.outbound_client() as client:
            executor = Executor(
                store=store,
                agents=trace.agents(agents),
                templates=FileTemplateCatalog(workflow_file.templates),
                workflows=FileWorkflowCatalog(workflow_file),
                options=engine_options(settings),
                events=trace.events(None),
                http_client=client,
            )
            async with trace.running():
                outcome = await executor.run(
                    ExecutionRun(
                        execution_id=execution_id,
                        graph=workflow_file.graph,
                        input=input,
                        decisions=dict(decisions or {}),
                        trigger=trigger,
                    )
                )
                trace.finished(outcome)
    finally:
        await agents.aclose()
    latest: dict[tuple[str, int], NodeRunRecord] = {}
    attempts: dict[tuple[str, int], int] = {}
    for record in store.runs(execution_id):
        key = (record.node_id, record.iteration)
        latest[key] = record
        if record.status is not NodeRunStatus.SKIPPED:
            attempts[key] = max(attempts.get(key, 0), record.attempt)
        else:
            attempts.setdefault(key, 0)
    return LocalRunResult(
        execution_id=execution_id,
        outcome=outcome,
        runs=list(latest.values()),
        attempts=attempts,
        duration_s=time.perf_counter() - started,
    )


def format_report(result: LocalRunResult) -> str:
    """Each node's status and timing, then the outcome, for a terminal."""
    width = max((len(r.node_id) for r in result.runs), default=4)
    lines = []
    for record in result.runs:
        name = record.node_id + (f" #{record.iteration}" if record.iteration else "")
        took = duration_ms(record)
        skipped = record.status is NodeRunStatus.SKIPPED
        timing = f"{took:9.1f} ms" if took is not None and not skipped else " " * 12
        attempts = result.attempts[(record.node_id, record.iteration)]
        extra = f"  ({attempts} attempts)" if attempts > 1 else ""
        if record.error and record.status is not NodeRunStatus.COMPLETED:
            extra += f"  {record.error}"
        lines.append(f"  {name:<{width + 4}} {record.status.value:<10}{timing}{extra}")
    outcome = result.outcome
    lines.append("")
    summary = f"{outcome.status.value} in {result.duration_s * 1000:.1f} ms"
    if outcome.usage.input_tokens or outcome.usage.output_tokens:
        summary += f", {outcome.usage.input_tokens} in / {outcome.usage.output_tokens} out tokens"
    if outcome.cost_usd:
        summary += f", ${outcome.cost_usd:.6f}"
    lines.append(summary)
    if outcome.error:
        lines.append(f"error: {outcome.error}")
    if outcome.waiting_on:
        lines.append(
            "waiting on approval: "
            + ", ".join(outcome.waiting_on)
            + " (run again with --approve ID or --reject ID)"
        )
    if outcome.output is not None:
        text = outcome.output
        if not isinstance(text, str):
            text = json.dumps(text, indent=2, ensure_ascii=False, default=str)
        lines.append("output:")
        lines.append(text)
    return "\n".join(lines)
