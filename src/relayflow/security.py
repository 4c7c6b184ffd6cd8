"""Secrets: password hashes, access tokens and webhook API keys.

Passwords use Argon2id (slow on purpose: they are low-entropy). API keys are
random 256-bit tokens, so a fast SHA-256 digest is enough to store them and lets
the database look a key up by its digest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from functools import cache

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from relayflow import errors
from relayflow.config import Settings
from relayflow.domain import Actor, Role

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
JWT_ALGORITHM = "HS256"
API_KEY_PREFIX = "rf_"
API_KEY_VISIBLE_CHARS = 8  # how much of a key the API shows back (`key_prefix`)

_hasher = PasswordHasher()  # argon2-cffi's defaults are Argon2id, RFC 9106 low-memory


# ------------------------------------------------------------------ passwords
def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def burn_password_check(password: str) -> None:
    """Spend the time of a real check, so an unknown email answers as slowly as a known one."""
    verify_password(_dummy_hash(), password)


# ------------------------------------------------------------------ access tokens
@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_in: int  # seconds


SESSION_CLAIM = "gen"  # the account's session generation the token was issued under


def issue_access_token(
    settings: Settings,
    actor: Actor,
    *,
    now: dt.datetime | None = None,
    session_generation: int = 0,
) -> AccessToken:
    issued = now or dt.datetime.now(dt.UTC)
    lifetime = dt.timedelta(minutes=settings.access_token_minutes)
    claims = {
        "sub": str(actor.user_id),
        "role": actor.role.value,
        "iat": issued,
        "exp": issued + lifetime,
        SESSION_CLAIM: session_generation,
    }
    token = jwt.encode(claims, settings.signing_secret(), algorithm=JWT_ALGORITHM)
    return AccessToken(token=token, expires_in=int(lifetime.total_seconds()))


@dataclass(frozen=True)
class SignIn:
    actor: Actor
    session_generation: int  # see `users.session_generation`


def read_access_token(settings: Settings, token: str) -> Actor:
    """The actor a token was issued to; `Unauthorized` if it is expired, tampered or malformed."""
    return read_sign_in(settings, token).actor


def read_sign_in(settings: Settings, token: str) -> SignIn:
    """A sign-in token's actor and session generation (0 for tokens from before generations)."""
    try:
        claims = jwt.decode(
            token,
            settings.signing_secret(),
            algorithms=[JWT_ALGORITHM],
            options={"require": ["sub", "exp", "iat"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise errors.Unauthorized("the access token has expired; sign in again") from exc
    except jwt.InvalidTokenError as exc:
        raise errors.Unauthorized("the access token is invalid") from exc
    try:
        user_id = uuid.UUID(str(claims["sub"]))
        role = Role(claims.get("role", Role.USER.value))
        generation = int(claims.get(SESSION_CLAIM, 0))
    except (TypeError, ValueError) as exc:
        raise errors.Unauthorized("the access token is invalid") from exc
    return SignIn(actor=Actor(user_id=user_id, role=role), session_generation=generation)


# ------------------------------------------------------------------ API keys
def generate_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def api_key_matches(api_key: str, stored_digest: str) -> bool:
    return hmac.compare_digest(hash_api_key(api_key), stored_digest)


def api_key_prefix(api_key: str) -> str:
    return api_key[:API_KEY_VISIBLE_CHARS]


# ------------------------------------------------------------------ personal API tokens
# A sign-in token is a JWT (it starts `eyJ`); a personal token starts with this prefix,
# so the caller's header says at once which kind it is.
PERSONAL_TOKEN_PREFIX = "rfp_"  # noqa: S105 (a prefix, not a secret)
PERSONAL_TOKEN_VISIBLE_CHARS = 12


def generate_personal_token() -> str:
    return PERSONAL_TOKEN_PREFIX + secrets.token_urlsafe(32)


def is_personal_token(token: str) -> bool:
    return token.startswith(PERSONAL_TOKEN_PREFIX)
