"""Password hashes, access tokens and API keys."""

from __future__ import annotations

import datetime as dt
import uuid

import jwt
import pytest

from relayflow import errors, security
from relayflow.config import Settings
from relayflow.domain import Actor, Role

SECRET = "s" * 40


@pytest.fixture
def token_settings() -> Settings:
    return Settings(jwt_secret=SECRET, access_token_minutes=15)


def test_password_hash_is_argon2id_salted_and_verifies() -> None:
    first = security.hash_password("hunter22hunter22")
    second = security.hash_password("hunter22hunter22")

    assert first.startswith("$argon2id$")
    assert first != second  # a fresh salt each time
    assert security.verify_password(first, "hunter22hunter22")
    assert not security.verify_password(first, "hunter22hunter23")
    assert not security.verify_password("not a hash", "hunter22hunter22")


def test_access_token_carries_the_user_and_role(token_settings: Settings) -> None:
    actor = Actor(user_id=uuid.uuid4(), role=Role.ADMIN)

    issued = security.issue_access_token(token_settings, actor)
    claims = jwt.decode(issued.token, SECRET, algorithms=["HS256"])

    assert security.read_access_token(token_settings, issued.token) == actor
    assert issued.expires_in == 15 * 60
    assert claims["sub"] == str(actor.user_id)
    assert claims["role"] == "admin"
    assert claims["exp"] - claims["iat"] == 15 * 60


def test_expired_token_is_refused(token_settings: Settings) -> None:
    issued_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16)
    token = security.issue_access_token(token_settings, Actor(uuid.uuid4()), now=issued_at).token

    with pytest.raises(errors.Unauthorized, match="expired"):
        security.read_access_token(token_settings, token)


def test_token_signed_with_another_secret_is_refused(token_settings: Settings) -> None:
    other = Settings(jwt_secret="o" * 40)
    token = security.issue_access_token(other, Actor(uuid.uuid4())).token

    with pytest.raises(errors.Unauthorized, match="invalid"):
        security.read_access_token(token_settings, token)


def test_token_with_a_bad_subject_is_refused(token_settings: Settings) -> None:
    now = dt.datetime.now(dt.UTC)
    token = jwt.encode(
        {"sub": "root", "iat": now, "exp": now + dt.timedelta(minutes=1)}, SECRET, "HS256"
    )

    with pytest.raises(errors.Unauthorized):
        security.read_access_token(token_settings, token)


def test_api_keys_are_random_prefixed_and_hashed() -> None:
    keys = {security.generate_api_key() for _ in range(100)}

    assert len(keys) == 100
    key = keys.pop()
    assert key.startswith("rf_")
    assert len(key) == 3 + 43  # 32 random bytes, URL-safe base64
    digest = security.hash_api_key(key)
    assert len(digest) == 64
    assert int(digest, 16) >= 0
    assert key not in digest
    assert security.api_key_matches(key, digest)
    assert not security.api_key_matches(key + "x", digest)
    assert security.api_key_prefix(key) == key[:8]
