"""Where each node and edge of one run stands, as the executor tracks it."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class NodeState(enum.Enum):
    PENDING = "pending"  # waiting for its incoming edges
    READY = "ready"  # every incoming edge resolved, some active: queued to start
    SKIPPING = "skipping"  # every incoming edge skipped: queued to be recorded skipped
    RUNNING = "running"  # its task runs (or its finished record is being reused)
    DONE = "done"  # completed in the current iteration
    SKIPPED = "skipped"
    WAITING = "waiting"  # paused at an approval (possibly inside a child run)
    FAILED = "failed"
    CANCELLED = "cancelled"


class EdgeState(enum.Enum):
    PENDING = "pending"  # its source has not finished (in this iteration)
    ACTIVE = "active"
    SKIPPED = "skipped"


@dataclass(slots=True)
class NodeProgress:
    """One node of one run: its state, iteration and the attempt under way."""

    iteration: int = 0
    state: NodeState = NodeState.PENDING
    runs: int = 0  # how many iterations this node has started (loop heads)
    attempt: int = 0
    started_at: float | None = None
    row_open: bool = False  # the current attempt's row is written and not yet closed
    settled: bool = False  # its last row is written: a cancel has nothing to record

    def start_iteration(self, iteration: int) -> None:
        """A loop member goes round again."""
        self.iteration, self.state, self.attempt = iteration, NodeState.PENDING, 0
