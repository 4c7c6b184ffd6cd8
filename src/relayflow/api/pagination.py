"""`?limit=&cursor=` on every list, as one dependency."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query

from relayflow.store.pagination import DEFAULT_LIMIT, MAX_LIMIT

CURSOR_MAX_LENGTH = 500


@dataclass(frozen=True)
class PageRequest:
    limit: int
    cursor: str | None


async def page_request(  # async: no thread-pool hop (see api.deps)
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="Items per page (1 to 200).")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(max_length=CURSOR_MAX_LENGTH, description="`next_cursor` of the previous page."),
    ] = None,
) -> PageRequest:
    return PageRequest(limit=limit, cursor=cursor or None)


PageDep = Annotated[PageRequest, Depends(page_request)]
