"""A service whose work is one asyncio task: started once, cancelled on stop."""

from __future__ import annotations

import asyncio


class BackgroundLoop:
    """Subclasses give `task_name` and `_loop`; `enabled` may keep the task from starting."""

    task_name = "relayflow-background"
    _task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return True

    async def start(self) -> None:
        if self.enabled and self._task is None:
            self._task = asyncio.create_task(self._loop(), name=self.task_name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self) -> None:
        raise NotImplementedError
