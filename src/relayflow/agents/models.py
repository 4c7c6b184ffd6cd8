"""`provider:model` strings to pydantic-ai models.

Providers:
- `openai:<model>`: OpenAI's Chat Completions API with `RELAYFLOW_OPENAI_API_KEY`, at
  `RELAYFLOW_OPENAI_BASE_URL` when set (a proxy or gateway).
- `anthropic:<model>`: the Anthropic API with `RELAYFLOW_ANTHROPIC_API_KEY`, at
  `RELAYFLOW_ANTHROPIC_BASE_URL` when set.
- `ollama:<model>`: Ollama's OpenAI-compatible API at `RELAYFLOW_OLLAMA_BASE_URL`.
- `<endpoint>:<model>`: any OpenAI-compatible server named in `settings.endpoints`
  (`RELAYFLOW_ENDPOINTS__<NAME>__BASE_URL`, `..._API_KEY`).
- `test:<model>`: the offline models (see `offline.py`).

Retries: the provider SDKs' own retries are turned off (`max_retries=0` on every
client built here). A 429, 5xx or timeout surfaces at once as
`TransientAgentError` and the engine's per-node retry policy (backoff, honouring
Retry-After) decides, so one retry budget governs a node, visible in its records.

One SDK client and HTTP connection pool per provider, owned by `ModelResolver`
and closed by `aclose()`.

The provider SDKs (openai, anthropic) are imported when a model of theirs is first
resolved, not with this module: they take most of a second to import, and a run of
offline models (`relayflow run`, the tests) never needs them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from relayflow import errors
from relayflow.agents import offline
from relayflow.config import Settings
from relayflow.engine.ports import ProviderCredential

if TYPE_CHECKING:
    import httpx2
    from openai import AsyncOpenAI
    from pydantic_ai.models import Model
    from pydantic_ai.providers import Provider

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
BUILTIN_PROVIDERS = ("openai", "anthropic", "ollama", offline.PROVIDER)
# The model-string provider each kind of provider credential serves (an
# OpenAI-compatible server serves `openai:<model>` at its own base URL).
CREDENTIAL_PROVIDERS = {
    "openai": "openai",
    "anthropic": "anthropic",
    "openai_compatible": "openai",
    "ollama": "ollama",
}
# A key is still sent to keyless local servers: the OpenAI SDK insists on one.
PLACEHOLDER_KEY = "not-needed"
CONNECT_TIMEOUT_S = 10.0
DEFAULT_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class ModelRef:
    """A parsed model string: `provider` is lower-case, `name` as written."""

    provider: str
    name: str

    def __str__(self) -> str:
        return f"{self.provider}:{self.name}"


def parse_model_string(model: str) -> ModelRef:
    provider, sep, name = model.strip().partition(":")
    if not sep or not provider or not name:
        raise errors.InvalidInput(
            f"model {model!r} must be written provider:model, e.g. openai:gpt-4o or test:echo"
        )
    return ModelRef(provider.strip().lower(), name.strip())


class ModelResolver:
    """Builds pydantic-ai models for model strings, reusing one client per provider."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._providers: dict[str, Provider[Any]] = {}
        self._http_clients: list[httpx2.AsyncClient] = []

    def known_providers(self) -> list[str]:
        return [*BUILTIN_PROVIDERS, *sorted(self._endpoints())]

    def resolve(
        self, model: str, *, role: str = "agent", credential: ProviderCredential | None = None
    ) -> tuple[ModelRef, Model]:
        """The parsed reference and a pydantic-ai model for `model`.

        With a user's `credential`, its key and base URL are used instead of the
        server-wide ones. Raises InvalidInput for a malformed string, an unknown
        provider or a credential of another provider, and ConfigError when the
        provider's key or URL is missing.
        """
        ref = parse_model_string(model)
        if credential is not None:
            return ref, self._with_credential(ref, credential)
        if ref.provider == offline.PROVIDER:
            return ref, offline.offline_model(ref.name, role=role)
        if ref.provider == "openai":
            from pydantic_ai.models.openai import OpenAIChatModel

            return ref, OpenAIChatModel(ref.name, provider=self._openai())
        if ref.provider == "anthropic":
            from pydantic_ai.models.anthropic import AnthropicModel

            return ref, AnthropicModel(ref.name, provider=self._anthropic())
        if ref.provider == "ollama":
            from pydantic_ai.models.ollama import OllamaModel

            return ref, OllamaModel(ref.name, provider=self._ollama())
        endpoint = self._endpoints().get(ref.provider)
        if endpoint is not None:
            from pydantic_ai.models.openai import OpenAIChatModel

            return ref, OpenAIChatModel(ref.name, provider=self._endpoint(ref.provider))
        raise errors.InvalidInput(
            f"unknown model provider {ref.provider!r} in {model!r}; known providers: "
            + ", ".join(self.known_providers())
        )

    async def aclose(self) -> None:
        for client in self._http_clients:
            await client.aclose()
        self._http_clients.clear()
        self._providers.clear()

    def check_model(self, model: str, credential_kind: str | None = None) -> str | None:
        """What stops `model` from running (with a credential of `credential_kind`), or None.

        For the check at save time: an unknown provider, a credential of another
        provider, or no key (neither a credential nor a server-wide one).
        """
        try:
            ref = parse_model_string(model)
        except errors.InvalidInput as exc:
            return exc.message
        if credential_kind is not None:
            served = CREDENTIAL_PROVIDERS.get(credential_kind)
            if served != ref.provider:
                return f"a {credential_kind} credential cannot serve {ref.provider!r} models" + (
                    f" (it serves {served}:...)" if served else ""
                )
            return None
        if ref.provider not in BUILTIN_PROVIDERS and ref.provider not in self._endpoints():
            return f"unknown model provider {ref.provider!r}; known providers: " + ", ".join(
                self.known_providers()
            )
        server_keys = {
            "openai": self._settings.openai_api_key,
            "anthropic": self._settings.anthropic_api_key,
        }
        server_key = server_keys.get(ref.provider)
        if ref.provider in server_keys and not (server_key and server_key.get_secret_value()):
            setting = f"RELAYFLOW_{ref.provider.upper()}_API_KEY"
            return f"{ref.provider} models need a key: pick a credential or set {setting}"
        return None

    def _with_credential(self, ref: ModelRef, credential: ProviderCredential) -> Model:
        served = CREDENTIAL_PROVIDERS.get(credential.kind)
        if served != ref.provider:
            raise errors.InvalidInput(
                f"model {ref}: a {credential.kind} credential cannot serve {ref.provider!r} models"
            )
        key = (
            f"credential:{credential.kind}:{credential.base_url}:"
            + hashlib.sha256((credential.api_key or "").encode()).hexdigest()
        )
        if credential.kind == "anthropic":
            from anthropic import AsyncAnthropic
            from pydantic_ai.models.anthropic import AnthropicModel
            from pydantic_ai.providers.anthropic import AnthropicProvider

            if key not in self._providers:
                anthropic_client = AsyncAnthropic(
                    api_key=credential.api_key,
                    base_url=credential.base_url or self._settings.anthropic_base_url,
                    max_retries=0,
                    http_client=self._http_client(),
                )
                self._providers[key] = AnthropicProvider(anthropic_client=anthropic_client)
            return AnthropicModel(ref.name, provider=self._providers[key])
        from pydantic_ai.models.openai import OpenAIChatModel

        if key not in self._providers:
            base_url = credential.base_url or (
                self._settings.ollama_base_url
                if credential.kind == "ollama"
                else OPENAI_DEFAULT_BASE_URL
            )
            client = self._openai_client(credential.api_key or PLACEHOLDER_KEY, base_url)
            if credential.kind == "ollama":
                from pydantic_ai.providers.ollama import OllamaProvider

                self._providers[key] = OllamaProvider(openai_client=client)
            else:
                from pydantic_ai.providers.openai import OpenAIProvider

                self._providers[key] = OpenAIProvider(openai_client=client)
        if credential.kind == "ollama":
            from pydantic_ai.models.ollama import OllamaModel

            return OllamaModel(ref.name, provider=self._providers[key])
        return OpenAIChatModel(ref.name, provider=self._providers[key])

    # ------------------------------------------------------------ providers
    def _endpoints(self) -> dict[str, Any]:
        return {name.lower(): value for name, value in self._settings.endpoints.items()}

    def _http_client(self) -> httpx2.AsyncClient:
        import httpx2
        from pydantic_ai.models import create_async_httpx2_client

        client = create_async_httpx2_client(
            timeout=httpx2.Timeout(DEFAULT_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
        )
        self._http_clients.append(client)
        return client

    def _openai_client(self, api_key: str, base_url: str) -> AsyncOpenAI:
        from openai import AsyncOpenAI

        return AsyncOpenAI(
            api_key=api_key, base_url=base_url, max_retries=0, http_client=self._http_client()
        )

    def _openai(self) -> Provider[Any]:
        if "openai" not in self._providers:
            from pydantic_ai.providers.openai import OpenAIProvider

            key = self._settings.openai_api_key
            if key is None or not key.get_secret_value():
                raise errors.ConfigError(
                    "OpenAI models need an API key: set RELAYFLOW_OPENAI_API_KEY"
                )
            client = self._openai_client(
                key.get_secret_value(), self._settings.openai_base_url or OPENAI_DEFAULT_BASE_URL
            )
            self._providers["openai"] = OpenAIProvider(openai_client=client)
        return self._providers["openai"]

    def _anthropic(self) -> Provider[Any]:
        if "anthropic" not in self._providers:
            from anthropic import AsyncAnthropic
            from pydantic_ai.providers.anthropic import AnthropicProvider

            key = self._settings.anthropic_api_key
            if key is None or not key.get_secret_value():
                raise errors.ConfigError(
                    "Anthropic models need an API key: set RELAYFLOW_ANTHROPIC_API_KEY"
                )
            client = AsyncAnthropic(
                api_key=key.get_secret_value(),
                base_url=self._settings.anthropic_base_url,
                max_retries=0,
                http_client=self._http_client(),
            )
            self._providers["anthropic"] = AnthropicProvider(anthropic_client=client)
        return self._providers["anthropic"]

    def _ollama(self) -> Provider[Any]:
        if "ollama" not in self._providers:
            from pydantic_ai.providers.ollama import OllamaProvider

            if not self._settings.ollama_base_url:
                raise errors.ConfigError(
                    "Ollama models need a server: set RELAYFLOW_OLLAMA_BASE_URL"
                )
            client = self._openai_client(PLACEHOLDER_KEY, self._settings.ollama_base_url)
            self._providers["ollama"] = OllamaProvider(openai_client=client)
        return self._providers["ollama"]

    def _endpoint(self, name: str) -> Provider[Any]:
        key = f"endpoint:{name}"
        if key not in self._providers:
            from pydantic_ai.providers.openai_compatible import OpenAICompatibleProvider

            endpoint = self._endpoints()[name]
            api_key = endpoint.api_key.get_secret_value() if endpoint.api_key else None
            client = self._openai_client(api_key or PLACEHOLDER_KEY, endpoint.base_url)
            self._providers[key] = OpenAICompatibleProvider(name, openai_client=client)
        return self._providers[key]
