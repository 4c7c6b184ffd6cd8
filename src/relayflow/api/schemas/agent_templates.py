"""Agent templates: a reusable role, model, system prompt and parameters."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from relayflow.api.schemas.common import UtcDateTime, not_null
from relayflow.store.agent_templates import MODEL_MAX_LENGTH, model_string_problem

Text255 = Annotated[str, Field(min_length=1, max_length=255)]
Model = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MODEL_MAX_LENGTH,
        description="`provider:model`, e.g. `openai:gpt-4o` or `test:echo`.",
        examples=["test:echo"],
    ),
]


def _model_string(value: str | None) -> str | None:
    if value is not None:
        problem = model_string_problem(value)
        if problem:
            raise ValueError(problem)
    return value


class TemplateIn(BaseModel):
    """A whole template (create, or replace with PUT)."""

    name: Text255
    role: Text255
    model: Model
    system_prompt: str | None = None
    parameters: dict[str, Any] | None = None
    is_system: StrictBool = Field(False, description="Admins only, and only at creation.")
    credential_id: uuid.UUID | None = Field(
        None, description="A model provider credential its agents use (yours or shared)."
    )

    _model = field_validator("model")(_model_string)


class TemplatePatch(BaseModel):
    name: Text255 | None = None
    role: Text255 | None = None
    model: Model | None = None
    system_prompt: str | None = None
    parameters: dict[str, Any] | None = None
    is_system: StrictBool | None = None
    credential_id: uuid.UUID | None = Field(
        None, description="A model provider credential its agents use (yours or shared)."
    )

    _not_null = field_validator("name", "role", "model", "is_system", mode="before")(not_null)
    _model = field_validator("model")(_model_string)


class TemplateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    role: str
    model: str
    system_prompt: str | None
    parameters: dict[str, Any] | None
    is_system: bool | None
    user_id: uuid.UUID | None
    credential_id: uuid.UUID | None = None
    created_at: UtcDateTime | None
    used_by: int = Field(
        0,
        description="How many workflows use it (their draft or published graph names its id): "
        "those you may see and, for a system template, every other user's too.",
    )


class UsingWorkflowOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str


class TemplateUsageOut(BaseModel):
    used_by: int = Field(description="Every workflow counted in `workflows` and `others`.")
    workflows: list[UsingWorkflowOut] = Field(
        description="The workflows using it that you may see, by name."
    )
    others: int = Field(
        description="Other users' private workflows using it (system templates only), unnamed."
    )
