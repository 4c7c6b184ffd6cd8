"""Reading an execution's node runs: pages in start order, and totals summed in SQL.

An execution may hold up to `max_node_runs_per_execution` attempts (10,000 by
default); reading them all to answer one request held the event loop for seconds.
Pages use an offset cursor: the order is by start time, and a running execution only
adds attempts at the end (skipped ones, which never start, sort after all others),
so a page already read does not shift.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow.store.models import NodeRun
from relayflow.store.pagination import invalid_cursor


@dataclass(frozen=True)
class RunTotals:
    """Sums over every node attempt recorded so far (reused ones included)."""

    attempts: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    by_status: dict[str, int] = field(default_factory=dict)  # latest attempt per node


@dataclass(frozen=True)
class NodeRunPage:
    items: Sequence[NodeRun]
    next_cursor: str | None


def encode_offset(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def decode_offset(cursor: str) -> int:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset = raw["o"]
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise ValueError(offset)
        return offset
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
        raise invalid_cursor() from exc


async def node_runs_page(
    session: AsyncSession, execution_id: uuid.UUID, *, limit: int, cursor: str | None = None
) -> NodeRunPage:
    """Up to `limit` attempts by start time after `cursor`; never-started ones (skipped)
    last, by when they were settled. The same order on both databases."""
    offset = decode_offset(cursor) if cursor else 0
    when = func.coalesce(NodeRun.started_at, NodeRun.finished_at)
    result = await session.execute(
        select(NodeRun)
        .where(NodeRun.execution_id == execution_id)
        .order_by(
            NodeRun.started_at.is_(None),
            when.is_(None),
            when,
            NodeRun.node_id,
            NodeRun.iteration,
            NodeRun.attempt,
        )
        .offset(offset)
        .limit(limit + 1)
    )
    rows = result.scalars().all()
    more = len(rows) > limit
    return NodeRunPage(
        items=rows[:limit], next_cursor=encode_offset(offset + limit) if more else None
    )


async def run_totals(session: AsyncSession, execution_id: uuid.UUID) -> RunTotals:
    """Attempts, tokens and cost over every attempt; nodes by their latest attempt's status."""
    sums = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(NodeRun.input_tokens), 0),
                func.coalesce(func.sum(NodeRun.output_tokens), 0),
                func.coalesce(func.sum(NodeRun.cost_usd), 0.0),
            ).where(NodeRun.execution_id == execution_id)
        )
    ).one()
    # The latest attempt of each (node, iteration); of two rows with one attempt number
    # (a repeat completion kept as cancelled), the later one, as the list shows them.
    ranked = (
        select(
            NodeRun.status.label("status"),
            func.row_number()
            .over(
                partition_by=(NodeRun.node_id, NodeRun.iteration),
                order_by=(
                    NodeRun.attempt.desc(),
                    func.coalesce(NodeRun.started_at, NodeRun.finished_at).desc(),
                ),
            )
            .label("rank"),
        )
        .where(NodeRun.execution_id == execution_id)
        .subquery()
    )
    statuses = await session.execute(
        select(ranked.c.status, func.count()).where(ranked.c.rank == 1).group_by(ranked.c.status)
    )
    return RunTotals(
        attempts=int(sums[0]),
        input_tokens=int(sums[1]),
        output_tokens=int(sums[2]),
        cost_usd=float(sums[3]),
        by_status={str(status): int(count) for status, count in statuses.all()},
    )
