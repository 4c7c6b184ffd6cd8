"""Form-encoded webhook bodies parse in linear time and have a field limit (issue 10,
case 6): a body of 160,000 `a=&` fields no longer stalls everyone else's requests."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select

from relayflow.api.app import create_app
from relayflow.config import Settings
from relayflow.domain import Role
from relayflow.store import models
from relayflow.store.db import Database
from tests.support.live_server import serve_in_process
from tests.triggers.conftest import Hook, MakeOwner, Owner, count_executions

# Measures how fast another user is answered: run apart from the busy shards.
pytestmark = pytest.mark.timing

FIELDS = 160_000  # `a=&` each: 480 kB, well under the body limit
FORM = "application/x-www-form-urlencoded"
# Before the fix a probe waited out the whole parse: 3.4 s for half of FIELDS. Off the
# loop a probe takes ~50 ms on a quiet machine; on a loaded two-core one the parse
# thread's share of the GIL and CPU was seen to stretch it to 0.51 s.
PROBE_LIMIT_S = 1.0


async def post_raw(base_url: str, hook: Hook, body: bytes, sent: asyncio.Event) -> int:
    """POST over a plain socket; `sent` is set once the whole request is written."""
    url = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    head = (
        f"POST {hook.url} HTTP/1.1\r\nHost: {url.netloc}\r\nX-API-Key: {hook.key}\r\n"
        f"Content-Type: {FORM}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode() + body)
    await writer.drain()
    sent.set()
    status_line = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return int(status_line.split()[1])


async def probe_during(
    base_url: str, hook: Hook, body: bytes, prober: Owner
) -> tuple[int, list[float]]:
    """Send `body` to the webhook; meanwhile time another user's requests, one after the
    other, until its answer is in. Returns its status and the probes' durations."""
    probes: list[float] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as others:
        # Warm up both routes first (FastAPI prepares a route on its first request).
        assert (await others.get("/api/v1/executions", headers=prober.headers)).is_success
        assert (await others.post(hook.url)).status_code == 401
        sent = asyncio.Event()
        hostile = asyncio.create_task(post_raw(base_url, hook, body, sent))
        await sent.wait()
        while not hostile.done():
            started = time.perf_counter()
            answer = await others.get("/api/v1/executions", headers=prober.headers)
            probes.append(time.perf_counter() - started)
            assert answer.status_code == 200
    return await hostile, probes


async def histories_answer(base_url: str, *users: Owner) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        for user in users:
            history = await client.get("/api/v1/executions", headers=user.headers)
            assert history.status_code == 200


async def test_a_form_of_160000_fields_is_refused_at_once_while_others_are_served(
    settings: Settings, db: Database, hook: Hook, make_owner: MakeOwner
) -> None:
    admin, bystander = await make_owner(Role.ADMIN), await make_owner()
    async with serve_in_process(create_app(settings, db=db)) as base_url:
        status, probes = await probe_during(base_url, hook, b"a=&" * FIELDS, bystander)
        await histories_answer(base_url, hook.owner, admin)

    assert status == 422
    assert probes, "no probe ran while the hostile request was in flight"
    assert max(probes) < PROBE_LIMIT_S, f"another user's request waited {max(probes):.2f} s"
    assert await count_executions(db) == 0


async def test_a_form_within_a_raised_limit_is_parsed_in_linear_time_off_the_loop(
    settings: Settings, db: Database, hook: Hook, make_owner: MakeOwner
) -> None:
    fields = FIELDS // 2  # the first figure: 3.4 s of CPU before
    settings.max_form_fields = fields + 1  # the trailing "&" counts
    settings.embedded_worker = False  # only the request's own work is measured
    admin, bystander = await make_owner(Role.ADMIN), await make_owner()
    async with serve_in_process(create_app(settings, db=db)) as base_url:
        status, probes = await probe_during(base_url, hook, b"a=&" * fields, bystander)
        await histories_answer(base_url, hook.owner, admin)

    assert status == 202
    assert probes, "no probe ran while the hostile request was in flight"
    assert max(probes) < PROBE_LIMIT_S, f"another user's request waited {max(probes):.2f} s"
    async with db.session() as session:
        stored = await session.scalar(select(models.Execution.input))
    assert stored == {"a": [""] * fields}


async def test_more_fields_than_the_limit_are_refused_naming_the_setting(
    client: httpx.AsyncClient, db: Database, settings: Settings, hook: Hook
) -> None:
    response = await client.post(
        hook.url, content=b"a=&" * FIELDS, headers={"X-API-Key": hook.key, "Content-Type": FORM}
    )

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "too_many_fields"
    detail = error["details"][0]
    assert detail["limit"] == settings.max_form_fields == 1000
    assert detail["setting"] == "RELAYFLOW_MAX_FORM_FIELDS"
    assert await count_executions(db) == 0


def multipart(fields: int, boundary: str = "relayflow-test-boundary") -> tuple[bytes, str]:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="f{n}"\r\n\r\nx\r\n'
        for n in range(fields)
    ]
    body = "".join(parts) + f"--{boundary}--\r\n"
    return body.encode(), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("count", [1000, 1001])
async def test_the_multipart_field_limit_holds_too(
    client: httpx.AsyncClient, db: Database, hook: Hook, count: int
) -> None:
    body, content_type = multipart(count)

    response = await client.post(
        hook.url, content=body, headers={"X-API-Key": hook.key, "Content-Type": content_type}
    )

    if count == 1000:
        assert response.status_code == 202, response.text
        async with db.session() as session:
            stored = await session.scalar(select(models.Execution.input))
        assert stored == {f"f{n}": "x" for n in range(count)}
    else:
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "too_many_fields"
        assert await count_executions(db) == 0


async def test_repeated_fields_keep_their_order(
    client: httpx.AsyncClient, db: Database, hook: Hook
) -> None:
    body = b"&".join(b"tag=%d" % n for n in range(500)) + b"&name=x&tag=last"

    response = await client.post(
        hook.url, content=body, headers={"X-API-Key": hook.key, "Content-Type": FORM}
    )

    assert response.status_code == 202
    async with db.session() as session:
        stored = await session.scalar(select(models.Execution.input))
    assert stored == {"tag": [str(n) for n in range(500)] + ["last"], "name": "x"}
