"""`relayflow serve` as a supervisor: API and worker in child processes that a
webhook run goes through, that stop with it, and that are restarted when they die."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from relayflow.config import Settings
from relayflow.domain import Actor, Role
from relayflow.runtime.supervisor import (
    ChildSpec,
    Supervisor,
    inherited_socket,
    listening_socket,
)
from relayflow.store import models, webhooks
from relayflow.store.db import Database
from tests.conftest import TEST_SECRET
from tests.support.live_server import free_port, wait_until_ready
from tests.support.rows import echo_graph, make_user

pytestmark = pytest.mark.slow


def children_of(pid: int) -> set[int]:
    """Processes whose parent is `pid` (from /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited and only waits for its parent to read its status.
    with contextlib.suppress(OSError):
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z"
    return False


async def make_hook(db: Database) -> tuple[uuid.UUID, str]:
    user_id = await make_user(db)
    graph = echo_graph()
    async with db.transaction() as session:
        workflow = models.Workflow(
            user_id=user_id, name="hooked", nodes=graph["nodes"], edges=graph["edges"]
        )
        session.add(workflow)
        await session.flush()
        issued = await webhooks.create_webhook(session, Actor(user_id, Role.USER), workflow.id)
        return issued.webhook.id, issued.api_key


async def start_serve(
    database_url: str, tmp_path: Path, port: int, *args: str
) -> asyncio.subprocess.Process:
    return await start_cli(
        database_url, tmp_path, "serve", "--no-migrate", "--port", str(port), *args
    )


async def start_cli(database_url: str, tmp_path: Path, *args: str) -> asyncio.subprocess.Process:
    """`relayflow ARGS` on the test's database, its output collected."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "relayflow.cli",
        *args,
        env={
            **os.environ,
            "RELAYFLOW_DATABASE_URL": database_url,
            "RELAYFLOW_JWT_SECRET": TEST_SECRET,
            "RELAYFLOW_DATA_DIR": str(tmp_path / "serve"),
            "RELAYFLOW_SHUTDOWN_GRACE_S": "5",
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def run_hook(base_url: str, hook_id: uuid.UUID, key: str, text: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        return await http.post(
            f"/hooks/{hook_id}?wait=30", json={"text": text}, headers={"X-API-Key": key}
        )


async def stop(process: asyncio.subprocess.Process, signum: int = signal.SIGTERM) -> str:
    process.send_signal(signum)
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return out.decode()


async def test_serve_runs_api_and_worker_in_child_processes_that_stop_with_it(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    hook_id, key = await make_hook(db)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    serve = await start_serve(database_url, tmp_path, port)
    try:
        await wait_until_ready(base_url, serve)
        children = children_of(serve.pid)
        response = await run_hook(base_url, hook_id, key, "across processes")
    finally:
        log = await stop(serve)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "completed"
    assert "across processes" in str(response.json()["output"])
    assert len(children) == 2, log  # one API process and one worker
    assert serve.returncode == 0, log
    assert not [pid for pid in children if alive(pid)]
    assert "1 API process(es) and a worker process" in log


async def test_a_worker_that_dies_is_restarted(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    hook_id, key = await make_hook(db)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    serve = await start_serve(database_url, tmp_path, port)
    try:
        await wait_until_ready(base_url, serve)
        before = children_of(serve.pid)
        worker = max(before)  # started after the API process
        os.kill(worker, signal.SIGKILL)
        async with asyncio.timeout(30):
            while len(after := children_of(serve.pid) - {worker}) < 2:
                await asyncio.sleep(0.1)
        response = await run_hook(base_url, hook_id, key, "after a restart")
    finally:
        log = await stop(serve, signal.SIGINT)  # Ctrl-C stops everything too

    assert response.json()["status"] == "completed", response.text
    assert f"the worker process (pid {worker}) was killed by SIGKILL; restarting it" in log
    assert serve.returncode == 0, log
    assert not [pid for pid in before | after if alive(pid)]


async def test_serve_without_a_worker_supervises_several_api_processes(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    """The PostgreSQL shape with workers of their own: `serve --no-worker
    --api-processes 2` beside a `relayflow worker`."""
    hook_id, key = await make_hook(db)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    serve = await start_serve(database_url, tmp_path, port, "--no-worker", "--api-processes", "2")
    worker = await start_cli(database_url, tmp_path, "worker", "--no-migrate")
    try:
        await wait_until_ready(base_url, serve)
        children = children_of(serve.pid)
        commands = [Path(f"/proc/{pid}/cmdline").read_text().split("\0") for pid in children]
        responses = [await run_hook(base_url, hook_id, key, f"run {i}") for i in range(4)]
    finally:
        log = await stop(serve)
        await stop(worker)

    assert len(children) == 2, log
    assert all("serve" in args and "worker" not in args for args in commands), commands
    assert "2 API process(es), no worker" in log
    for i, response in enumerate(responses):
        assert response.status_code == 200, response.text
        assert f"run {i}" in str(response.json()["output"])
    assert serve.returncode == 0, log
    assert not [pid for pid in children if alive(pid)]


async def test_single_process_mode_starts_no_children(
    settings: Settings, database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    serve = await start_serve(database_url, tmp_path, port, "--single-process")
    try:
        await wait_until_ready(f"http://127.0.0.1:{port}", serve)
        children = children_of(serve.pid)
    finally:
        log = await stop(serve)
    assert children == set(), log
    assert serve.returncode in (0, -signal.SIGTERM), log  # uvicorn re-raises the signal


async def test_a_child_that_keeps_dying_brings_everything_down(tmp_path: Path) -> None:
    marker = tmp_path / "stayed"
    stays = f"import pathlib, time; pathlib.Path({str(marker)!r}).touch(); time.sleep(60)"
    supervisor = Supervisor(
        [ChildSpec("steady", ["-c", stays]), ChildSpec("broken", ["-c", "raise SystemExit(3)"])],
        shutdown_grace_s=5,
        max_restarts=3,
        restart_delay_s=0.05,
        executable=[sys.executable],
    )

    code = await asyncio.wait_for(supervisor.run(), timeout=60)

    assert code == 1
    assert supervisor.failure is not None
    assert "the broken process" in supervisor.failure
    assert "exited with status 3, its 3th exit within 60 s" in supervisor.failure
    assert supervisor.pids == []  # the steady one was stopped too


async def test_an_api_process_answers_its_connections_without_nagle_delays() -> None:
    """The socket an API process inherits is TCP: connections it accepts get TCP_NODELAY,
    or every answer written in two parts waits 40 ms for the client's delayed ACK."""
    listening = listening_socket("127.0.0.1", 0)
    port = listening.getsockname()[1]
    inherited = inherited_socket(os.dup(listening.fileno()))  # as the API process sees it
    listening.close()
    accepted: asyncio.Queue[int] = asyncio.Queue()

    async def on_connection(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        accepted.put_nowait(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(on_connection, sock=inherited)
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        nodelay = await asyncio.wait_for(accepted.get(), timeout=5)
        writer.close()
    finally:
        server.close()
        await server.wait_closed()

    assert inherited.family == socket.AF_INET
    assert nodelay != 0
