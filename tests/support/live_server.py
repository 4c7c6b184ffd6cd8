"""Real HTTP for tests: the app under uvicorn in this process, or relayflow processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Mapping, Sequence

import httpx
import uvicorn
from fastapi import FastAPI


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def serve_in_process(app: FastAPI) -> AsyncIterator[str]:
    """Serve `app` (lifespan included) on a loopback port; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sock.close()


@contextlib.asynccontextmanager
async def relayflow_process(
    args: Sequence[str], env: Mapping[str, str]
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`relayflow ARGS` in a child process, stopped with SIGTERM (then SIGKILL) at the end."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "relayflow.cli",
        *args,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), timeout=15)
            except TimeoutError:
                process.kill()
                await process.wait()


async def wait_until_ready(
    base_url: str, process: asyncio.subprocess.Process, timeout_s: float = 60.0
) -> None:
    """Poll `/readyz` until the server answers 200 (fails if the process exits)."""
    async with asyncio.timeout(timeout_s), httpx.AsyncClient(base_url=base_url) as client:
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"the server exited with {process.returncode}")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
