"""`http`: one HTTP request through the network guard.

`method`, `url`, `headers` and `body` are templates (a body that is an object or
list, or a lone `{{ expr }}` yielding one, is sent as JSON). Requests to loopback,
private, link-local and metadata addresses are refused unless
`RELAYFLOW_HTTP_ALLOWLIST` permits them, after DNS resolution and on every
redirect. The output is `{status, headers, body}` with the body parsed as JSON when
the content type says so. A non-2xx status fails the node unless
`fail_on_status: false`. `timeout_s` (default 30 s) bounds the whole exchange.
"""

from __future__ import annotations

from typing import Any

import httpx

from relayflow import netguard
from relayflow.engine.nodes.agent import http_auth
from relayflow.engine.nodes.base import NodeContext, NodeOutcome
from relayflow.engine.spec import HttpData
from relayflow.errors import NodeFailed

DEFAULT_TIMEOUT_S = 30.0
SENSITIVE_HEADER_WORDS = ("authorization", "cookie", "key", "token", "secret", "password")
ERROR_BODY_CHARS = 200


def redacted(headers: dict[str, str]) -> dict[str, str]:
    """Headers fit for a run record: credentials replaced, never stored."""
    return {
        name: "[redacted]" if any(w in name.lower() for w in SENSITIVE_HEADER_WORDS) else value
        for name, value in headers.items()
    }


async def run(ctx: NodeContext) -> NodeOutcome:
    data: HttpData = ctx.data
    url = await ctx.render_text(data.url, "data.url")
    headers = {k: await ctx.render_text(v, f"data.headers.{k}") for k, v in data.headers.items()}
    shown_url = url  # the record never holds a query key
    auth = await http_auth(ctx, data.credential_id, "data.credential_id")
    if auth is not None:
        headers.update(auth.headers)
        url = str(httpx.URL(url).copy_merge_params(dict(auth.params)))
    body = await ctx.render(data.body, "data.body") if data.body is not None else None
    content: bytes | None = None
    json_body: Any = None
    if isinstance(body, str):
        content = body.encode()
    elif body is not None:
        json_body = body
    ctx.input = {
        "method": data.method,
        "url": shown_url,
        "headers": redacted(headers),
        "body": body,
    }
    if ctx.http_client is not None:
        response = await _send(ctx.http_client, data, url, headers, content, json_body, ctx)
    else:
        async with netguard.outbound_client() as client:
            response = await _send(client, data, url, headers, content, json_body, ctx)
    output = {
        "status": response.status_code,
        "headers": response.headers,
        "body": response.json_or_text(),
    }
    if data.fail_on_status and not 200 <= response.status_code < 300:
        snippet = response.text()[:ERROR_BODY_CHARS]
        raise NodeFailed(
            f"{ctx.where('data.url')}: {data.method} {netguard.display_url(httpx.URL(url))} "
            f"answered {response.status_code}: {snippet}"
        )
    return NodeOutcome(output=output)


async def _send(
    client: httpx.AsyncClient,
    data: HttpData,
    url: str,
    headers: dict[str, str],
    content: bytes | None,
    json_body: Any,
    ctx: NodeContext,
) -> netguard.GuardedResponse:
    return await netguard.guarded_request(
        client,
        data.method,
        url,
        headers=headers,
        content=content,
        json=json_body,
        timeout_s=data.timeout_s or DEFAULT_TIMEOUT_S,
        allowlist=ctx.options.http_allowlist,
    )
