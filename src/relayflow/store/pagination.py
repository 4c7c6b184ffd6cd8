"""Keyset pagination, newest first, on (created_at, id) with an opaque cursor.

A cursor is the base64 of the last row's `[created_at, id]`; the next page is
every row strictly older in that order, so inserts never shift a page.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from relayflow import errors

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(created_at: dt.datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, row_id = json.loads(raw)
        return dt.datetime.fromisoformat(created), uuid.UUID(row_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise invalid_cursor() from exc


def invalid_cursor() -> errors.InvalidInput:
    return errors.InvalidInput(
        "cursor: not a cursor this API returned; pass `next_cursor` from the previous page",
        details=[{"field": "cursor", "message": "invalid cursor"}],
    )


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise errors.InvalidInput(
            f"limit: must be between 1 and {MAX_LIMIT}",
            details=[{"field": "limit", "message": f"must be between 1 and {MAX_LIMIT}"}],
        )
    return limit


async def newest_first(
    session: AsyncSession,
    query: Select[T],
    *,
    created_at: InstrumentedAttribute[Any],
    row_id: InstrumentedAttribute[uuid.UUID],
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[T]:
    """One page of `query`'s rows, newest first, after `cursor`."""
    check_limit(limit)
    if cursor:
        after_created, after_id = decode_cursor(cursor)
        query = query.where(
            or_(
                created_at < after_created,
                and_(created_at == after_created, row_id < after_id),
            )
        )
    query = query.order_by(created_at.desc(), row_id.desc()).limit(limit + 1)
    rows = list((await session.execute(query)).scalars().all())
    if len(rows) <= limit:
        return Page(items=rows, next_cursor=None)
    rows = rows[:limit]
    last = rows[-1]
    return Page(
        items=rows,
        next_cursor=encode_cursor(getattr(last, created_at.key), getattr(last, row_id.key)),
    )
