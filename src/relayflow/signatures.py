"""HMAC signatures on inbound webhook deliveries.

A sender signs `"{timestamp}.{body}"` with the webhook's signing secret and sends
`X-Relayflow-Timestamp: <unix seconds>` and `X-Relayflow-Signature: sha256=<hex>`.
A timestamp further than the tolerance from the server's clock is refused, so a
captured request cannot be replayed later; within the tolerance the intake accepts
each signature once (`store.seen_signatures`), so it cannot be replayed at all.

Where the secret lives: verifying an HMAC needs the secret itself, so a hash is
not enough. relayflow stores no secret at all: the secret is derived on demand,
`HMAC-SHA256(server key, webhook id + per-webhook random salt)`, where the server
key comes from the installation's signing secret (`RELAYFLOW_JWT_SECRET`) and only
the salt is in the database. A copy of the database alone reveals nothing;
rotating means a new salt. Changing the installation secret changes every
webhook's signing secret (senders must then be given new ones).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from relayflow.errors import SignatureInvalid

SIGNATURE_HEADER = "x-relayflow-signature"
TIMESTAMP_HEADER = "x-relayflow-timestamp"
DEFAULT_TOLERANCE_S = 300
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
_DERIVATION_CONTEXT = b"relayflow/webhook-signing-secret/v1"
MAX_TIMESTAMP_DIGITS = 12
_TIMESTAMP = re.compile(f"[0-9]{{1,{MAX_TIMESTAMP_DIGITS}}}")


@dataclass(frozen=True)
class Verified:
    """A signature that matched: valid until `timestamp` + the tolerance, and only once."""

    signature: str  # `sha256=<hex>`, as computed here
    timestamp: int


def new_signing_salt() -> str:
    return secrets.token_hex(16)


def derive_signing_secret(server_secret: str, webhook_id: uuid.UUID, salt: str) -> str:
    """The webhook's signing secret, recomputed from the server secret and its salt."""
    master = hmac.new(server_secret.encode(), _DERIVATION_CONTEXT, hashlib.sha256).digest()
    digest = hmac.new(master, f"{webhook_id}:{salt}".encode(), hashlib.sha256).digest()
    return SECRET_PREFIX + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def compute_signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """`sha256=<hex>` over `"{timestamp}.{body}"`: what a sender puts in the header."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> Verified:
    """Check that the headers carry a fresh, matching signature; raise `SignatureInvalid`.

    `headers` keys are lower-case. Several signatures may be sent separated by
    commas (a sender rolling over to a new secret); one match is enough. Returns
    what was verified, for the replay check (`Verified`).
    """
    raw_timestamp = headers.get(TIMESTAMP_HEADER)
    raw_signature = headers.get(SIGNATURE_HEADER)
    if not raw_signature:
        raise SignatureInvalid(
            "this webhook requires a signature: send X-Relayflow-Signature: sha256=<hex> "
            "over '{timestamp}.{body}' and X-Relayflow-Timestamp"
        )
    # ASCII digits only, and few of them: int() would accept other scripts' digits
    # ("²" passes isdigit()) and huge numbers only to overflow further on.
    timestamp = (raw_timestamp or "").strip()
    if not _TIMESTAMP.fullmatch(timestamp):
        raise SignatureInvalid(
            "X-Relayflow-Timestamp is missing or not Unix seconds "
            f"(1 to {MAX_TIMESTAMP_DIGITS} ASCII digits)",
            details={"reason": "bad_timestamp"},
        )
    skew = abs(now - int(timestamp))
    if skew > tolerance_s:
        raise SignatureInvalid(
            f"X-Relayflow-Timestamp is {int(skew)} s away from the server's clock "
            f"(tolerance {int(tolerance_s)} s): the request is stale or replayed",
            details={"reason": "stale_timestamp"},
        )
    expected = compute_signature(secret, timestamp, body)
    candidates = [part.strip() for part in raw_signature.split(",") if part.strip()]
    # compare_digest on every candidate (no early exit) keeps the timing flat.
    matched = False
    for candidate in candidates[:5]:
        matched |= hmac.compare_digest(candidate.encode(), expected.encode())
    if not matched:
        raise SignatureInvalid(
            "X-Relayflow-Signature does not match the body and timestamp",
            details={"reason": "mismatch"},
        )
    return Verified(signature=expected, timestamp=int(timestamp))
