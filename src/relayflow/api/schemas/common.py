"""Pieces every resource's schemas share: timestamps, pages and null checks."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

T = TypeVar("T")


def _as_utc(value: dt.datetime) -> dt.datetime:
    # The database stores naive UTC; an aware value is converted, so all answers agree.
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+00:02 is before year 1 in UTC
        raise ValueError("out of range: in UTC it falls outside the years 1 to 9999") from None


# Every timestamp the API serves: RFC 3339 in UTC with a `Z` (2026-11-30T12:37:51.382363Z).
UtcDateTime = Annotated[dt.datetime, AfterValidator(_as_utc)]

RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})?")


def _rfc3339_text(value: Any) -> Any:
    # Without this, pydantic also reads numbers as Unix times (`until=0.5`).
    if isinstance(value, dt.datetime) or (isinstance(value, str) and RFC3339.fullmatch(value)):
        return value
    raise ValueError("must be an RFC 3339 date-time, e.g. 2026-01-31T09:30:00Z")


# A date-time in a query string: RFC 3339 with `Z` or an offset (no offset means UTC).
QueryDateTime = Annotated[UtcDateTime, BeforeValidator(_rfc3339_text)]


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


def not_null(value: Any) -> Any:
    """For PATCH fields that may be left out but cannot be cleared."""
    if value is None:
        raise ValueError("may be left out but not set to null")
    return value
