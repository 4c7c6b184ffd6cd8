"""In-memory implementations of the engine's ports, for tests and `relayflow run`.

`InMemoryRunStore` keeps every record it is given (`history`) and the latest state
of each attempt (`attempts`); it honours fencing like the SQL store: a write with
a token other than the current `lease_token` raises `LeaseLost`.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from relayflow.domain import NodeRunStatus
from relayflow.engine.ports import AgentProfile, NodeRunRecord
from relayflow.errors import LeaseLost

FINISHED = (NodeRunStatus.COMPLETED, NodeRunStatus.SKIPPED)
AttemptKey = tuple[uuid.UUID, str, int, int]


class InMemoryRunStore:
    def __init__(self) -> None:
        self.history: list[NodeRunRecord] = []
        self.attempts: dict[AttemptKey, NodeRunRecord] = {}
        self.lease_token: int | None = None  # None: fencing off

    async def record(self, run: NodeRunRecord, *, fence: int | None = None) -> None:
        if self.lease_token is not None and fence != self.lease_token:
            raise LeaseLost(
                f"lease token {fence} is no longer current ({self.lease_token}) "
                f"for execution {run.execution_id}"
            )
        stored = copy.copy(run)
        self.history.append(stored)
        self.attempts[(run.execution_id, run.node_id, run.iteration, run.attempt)] = stored

    async def finished(self, execution_id: uuid.UUID) -> list[NodeRunRecord]:
        latest: dict[tuple[str, int], NodeRunRecord] = {}
        for record in self.attempts.values():
            if record.execution_id == execution_id and record.status in FINISHED:
                latest[(record.node_id, record.iteration)] = record
        return list(latest.values())

    # ------------------------------------------------------------ for tests and the CLI
    def runs(self, execution_id: uuid.UUID | None = None) -> list[NodeRunRecord]:
        """The latest state of every attempt, in the order the attempts started."""
        records = self.attempts.values()
        return [r for r in records if execution_id in (None, r.execution_id)]

    def of(self, node_id: str, execution_id: uuid.UUID | None = None) -> list[NodeRunRecord]:
        return [r for r in self.runs(execution_id) if r.node_id == node_id]

    def copy_finished(
        self, source: uuid.UUID, target: uuid.UUID, node_ids: Iterable[str] | None = None
    ) -> None:
        """What the runtime does for a rerun: carry finished records into a new execution."""
        wanted = set(node_ids) if node_ids is not None else None
        for record in list(self.attempts.values()):
            if record.execution_id != source or record.status not in FINISHED:
                continue
            if wanted is not None and record.node_id.split("/")[0] not in wanted:
                continue
            moved = copy.copy(record)
            moved.execution_id = target
            self.attempts[(target, moved.node_id, moved.iteration, moved.attempt)] = moved


class InMemoryTemplateCatalog:
    def __init__(self, profiles: Iterable[AgentProfile] = ()) -> None:
        self.profiles: dict[str, AgentProfile] = {}
        for profile in profiles:
            self.add(profile)

    def add(self, profile: AgentProfile) -> None:
        assert profile.id is not None, "a catalogued profile needs an id"
        self.profiles[profile.id] = profile

    async def get_profile(self, template_id: str) -> AgentProfile | None:
        return self.profiles.get(template_id)


class InMemoryWorkflowCatalog:
    """Graphs by workflow id; `owners` limits a workflow to one user (else readable by all)."""

    def __init__(self, graphs: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.graphs: dict[str, Mapping[str, Any]] = dict(graphs or {})
        self.owners: dict[str, uuid.UUID] = {}

    def add(
        self, workflow_id: str, graph: Mapping[str, Any], *, owner: uuid.UUID | None = None
    ) -> None:
        self.graphs[workflow_id] = graph
        if owner is not None:
            self.owners[workflow_id] = owner

    async def get_graph(
        self, workflow_id: str, *, user_id: uuid.UUID | None
    ) -> Mapping[str, Any] | None:
        owner = self.owners.get(workflow_id)
        if owner is not None and owner != user_id:
            return None
        return self.graphs.get(workflow_id)
