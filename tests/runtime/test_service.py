"""`relayflow worker` as a process: SIGTERM finishes or hands back what it runs."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import update

from relayflow.api.app import create_app
from relayflow.config import Settings
from relayflow.domain import utcnow
from relayflow.runtime.events import EventBus
from relayflow.runtime.worker import Worker
from relayflow.store import models
from relayflow.store.db import Database
from relayflow.store.queue import events
from tests.runtime.conftest import submit, wait_status
from tests.support.rows import echo_graph, make_user, make_workflow

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
async def test_sigterm_hands_back_running_executions(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user, echo_graph("test:sleep-20000"))
    execution_id = await submit(db, workflow, user)
    env = {
        **os.environ,
        "RELAYFLOW_DATABASE_URL": settings.resolved_database_url,
        "RELAYFLOW_JWT_SECRET": settings.signing_secret(),
        "RELAYFLOW_DATA_DIR": str(tmp_path),
        "RELAYFLOW_SHUTDOWN_GRACE_S": "0.5",
        "RELAYFLOW_POLL_SECONDS": "0.2",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "relayflow.cli", "worker", "--no-migrate", "--name", "term"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        # A new process imports the whole runtime first: slow on a loaded CI machine.
        running = await wait_status(db, execution_id, {"processing"}, timeout=90)
        assert running.lease_owner == "term"
        os.kill(process.pid, signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 20) == 0
    finally:
        if process.poll() is None:
            process.kill()
    back = await wait_status(db, execution_id, {"pending"}, timeout=1)
    assert (back.lease_owner, back.lost_leases) == (None, 0)
    async with db.session() as session:
        reasons = [e.payload.get("reason") for e in await events.fetch_events(session, back.id)]
    assert "worker term shut down; another worker resumes it" in reasons


async def test_serve_runs_queued_executions_and_returns_lost_ones_with_its_embedded_runtime(
    settings: Settings, db: Database
) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user, echo_graph())
    queued = await submit(db, workflow, user)
    lost = await submit(db, workflow, user)
    async with db.transaction() as session:  # its worker died holding it
        await session.execute(
            update(models.Execution)
            .where(models.Execution.id == lost)
            .values(
                status="processing",
                lease_owner="gone",
                lease_expires_at=utcnow() - dt.timedelta(seconds=1),
            )
        )
    embedded = settings.model_copy(
        update={"embedded_worker": True, "lease_seconds": 1.0, "heartbeat_seconds": 0.2}
    )
    app = create_app(embedded, db=db)
    async with app.router.lifespan_context(app):
        ran = await wait_status(db, queued, {"completed", "failed"})
        returned = await wait_status(db, lost, {"completed", "failed"})
    assert ran.status == returned.status == "completed"
    assert returned.lost_leases == 1  # the reaper handed it back, the worker ran it


async def test_serve_without_a_worker_leaves_executions_to_worker_processes(
    settings: Settings, db: Database, bus: EventBus
) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user, echo_graph())
    app = create_app(settings.model_copy(update={"embedded_worker": False}), db=db)
    async with app.router.lifespan_context(app):
        execution_id = await submit(db, workflow, user)
        elsewhere = Worker(settings, db, bus, name="elsewhere")
        await elsewhere.start()
        try:
            done = await wait_status(db, execution_id, {"completed", "failed"})
        finally:
            await elsewhere.stop(grace_s=0)
    assert done.status == "completed"
    assert elsewhere.claimed_total == 1  # the app claimed nothing itself
