"""`relayflow user set-password`: an operator gives an account a new password."""

from __future__ import annotations

import pytest

from relayflow import errors, security
from relayflow.store import users
from relayflow.store.db import Database
from relayflow.store.models import User


async def test_the_new_password_replaces_the_old_one(db: Database) -> None:
    async with db.transaction() as session:
        session.add(
            User(email="ada@example.com", password_hash=security.hash_password("old-pass-1"))
        )
    async with db.transaction() as session:
        await users.set_password(session, "Ada@Example.com", "new-pass-22")
    async with db.session() as session:
        user = await users.get_user_by_email(session, "ada@example.com")
    assert user is not None
    assert security.verify_password(user.password_hash, "new-pass-22")
    assert not security.verify_password(user.password_hash, "old-pass-1")


async def test_unknown_accounts_and_short_passwords_are_refused(db: Database) -> None:
    async with db.transaction() as session:
        with pytest.raises(errors.NotFound, match=r"nobody@example\.com"):
            await users.set_password(session, "nobody@example.com", "long-enough-1")
        with pytest.raises(errors.InvalidInput, match="at least"):
            await users.set_password(session, "nobody@example.com", "short")
