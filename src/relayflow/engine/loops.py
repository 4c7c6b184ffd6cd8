"""Loop tracking: when every member of a loop has finished an iteration, and what next.

A loop's iteration settles once each member has finished or been skipped. It goes
round again if some back edge to the head became active during the iteration;
otherwise it stops, and only then do the exit edges that were skipped in the
iteration count as skipped (an exit taken in an earlier iteration stays active).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from relayflow.engine.graph import Edge, Loop


@dataclass(slots=True)
class _Iteration:
    finalized: int = 0  # members done or skipped
    again: bool = False  # a back edge became active
    held_skips: list[Edge] = field(default_factory=list)  # exit edges skipped


@dataclass(frozen=True, slots=True)
class Settled:
    """The end of one iteration: go round `again`, or stop and skip `held_skips`."""

    again: bool
    held_skips: tuple[Edge, ...]


class LoopTracker:
    """The current iteration of every loop of one graph."""

    def __init__(self, loops: Iterable[Loop]) -> None:
        self._iterations = {id(loop): _Iteration() for loop in loops}

    def back_edge_taken(self, loop: Loop) -> None:
        self._iterations[id(loop)].again = True

    def hold_skip(self, loop: Loop, edge: Edge) -> None:
        """An exit edge skipped in this iteration: skipped for good only if the loop stops."""
        self._iterations[id(loop)].held_skips.append(edge)

    def member_finalized(self, loop: Loop) -> Settled | None:
        """A member finished (or was skipped); the settled iteration once all have."""
        iteration = self._iterations[id(loop)]
        iteration.finalized += 1
        if iteration.finalized < len(loop.members):
            return None
        self._iterations[id(loop)] = _Iteration()
        return Settled(iteration.again, tuple(iteration.held_skips))
