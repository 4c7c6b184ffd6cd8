"""Webhooks: an API key that lets an outside system start a workflow."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, Field, StrictBool, field_validator

from relayflow.api.schemas.common import UtcDateTime, not_null
from relayflow.api.webhook_curl import curl_line
from relayflow.input_example import as_body, example_input
from relayflow.store.models import Webhook

Name = Annotated[str, Field(max_length=255)]


class WebhookIn(BaseModel):
    name: Name | None = None


class WebhookPatch(BaseModel):
    enabled: StrictBool | None = None
    name: Name | None = Field(None, description="null clears the name.")
    # Trigger settings (relayflow.store.webhook_triggers).
    allow_query_key: StrictBool | None = Field(
        None, description="Accept the key as `?api_key=` (for senders that cannot set headers)."
    )
    require_signature: StrictBool | None = Field(
        None, description="Refuse unsigned deliveries; needs a signing secret."
    )
    rate_limit_per_minute: int | None = Field(
        None, ge=1, le=1_000_000, description="Requests per minute; null removes the limit."
    )

    _not_null = field_validator("enabled", "allow_query_key", "require_signature", mode="before")(
        not_null
    )


class WebhookOut(BaseModel):
    id: uuid.UUID
    workflow_id: uuid.UUID | None
    name: str | None
    enabled: bool
    key_prefix: str | None = Field(description="The key's first characters, to tell keys apart.")
    created_at: UtcDateTime | None
    updated_at: UtcDateTime | None
    url: str = Field(description="Where outside systems POST to trigger the workflow.")
    curl: str = Field(
        "",
        description="A ready command to try it (the key is a shell variable), sending "
        "`example_input`.",
    )
    example_input: Any = Field(
        default_factory=dict,
        description="An input the workflow's input schema accepts (from its examples, "
        "defaults, enums, else a value by type): the body of the try-it command.",
    )
    allow_query_key: bool = False
    require_signature: bool = False
    has_signing_secret: bool = False
    rate_limit_per_minute: int | None = None

    @classmethod
    def of(
        cls, webhook: Webhook, *, base_url: str = "", schema: Mapping[str, Any] | None = None
    ) -> WebhookOut:
        return cls.model_validate(_fields(webhook, base_url, schema))


class WebhookWithKey(WebhookOut):
    api_key: str = Field(description="Shown only in this answer: store it now.")

    @classmethod
    def issued(
        cls,
        webhook: Webhook,
        api_key: str,
        *,
        base_url: str = "",
        schema: Mapping[str, Any] | None = None,
    ) -> WebhookWithKey:
        return cls.model_validate({**_fields(webhook, base_url, schema), "api_key": api_key})


def _fields(
    webhook: Webhook, base_url: str = "", schema: Mapping[str, Any] | None = None
) -> dict[str, object]:
    example = example_input(schema)
    return {
        "id": webhook.id,
        "workflow_id": webhook.workflow_id,
        "name": webhook.name,
        "enabled": bool(webhook.enabled),
        "key_prefix": webhook.key_prefix,
        "created_at": webhook.created_at,
        "updated_at": webhook.updated_at,
        "url": f"/hooks/{webhook.id}",
        "curl": curl_line(base_url, webhook.id, as_body(example)),
        "example_input": example,
        "allow_query_key": bool(webhook.allow_query_key),
        "require_signature": bool(webhook.require_signature),
        "has_signing_secret": webhook.signing_secret_salt is not None,
        "rate_limit_per_minute": webhook.rate_limit_per_minute,
    }


class WebhookAcceptedOut(BaseModel):
    """`POST /hooks/{id}`: the execution is queued (its URL also in the Location header)."""

    execution_id: uuid.UUID
    status_url: str


class WebhookOutcomeOut(WebhookAcceptedOut):
    """`POST /hooks/{id}?wait=`: the run finished in time."""

    status: str
    output: Any = None
    error: str | None = None
