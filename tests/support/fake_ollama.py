"""A fake Ollama server on 127.0.0.1: its OpenAI-compatible API (`/v1/chat/completions`),
which relayflow's `ollama:` models use.

Like Ollama it needs no key (it records whatever Authorization header arrives) and
knows only the models that were pulled: any other answers 404 with Ollama's message.
Replies are scripted as on the fake OpenAI server.
"""

from __future__ import annotations

from collections.abc import Iterable

from tests.support.fake_openai import FakeOpenAI
from tests.support.http_server import ReceivedRequest, Reply


class FakeOllama(FakeOpenAI):
    api_key = None

    def __init__(self, models: Iterable[str] = ("llama3.2",)) -> None:
        super().__init__()
        self.models = set(models)

    def refuse(self, request: ReceivedRequest) -> Reply | None:
        model = request.json().get("model")
        if model in self.models or f"{model}:latest" in {f"{m}:latest" for m in self.models}:
            return None
        message = f'model "{model}" not found, try pulling it first'
        return Reply.json(
            {"error": {"message": message, "type": "api_error", "param": None, "code": None}},
            status=404,
        )
