"""An agent's `parameters` (from its template and node) as pydantic-ai model settings.

Recognised keys: temperature, top_p, top_k, max_tokens, seed, presence_penalty,
frequency_penalty, stop (or stop_sequences), parallel_tool_calls, logit_bias.
Other keys belong to other parts of relayflow (e.g. `output_schema`) and are
ignored here. A recognised key with a wrong type fails with a message naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from pydantic_ai.settings import ModelSettings

from relayflow import errors


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _boolean(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _strings(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _bias(value: Any) -> dict[str, int] | None:
    if not isinstance(value, Mapping):
        return None
    converted = {str(k): _integer(v) for k, v in value.items()}
    if any(v is None for v in converted.values()):
        return None
    return cast(dict[str, int], converted)


# key -> (setting name, converter, what it must be)
_KNOWN: dict[str, tuple[str, Callable[[Any], Any], str]] = {
    "temperature": ("temperature", _number, "a number"),
    "top_p": ("top_p", _number, "a number"),
    "top_k": ("top_k", _integer, "an integer"),
    "max_tokens": ("max_tokens", _integer, "an integer"),
    "seed": ("seed", _integer, "an integer"),
    "presence_penalty": ("presence_penalty", _number, "a number"),
    "frequency_penalty": ("frequency_penalty", _number, "a number"),
    "stop": ("stop_sequences", _strings, "a string or a list of strings"),
    "stop_sequences": ("stop_sequences", _strings, "a string or a list of strings"),
    "parallel_tool_calls": ("parallel_tool_calls", _boolean, "true or false"),
    "logit_bias": ("logit_bias", _bias, "an object of integers"),
}
MODEL_PARAMETERS = frozenset(_KNOWN)


def model_settings_from(parameters: Mapping[str, Any], *, agent: str) -> ModelSettings:
    """Model settings for `parameters`; `agent` names the agent in error messages."""
    settings: dict[str, Any] = {}
    for key, value in parameters.items():
        known = _KNOWN.get(key)
        if known is None or value is None:
            continue
        name, convert, expected = known
        converted = convert(value)
        if converted is None:
            raise errors.InvalidInput(
                f"agent {agent!r}: parameters.{key} must be {expected}, got {value!r}"
            )
        if key == "max_tokens" and converted <= 0:
            raise errors.InvalidInput(
                f"agent {agent!r}: parameters.max_tokens must be positive, got {value!r}"
            )
        settings[name] = converted
    return cast(ModelSettings, settings)
