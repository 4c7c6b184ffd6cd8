"""Dependencies shared by routes: the app state, a database session, the caller.

Dependencies are `async def` even where nothing awaits: FastAPI runs plain `def`
dependencies in a thread pool, a thread hand-off per dependency per request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow.api.state import AppState
from relayflow.config import Settings


def state_of(request: Request) -> AppState:
    state: AppState = request.app.state.relayflow
    return state


async def get_state(request: Request) -> AppState:
    return state_of(request)


StateDep = Annotated[AppState, Depends(get_state)]


async def get_settings(state: StateDep) -> Settings:
    return state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_session(state: StateDep) -> AsyncIterator[AsyncSession]:
    """A session in a transaction: committed when the route returns, else rolled back."""
    async with state.db.transaction() as session:
        yield session


# scope="function": commit before the response is sent, so a 2xx means it is durable.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
