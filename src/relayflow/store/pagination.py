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

from sqlalchemy import Select, and_, or_, select, union
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
    query = _after(query, cursor, created_at, row_id)
    query = query.order_by(created_at.desc(), row_id.desc()).limit(limit + 1)
    rows = list((await session.execute(query)).scalars().all())
    return _page(rows, limit, created_at, row_id)


async def newest_first_of_any(
    session: AsyncSession,
    branches: list[Select[T]],
    *,
    created_at: InstrumentedAttribute[Any],
    row_id: InstrumentedAttribute[uuid.UUID],
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[T]:
    """One page of the rows of any of `branches` (selects of one entity), newest first.

    Where one query would need `a OR b`, the database fetches every matching row and
    sorts them; here each branch reads at most a page along its own index, the
    database merges those (one statement), and only the page's rows are loaded.
    """
    check_limit(limit)
    if not branches:
        return Page(items=[], next_cursor=None)
    keys: list[tuple[Any, uuid.UUID]] = []
    for start in range(0, len(branches), BRANCHES_PER_STATEMENT):
        parts = [
            select(*_page_query(branch, cursor, created_at, row_id, limit).subquery().c)
            for branch in branches[start : start + BRANCHES_PER_STATEMENT]
        ]
        merged = union(*parts).subquery()  # a row in two branches counts once
        ordered = select(merged).order_by(merged.c[0].desc(), merged.c[1].desc())
        keys += [(row[0], row[1]) for row in (await session.execute(ordered.limit(limit + 1)))]
    keys = sorted(set(keys), reverse=True)[: limit + 1]
    entity = branches[0].column_descriptions[0]["entity"]
    found = (
        await session.execute(select(entity).where(row_id.in_([k[1] for k in keys])))
    ).scalars()
    by_id = {getattr(row, row_id.key): row for row in found}
    rows = [by_id[key[1]] for key in keys if key[1] in by_id]
    return _page(rows, limit, created_at, row_id)


# SQLite allows 500 terms in a compound SELECT; fewer keep each statement small.
BRANCHES_PER_STATEMENT = 100


def _page_query(
    branch: Select[Any],
    cursor: str | None,
    created_at: InstrumentedAttribute[Any],
    row_id: InstrumentedAttribute[uuid.UUID],
    limit: int,
) -> Select[Any]:
    """The keys (created_at, id) of a branch's next page."""
    keys = branch.with_only_columns(created_at, row_id)
    keys = _after(keys, cursor, created_at, row_id)
    return keys.order_by(created_at.desc(), row_id.desc()).limit(limit + 1)


def _after(
    query: Select[Any],
    cursor: str | None,
    created_at: InstrumentedAttribute[Any],
    row_id: InstrumentedAttribute[uuid.UUID],
) -> Select[Any]:
    if not cursor:
        return query
    after_created, after_id = decode_cursor(cursor)
    return query.where(
        or_(created_at < after_created, and_(created_at == after_created, row_id < after_id))
    )


def _page(
    rows: list[T],
    limit: int,
    created_at: InstrumentedAttribute[Any],
    row_id: InstrumentedAttribute[uuid.UUID],
) -> Page[T]:
    if len(rows) <= limit:
        return Page(items=rows, next_cursor=None)
    rows = rows[:limit]
    last = rows[-1]
    return Page(
        items=rows,
        next_cursor=encode_cursor(getattr(last, created_at.key), getattr(last, row_id.key)),
    )
