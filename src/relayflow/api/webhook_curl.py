"""A ready `curl` line for trying a webhook (the key stays a shell variable).

Its body is an example built from the input schema the webhook checks deliveries
against (the published version's; the draft's before a first publish), so the
line works as given instead of failing 422 on any schema but the trivial one.
"""

from __future__ import annotations

import shlex
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from relayflow.input_schema import input_schema_of
from relayflow.store import versions
from relayflow.store.models import Workflow

KEY_VARIABLE = "RELAYFLOW_WEBHOOK_KEY"


def curl_line(base_url: str, webhook_id: uuid.UUID, body: str = "{}") -> str:
    base = base_url.rstrip("/") or "$RELAYFLOW_URL"
    return (
        f'curl -X POST "{base}/hooks/{webhook_id}" '
        f'-H "X-API-Key: ${KEY_VARIABLE}" '
        f"-H 'Content-Type: application/json' -d {shlex.quote(body)}"
    )


async def webhook_input_schema(
    session: AsyncSession, workflow_id: uuid.UUID | None
) -> Mapping[str, Any] | None:
    """The input schema deliveries to the workflow's webhooks are checked against."""
    workflow = await session.get(Workflow, workflow_id) if workflow_id else None
    if workflow is None:
        return None
    published = await versions.published_version(session, workflow)
    nodes = published.graph.get("nodes") if published is not None else workflow.nodes
    return input_schema_of(nodes)
