"""Model strings resolve to the right provider, or fail naming what to configure."""

from __future__ import annotations

import pytest
from pydantic_ai.models.anthropic import AnthropicModel
from pydantic_ai.models.function import FunctionModel
from pydantic_ai.models.ollama import OllamaModel
from pydantic_ai.models.openai import OpenAIChatModel

from relayflow import errors
from relayflow.agents.models import ModelResolver, parse_model_string
from tests.agents.conftest import SettingsFactory


async def test_openai_uses_the_key_and_base_url_with_sdk_retries_off(
    make_settings: SettingsFactory,
) -> None:
    resolver = ModelResolver(
        make_settings(openai_api_key="sk-x", openai_base_url="http://127.0.0.1:9/v1")
    )
    ref, model = resolver.resolve("openai:gpt-4o")
    assert (ref.provider, ref.name) == ("openai", "gpt-4o")
    assert isinstance(model, OpenAIChatModel)
    assert model.model_name == "gpt-4o"
    assert model.client.base_url == "http://127.0.0.1:9/v1/"
    assert model.client.api_key == "sk-x"
    assert model.client.max_retries == 0
    # One client per provider, reused.
    assert resolver.resolve("openai:gpt-4o-mini")[1].client is model.client  # type: ignore[attr-defined]
    await resolver.aclose()


@pytest.mark.parametrize(
    ("model", "setting"),
    [
        ("openai:gpt-4o", "RELAYFLOW_OPENAI_API_KEY"),
        ("anthropic:claude-sonnet-4-5", "RELAYFLOW_ANTHROPIC_API_KEY"),
    ],
)
async def test_a_missing_key_names_the_setting(
    make_settings: SettingsFactory, model: str, setting: str
) -> None:
    resolver = ModelResolver(make_settings())
    with pytest.raises(errors.ConfigError, match=setting):
        resolver.resolve(model)


async def test_anthropic_with_a_key(make_settings: SettingsFactory) -> None:
    resolver = ModelResolver(make_settings(anthropic_api_key="sk-ant-x"))
    _, model = resolver.resolve("anthropic:claude-sonnet-4-5")
    assert isinstance(model, AnthropicModel)
    assert model.client.max_retries == 0
    await resolver.aclose()


async def test_ollama_is_openai_compatible_at_its_base_url(make_settings: SettingsFactory) -> None:
    resolver = ModelResolver(make_settings(ollama_base_url="http://127.0.0.1:11434/v1"))
    _, model = resolver.resolve("ollama:llama3.2")
    assert isinstance(model, OllamaModel)
    assert model.base_url == "http://127.0.0.1:11434/v1/"
    await resolver.aclose()


async def test_named_endpoints_are_openai_compatible(make_settings: SettingsFactory) -> None:
    settings = make_settings(
        endpoints={"MyLLM": {"base_url": "http://127.0.0.1:8001/v1", "api_key": "k-1"}}
    )
    resolver = ModelResolver(settings)
    ref, model = resolver.resolve("myllm:qwen/qwen3-coder")
    assert ref.name == "qwen/qwen3-coder"
    assert isinstance(model, OpenAIChatModel)
    assert model.base_url == "http://127.0.0.1:8001/v1/"
    assert model.system == "myllm"
    await resolver.aclose()


async def test_an_unknown_provider_names_the_known_ones(make_settings: SettingsFactory) -> None:
    resolver = ModelResolver(make_settings(endpoints={"lab": {"base_url": "http://127.0.0.1:1"}}))
    with pytest.raises(errors.InvalidInput) as caught:
        resolver.resolve("mistral:large")
    assert "'mistral'" in caught.value.message
    assert "openai, anthropic, ollama, test, lab" in caught.value.message


@pytest.mark.parametrize("text", ["gpt-4o", ":gpt-4o", "openai:", ""])
def test_malformed_model_strings(text: str) -> None:
    with pytest.raises(errors.InvalidInput, match="provider:model"):
        parse_model_string(text)


def test_provider_names_are_case_insensitive() -> None:
    ref = parse_model_string(" OpenAI:GPT-4o ")
    assert (ref.provider, ref.name, str(ref)) == ("openai", "GPT-4o", "openai:GPT-4o")


async def test_offline_models_resolve_without_configuration(make_settings: SettingsFactory) -> None:
    _, model = ModelResolver(make_settings()).resolve("test:echo", role="writer")
    assert isinstance(model, FunctionModel)
    with pytest.raises(errors.InvalidInput, match="test:echo, test:sleep-<ms>"):
        ModelResolver(make_settings()).resolve("test:gpt")
