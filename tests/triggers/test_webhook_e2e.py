"""A webhook delivery to a workflow's output, through a real HTTP server on 127.0.0.1.

uvicorn serves the app (with its embedded worker); the client talks HTTP over a
loopback socket, as an outside system would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from relayflow.api.app import create_app
from relayflow.config import Settings
from relayflow.signatures import compute_signature
from relayflow.store.db import Database
from relayflow.store.webhook_triggers import issue_signing_secret
from tests.support.rows import echo_graph
from tests.triggers.conftest import MakeHook


@pytest.fixture
async def server_url(settings: Settings, db: Database) -> AsyncIterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings, db=db), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await task
    sock.close()


async def test_webhook_to_output_over_http(
    server_url: str, make_hook: MakeHook, db: Database, settings: Settings
) -> None:
    hook = await make_hook(graph=echo_graph("test:echo"))
    async with db.transaction() as session:
        issued = await issue_signing_secret(
            session, hook.owner.actor, hook.id, server_secret=settings.signing_secret()
        )
    body = b'{"text": "ship the release notes"}'
    stamp = int(time.time())
    headers = {
        "X-API-Key": hook.key,
        "Content-Type": "application/json",
        "Idempotency-Key": "release-1",
        "X-Relayflow-Timestamp": str(stamp),
        "X-Relayflow-Signature": compute_signature(issued.signing_secret, stamp, body),
    }
    async with httpx.AsyncClient(base_url=server_url, timeout=30) as client:
        finished = await client.post(f"{hook.url}?wait=20", content=body, headers=headers)
        replayed = await client.post(f"{hook.url}?wait=20", content=body, headers=headers)

    assert finished.status_code == 200, finished.text
    outcome = finished.json()
    assert outcome["status"] == "completed"
    assert "ship the release notes" in outcome["output"]
    assert outcome["status_url"] == f"{server_url}/api/v1/executions/{outcome['execution_id']}"
    # A retried delivery gets the same run and its result, not a second run.
    assert replayed.status_code == 200
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json()["execution_id"] == outcome["execution_id"]
    assert replayed.json()["output"] == outcome["output"]


# Required fields of several types, nested objects, arrays, formats, bounds, enums:
# the curl's example body must pass it, not answer 422.
ORDER_SCHEMA = {
    "type": "object",
    "required": ["customer", "items", "priority", "due"],
    "additionalProperties": False,
    "properties": {
        "customer": {
            "type": "object",
            "required": ["email", "name"],
            "properties": {
                "email": {"type": "string", "format": "email"},
                "name": {"type": "string", "minLength": 2, "examples": ["Ada"]},
            },
        },
        "items": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["sku", "qty"],
                "properties": {
                    "sku": {
                        "type": "string",
                        "pattern": "^[A-Z]{3}-[0-9]+$",
                        "examples": ["ABC-1"],
                    },
                    "qty": {"type": "integer", "minimum": 1, "maximum": 99},
                },
            },
        },
        "priority": {"enum": ["low", "normal", "high"]},
        "due": {"type": "string", "format": "date"},
        "note": {"type": ["string", "null"], "maxLength": 5},
        "gift": {"type": "boolean", "default": False},
    },
}


async def test_the_curl_line_of_the_api_works_as_given(
    server_url: str, make_hook: MakeHook
) -> None:
    hook = await make_hook(schema=ORDER_SCHEMA)
    async with httpx.AsyncClient(base_url=server_url, timeout=30) as client:
        listed = await client.get(
            f"/api/v1/workflows/{hook.workflow_id}/webhooks", headers=hook.owner.headers
        )
    [webhook] = listed.json()["items"]
    assert webhook["example_input"]["customer"] == {"email": "user@example.com", "name": "Ada"}
    assert webhook["example_input"]["priority"] == "low"
    env = {**os.environ, "RELAYFLOW_WEBHOOK_KEY": hook.key}
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        webhook["curl"] + " -sS -w '\\n%{http_code}'",
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await process.communicate()
    assert process.returncode == 0
    body, status = stdout.decode().rsplit("\n", 1)
    assert status == "202", body
    answer = json.loads(body)
    assert set(answer) == {"execution_id", "status_url"}
    async with httpx.AsyncClient(base_url=server_url, timeout=30) as client:
        run = await client.get(answer["status_url"], headers={"X-API-Key": hook.key})
    assert run.json()["input"] == webhook["example_input"]
