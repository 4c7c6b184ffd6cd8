"""Kinds of credential and what each holds. Imports nothing internal but errors.

Every kind has at most one secret `value` (an API key, token, password or
secret); the rest of its fields are settings kept in the clear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from relayflow import errors


class CredentialKind(StrEnum):
    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    OPENAI_COMPATIBLE = "openai_compatible"
    OLLAMA = "ollama"
    HTTP_BEARER = "http_bearer"
    HTTP_BASIC = "http_basic"
    HTTP_HEADER = "http_header"
    HTTP_QUERY = "http_query"
    SECRET = "secret"  # noqa: S105 (a kind's name)


@dataclass(frozen=True)
class KindRule:
    required: tuple[str, ...] = ()  # settings that must be given
    optional: tuple[str, ...] = ()
    value: bool = True  # a secret value is required
    # The model-string provider a provider credential serves (`openai:gpt-4o`).
    provider: str | None = None


SETTINGS = ("base_url", "username", "header", "param")
RULES: dict[CredentialKind, KindRule] = {
    CredentialKind.OPENAI: KindRule(optional=("base_url",), provider="openai"),
    CredentialKind.ANTHROPIC: KindRule(optional=("base_url",), provider="anthropic"),
    # An OpenAI-compatible server serves `openai:<model>` strings at its own base URL.
    CredentialKind.OPENAI_COMPATIBLE: KindRule(
        required=("base_url",), value=False, provider="openai"
    ),
    CredentialKind.OLLAMA: KindRule(required=("base_url",), value=False, provider="ollama"),
    CredentialKind.HTTP_BEARER: KindRule(),
    CredentialKind.HTTP_BASIC: KindRule(required=("username",)),
    CredentialKind.HTTP_HEADER: KindRule(required=("header",)),
    CredentialKind.HTTP_QUERY: KindRule(required=("param",)),
    CredentialKind.SECRET: KindRule(),
}
PROVIDER_KINDS = frozenset(k for k, rule in RULES.items() if rule.provider)
HTTP_KINDS = frozenset(k for k in CredentialKind if k.value.startswith("http_"))
SECRET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")


def _invalid(field: str, message: str) -> errors.InvalidInput:
    return errors.InvalidInput(
        f"{field}: {message}", details=[{"field": field, "message": message}]
    )


def check_settings(
    kind: CredentialKind, name: str, settings: dict[str, str], *, has_value: bool
) -> dict[str, str]:
    """The settings a kind keeps, checked; `InvalidInput` names a missing or stray field."""
    rule = RULES[kind]
    for field in rule.required:
        if not settings.get(field):
            raise _invalid(field, f"is required for a {kind.value} credential")
    allowed = set(rule.required) | set(rule.optional)
    for field, value in settings.items():
        if value and field not in allowed:
            raise _invalid(field, f"does not apply to a {kind.value} credential")
    if rule.value and not has_value:
        raise _invalid("value", f"is required for a {kind.value} credential")
    if kind is CredentialKind.SECRET and not SECRET_NAME.match(name):
        raise _invalid(
            "name",
            "a secret's name is how templates read it ({{ secrets.NAME }}): "
            "letters, digits and _, not starting with a digit",
        )
    if settings.get("header") and not HEADER_NAME.match(settings["header"]):
        raise _invalid("header", "is not an HTTP header name")
    base_url = settings.get("base_url")
    if base_url and not base_url.startswith(("http://", "https://")):
        raise _invalid("base_url", "must be an http:// or https:// URL")
    return {f: settings[f] for f in allowed if settings.get(f)}


def mask(value: str | None) -> str:
    """What the API shows of a value: its last 4 characters, and only of a long one."""
    if not value:
        return ""
    return "••••" + value[-4:] if len(value) >= 16 else "••••"
