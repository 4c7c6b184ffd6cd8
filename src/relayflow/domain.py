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


class TokenScope(StrEnum):
    """What a personal API token may do. A sign-in (login) token may do everything."""

    READ = "read"
    RUN_START = "run:start"
    RUN_CANCEL = "run:cancel"
    RUN_APPROVE = "run:approve"
    WRITE_WORKFLOWS = "write:workflows"
    WRITE_WEBHOOKS = "write:webhooks"
    WRITE_SCHEDULES = "write:schedules"
    WRITE_CREDENTIALS = "write:credentials"


# Shorthands accepted wherever scopes are given: `run` is every run:*, `write` every write:*.
SCOPE_GROUPS: dict[str, tuple[TokenScope, ...]] = {
    "run": (TokenScope.RUN_START, TokenScope.RUN_CANCEL, TokenScope.RUN_APPROVE),
    "write": tuple(s for s in TokenScope if s.value.startswith("write:")),
}


def expand_scopes(names: list[str] | tuple[str, ...]) -> frozenset[TokenScope]:
    """Scope names (and the `run`/`write` shorthands) as scopes; ValueError names an unknown one."""
    scopes: set[TokenScope] = set()
    for name in names:
        key = name.strip().lower()
        if key in SCOPE_GROUPS:
            scopes.update(SCOPE_GROUPS[key])
            continue
        try:
            scopes.add(TokenScope(key))
        except ValueError:
            known = ", ".join([*SCOPE_GROUPS, *(s.value for s in TokenScope)])
            raise ValueError(f"unknown scope {name!r}; known: {known}") from None
    return frozenset(scopes)
