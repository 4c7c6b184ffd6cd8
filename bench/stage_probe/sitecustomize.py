"""Loaded by the server processes `bench/stages.py` starts (through PYTHONPATH): stamps
the wall-clock time of each stage of a webhook's run, by execution id, and writes them
to RELAYFLOW_BENCH_STAGES_DIR every second. Benchmark tooling, never part of a server.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import sys
import threading
import time
from typing import Any

OUT = os.environ["RELAYFLOW_BENCH_STAGES_DIR"]
STAMPS: list[tuple[str, list[str], float, float]] = []


def _stamp(stage: str, ids: list[Any], started: float) -> None:
    STAMPS.append((stage, [str(i) for i in ids], started, time.time()))


def _write_forever() -> None:
    while True:
        time.sleep(1)
        with open(os.path.join(OUT, f"{os.getpid()}.jsonl"), "w") as out:
            out.writelines(json.dumps(s) + "\n" for s in list(STAMPS))


def _timed(cls: type, name: str, stage: str, ids: Any) -> None:
    original = getattr(cls, name)
    if inspect.iscoroutinefunction(original):

        @functools.wraps(original)
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            started = time.time()
            result = await original(*args, **kwargs)
            _stamp(stage, ids(args, kwargs, result), started)
            return result

        setattr(cls, name, timed_async)
    else:

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.time()
            result = original(*args, **kwargs)
            _stamp(stage, ids(args, kwargs, result), started)
            return result

        setattr(cls, name, timed)


NEEDED = {
    "relayflow.store.queue.postgres": "PostgresQueue",
    "relayflow.store.queue.sqlite": "SqliteQueue",
    "relayflow.runtime.outcomes": "Outcomes",
    "relayflow.runtime.worker": "Worker",
    "relayflow.runtime.journal": "Journal",
    "relayflow.engine.executor": "Executor",
}


def _install() -> None:
    # The classes are patched once their modules are imported (before the server starts
    # its services, which take far longer than this thread's 10 ms polls).
    while not all(hasattr(sys.modules.get(m), c) for m, c in NEEDED.items()):
        time.sleep(0.01)
    modules = sys.modules
    for queue in (
        modules["relayflow.store.queue.postgres"].PostgresQueue,
        modules["relayflow.store.queue.sqlite"].SqliteQueue,
    ):
        _timed(queue, "find_webhook_and_start", "start", lambda a, k, r: [k["plain"].execution_id])
        _timed(queue, "create_from_webhook", "start", lambda a, k, r: [r.execution_id])
        _timed(queue, "claim", "claim", lambda a, k, r: [e.id for e in r.executions])
        _timed(
            queue, "write_batch", "batch", lambda a, k, r: [o.execution_id for o in a[1].outcomes]
        )
    worker = modules["relayflow.runtime.worker"].Worker
    _timed(worker, "_launch", "launch", lambda a, k, r: [a[1].id])
    if "relayflow.runtime.webhook_intake" in modules:  # an API process
        intake = modules["relayflow.runtime.webhook_intake"].WebhookIntake
        _timed(intake, "accept", "accept", lambda a, k, r: [r.execution_id])
    outcomes = modules["relayflow.runtime.outcomes"].Outcomes
    _timed(outcomes, "wait", "answer", lambda a, k, r: [a[1]])
    executor = modules["relayflow.engine.executor"].Executor
    _timed(executor, "run", "engine", lambda a, k, r: [a[1].execution_id])
    journal = modules["relayflow.runtime.journal"].Journal
    _timed(journal, "finish", "finish", lambda a, k, r: [a[1].execution_id])
    _timed(
        modules["relayflow.runtime.outcomes"].Outcomes,
        "_on_settled_elsewhere",
        "settled",
        lambda a, k, r: [a[1].split(" ", 1)[0]],
    )


threading.Thread(target=_install, daemon=True).start()
threading.Thread(target=_write_forever, daemon=True).start()
