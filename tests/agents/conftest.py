"""Agent tests: a fake OpenAI server on 127.0.0.1, and no way out to a real provider.

`no_outside_network` (autouse) refuses every socket connection to a non-loopback
address, so a mistake in a test (a real base URL, a key in the environment)
fails loudly instead of reaching a real provider.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from relayflow.config import Settings
from tests.support.fake_openai import API_KEY, FakeOpenAI

PROVIDER_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "OLLAMA_BASE_URL",
    "RELAYFLOW_OPENAI_API_KEY",
    "RELAYFLOW_OPENAI_BASE_URL",
    "RELAYFLOW_ANTHROPIC_API_KEY",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


def _is_loopback(address: Any) -> bool:
    if isinstance(address, tuple) and address:
        try:
            return ipaddress.ip_address(str(address[0]).split("%", 1)[0]).is_loopback
        except ValueError:
            return False
    return isinstance(address, str | bytes)  # unix sockets stay local


@pytest.fixture(autouse=True)
def no_outside_network(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guarded_connect(self: socket.socket, address: Any) -> None:
        if not _is_loopback(address):
            raise ConnectionRefusedError(f"tests may not connect to {address!r}")
        return connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> int:
        if not _is_loopback(address):
            raise ConnectionRefusedError(f"tests may not connect to {address!r}")
        return connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    server = FakeOpenAI()
    await server.start()
    yield server
    await server.stop()


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(tmp_path: Path) -> SettingsFactory:
    """Settings with no provider configured unless the test says so."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "openai_api_key": None,
            "openai_base_url": None,
            "anthropic_api_key": None,
            "endpoints": {},
            "prices": {},
            "provider_concurrency": {},
            "http_allowlist": [],
        }
        values.update(overrides)
        return Settings(**values)

    return build


@pytest.fixture
def openai_settings(make_settings: SettingsFactory, fake_openai: FakeOpenAI) -> Settings:
    """`openai:` models served by the fake server."""
    return make_settings(openai_api_key=API_KEY, openai_base_url=fake_openai.base_url)
