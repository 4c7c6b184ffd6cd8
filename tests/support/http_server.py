"""A tiny real HTTP/1.1 server on a loopback address, for tests that need the wire.

One request per connection (`Connection: close`), so a body without a length is
delimited by the close: enough for JSON, redirects, big bodies and SSE streams.
Every request is recorded; the handler decides the reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl as ssllib
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    307: "Temporary Redirect",
    400: "Bad Request",
    404: "Not Found",
    418: "I'm a teapot",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass
class ReceivedRequest:
    method: str
    target: str  # path and query
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | AsyncIterable[bytes] = b""

    @classmethod
    def json(cls, value: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Reply:
        return cls(
            status,
            {"content-type": "application/json", **(headers or {})},
            json.dumps(value).encode(),
        )


Handler = Callable[[ReceivedRequest], Awaitable[Reply]]


class LocalHttpServer:
    def __init__(
        self, handler: Handler, *, host: str = "127.0.0.1", ssl: ssllib.SSLContext | None = None
    ) -> None:
        self.handler = handler
        self.host = host
        self.ssl = ssl
        self.port = 0
        self.requests: list[ReceivedRequest] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def url(self, path: str = "/", *, host: str | None = None) -> str:
        scheme = "https" if self.ssl else "http"
        name = host or (f"[{self.host}]" if ":" in self.host else self.host)
        return f"{scheme}://{name}:{self.port}{path}"

    async def start(self) -> LocalHttpServer:
        self._server = await asyncio.start_server(self._serve, self.host, 0, ssl=self.ssl)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> LocalHttpServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            request = await self._read_request(reader)
            if request is None:
                return
            self.requests.append(request)
            reply = await self.handler(request)
            await self._write_reply(writer, reply)
        except (ConnectionError, asyncio.IncompleteReadError, ssllib.SSLError):
            pass
        except asyncio.CancelledError:
            pass  # stop() cancels handlers still waiting (a scripted delay): end quietly
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    @staticmethod
    async def _read_request(reader: asyncio.StreamReader) -> ReceivedRequest | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        body = await reader.readexactly(length) if length else b""
        return ReceivedRequest(method, target, headers, body)

    @staticmethod
    async def _write_reply(writer: asyncio.StreamWriter, reply: Reply) -> None:
        head = [f"HTTP/1.1 {reply.status} {REASONS.get(reply.status, 'Status')}"]
        names = {k.lower() for k in reply.headers}
        head += [f"{k}: {v}" for k, v in reply.headers.items()]
        if isinstance(reply.body, bytes) and "content-length" not in names:
            head.append(f"content-length: {len(reply.body)}")
        head.append("connection: close")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        if isinstance(reply.body, bytes):
            writer.write(reply.body)
        else:
            async for chunk in reply.body:
                writer.write(chunk)
                await writer.drain()
        await writer.drain()
