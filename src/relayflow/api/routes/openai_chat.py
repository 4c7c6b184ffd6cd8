"""An OpenAI-compatible chat API: chat-capable workflows as models (docs/interop.md).

`GET /v1/models` lists the caller's workflows marked `chat_model`, each as the
model `workflow/<id>`. `POST /v1/chat/completions` runs one: the last user message
is the input's `message`, every message given is its `messages`; the output is
the assistant's reply. Errors have OpenAI's shape (`{"error": {"message", "type",
"code"}}`) so that OpenAI clients report them as they would OpenAI's.

Runs take the normal start path (queued durably, in the history). Failures that a
retry would only repeat carry `x-should-retry: false`, which OpenAI's SDKs honour,
so one call never starts a workflow twice.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from relayflow import errors
from relayflow.api.auth import actor_of, bearer_token, needs, resolve_user
from relayflow.api.body_parsing import CheckedRoute
from relayflow.api.deps import StateDep
from relayflow.api.errors import RefusedBody, status_for
from relayflow.api.state import AppState
from relayflow.api.workflow_calls import RunNotFinished, output_text, run_and_wait
from relayflow.domain import Actor, TokenScope
from relayflow.store import workflows
from relayflow.store.models import Execution

# Documented by OpenAI, not in relayflow's own API contract.
router = APIRouter(prefix="/v1", tags=["openai"], route_class=CheckedRoute, include_in_schema=False)
MODEL_PREFIX = "workflow/"
OWNER = "relayflow"
# Characters per streamed chunk of the final text.
STREAM_CHUNK_CHARS = 64

Token = Annotated[str | None, Depends(bearer_token)]

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: Any = None


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature etc.: accepted, not used
    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False


def openai_error(
    status: int, message: str, code: str, *, kind: str | None = None, retry: bool = True
) -> JSONResponse:
    body = {
        "error": {
            "message": message,
            "type": kind or ERROR_TYPES.get(status, "server_error"),
            "param": None,
            "code": code,
        }
    }
    headers = {} if retry else {"x-should-retry": "false"}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=status, headers=headers)


def error_answer(exc: Exception) -> JSONResponse:
    if isinstance(exc, RunNotFinished):
        status = 504 if exc.timed_out else 500
        return openai_error(status, exc.message, exc.code, kind="server_error", retry=False)
    if isinstance(exc, RefusedBody):
        exc = exc.error
    if isinstance(exc, errors.RelayflowError):
        return openai_error(status_for(exc), exc.message, exc.code)
    raise exc


async def answer_openai_style(work: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return await work()
    except (errors.RelayflowError, RefusedBody) as exc:
        return error_answer(exc)


async def signed_in(state: AppState, token: str | None, request: Request) -> Actor:
    # A sign-in token, or a personal API token with the scope the route declares.
    async with state.db.session() as session:
        return actor_of(await resolve_user(state, session, token, request.scope.get("route")))


def model_name(workflow_id: uuid.UUID) -> str:
    return f"{MODEL_PREFIX}{workflow_id}"


def workflow_id_of(model: str) -> uuid.UUID:
    if model.startswith(MODEL_PREFIX):
        try:
            return uuid.UUID(model.removeprefix(MODEL_PREFIX))
        except ValueError:
            pass
    raise errors.NotFound(f"the model `{model}` does not exist (models are `workflow/<id>`)")


def text_of(content: Any) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return "" if content is None else str(content)


def workflow_input(messages: list[ChatMessage]) -> dict[str, Any]:
    """The documented mapping: `message` is the last user message, `messages` all of them."""
    history = [{"role": m.role, "content": text_of(m.content)} for m in messages]
    user_messages = [m["content"] for m in history if m["role"] == "user"]
    return {"message": user_messages[-1] if user_messages else "", "messages": history}


def usage_of(execution: Execution) -> dict[str, int]:
    prompt, completion = execution.input_tokens or 0, execution.output_tokens or 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def completion_id(execution: Execution) -> str:
    # The execution's id: a client can find the run in the history from the answer.
    return f"chatcmpl-{execution.id}"


@router.get("/models", openapi_extra=needs(TokenScope.READ))
async def list_models(request: Request, state: StateDep, token: Token) -> Any:
    async def work() -> Any:
        actor = await signed_in(state, token, request)
        async with state.db.session() as session:
            offered = await workflows.offered_workflows(session, actor, chat_model=True)
        return {
            "object": "list",
            "data": [
                {
                    "id": model_name(w.id),
                    "object": "model",
                    "created": int(w.created_at.timestamp()) if w.created_at else 0,
                    "owned_by": OWNER,
                    "name": w.name,
                    "description": w.description,
                }
                for w in offered
            ],
        }

    return await answer_openai_style(work)


@router.get("/models/{model:path}", openapi_extra=needs(TokenScope.READ))
async def get_model(model: str, request: Request, state: StateDep, token: Token) -> Any:
    async def work() -> Any:
        actor = await signed_in(state, token, request)
        async with state.db.session() as session:
            w = await workflows.get_offered_workflow(
                session, actor, workflow_id_of(model), chat_model=True
            )
        created = int(w.created_at.timestamp()) if w.created_at else 0
        return {"id": model_name(w.id), "object": "model", "created": created, "owned_by": OWNER}

    return await answer_openai_style(work)


async def parse_request(request: Request) -> ChatRequest:
    body = await request.json()
    try:
        return ChatRequest.model_validate(body)
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = ".".join(map(str, problem["loc"])) or "body"
        raise errors.InvalidInput(f"{field}: {problem['msg']}") from exc


@router.post("/chat/completions", openapi_extra=needs(TokenScope.RUN_START))
async def chat_completions(request: Request, state: StateDep, token: Token) -> Any:
    async def work() -> Any:
        actor = await signed_in(state, token, request)
        chat = await parse_request(request)
        workflow_id = workflow_id_of(chat.model)
        async with state.db.session() as session:
            await workflows.get_offered_workflow(session, actor, workflow_id, chat_model=True)
        run_input = workflow_input(chat.messages)
        if chat.stream:
            return StreamingResponse(
                stream_completion(state, actor, workflow_id, chat.model, run_input),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        execution = await run_and_wait(state, actor, workflow_id, run_input)
        return {
            "id": completion_id(execution),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": chat.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": output_text(execution.output)},
                    "finish_reason": "stop",
                }
            ],
            "usage": usage_of(execution),
        }

    return await answer_openai_style(work)


def sse(data: Any) -> bytes:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


async def stream_completion(
    state: AppState, actor: Actor, workflow_id: uuid.UUID, model: str, run_input: Any
) -> AsyncIterator[bytes]:
    """The final text as chat.completion.chunk events, then usage, then `[DONE]`.

    The run is queued before the first byte; a failure after that is an `error`
    event (OpenAI's SDKs raise it), since the status line has gone out already.
    """
    created = int(time.time())
    try:
        execution = await run_and_wait(state, actor, workflow_id, run_input)
    except errors.RelayflowError as exc:
        yield sse({"error": {"message": exc.message, "type": "server_error", "code": exc.code}})
        yield b"data: [DONE]\n\n"
        return

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return sse(
            {
                "id": completion_id(execution),
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
        )

    text = output_text(execution.output)
    yield chunk({"role": "assistant", "content": ""})
    for start in range(0, len(text), STREAM_CHUNK_CHARS):
        yield chunk({"content": text[start : start + STREAM_CHUNK_CHARS]})
    yield chunk({}, "stop")
    yield sse(
        {
            "id": completion_id(execution),
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": usage_of(execution),
        }
    )
    yield b"data: [DONE]\n\n"
