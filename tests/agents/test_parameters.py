"""Agent parameters to model settings."""

from __future__ import annotations

import pytest

from relayflow import errors
from relayflow.agents.parameters import model_settings_from


def test_known_parameters_become_model_settings() -> None:
    settings = model_settings_from(
        {
            "temperature": 1,
            "max_tokens": 256.0,
            "top_p": 0.9,
            "seed": 3,
            "stop": "END",
            "parallel_tool_calls": False,
            "output_schema": {"type": "object"},  # someone else's key
        },
        agent="writer",
    )
    assert settings == {
        "temperature": 1.0,
        "max_tokens": 256,
        "top_p": 0.9,
        "seed": 3,
        "stop_sequences": ["END"],
        "parallel_tool_calls": False,
    }


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"temperature": "hot"}, "parameters.temperature must be a number"),
        ({"temperature": True}, "parameters.temperature must be a number"),
        ({"max_tokens": 1.5}, "parameters.max_tokens must be an integer"),
        ({"max_tokens": 0}, "parameters.max_tokens must be positive"),
        ({"stop": [1]}, "parameters.stop must be a string or a list of strings"),
    ],
)
def test_a_wrong_type_names_the_agent_and_parameter(
    parameters: dict[str, object], message: str
) -> None:
    with pytest.raises(errors.InvalidInput, match=message) as caught:
        model_settings_from(parameters, agent="writer")
    assert "'writer'" in caught.value.message
