"""Webhooks: an API key that lets an outside system start a workflow."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, Field, StrictBool, field_validator

from relayflow.api.schemas.common import not_null
from relayflow.store.models import Webhook

Name = Annotated[str, Field(max_length=255)]


class WebhookIn(BaseModel):
    name: Name | None = None


class WebhookPatch(BaseModel):
    enabled: StrictBool | None = None
    name: Name | None = Field(None, description="null clears the name.")

    _not_null = field_validator("enabled", mode="before")(not_null)


class WebhookOut(BaseModel):
    id: uuid.UUID
    workflow_id: uuid.UUID | None
    name: str | None
    enabled: bool
    key_prefix: str | None = Field(description="The key's first characters, to tell keys apart.")
    created_at: dt.datetime | None
    updated_at: dt.datetime | None
    url: str = Field(description="Where outside systems POST to trigger the workflow.")

    @classmethod
    def of(cls, webhook: Webhook) -> WebhookOut:
        return cls.model_validate(_fields(webhook))


class WebhookWithKey(WebhookOut):
    api_key: str = Field(description="Shown only in this answer: store it now.")

    @classmethod
    def issued(cls, webhook: Webhook, api_key: str) -> WebhookWithKey:
        return cls.model_validate({**_fields(webhook), "api_key": api_key})


def _fields(webhook: Webhook) -> dict[str, object]:
    return {
        "id": webhook.id,
        "workflow_id": webhook.workflow_id,
        "name": webhook.name,
        "enabled": bool(webhook.enabled),
        "key_prefix": webhook.key_prefix,
        "created_at": webhook.created_at,
        "updated_at": webhook.updated_at,
        "url": f"/hooks/{webhook.id}",
    }
