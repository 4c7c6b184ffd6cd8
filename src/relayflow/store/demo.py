"""The demo workflow every new account starts with: it runs offline on `test:echo`.

The graph ships as JSON beside this module (examples/research-write-review.json is
the same file); its nodes name system templates by role, mapped here to their ids.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select, true
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow.store.models import AgentTemplate, User, Workflow

DEMO_FILE = Path(__file__).with_name("demo_workflow.json")


@cache
def _demo_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DEMO_FILE.read_text())
    return document


async def add_demo_workflow(session: AsyncSession, user: User) -> Workflow:
    document = copy.deepcopy(_demo_document())
    rows = (
        await session.execute(
            select(AgentTemplate.id, AgentTemplate.name, AgentTemplate.role).where(
                AgentTemplate.is_system == true()
            )
        )
    ).all()
    ids = {key.casefold(): str(row.id) for row in rows for key in (row.name, row.role)}
    for node in document["nodes"]:
        data = node.get("data") or {}
        template = data.get("template_id")
        if isinstance(template, str) and template.casefold() in ids:
            data["template_id"] = ids[template.casefold()]
    workflow = Workflow(
        user_id=user.id,
        name=f"Demo: {document['name']}",
        description=document.get("description"),
        nodes=document["nodes"],
        edges=document["edges"],
        meta={"demo": True},
        is_public=False,
    )
    session.add(workflow)
    await session.flush()
    return workflow
