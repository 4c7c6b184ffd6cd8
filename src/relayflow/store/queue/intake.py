"""What the starts read before they queue an execution: a webhook, or the account and
workflow of an API start. Values only; the statements are in `statements.starts`, the
reads in the queue implementations (`Queue.find_webhook`, `Queue.find_starter`)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from relayflow import errors
from relayflow.domain import Role


@dataclass(frozen=True)
class WebhookTarget:
    """A webhook as the intake sees it. `input_schema` is read only if the key matched."""

    id: uuid.UUID
    workflow_id: uuid.UUID
    owner_id: uuid.UUID | None
    api_key_digest: str
    enabled: bool
    allow_query_key: bool
    require_signature: bool
    signing_secret_salt: str | None
    rate_limit_per_minute: int | None
    input_schema: Mapping[str, Any] | None  # of the published version
    published_version: int | None  # what a delivery runs; None: never published


@dataclass(frozen=True)
class NewExecution:
    execution_id: uuid.UUID
    input: Any
    trigger: Mapping[str, Any]
    idempotency_key: str | None = None
    idempotency_window_s: float = 24 * 3600.0
    # A request waits for the outcome: this process's worker may take the run at once.
    wait: bool = False


@dataclass(frozen=True)
class FoundWebhook:
    """`Queue.find_webhook_and_start`: the webhook, and whether the plain delivery's
    execution was committed with the look-up."""

    target: WebhookTarget
    started: bool


@dataclass(frozen=True)
class Created:
    execution_id: uuid.UUID
    replayed: bool  # the Idempotency-Key was taken: this is the first delivery's execution


@dataclass(frozen=True)
class StartTarget:
    """The workflow to start, as the start checks see it."""

    workflow_id: uuid.UUID
    owner_id: uuid.UUID | None
    is_public: bool
    input_schema: Mapping[str, Any] | None  # of the draft
    draft_version: int | None


@dataclass(frozen=True)
class Starter:
    """The caller's account as it is now, and the workflow (None if it does not exist)."""

    role: Role
    target: StartTarget | None
    session_generation: int = 0  # see `users.session_generation`


def role_of(value: str | None) -> Role:
    return Role(value or Role.USER.value)


def schema_of(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) and value else None


def published_version(target: WebhookTarget) -> int:
    """The version a delivery runs (the intake refuses never-published workflows first)."""
    if target.published_version is None:
        raise errors.Conflict(f"workflow {target.workflow_id} has no published version")
    return target.published_version


def webhook_vanished(target: WebhookTarget) -> errors.NotFound:
    # The workflow (and with it the webhook) was deleted while the request ran.
    return errors.NotFound(f"webhook {target.id} not found")


def workflow_vanished(workflow_id: uuid.UUID) -> errors.NotFound:
    # Deleted between the check and the write.
    return errors.NotFound(f"workflow {workflow_id} not found")
