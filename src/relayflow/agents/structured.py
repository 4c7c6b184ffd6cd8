"""JSON answers validated against a node's `output_schema`.

The model is given the schema (as its output tool's parameters) and its answer
is validated with jsonschema: a mismatch goes back to the model once as a retry
prompt naming the problems, then fails the node. Models answer JSON objects, so
a schema for anything else (an array, a string) is wrapped as the `result`
property of an object and unwrapped afterwards.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
from pydantic_ai import ModelRetry, StructuredDict, ToolOutput
from pydantic_ai.exceptions import UserError

from relayflow import errors

WRAP_KEY = "result"
MAX_REPORTED_PROBLEMS = 5
OUTPUT_TOOL = "final_answer"


@dataclass(frozen=True)
class StructuredOutput:
    schema: Mapping[str, Any]  # the user's schema
    model_schema: dict[str, Any]  # what the model is asked for
    wrapped: bool
    validator: Any  # a jsonschema validator for `schema`
    # The model answers by calling the `final_answer` tool with the JSON as arguments.
    tool_output: ToolOutput[Any]

    def accept(self, answer: Any) -> Any:
        """The validated value of a model's answer; raises ModelRetry when it does not match."""
        value = answer.get(WRAP_KEY) if self.wrapped and isinstance(answer, dict) else answer
        if self.wrapped and not (isinstance(answer, dict) and WRAP_KEY in answer):
            raise ModelRetry(f"Put the answer in the {WRAP_KEY!r} property.")
        problems = sorted(self.validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        if problems:
            described = "; ".join(_describe(p) for p in problems[:MAX_REPORTED_PROBLEMS])
            raise ModelRetry(f"The answer does not match the required JSON schema: {described}")
        return value


def structured_output(schema: Mapping[str, Any], *, agent: str) -> StructuredOutput:
    """Prepare `schema`; an invalid JSON Schema fails with a message naming `output_schema`.

    Checking a schema costs about a millisecond and the same few schemas come back
    on every execution, so prepared ones are cached by their JSON text.
    """
    if not isinstance(schema, Mapping):
        raise errors.InvalidInput(f"agent {agent!r}: output_schema must be a JSON object")
    try:
        key = json.dumps(schema, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise errors.InvalidInput(f"agent {agent!r}: output_schema is not JSON: {exc}") from exc
    try:
        return _prepare(key)
    except errors.InvalidInput as exc:
        raise errors.InvalidInput(f"agent {agent!r}: {exc.message}") from exc


@functools.lru_cache(maxsize=256)
def _prepare(key: str) -> StructuredOutput:
    schema = json.loads(key)
    validator_class = jsonschema.validators.validator_for(schema)
    try:
        validator_class.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise errors.InvalidInput(
            f"output_schema is not a valid JSON Schema: {exc.message}"
        ) from exc
    wrapped = schema.get("type") != "object"
    if wrapped:
        definitions = {k: schema[k] for k in ("$defs", "definitions") if k in schema}
        inner = {k: v for k, v in schema.items() if k not in definitions and k != "$schema"}
        model_schema: dict[str, Any] = {
            "type": "object",
            "properties": {WRAP_KEY: inner},
            "required": [WRAP_KEY],
            **definitions,
        }
    else:
        model_schema = {k: v for k, v in schema.items() if k != "$schema"}
    try:
        tool_output = ToolOutput(
            StructuredDict(dict(model_schema)),
            name=OUTPUT_TOOL,
            description="Give your final answer as this JSON object.",
        )
    except UserError as exc:  # e.g. recursive $refs, which pydantic-ai cannot inline
        raise errors.InvalidInput(f"output_schema is not supported: {exc}") from exc
    return StructuredOutput(schema, model_schema, wrapped, validator_class(schema), tool_output)


def _describe(error: jsonschema.ValidationError) -> str:
    path = "/".join(str(p) for p in error.absolute_path)
    return f"{path or 'the answer'}: {error.message}"
