"""A small MCP server for tests, written with the official `mcp` package.

Tools: `add(a, b)`, `shout(text)` and `env(name)` (what a stdio child inherits).
`LocalMcpServer` serves it over streamable HTTP on 127.0.0.1 (recording the
`Authorization` headers it receives); run this module
(`python -m tests.support.mcp_server`) to serve it over stdio.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
from typing import Any

import uvicorn
from mcp.server import MCPServer
from starlette.types import Receive, Scope, Send

STDIO_ARGV = [sys.executable, "-m", "tests.support.mcp_server"]
# A Python process that imports the MCP SDK can take over 10 s (the default connect
# timeout) to answer its handshake on a loaded CI machine; only a failing test waits long.
STDIO_CONNECT_TIMEOUT_S = 90.0


def build() -> MCPServer[Any]:
    server: MCPServer[Any] = MCPServer("test-tools")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @server.tool()
    def shout(text: str) -> str:
        """The text in capitals."""
        return text.upper()

    @server.tool()
    def env(name: str) -> str:
        """An environment variable of the server's process ("" when unset)."""
        return os.environ.get(name, "")

    return server


class LocalMcpServer:
    """`build()` over streamable HTTP on a loopback port, for `async with`."""

    def __init__(self) -> None:
        self.authorizations: list[str | None] = []
        self._app = build().streamable_http_app(stateless_http=True, json_response=True)
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    async def _recording(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            value = headers.get(b"authorization")
            self.authorizations.append(value.decode() if value is not None else None)
        await self._app(scope, receive, send)

    async def __aenter__(self) -> LocalMcpServer:
        config = uvicorn.Config(
            self._recording, host="127.0.0.1", log_level="warning", interface="asgi3"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        assert self._task is not None
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._sock.close()


if __name__ == "__main__":
    build().run("stdio")
