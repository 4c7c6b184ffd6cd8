"""Retention: finished executions older than their workflow's (or the server's)
retention are deleted, a batch per short transaction (`store.retention`).

The scheduler's leader calls `Retention.run_pass` between ticks; a pass stops after
`max_batches` so schedules are never held up, and says whether work is left so the
next pass comes at once. `prune_older_than` serves `relayflow db prune`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import uuid
from dataclasses import dataclass

from relayflow.config import Settings
from relayflow.store.db import Database
from relayflow.store.retention import delete_expired_batch, workflow_retentions

log = logging.getLogger(__name__)

# A pause between batches: on SQLite it lets waiting writers take the write lock.
BATCH_PAUSE_S = 0.01
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> dt.timedelta:
    """`30d`, `12h`, `90m`, `2w`, `45s` -> a positive timedelta; ValueError otherwise."""
    match = _DURATION.match(text)
    if match is None or int(match.group(1)) <= 0:
        raise ValueError(
            f"{text!r} is not a duration: use a positive whole number and a unit, "
            "e.g. 30d, 12h, 90m, 2w or 45s"
        )
    return dt.timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


@dataclass
class PassResult:
    deleted: int = 0
    more: bool = False  # stopped at max_batches with expired executions left


@dataclass(frozen=True)
class _Scope:
    before: dt.datetime
    workflow_id: uuid.UUID | None = None
    inheriting: bool = False  # workflows without their own retention


class Retention:
    def __init__(
        self,
        db: Database,
        *,
        default_days: int | None,
        batch_size: int,
        max_batches: int = 20,
        pause_s: float = BATCH_PAUSE_S,
    ) -> None:
        self.db = db
        self.default_days = default_days
        self.batch_size = batch_size
        self.max_batches = max_batches
        self.pause_s = pause_s

    @classmethod
    def from_settings(cls, settings: Settings, db: Database) -> Retention:
        return cls(
            db,
            default_days=settings.retention_days,
            batch_size=settings.retention_batch_size,
            max_batches=settings.retention_max_batches_per_pass,
        )

    async def run_pass(self, now: dt.datetime) -> PassResult:
        """Delete expired executions, per workflow override first, then the default."""
        async with self.db.session() as session:
            overrides = await workflow_retentions(session)
        scopes = [_Scope(now - dt.timedelta(days=o.days), o.workflow_id) for o in overrides]
        if self.default_days is not None:
            scopes.append(_Scope(now - dt.timedelta(days=self.default_days), inheriting=True))
        result = PassResult()
        batches = 0
        for scope in scopes:
            while True:
                if batches == self.max_batches:
                    result.more = True
                    break
                if batches:
                    await asyncio.sleep(self.pause_s)
                batches += 1
                deleted = await self._batch(scope)
                result.deleted += deleted
                if deleted < self.batch_size:
                    break
            if result.more:
                break
        if result.deleted:
            log.info("retention: deleted %d finished execution(s)", result.deleted)
        return result

    async def _batch(self, scope: _Scope) -> int:
        async with self.db.transaction() as session:
            return await delete_expired_batch(
                session,
                before=scope.before,
                limit=self.batch_size,
                workflow_id=scope.workflow_id,
                inheriting_only=scope.inheriting,
            )


async def prune_older_than(db: Database, *, before: dt.datetime, batch_size: int) -> int:
    """Delete every finished execution older than `before`, whatever its workflow says."""
    total = 0
    while True:
        async with db.transaction() as session:
            deleted = await delete_expired_batch(session, before=before, limit=batch_size)
        total += deleted
        if deleted < batch_size:
            return total
        await asyncio.sleep(BATCH_PAUSE_S)
