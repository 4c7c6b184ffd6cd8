"""HMAC signatures over `{timestamp}.{body}` with a replay window."""

from __future__ import annotations

import uuid

import pytest

from relayflow.errors import SignatureInvalid
from relayflow.signatures import (
    compute_signature,
    derive_signing_secret,
    new_signing_salt,
    verify_signature,
)

SECRET = "whsec_test"
BODY = b'{"order": 42}'
NOW = 1_800_000_000


def headers(signature: str, timestamp: int | str = NOW) -> dict[str, str]:
    return {"x-relayflow-signature": signature, "x-relayflow-timestamp": str(timestamp)}


def test_valid_signature_passes() -> None:
    verify_signature(SECRET, headers(compute_signature(SECRET, NOW, BODY)), BODY, now=NOW + 3)


def test_signature_matches_an_independent_computation() -> None:
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert compute_signature(SECRET, NOW, BODY) == f"sha256={expected}"


def test_one_of_several_signatures_is_enough() -> None:
    good = compute_signature(SECRET, NOW, BODY)
    verify_signature(SECRET, headers(f"sha256=00, {good}"), BODY, now=NOW)


@pytest.mark.parametrize(
    "signature",
    [
        compute_signature("another-secret", NOW, BODY),
        compute_signature(SECRET, NOW, BODY + b" "),
        compute_signature(SECRET, NOW + 1, BODY),
        "sha256=",
        "garbage",
    ],
)
def test_wrong_signature_is_refused(signature: str) -> None:
    with pytest.raises(SignatureInvalid) as caught:
        verify_signature(SECRET, headers(signature), BODY, now=NOW)
    assert "does not match" in caught.value.message


@pytest.mark.parametrize("skew", [-301, 301, 3600])
def test_stale_or_future_timestamp_is_refused_even_if_signed(skew: int) -> None:
    stamped = NOW + skew
    with pytest.raises(SignatureInvalid) as caught:
        verify_signature(
            SECRET, headers(compute_signature(SECRET, stamped, BODY), stamped), BODY, now=NOW
        )
    assert caught.value.details == {"reason": "stale_timestamp"}


def test_missing_headers_are_refused() -> None:
    with pytest.raises(SignatureInvalid, match="requires a signature"):
        verify_signature(SECRET, {}, BODY, now=NOW)
    with pytest.raises(SignatureInvalid, match="Timestamp"):
        verify_signature(
            SECRET, {"x-relayflow-signature": compute_signature(SECRET, NOW, BODY)}, BODY, now=NOW
        )


def test_derived_secrets_are_stable_and_depend_on_every_input() -> None:
    webhook, salt = uuid.uuid4(), new_signing_salt()
    server = "s" * 40
    secret = derive_signing_secret(server, webhook, salt)
    assert secret.startswith("whsec_")
    assert derive_signing_secret(server, webhook, salt) == secret
    assert derive_signing_secret(server, webhook, new_signing_salt()) != secret
    assert derive_signing_secret(server, uuid.uuid4(), salt) != secret
    assert derive_signing_secret("t" * 40, webhook, salt) != secret
