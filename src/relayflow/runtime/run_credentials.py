"""The credentials one execution may use, and the redaction of what they hold.

A run uses its runner's credentials (their own and shared ones), never the
workflow owner's: a public workflow started by someone else runs with theirs.
Every value handed out is remembered, and `Redactor.scrub` replaces it wherever
it would be stored or sent: node inputs and outputs, errors, events, the outcome.
"""

from __future__ import annotations

import base64
import logging
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from relayflow.config import Settings
from relayflow.credential_kinds import PROVIDER_KINDS, CredentialKind
from relayflow.engine.ports import HttpAuth, ProviderCredential
from relayflow.errors import InvalidInput, NotFound
from relayflow.store import credentials
from relayflow.store.credentials import Usable
from relayflow.store.db import Database
from relayflow.vault import Vault

REDACTED = "[secret]"
MIN_REDACTED_LENGTH = 4  # shorter values would blank out ordinary text


def _replace_all(text: str, values: Iterable[str]) -> str:
    for secret in sorted(values, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class _LiveSecrets:
    """The values every running execution of this process holds, for the log scrubber:
    libraries log too (an HTTP client logs each URL, query keys included)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._installed = False

    def scrub_record(self, record: logging.LogRecord) -> None:
        if not self.counts:
            return
        message = record.getMessage()
        scrubbed = _replace_all(message, list(self.counts))
        if scrubbed != message:
            record.msg, record.args = scrubbed, None

    def install(self) -> None:
        """Every log record made from now on in this process passes the scrubber."""
        if self._installed:
            return
        self._installed = True
        make = logging.getLogRecordFactory()

        def scrubbed_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = make(*args, **kwargs)
            self.scrub_record(record)
            return record

        logging.setLogRecordFactory(scrubbed_record)


LIVE_SECRETS = _LiveSecrets()


class Redactor:
    """Replaces known secret values in any JSON-like value (and, while the execution
    runs, in every log line of the process)."""

    def __init__(self) -> None:
        self._values: set[str] = set()

    def add(self, value: str | None) -> None:
        if value and len(value) >= MIN_REDACTED_LENGTH and value not in self._values:
            self._values.add(value)
            LIVE_SECRETS.counts[value] += 1

    def release(self) -> None:
        """The execution is over: its values leave the log scrubber (not this redactor)."""
        for value in self._values:
            LIVE_SECRETS.counts[value] -= 1
            if LIVE_SECRETS.counts[value] <= 0:
                del LIVE_SECRETS.counts[value]

    def __bool__(self) -> bool:
        return bool(self._values)

    def scrub(self, value: Any) -> Any:
        if not self._values:
            return value
        if isinstance(value, str):
            return _replace_all(value, self._values)
        if isinstance(value, Mapping):
            return {self.scrub(k): self.scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub(v) for v in value]
        return value


class RunCredentials:
    """Implements `engine.ports.CredentialSource` for one execution's user."""

    def __init__(
        self, db: Database, settings: Settings, user_id: uuid.UUID | None, redactor: Redactor
    ) -> None:
        self._db = db
        self._settings = settings
        self._user_id = user_id
        self.redactor = redactor
        self._vault: Vault | None = None

    def _keyring(self) -> Vault:
        if self._vault is None:
            self._vault = Vault.from_settings(self._settings)
        return self._vault

    async def _usable(self, credential_id: str) -> Usable:
        async with self._db.session() as session:
            found = await credentials.usable_credential(
                session, self._keyring(), self._user_id, credential_id
            )
        self.redactor.add(found.value)
        return found

    async def provider(self, credential_id: str) -> ProviderCredential:
        found = await self._usable(credential_id)
        if found.kind not in PROVIDER_KINDS:
            raise InvalidInput(f"credential {found.name!r} is not a model provider credential")
        return ProviderCredential(
            id=str(found.id),
            kind=found.kind.value,
            api_key=found.value,
            base_url=found.settings.get("base_url"),
        )

    async def http_auth(self, credential_id: str) -> HttpAuth:
        found = await self._usable(credential_id)
        value = found.value or ""
        if found.kind is CredentialKind.HTTP_BEARER:
            return HttpAuth(headers={"Authorization": f"Bearer {value}"})
        if found.kind is CredentialKind.HTTP_BASIC:
            pair = f"{found.settings['username']}:{value}".encode()
            encoded = base64.b64encode(pair).decode()
            self.redactor.add(encoded)
            return HttpAuth(headers={"Authorization": f"Basic {encoded}"})
        if found.kind is CredentialKind.HTTP_HEADER:
            return HttpAuth(headers={found.settings["header"]: value})
        if found.kind is CredentialKind.HTTP_QUERY:
            return HttpAuth(params={found.settings["param"]: value})
        raise NotFound(f"credential {credential_id} is not an HTTP auth credential")

    async def secrets(self) -> Mapping[str, str]:
        if self._user_id is None:
            return {}
        async with self._db.session() as session:
            found = await credentials.secrets_of(session, self._keyring(), self._user_id)
        for value in found.values():
            self.redactor.add(value)
        return found
