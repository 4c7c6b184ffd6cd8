"""Enums and small value types shared by every layer. Imports nothing internal."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from enum import StrEnum


def utcnow() -> dt.datetime:
    """Naive UTC now: the seed's columns are `TIMESTAMP` without time zone."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Role(StrEnum):
    USER = "user"
    ADMIN = "admin"


class ExecutionStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    WAITING = "waiting"

    @property
    def is_final(self) -> bool:
        return self in (
            ExecutionStatus.COMPLETED,
            ExecutionStatus.FAILED,
            ExecutionStatus.CANCELLED,
        )


class NodeRunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    WAITING = "waiting"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: a signed-in user and their role."""

    user_id: uuid.UUID
    role: Role = Role.USER

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN
