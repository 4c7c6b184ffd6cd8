"""Encryption of credential values at rest: Fernet (AES-128-CBC + HMAC-SHA256).

The keyring is the current key followed by earlier ones: values are encrypted
under the current key and read under any of them, so a new key can be put in
place first and `relayflow credentials rotate-key` re-encrypts every value after.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from relayflow import errors
from relayflow.config import Settings


class Vault:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise errors.ConfigError("the credentials keyring is empty")
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except (ValueError, TypeError) as exc:
            raise errors.ConfigError(
                "a credentials key is not a Fernet key (32 url-safe base64-encoded bytes; "
                "make one with `relayflow credentials new-key`)"
            ) from exc

    @classmethod
    def from_settings(cls, settings: Settings) -> Vault:
        return cls(settings.credential_keys())

    def encrypt(self, values: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(values).encode()).decode()

    def decrypt(self, ciphertext: str) -> dict[str, Any]:
        try:
            plain = self._fernet.decrypt(ciphertext.encode())
        except InvalidToken as exc:
            raise errors.ConfigError(
                "a credential cannot be decrypted with the configured keys "
                "(RELAYFLOW_CREDENTIALS_KEY / RELAYFLOW_CREDENTIALS_PREVIOUS_KEYS)"
            ) from exc
        values: dict[str, Any] = json.loads(plain)
        return values

    def rotate(self, ciphertext: str) -> str:
        """The same values encrypted under the current key."""
        try:
            return self._fernet.rotate(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise errors.ConfigError(
                "a credential cannot be decrypted with the configured keys"
            ) from exc


def new_key() -> str:
    return Fernet.generate_key().decode()
