"""How many nodes of one execution's child runs may be at work at once.

`max_parallel_nodes` bounds the ready nodes of each run; the tree of child runs
under a map over a workflow (that maps over a workflow ...) needs a bound of its
own (`max_active_child_nodes`): unbounded, one execution kept a thousand nodes at
work at once, and every other request on the event loop waited behind them. A node
of a child run holds one of the execution's slots while it works and lends it out
while it waits for its own child runs, so a child never waits for a slot its
parent holds (no deadlock). Nodes of the execution's own graph take no slot.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class ExecutionSlots:
    def __init__(self, count: int) -> None:
        self._free = asyncio.Semaphore(max(1, count))

    def holder(self) -> SlotHolder:
        return SlotHolder(self._free)

    @staticmethod
    def unbounded() -> SlotHolder:
        return SlotHolder(None)


class SlotHolder:
    """One node task's slot: held while it works, lent out while it waits for children."""

    def __init__(self, free: asyncio.Semaphore | None) -> None:
        self._free = free
        self._holding = False
        self._children = 0  # child runs this node waits for (map lanes run several)

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        if self._free is None:
            yield
            return
        await self._free.acquire()
        self._holding = True
        try:
            yield
        finally:
            if self._holding:
                self._holding = False
                self._free.release()

    @asynccontextmanager
    async def lent(self) -> AsyncIterator[None]:
        """Around waiting for a child run: the slot is free for others meanwhile."""
        if self._free is None:
            yield
            return
        self._children += 1
        if self._holding:
            self._holding = False
            self._free.release()
        try:
            yield
        finally:
            self._children -= 1
            if self._children == 0 and not self._holding:
                await self._free.acquire()
                if self._children:  # another child started meanwhile: lend it again
                    self._free.release()
                else:
                    self._holding = True
