"""The queue's one interface; `Database.queue` holds the implementation for its
database (`postgres.PostgresQueue` or `sqlite.SqliteQueue`), chosen once."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from relayflow.store.queue.batches import BatchWritten, RunBatch
from relayflow.store.queue.intake import (
    Created,
    FoundWebhook,
    NewExecution,
    Starter,
    WebhookTarget,
)
from relayflow.store.queue.rows import (
    Backlog,
    Claim,
    ClaimedExecution,
    LeaseState,
    PendingRow,
    ReapedExecution,
)

if TYPE_CHECKING:
    from relayflow.store.db import Database


OnSettled = Callable[[uuid.UUID, Mapping[str, Any]], None]


class SettledCallbacks:
    """Called in process the moment a run batch that settles executions has committed,
    with each execution's status payload (`rows.status_event`): the requests waiting
    in this process need not read anything back. Callbacks must return quickly."""

    def __init__(self) -> None:
        self._callbacks: list[OnSettled] = []

    def add(self, callback: OnSettled) -> None:
        self._callbacks.append(callback)

    def remove(self, callback: OnSettled) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def fire(self, execution_id: uuid.UUID, payload: Mapping[str, Any]) -> None:
        for callback in list(self._callbacks):
            callback(execution_id, payload)


class LocalWorker(Protocol):
    """This process's worker, as the queue hands it runs directly (`Queue.local_worker`)."""

    owner: str
    lease_seconds: float
    user_concurrency: int | None

    def reserve(self) -> bool:
        """Take a free slot for a run about to be handed over; False if none."""
        ...

    def hand_over(self, claimed: ClaimedExecution | None) -> None:
        """The reserved slot's run (None: the slot is given back)."""
        ...


class Queue(Protocol):
    settled: SettledCallbacks
    # Set by a worker running in this process. Where that is safe (SQLite: one writer,
    # so the user's cap is counted exactly), a run whose request waits for it is
    # written already claimed by this worker and handed over: no claim, no wake-up.
    local_worker: LocalWorker | None

    # ------------------------------------------------------------ starting
    async def find_webhook(self, webhook_id: uuid.UUID, key_digest: str) -> WebhookTarget | None:
        """The webhook and its workflow's owner; the input schema only for the right key."""
        ...

    async def find_webhook_and_start(
        self, webhook_id: uuid.UUID, key_digest: str, *, key_in_query: bool, plain: NewExecution
    ) -> FoundWebhook | None:
        """`find_webhook`, and `plain` (a delivery without an Idempotency-Key) committed
        in the same round trip where the database can make every check the webhook
        asks for (`statements.starts.PG_FIND_WEBHOOK_AND_START`); workers are then woken.
        Where it cannot (a rate limit, a signing secret, an input schema; SQLite), the
        caller checks and starts it with `create_from_webhook`."""
        ...

    async def create_from_webhook(self, target: WebhookTarget, new: NewExecution) -> Created:
        """Commit the pending execution (unless its Idempotency-Key was taken), then wake
        workers; `NotFound` naming the webhook if its workflow is gone."""
        ...

    async def find_starter(self, user_id: uuid.UUID, workflow_id: uuid.UUID) -> Starter | None:
        """The account's role and the workflow; None if the account no longer exists."""
        ...

    async def start(self, row: PendingRow, *, wait: bool = False) -> None:
        """Commit the pending row, then wake workers; `NotFound` if the workflow is gone.
        `wait`: its request waits for the outcome (see `local_worker`)."""
        ...

    # ------------------------------------------------------------ working
    async def claim(
        self,
        *,
        owner: str,
        limit: int,
        lease_seconds: float,
        user_concurrency: int | None = None,
        wait_for_disk: bool = True,
    ) -> Claim:
        """Claim up to `limit` pending executions, oldest first (see `claim`), committed."""
        ...

    async def renew_leases(
        self, *, owner: str, tokens: Mapping[uuid.UUID, int], lease_seconds: float
    ) -> dict[uuid.UUID, LeaseState]:
        """Extend the leases `owner` still holds; report lost ones and cancel requests."""
        ...

    async def write_batch(self, batch: RunBatch) -> BatchWritten:
        """Write (and commit) a run batch: the executions whose lease was lost, the
        repeated completions.
        The executions it settled are announced: to `settled` in process, then on
        `signals.OUTCOMES`."""
        ...

    async def reap(self, *, max_lost_leases: int) -> list[ReapedExecution]:
        """One pass of `leases.reap_expired_leases`, committed; nothing while another
        process reaps."""
        ...

    # ------------------------------------------------------------ watching
    async def settled_outcomes(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
        """The status payloads (`rows.settled_payload`) of those of these executions that
        settled (finished, or wait for a person)."""
        ...

    async def backlog(self) -> Backlog:
        """Pending executions and the oldest one's start."""
        ...

    async def close(self) -> None:
        """Close what the queue opened (not the database's own drivers)."""
        ...


def queue_for(db: Database) -> Queue:
    from relayflow.store.queue.postgres import PostgresQueue
    from relayflow.store.queue.sqlite import SqliteQueue

    return SqliteQueue(db) if db.is_sqlite else PostgresQueue(db)
