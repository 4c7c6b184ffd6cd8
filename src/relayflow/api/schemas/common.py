"""Pieces every resource's schemas share: pages and null checks."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


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
