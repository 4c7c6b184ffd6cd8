"""Does a model provider credential work? One cheap request to the provider's models
listing with the stored key, through the SSRF guard (a user-given base URL is checked
like an HTTP node's URL). The answer never carries the key, nor the provider's body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from relayflow import errors, netguard
from relayflow.credential_kinds import CredentialKind

OPENAI_BASE_URL = "https://api.openai.com/v1"
ANTHROPIC_BASE_URL = "https://api.anthropic.com"
ANTHROPIC_VERSION = "2023-06-01"
CHECK_TIMEOUT_S = 10.0
MAX_LISTING_BYTES = 1024 * 1024
TESTABLE = frozenset(
    {
        CredentialKind.OPENAI,
        CredentialKind.OPENAI_COMPATIBLE,
        CredentialKind.ANTHROPIC,
        CredentialKind.OLLAMA,
    }
)


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str


def _request(
    kind: CredentialKind, settings: dict[str, str], value: str | None
) -> tuple[str, dict[str, str]]:
    base = settings.get("base_url") or ""
    if kind is CredentialKind.ANTHROPIC:
        url = (base or ANTHROPIC_BASE_URL).rstrip("/") + "/v1/models"
        return url, {"x-api-key": value or "", "anthropic-version": ANTHROPIC_VERSION}
    url = (base or OPENAI_BASE_URL).rstrip("/") + "/models"
    return url, ({"authorization": f"Bearer {value}"} if value else {})


def _model_count(body: bytes) -> int | None:
    try:
        data: Any = json.loads(body)
    except ValueError:
        return None
    listed = data.get("data") if isinstance(data, dict) else None
    return len(listed) if isinstance(listed, list) else None


async def check_connection(
    kind: CredentialKind,
    settings: dict[str, str],
    value: str | None,
    *,
    allowlist: list[str],
) -> CheckResult:
    """`InvalidInput` for a kind that cannot be tested; else whether the provider took the key."""
    if kind not in TESTABLE:
        raise errors.InvalidInput(
            f"a {kind.value} credential cannot be tested: only model provider credentials can"
        )
    url, headers = _request(kind, settings, value)
    try:
        async with netguard.outbound_client() as client:
            answer = await netguard.guarded_request(
                client,
                "GET",
                url,
                headers=headers,
                timeout_s=CHECK_TIMEOUT_S,
                allowlist=allowlist,
                max_response_bytes=MAX_LISTING_BYTES,
            )
    except (errors.InvalidInput, netguard.HttpRequestFailed) as exc:
        return CheckResult(ok=False, message=_without(exc.message, value))
    where = netguard.display_url(httpx.URL(url))
    if answer.status_code in (401, 403):
        return CheckResult(ok=False, message=f"{where} refused the key (HTTP {answer.status_code})")
    if answer.status_code >= 400:
        return CheckResult(ok=False, message=f"{where} answered HTTP {answer.status_code}")
    count = _model_count(answer.body)
    listed = f": {count} models available" if count is not None else ""
    return CheckResult(ok=True, message=f"connected to {where}{listed}")


def _without(message: str, secret: str | None) -> str:
    return message.replace(secret, "***") if secret else message
