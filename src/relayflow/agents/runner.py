"""`ModelAgentRunner`: one agent turn (with its tool calls) through pydantic-ai.

Per request it builds a pydantic-ai Agent: the system prompt from the profile's
role and system prompt, model settings from its parameters (see
`parameters.py`), text output or JSON validated against the output schema (see
`structured.py`), and tools: the node's HTTP tools, its sub-workflows, and one
`ask_<name>` tool per delegate (see `tools.py`), and the tools of the node's MCP
servers (`mcp_servers.py`, connected once for the whole request).

Delegation: a colleague answers with its own model, role, prompt and parameters,
and may itself ask the other colleagues, never one already in the chain of
questions (no agent asks itself, directly or in a loop), up to
`max_delegation_depth` levels. Every model request holds a provider slot
(`limits.py`) only while it is in flight.

Usage and cost: token usage of every model call, delegates included, is summed;
cost uses each call's own model price (`pricing.py`). When the request has an
`on_event` sink, the model's answer streams as `agent.delta` events.

Errors: provider failures map to TransientAgentError or NodeFailed
(`provider_errors.py`); the provider SDKs' own retries are off (`models.py`).

Traces: while tracing is on (`telemetry.tracing`), every model call is a span with the
GenAI attributes (`traced_model.py`; the offline shortcut below makes one too).

Offline `test:` models asked for plain text with no tools answer without the
agent loop (same answer, microseconds instead of milliseconds), so benchmarks of
the runtime are not benchmarks of the agent framework.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic_ai import Agent, RunContext, Tool
from pydantic_ai.exceptions import AgentRunError
from pydantic_ai.messages import (
    AgentStreamEvent,
    PartDeltaEvent,
    PartStartEvent,
    TextPart,
    TextPartDelta,
)

from relayflow import errors, netguard
from relayflow.agents import mcp_servers, offline, parameters, pricing, structured, tools
from relayflow.agents.limits import LocalProviderLimiter, ProviderLimiter, SlotLimitedModel
from relayflow.agents.models import ModelResolver, parse_model_string
from relayflow.agents.offline_text import DirectAnswer
from relayflow.agents.prompts import system_prompt_for
from relayflow.agents.provider_errors import provider_error
from relayflow.config import Settings
from relayflow.engine.ports import AgentProfile, AgentRequest, AgentResult, TokenUsage
from relayflow.telemetry.model_calls import model_call_span
from relayflow.telemetry.tracing import active_tracer

DEFAULT_MAX_DELEGATION_DEPTH = 3
OUTPUT_RETRIES = 1  # one chance to fix an answer that does not match the schema


@dataclass
class _Ledger:
    """Usage per model string over one request (the agent and all its delegates)."""

    by_model: dict[str, TokenUsage] = field(default_factory=dict)

    def add(self, model: str, usage: TokenUsage) -> None:
        self.by_model[model] = self.by_model.get(model, TokenUsage()) + usage

    def total(self) -> TokenUsage:
        total = TokenUsage()
        for usage in self.by_model.values():
            total = total + usage
        return total

    def cost(self, prices: Mapping[str, Any]) -> float:
        return sum(pricing.cost_usd(prices, m, u) for m, u in self.by_model.items())


@dataclass
class _Turn:
    """Everything one `run()` call shares across its agent and delegates."""

    request: AgentRequest
    log: tools.ToolCallLog
    ledger: _Ledger = field(default_factory=_Ledger)
    # The node's MCP servers, connected for the whole request (the node's agent only).
    mcp_toolsets: list[Any] = field(default_factory=list)


def identity(profile: AgentProfile) -> str:
    return profile.id or f"name:{profile.name}"


class ModelAgentRunner:
    """Implements `engine.ports.AgentRunner`; one per process, shared by all executions."""

    def __init__(
        self,
        settings: Settings,
        *,
        limiter: ProviderLimiter | None = None,
        http_client: httpx.AsyncClient | None = None,
        max_delegation_depth: int = DEFAULT_MAX_DELEGATION_DEPTH,
    ) -> None:
        self._settings = settings
        self._limiter = limiter or LocalProviderLimiter.from_settings(settings)
        self._resolver = ModelResolver(settings)
        self._given_client = http_client
        self._own_client: httpx.AsyncClient | None = None
        self._max_depth = max_delegation_depth

    async def run(self, request: AgentRequest) -> AgentResult:
        turn = _Turn(request, tools.ToolCallLog(request.node_id, request.on_event))
        async with mcp_servers.open_servers(
            request.mcp_servers,
            settings=self._settings,
            agent=request.profile.name,
            log=turn.log,
        ) as toolsets:
            turn.mcp_toolsets = toolsets
            output = await self._answer(
                turn,
                request.profile,
                request.prompt,
                chain=(identity(request.profile),),
                output_schema=request.output_schema,
                root=True,
            )
        return AgentResult(
            output=output,
            model=request.profile.model,
            usage=turn.ledger.total(),
            cost_usd=turn.ledger.cost(self._settings.prices),
            tool_calls=tuple(turn.log.calls),
        )

    async def aclose(self) -> None:
        await self._resolver.aclose()
        if self._own_client is not None:
            await self._own_client.aclose()
            self._own_client = None

    # ------------------------------------------------------------ one agent
    async def _answer(
        self,
        turn: _Turn,
        profile: AgentProfile,
        prompt: str,
        *,
        chain: tuple[str, ...],
        output_schema: Mapping[str, Any] | None,
        root: bool,
    ) -> Any:
        ref = parse_model_string(profile.model)
        settings = parameters.model_settings_from(profile.parameters, agent=profile.name)
        if turn.request.timeout_s:
            settings["timeout"] = turn.request.timeout_s
        schema = None
        if output_schema is not None:
            schema = structured.structured_output(output_schema, agent=profile.name)
        agent_tools = self._tools(turn, profile, chain=chain, root=root)
        toolsets = turn.mcp_toolsets if root else []
        try:
            if (
                ref.provider == offline.PROVIDER
                and not agent_tools
                and not toolsets
                and schema is None
            ):
                return await self._answer_offline(turn, profile, prompt, ref.provider)
            _, model = self._resolver.resolve(
                profile.model, role=profile.role or profile.name, credential=profile.credential
            )
            limited: Any = SlotLimitedModel(model, limiter=self._limiter, provider=ref.provider)
            tracer = active_tracer()
            if tracer is not None:
                from relayflow.agents.traced_model import TracedModel

                limited = TracedModel(
                    limited,
                    tracer=tracer,
                    provider=ref.provider,
                    model_name=ref.name,
                    agent=profile.name,
                    cost_of=self._cost_of(profile.model),
                )
            agent: Agent[None, Any] = Agent(
                limited,
                output_type=schema.tool_output if schema else str,
                system_prompt=system_prompt_for(profile),
                tools=agent_tools,
                toolsets=toolsets,
                retries={"output": OUTPUT_RETRIES},
                name=profile.name,
            )
            if schema is not None:
                agent.output_validator(schema.accept)
            result = await agent.run(
                prompt,
                model_settings=settings,
                event_stream_handler=self._stream_handler(turn, profile)
                if turn.request.on_event
                else None,
            )
        except AgentRunError as exc:
            raise provider_error(profile.model, ref.provider, exc) from exc
        usage = result.usage
        turn.ledger.add(
            profile.model, TokenUsage(usage.input_tokens, usage.output_tokens, usage.requests)
        )
        return result.output

    def _cost_of(self, model: str) -> Any:
        prices = self._settings.prices

        def cost(input_tokens: int, output_tokens: int) -> float:
            return pricing.cost_usd(prices, model, TokenUsage(input_tokens, output_tokens, 1))

        return cost

    async def _answer_offline(
        self, turn: _Turn, profile: AgentProfile, prompt: str, provider: str
    ) -> str:
        async with self._limiter.slot(provider):
            answer = await self._offline_call(profile, prompt, provider)
        turn.ledger.add(profile.model, TokenUsage(answer.input_tokens, answer.output_tokens, 1))
        if turn.request.on_event is not None:
            await turn.request.on_event(
                "agent.delta",
                {"node_id": turn.request.node_id, "agent": profile.name, "delta": answer.text},
            )
        return answer.text

    async def _offline_call(
        self, profile: AgentProfile, prompt: str, provider: str
    ) -> DirectAnswer:
        call = offline.answer_directly(
            profile.model,
            role=profile.role or profile.name,
            system_prompt=system_prompt_for(profile),
            prompt=prompt,
        )
        tracer = active_tracer()
        if tracer is None:
            return await call
        name = parse_model_string(profile.model).name
        with model_call_span(tracer, provider=provider, model=name, agent=profile.name) as span:
            answer = await call
            span.finished(
                input_tokens=answer.input_tokens,
                output_tokens=answer.output_tokens,
                cost_usd=self._cost_of(profile.model)(answer.input_tokens, answer.output_tokens),
            )
            return answer

    # ------------------------------------------------------------ tools
    def _tools(
        self, turn: _Turn, profile: AgentProfile, *, chain: tuple[str, ...], root: bool
    ) -> list[Tool[Any]]:
        request = turn.request
        built: list[Tool[Any]] = []
        if root:  # the node's own tools belong to the node's agent, not its colleagues
            allowlist = list(self._settings.http_allowlist)
            built += [
                tools.http_tool(
                    spec,
                    agent=profile.name,
                    log=turn.log,
                    client=self._tool_client,
                    allowlist=allowlist,
                )
                for spec in request.http_tools
            ]
            if request.subworkflow_tools:
                caller = request.call_subworkflow
                if caller is None:
                    raise errors.InvalidInput(
                        f"agent {profile.name!r} has sub-workflow tools but nothing can run them"
                    )
                built += [
                    tools.subworkflow_tool(spec, agent=profile.name, log=turn.log, run=caller)
                    for spec in request.subworkflow_tools
                ]
        if len(chain) <= self._max_depth:
            seen = set(chain)
            for colleague in request.delegates:
                if identity(colleague) in seen:
                    continue
                seen.add(identity(colleague))

                async def ask(
                    delegate: AgentProfile, question: str, _chain: tuple[str, ...] = chain
                ) -> str:
                    answer = await self._answer(
                        turn,
                        delegate,
                        question,
                        chain=(*_chain, identity(delegate)),
                        output_schema=None,
                        root=False,
                    )
                    return str(answer)

                built.append(
                    tools.delegate_tool(colleague, agent=profile.name, log=turn.log, ask=ask)
                )
        tools.check_tool_names([t.name for t in built])
        return built

    def _tool_client(self) -> httpx.AsyncClient:
        if self._given_client is not None:
            return self._given_client
        if self._own_client is None:
            self._own_client = netguard.outbound_client()
        return self._own_client

    # ------------------------------------------------------------ streaming
    def _stream_handler(self, turn: _Turn, profile: AgentProfile) -> Any:
        sink = turn.request.on_event
        assert sink is not None
        node_id = turn.request.node_id

        async def forward(_ctx: RunContext[None], stream: AsyncIterable[AgentStreamEvent]) -> None:
            async for event in stream:
                delta = None
                if isinstance(event, PartStartEvent) and isinstance(event.part, TextPart):
                    delta = event.part.content
                elif isinstance(event, PartDeltaEvent) and isinstance(event.delta, TextPartDelta):
                    delta = event.delta.content_delta
                if delta:
                    await sink(
                        "agent.delta", {"node_id": node_id, "agent": profile.name, "delta": delta}
                    )

        return forward
