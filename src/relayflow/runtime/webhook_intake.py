"""Accepting a webhook delivery: from an HTTP request's parts to a committed execution.

The checks run in the order that reveals least to a stranger: the key first
(401, or 404 for an unknown webhook after the same hashing and comparison work),
then the webhook's own switches (403 disabled, 429 rate limit, signature), and
only then the body (415 unreadable, 422 input limits or input schema). A valid
signature then starts one execution only (409 for a replay, unless its
Idempotency-Key already answers it with that execution). The pending execution is
then written (with its idempotency key, if any, in the same transaction; see
`Database.queue`) and the caller answers 202 only after it is committed;
workers are woken after the commit. A key already held answers with its
execution if the request (method, path, body) is the same, else 422.

Most deliveries are plain: a small JSON body, no Idempotency-Key, no signature.
Such a delivery is decoded first, then looked up and, if its webhook asks for no
check the database cannot make with the look-up, started by the same statement
(`Queue.find_webhook_and_start`: one round trip on PostgreSQL). Any other outcome
goes through the checks above, in their order, with the webhook read there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from relayflow import errors
from relayflow.config import Settings
from relayflow.domain import utcnow
from relayflow.ids import time_ordered_id
from relayflow.input_schema import check_input
from relayflow.json_values import JsonLimits, check_fields
from relayflow.security import hash_api_key
from relayflow.signatures import (
    SIGNATURE_HEADER,
    Verified,
    derive_signing_secret,
    verify_signature,
)
from relayflow.store.db import Database
from relayflow.store.idempotency import (
    MAX_KEY_LENGTH,
    key_holder_request_hash,
    live_key_holder,
)
from relayflow.store.queue.intake import NewExecution, WebhookTarget
from relayflow.store.rate_limits import count_request
from relayflow.store.seen_signatures import first_use_of_signature
from relayflow.store.versions import never_published

KEY_HEADER = "x-api-key"
QUERY_KEY = "api_key"
IDEMPOTENCY_HEADER = "idempotency-key"
# Bodies up to this size may be decoded before the key is checked (`_plain_execution`).
PLAIN_BODY_MAX = 16 * 1024
# Compared against when the webhook is unknown, so that case costs what a wrong key costs.
_ABSENT_DIGEST = hash_api_key("relayflow: no such webhook")

# Header and query names never copied into `execution.trigger`: credentials and
# anything that looks like one.
SECRET_NAMES = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        KEY_HEADER,
        QUERY_KEY,
        "apikey",
        "x-relayflow-signature",
    }
)
SECRET_FRAGMENTS = (
    "auth",
    "token",
    "secret",
    "signature",
    "password",
    "passwd",
    "api-key",
    "api_key",
    "apikey",
    "cookie",
    "session",
    "credential",
)


@dataclass(frozen=True)
class WebhookDelivery:
    """What the HTTP layer hands over. Header names are lower-case."""

    webhook_id: str
    headers: Mapping[str, str]
    query: Sequence[tuple[str, str]]
    body: bytes
    # Decodes the body by its content type (raises UnsupportedMediaType or
    # InvalidInput); called only once the caller is authenticated.
    decode_body: Callable[[], Awaitable[Any]]
    content_type: str | None = None
    method: str = "POST"
    path: str = ""


def request_hash(delivery: WebhookDelivery) -> str:
    """What an Idempotency-Key stands for: the hash of method, path and body."""
    digest = hashlib.sha256()
    for part in (delivery.method.upper().encode(), delivery.path.encode(), delivery.body):
        digest.update(len(part).to_bytes(8, "big") + part)  # length-prefixed: unambiguous
    return "sha256:" + digest.hexdigest()


@dataclass(frozen=True)
class AcceptedDelivery:
    execution_id: uuid.UUID
    replayed: bool = False  # an earlier delivery with the same Idempotency-Key started it
    trigger: Mapping[str, Any] = field(default_factory=dict)


def is_secret_name(name: str) -> bool:
    lowered = name.lower()
    return lowered in SECRET_NAMES or any(part in lowered for part in SECRET_FRAGMENTS)


def trigger_for(
    webhook_id: uuid.UUID, delivery: WebhookDelivery, *, idempotency_key: str | None, signed: bool
) -> dict[str, Any]:
    """`execution.trigger` of a webhook delivery: where it came from, minus secrets.

    Query values are stored, so they pass the input limits' string checks (a
    `?x=%00` would otherwise fail the insert on PostgreSQL).
    """
    query: dict[str, Any] = {}
    for name, value in delivery.query:
        if is_secret_name(name):
            continue
        if name in query:
            previous = query[name]
            query[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            query[name] = value
    headers = {name: value for name, value in delivery.headers.items() if not is_secret_name(name)}
    trigger: dict[str, Any] = {
        "type": "webhook",
        "webhook_id": str(webhook_id),
        "received_at": utcnow().isoformat(),
        "content_type": delivery.content_type,
        "headers": headers,
        "query": query,
        "idempotency_key": idempotency_key,
        "signed": signed,
    }
    if idempotency_key is not None:
        trigger["request_hash"] = request_hash(delivery)
    return trigger


def _presented_key(delivery: WebhookDelivery) -> tuple[str | None, bool]:
    """The API key and whether it came from the query string."""
    key = delivery.headers.get(KEY_HEADER)
    if key:
        return key.strip(), False
    authorization = delivery.headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip(), False
    for name, value in delivery.query:
        if name == QUERY_KEY and value:
            return value, True
    return None, False


def _idempotency_key(delivery: WebhookDelivery) -> str | None:
    raw = delivery.headers.get(IDEMPOTENCY_HEADER)
    if raw is None:
        return None
    key = raw.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
        raise errors.InvalidInput(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters",
            details=[{"field": "Idempotency-Key", "message": "invalid"}],
        )
    return key


def _replayed(verified: Verified) -> errors.SignatureReplayed:
    return errors.SignatureReplayed(
        "this signature was already accepted for an earlier delivery: a signed delivery "
        "starts one execution; sign every new delivery with a fresh X-Relayflow-Timestamp "
        "(a retry with the same Idempotency-Key is answered with the first execution)",
        details={"reason": "replayed", "timestamp": verified.timestamp},
    )


def _webhook_uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


class WebhookIntake:
    """Turns deliveries into pending executions. One per process; safe to share.

    A background service only in that `stop()` closes its database pool.
    """

    def __init__(
        self, db: Database, settings: Settings, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.queue = db.queue
        self._server_secret: str | None = None

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self.db.signals.flush()  # wake-ups still in flight

    def signing_secret(self, webhook: WebhookTarget) -> str | None:
        if not webhook.signing_secret_salt:
            return None
        if self._server_secret is None:
            self._server_secret = self.settings.signing_secret()
        return derive_signing_secret(self._server_secret, webhook.id, webhook.signing_secret_salt)

    async def accept(self, delivery: WebhookDelivery, *, wait: bool = False) -> AcceptedDelivery:
        """Store the delivery's execution; `wait`: its request waits for the outcome."""
        key, from_query = _presented_key(delivery)
        if key is None:
            raise errors.Unauthorized(
                "missing API key: send it as X-API-Key or Authorization: Bearer <key>"
            )
        digest = hash_api_key(key)
        webhook_id = _webhook_uuid(delivery.webhook_id)
        webhook: WebhookTarget | None = None
        plain: NewExecution | None = None
        if webhook_id is not None:
            plain = await self._plain_execution(webhook_id, delivery, wait=wait)
            if plain is None:
                webhook = await self.queue.find_webhook(webhook_id, digest)
            else:
                found = await self.queue.find_webhook_and_start(
                    webhook_id, digest, key_in_query=from_query, plain=plain
                )
                if found is not None and found.started:  # every check passed in the database
                    return AcceptedDelivery(execution_id=plain.execution_id, trigger=plain.trigger)
                webhook = found.target if found else None
        # Compared in constant time, against a stand-in when the webhook is unknown,
        # so that a wrong key and an unknown webhook cost the same.
        key_matches = hmac.compare_digest(
            digest, webhook.api_key_digest if webhook else _ABSENT_DIGEST
        )
        if webhook is None:
            raise errors.NotFound(f"webhook {delivery.webhook_id} not found")
        if from_query and not webhook.allow_query_key:
            raise errors.Unauthorized(
                "this webhook does not accept its key in the query string: "
                "send it as X-API-Key or Authorization: Bearer <key>"
            )
        if not key_matches:
            raise errors.Unauthorized("invalid API key")
        if not webhook.enabled:
            raise errors.WebhookDisabled(f"webhook {webhook.id} is disabled")
        if webhook.published_version is None:
            raise never_published(webhook.workflow_id)
        await self._check_rate_limit(webhook)
        verified = self._check_signature(webhook, delivery)
        idempotency_key = _idempotency_key(delivery)
        value = plain.input if plain is not None else await delivery.decode_body()
        if webhook.input_schema is not None:
            check_input(webhook.input_schema, value)
        trigger = trigger_for(
            webhook.id, delivery, idempotency_key=idempotency_key, signed=verified is not None
        )
        self._check_query(delivery)
        if verified is not None and not await self._first_use(webhook, verified):
            # Seen before: only a retry the Idempotency-Key already answers may pass.
            replay = await self._idempotent_replay(webhook, idempotency_key, trigger)
            if replay is None:
                raise _replayed(verified)
            return replay

        created = await self.queue.create_from_webhook(
            webhook,
            NewExecution(
                execution_id=time_ordered_id(),
                input=value,
                trigger=trigger,
                idempotency_key=idempotency_key,
                idempotency_window_s=self.settings.webhook_idempotency_window_s,
                wait=wait,
            ),
        )
        if created.replayed:
            assert idempotency_key is not None
            await self._check_same_request(created.execution_id, idempotency_key, trigger)
            return AcceptedDelivery(execution_id=created.execution_id, replayed=True)
        return AcceptedDelivery(execution_id=created.execution_id, trigger=trigger)

    async def _plain_execution(
        self, webhook_id: uuid.UUID, delivery: WebhookDelivery, *, wait: bool
    ) -> NewExecution | None:
        """The execution of a delivery that may need no check beyond those the database
        makes with the look-up (`Queue.find_webhook_and_start`): a small JSON body within
        the input limits, no Idempotency-Key, no signature. None if not; the delivery
        then takes the checks in their order (key first).

        The body is decoded before the key is checked here, so only small bodies are:
        a stranger's request costs at most `PLAIN_BODY_MAX` bytes of decoding more.
        """
        headers = delivery.headers
        media = (delivery.content_type or "").split(";", 1)[0].strip().lower()
        if (
            media != "application/json"  # parsed in place; other types wait for the key
            or len(delivery.body) > PLAIN_BODY_MAX
            or IDEMPOTENCY_HEADER in headers
            or SIGNATURE_HEADER in headers
        ):
            return None
        try:
            value = await delivery.decode_body()
            self._check_query(delivery)
        except (errors.InvalidInput, errors.UnsupportedMediaType):
            return None  # refused after the key is checked, in the usual order
        return NewExecution(
            execution_id=time_ordered_id(),
            input=value,
            trigger=trigger_for(webhook_id, delivery, idempotency_key=None, signed=False),
            wait=wait,
        )

    def _check_query(self, delivery: WebhookDelivery) -> None:
        """The query values go into `execution.trigger`: they pass the input limits."""
        check_fields(
            [(name, str(v)) for name, v in delivery.query],
            JsonLimits.from_settings(self.settings),
            root="query",
        )

    async def _check_same_request(
        self, holder: uuid.UUID, key: str, trigger: Mapping[str, Any]
    ) -> None:
        """A key reused with another request is refused, never answered with the first run."""
        recorded = await key_holder_request_hash(self.db, holder)
        if recorded is None or hmac.compare_digest(recorded, trigger["request_hash"]):
            return
        window_h = self.settings.webhook_idempotency_window_s / 3600
        raise errors.IdempotencyKeyReused(
            f"Idempotency-Key {key!r} was already used on this webhook in the last "
            f"{window_h:g} h with a different request (method, path or body): "
            "send a new key for a new request",
            details=[
                {
                    "field": "Idempotency-Key",
                    "message": "already used with a different request",
                    "key": key,
                }
            ],
        )

    async def _first_use(self, webhook: WebhookTarget, verified: Verified) -> bool:
        """Record the signature; False if an earlier delivery already carried it."""
        tolerance = self.settings.webhook_signature_tolerance_s
        expires_at = dt.datetime.fromtimestamp(verified.timestamp + tolerance + 1, dt.UTC)
        return await first_use_of_signature(
            self.db,
            webhook_id=webhook.id,
            signature=verified.signature,
            expires_at=expires_at.replace(tzinfo=None),
        )

    async def _idempotent_replay(
        self, webhook: WebhookTarget, key: str | None, trigger: Mapping[str, Any]
    ) -> AcceptedDelivery | None:
        """The first execution, if `key` already holds one for this very request."""
        if key is None:
            return None
        holder = await live_key_holder(
            self.db,
            webhook_id=webhook.id,
            key=key,
            window_s=self.settings.webhook_idempotency_window_s,
        )
        if holder is None:
            return None
        await self._check_same_request(holder, key, trigger)
        return AcceptedDelivery(execution_id=holder, replayed=True)

    async def _check_rate_limit(self, webhook: WebhookTarget) -> None:
        limit = webhook.rate_limit_per_minute
        if not limit:
            return
        decision = await count_request(self.db, f"webhook:{webhook.id}", limit=limit)
        if not decision.allowed:
            raise errors.RateLimited(
                f"webhook {webhook.id} accepts {limit} requests per minute; "
                f"retry in {max(1, round(decision.retry_after_s))} s",
                retry_after=decision.retry_after_s,
                details={"limit_per_minute": limit},
            )

    def _check_signature(
        self, webhook: WebhookTarget, delivery: WebhookDelivery
    ) -> Verified | None:
        """The valid signature checked, if any; raises if one is required or wrong."""
        secret = self.signing_secret(webhook)
        if secret is None:
            if webhook.require_signature:
                raise errors.SignatureInvalid(
                    "this webhook requires signatures but has no signing secret yet; "
                    "its owner must create one"
                )
            return None
        if not webhook.require_signature and SIGNATURE_HEADER not in delivery.headers:
            return None
        return verify_signature(
            secret,
            delivery.headers,
            delivery.body,
            now=self.clock(),
            tolerance_s=self.settings.webhook_signature_tolerance_s,
        )
