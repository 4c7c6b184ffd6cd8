"""`relayflow worker` as a process: SIGTERM finishes or hands back what it runs."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from relayflow.api.app import create_app
from relayflow.config import Settings
from relayflow.runtime.reaper import Reaper
from relayflow.runtime.worker import Worker
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
        running = await wait_status(db, execution_id, {"processing"})
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


async def test_serve_runs_an_embedded_worker_unless_told_not_to(
    settings: Settings, db: Database
) -> None:
    for embedded, expected in ((True, {Worker, Reaper}), (False, set())):
        app = create_app(settings.model_copy(update={"embedded_worker": embedded}), db=db)
        async with app.router.lifespan_context(app):
            kinds = {type(service) for service in app.state.relayflow.services}
            assert {k for k in kinds if k in (Worker, Reaper)} == expected
