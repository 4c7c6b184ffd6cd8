"""Accounts: creating users, registration, and checking a password at sign-in."""

from __future__ import annotations

import asyncio
import re
import uuid

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow import errors, security
from relayflow.domain import Role, utcnow
from relayflow.store import login_failures
from relayflow.store.db import Database
from relayflow.store.demo import add_demo_workflow
from relayflow.store.login_failures import LoginThrottle
from relayflow.store.models import User

# Deliberately loose: the only proof an address works is a mail reaching it.
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
EMAIL_MAX_LENGTH = 255
NAME_MAX_LENGTH = 255
BAD_LOGIN = "invalid email or password"
# Any constant works: it only serialises the first-user check across processes.
ACCOUNT_CREATION_LOCK = 7_301_001


def _invalid(field: str, message: str) -> errors.InvalidInput:
    return errors.InvalidInput(
        f"{field}: {message}", details=[{"field": field, "message": message}]
    )


def normalize_email(email: str) -> str:
    """The stored form of an email (trimmed, lower case); `InvalidInput` if it is not one."""
    value = email.strip().lower()
    if len(value) > EMAIL_MAX_LENGTH:
        raise _invalid("email", f"must be at most {EMAIL_MAX_LENGTH} characters")
    if not EMAIL_PATTERN.match(value):
        raise _invalid("email", "is not an email address")
    return value


def check_password_policy(password: str) -> None:
    if len(password) < security.MIN_PASSWORD_LENGTH:
        raise _invalid("password", f"must be at least {security.MIN_PASSWORD_LENGTH} characters")
    if len(password) > security.MAX_PASSWORD_LENGTH:
        raise _invalid("password", f"must be at most {security.MAX_PASSWORD_LENGTH} characters")


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email.strip().lower()))


async def set_password(session: AsyncSession, email: str, password: str) -> User:
    """Give an account a new password (an operator's reset); NotFound for an unknown email."""
    check_password_policy(password)
    user = await get_user_by_email(session, email)
    if user is None:
        raise errors.NotFound(f"no account with the email {email.strip().lower()}")
    user.password_hash = security.hash_password(password)
    user.session_generation = (user.session_generation or 0) + 1  # ends its sign-ins
    await session.flush()
    return user


async def change_password(
    db: Database,
    user: User,
    *,
    current_password: str,
    new_password: str,
    throttle: LoginThrottle,
    client_address: str | None = None,
) -> int:
    """The account's own password change: `WrongPassword` unless `current_password` is it.

    A wrong current password counts as a failed sign-in (the same throttle), so a
    stolen sign-in token cannot be used to guess the password. On success the
    session generation moves on: every sign-in token issued before now stops working.
    Answers the new generation (for the caller's fresh token).
    """
    check_password_policy(new_password)
    reservation = await login_failures.reserve_attempt(
        db, email=user.email, address=client_address, throttle=throttle, now=utcnow()
    )
    delay = reservation.delay_s(throttle)
    if delay > 0:
        await asyncio.sleep(delay)
    valid = await asyncio.to_thread(security.verify_password, user.password_hash, current_password)
    if not valid:
        raise errors.WrongPassword()  # the reservation stays: one more failure
    new_hash = await asyncio.to_thread(security.hash_password, new_password)
    async with db.transaction() as session:
        await login_failures.attempt_succeeded(session, reservation)
        await session.execute(
            update(User)
            .where(User.id == user.id)
            .values(password_hash=new_hash, session_generation=User.session_generation + 1)
        )
        generation = await session.scalar(select(User.session_generation).where(User.id == user.id))
    if generation is None:
        raise errors.Unauthorized("the access token's account no longer exists")
    return int(generation)


async def _lock_account_creation(session: AsyncSession) -> None:
    # SQLite serialises writers already; PostgreSQL needs a lock so two
    # simultaneous first registrations cannot both become admin.
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": ACCOUNT_CREATION_LOCK}
        )


async def _insert_user(
    session: AsyncSession, *, email: str, password_hash: str, name: str | None, role: Role
) -> User:
    if await get_user_by_email(session, email) is not None:
        raise errors.Conflict(
            f"an account with the email {email} already exists",
            details=[{"field": "email", "message": "already registered"}],
        )
    user = User(email=email, password_hash=password_hash, name=name, role=role.value)
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:  # lost a race with an identical registration
        raise errors.Conflict(
            f"an account with the email {email} already exists",
            details=[{"field": "email", "message": "already registered"}],
        ) from exc
    return user


def _check_name(name: str | None) -> str | None:
    if name is None:
        return None
    name = name.strip()
    if len(name) > NAME_MAX_LENGTH:
        raise _invalid("name", f"must be at most {NAME_MAX_LENGTH} characters")
    return name or None


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    name: str | None = None,
    role: Role = Role.USER,
    with_demo: bool = False,
) -> User:
    """An operator creating an account (the CLI): no registration policy applies."""
    email = normalize_email(email)
    check_password_policy(password)
    name = _check_name(name)
    password_hash = await asyncio.to_thread(security.hash_password, password)
    await _lock_account_creation(session)
    user = await _insert_user(
        session, email=email, password_hash=password_hash, name=name, role=role
    )
    if with_demo:
        await add_demo_workflow(session, user)
    return user


async def register_user(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    name: str | None = None,
    allow_registration: bool = True,
    with_demo: bool = False,
) -> User:
    """Self-registration. The very first account becomes an admin and is always allowed."""
    email = normalize_email(email)
    check_password_policy(password)
    name = _check_name(name)
    # Hash before touching the database so no connection is held during the slow part.
    password_hash = await asyncio.to_thread(security.hash_password, password)
    await _lock_account_creation(session)
    is_first = (await session.scalar(select(func.count()).select_from(User))) == 0
    if not is_first and not allow_registration:
        raise errors.RegistrationClosed(
            "self-registration is switched off on this installation; ask an administrator "
            "for an account"
        )
    role = Role.ADMIN if is_first else Role.USER
    user = await _insert_user(
        session, email=email, password_hash=password_hash, name=name, role=role
    )
    if with_demo:
        await add_demo_workflow(session, user)
    return user


async def authenticate(
    db: Database,
    *,
    email: str,
    password: str,
    throttle: LoginThrottle,
    client_address: str | None = None,
) -> User:
    """The user whose email and password these are, else `Unauthorized`.

    The attempt first takes its place in the sign-in counters (`RateLimited` when
    the account or the client address is over its limit: the password is then not
    checked at all). Runs its own short transactions (not the caller's) because a
    failure must stay counted though the request then fails, and because the slow
    parts (the throttle's delay, the Argon2 check) must not hold a connection.
    """
    email = email.strip().lower()
    reservation = await login_failures.reserve_attempt(
        db, email=email, address=client_address, throttle=throttle, now=utcnow()
    )
    delay = reservation.delay_s(throttle)
    if delay > 0:
        await asyncio.sleep(delay)
    async with db.session() as session:
        user = await get_user_by_email(session, email)
    if user is None:
        await asyncio.to_thread(security.burn_password_check, password)
        valid = False
    else:
        valid = await asyncio.to_thread(security.verify_password, user.password_hash, password)
    if user is None or not valid:
        raise errors.Unauthorized(BAD_LOGIN)  # the reservation stays: one more failure
    async with db.transaction() as session:
        await login_failures.attempt_succeeded(session, reservation)
        if security.password_needs_rehash(user.password_hash):
            new_hash = await asyncio.to_thread(security.hash_password, password)
            await session.execute(
                update(User).where(User.id == user.id).values(password_hash=new_hash)
            )
    return user
