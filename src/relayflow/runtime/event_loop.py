"""The event loop long-running processes run on: uvloop where it is installed.

The API process gets uvloop from uvicorn; the worker process must ask for it. On
the standard loop each hand-off between the worker's threads (the SQLite writer,
the thread pool) and the loop costs a self-pipe write and an extra selector pass.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop if it can be imported here, else None (the standard loop)."""
    try:
        import uvloop
    except ImportError:  # an optional speed-up (uvicorn[standard] brings it)
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` on the fastest loop available."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
