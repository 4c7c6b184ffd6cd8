"""The credentials keyring: values encrypted at rest, and key rotation on the embedded
default (the key file in the data dir), where `rotate-key` makes the new key itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from relayflow.cli_accounts import rotate
from relayflow.config import CREDENTIALS_KEY_FILE, Settings
from relayflow.credential_kinds import CredentialKind
from relayflow.domain import Actor, Role
from relayflow.errors import ConfigError
from relayflow.store import credentials
from relayflow.store.db import Database
from relayflow.store.migrate import upgrade
from relayflow.store.models import Credential, User
from relayflow.vault import Vault

VALUE = "sk-rotate-me-0123456789"


def test_postgresql_needs_an_explicit_key(tmp_path: Path) -> None:
    settings = Settings(database_url="postgresql://x@localhost/x", data_dir=tmp_path)

    with pytest.raises(ConfigError, match="RELAYFLOW_CREDENTIALS_KEY"):
        settings.credential_keys()


async def test_rotating_the_key_file_keeps_every_value_readable(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'r.db'}", data_dir=tmp_path / "data")
    db = Database(settings.resolved_database_url)
    try:
        await upgrade(db)
        old_keys = settings.credential_keys()  # made on first use
        async with db.transaction() as session:
            user = User(email="r@example.com", password_hash="x")
            session.add(user)
            await session.flush()
            await credentials.create_credential(
                session,
                Vault(old_keys),
                Actor(user_id=user.id, role=Role.USER),
                name="key",
                kind=CredentialKind.OPENAI,
                value=VALUE,
                settings={},
                shared=False,
                max_per_user=10,
            )

        assert await rotate(settings) == 1

        new_keys = (settings.data_dir / CREDENTIALS_KEY_FILE).read_text().split()
        async with db.session() as session:
            row = (await session.scalars(select(Credential))).one()
        assert len(new_keys) == 1
        assert new_keys != old_keys
        assert Vault(new_keys).decrypt(row.ciphertext) == {"value": VALUE}
        with pytest.raises(ConfigError):
            Vault(old_keys).decrypt(row.ciphertext)
    finally:
        await db.dispose()
