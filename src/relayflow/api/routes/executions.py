"""Executions: start, list, read, cancel, rerun, decide approvals, follow live events.

Who sees what: admins everything; a user the executions they started and every
execution of the workflows they own. Others' ids answer 404 like unknown ones.
A run of someone else's public workflow belongs to whoever started it.

These routes take the caller without holding a database session for the whole
request, and commit before they answer: a 202 means the execution is queued,
and a long `?wait=` or event stream ties up no connection.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow import security
from relayflow.api.auth import (
    ClaimedActor,
    CurrentActor,
    actor_of,
    bearer_token,
    needs,
    resolve_user,
)
from relayflow.api.body_parsing import CheckedRoute
from relayflow.api.deps import StateDep, get_session
from relayflow.api.errors import errors_for
from relayflow.api.pagination import CURSOR_MAX_LENGTH, PageDep
from relayflow.api.schemas.common import PageOut, QueryDateTime
from relayflow.api.schemas.executions import (
    EVENT_STREAM_RESPONSE,
    ApprovalRequest,
    ExecutionDetailOut,
    ExecutionOut,
    ExecutionStart,
    NodeRunOut,
    RerunRequest,
    StartedExecutionOut,
)
from relayflow.api.sse import MAX_EVENT_ID, event_stream_response, parse_last_event_id
from relayflow.domain import Actor, ExecutionStatus, TokenScope
from relayflow.runtime import control
from relayflow.runtime.control import StartTrigger
from relayflow.store import execution_control, execution_queries
from relayflow.store.execution_queries import ExecutionFilter
from relayflow.store.models import Execution
from relayflow.store.node_run_reads import node_runs_page

# A node-runs page; an execution holds at most `max_node_runs_per_execution` (10,000).
NODE_RUNS_MAX_LIMIT = 1000

router = APIRouter(tags=["executions"], route_class=CheckedRoute)
MAX_WAIT_S = 60.0


@dataclass(frozen=True)
class WebhookKey:
    """A webhook's API key, presented to read an execution that webhook started."""

    key: str


async def reader(
    request: Request,
    state: StateDep,
    token: Annotated[str | None, Depends(bearer_token)],
    x_api_key: Annotated[
        str | None,
        Header(
            alias="X-API-Key",
            description="A webhook's API key: reads the executions that webhook started.",
        ),
    ] = None,
) -> Actor | WebhookKey:
    """The signed-in caller, or the webhook key that started the execution (its status URL)."""
    if x_api_key:
        return WebhookKey(x_api_key)
    if token and token.startswith(security.API_KEY_PREFIX):
        return WebhookKey(token)
    async with state.db.session() as session:  # closed again at once
        user = await resolve_user(state, session, token, request.scope.get("route"))
    return actor_of(user)


Reader = Annotated[Actor | WebhookKey, Depends(reader)]
# Committed when the route function returns, before the answer is sent. The caller
# (`CurrentActor`) is read in this same session. Starting a run takes the caller as
# the token claims them (`ClaimedActor`): the starter reads the account in the
# statements it runs anyway, one round trip fewer on the busiest route.
Tx = Annotated[AsyncSession, Depends(get_session, scope="function")]
ExecutionId = Annotated[uuid.UUID, Path(description="The execution's id.")]


def execution_url(request: Request, execution_id: uuid.UUID) -> str:
    return f"{str(request.base_url).rstrip('/')}/api/v1/executions/{execution_id}"


def _naive_utc(value: dt.datetime | None) -> dt.datetime | None:
    # QueryDateTime is UTC already; the database compares naive UTC.
    return None if value is None else value.replace(tzinfo=None)


# Ids typed as UUIDs in the path (see api.route_match: a malformed one is still a 422).
ONE = "/api/v1/executions/{execution_id:uuid}"
NOT_YOURS = {404: "No such execution (or not yours)"}


@router.post(
    "/api/v1/workflows/{workflow_id:uuid}/executions",
    openapi_extra=needs(TokenScope.RUN_START),
    status_code=202,
    responses={
        200: {"model": StartedExecutionOut, "description": "Finished within `wait` seconds"},
        **errors_for(
            401,
            404,
            422,
            notes={
                404: "No such workflow (or not readable by you), or no such version",
                422: "Invalid input, e.g. not matching the workflow's input schema",
            },
        ),
    },
)
async def start_execution(
    workflow_id: uuid.UUID,
    request: Request,
    response: Response,
    state: StateDep,
    claimed: ClaimedActor,
    body: ExecutionStart | None = None,
    wait: Annotated[
        float,
        Query(
            ge=0,
            le=MAX_WAIT_S,
            description="Seconds to wait for the outcome: 200 with the finished execution if "
            "it ends in time, else 202 (also at once when it pauses at an approval).",
        ),
    ] = 0,
) -> StartedExecutionOut:
    """Queue a run of a workflow you can read (yours, or a public one): its draft, or
    the `version` asked for. Answers 202 once the run is safely queued, with its URL
    in `url` and the Location header."""
    queued = await state.starter.start(
        claimed.user_id,
        workflow_id,
        body.input if body else None,
        version=body.version if body else None,
        wait=wait > 0,
        session_generation=claimed.session_generation,
        trigger=body.trigger if body else StartTrigger.API,
    )
    url = execution_url(request, queued.execution_id)
    response.headers["Location"] = url
    if wait > 0:
        execution = await control.wait_until_settled(state.db, state.bus, queued.execution_id, wait)
        if ExecutionStatus(execution.status).is_final:
            response.status_code = 200
        return StartedExecutionOut.started(execution, url)
    return StartedExecutionOut.queued(queued, url)


@router.get("/api/v1/executions", responses=errors_for(401, 422))
async def list_executions(
    session: Tx,
    actor: CurrentActor,
    page: PageDep,
    workflow_id: Annotated[uuid.UUID | None, Query(description="Only this workflow's.")] = None,
    status: Annotated[ExecutionStatus | None, Query(description="Only in this status.")] = None,
    since: Annotated[
        QueryDateTime | None,
        Query(description="Started at or after (RFC 3339, e.g. `2026-01-31T09:30:00Z`)."),
    ] = None,
    until: Annotated[QueryDateTime | None, Query(description="Started before (RFC 3339).")] = None,
) -> PageOut[ExecutionOut]:
    """Executions you can see, newest first."""
    filters = ExecutionFilter(
        workflow_id=workflow_id,
        status=status,
        since=_naive_utc(since),
        until=_naive_utc(until),
    )
    found = await execution_queries.list_executions(
        session, actor, filters, limit=page.limit, cursor=page.cursor
    )
    return PageOut(items=[ExecutionOut.of(e) for e in found.items], next_cursor=found.next_cursor)


async def _readable_execution(
    session: AsyncSession, actor: Actor | WebhookKey, execution_id: uuid.UUID
) -> Execution:
    """An execution a user may see, or one the webhook whose key this is started."""
    if isinstance(actor, WebhookKey):
        return await execution_queries.get_execution_for_webhook(session, actor.key, execution_id)
    return await execution_queries.get_visible_execution(session, actor, execution_id)


@router.get(ONE, responses=errors_for(401, 404, 422, notes=NOT_YOURS))
async def get_execution(
    execution_id: ExecutionId, state: StateDep, session: Tx, actor: Reader
) -> ExecutionDetailOut:
    """One execution with its pinned graph, its node attempts and the totals. The
    webhook that started it may read it too, with its own API key (its status URL)."""
    execution = await _readable_execution(session, actor, execution_id)
    found = await execution_queries.execution_detail(
        session, execution, node_runs=state.settings.execution_detail_node_runs
    )
    return ExecutionDetailOut.detail(found)


@router.get(ONE + "/node-runs", responses=errors_for(401, 404, 422, notes=NOT_YOURS))
async def list_node_runs(
    execution_id: ExecutionId,
    session: Tx,
    actor: Reader,
    limit: Annotated[
        int, Query(ge=1, le=NODE_RUNS_MAX_LIMIT, description="Attempts per page (1 to 1000).")
    ] = NODE_RUNS_MAX_LIMIT,
    cursor: Annotated[
        str | None,
        Query(max_length=CURSOR_MAX_LENGTH, description="`next_cursor` of the previous page."),
    ] = None,
) -> PageOut[NodeRunOut]:
    """An execution's node attempts in start order, a page at a time (the execution's
    `node_runs_next_cursor` continues where its first page stopped)."""
    await _readable_execution(session, actor, execution_id)
    page = await node_runs_page(session, execution_id, limit=limit, cursor=cursor or None)
    return PageOut(items=[NodeRunOut.of(run) for run in page.items], next_cursor=page.next_cursor)


@router.post(
    ONE + "/cancel",
    openapi_extra=needs(TokenScope.RUN_CANCEL),
    responses=errors_for(401, 404, 409, 422, notes={**NOT_YOURS, 409: "It has already finished"}),
)
async def cancel_execution(
    execution_id: ExecutionId, session: Tx, actor: CurrentActor
) -> ExecutionOut:
    """Pending and waiting executions are cancelled at once; a running one is stopped by its
    worker within about a second (`cancel_requested` is true until then)."""
    return ExecutionOut.of(await execution_control.cancel_execution(session, actor, execution_id))


@router.post(
    ONE + "/rerun",
    openapi_extra=needs(TokenScope.RUN_START),
    status_code=202,
    responses=errors_for(
        401,
        404,
        409,
        422,
        notes={
            **NOT_YOURS,
            409: "Its workflow no longer exists",
            422: "Invalid input, e.g. `from_node` not in the execution's graph",
        },
    ),
)
async def rerun_execution(
    execution_id: ExecutionId,
    request: Request,
    response: Response,
    session: Tx,
    actor: CurrentActor,
    body: RerunRequest | None = None,
) -> StartedExecutionOut:
    """A new execution of the same pinned graph and input, started by you. With `from_node`
    the results of the nodes not downstream of it are reused, not run again."""
    rerun = await execution_control.rerun_execution(
        session, actor, execution_id, from_node=body.from_node if body else None
    )
    url = execution_url(request, rerun.id)
    response.headers["Location"] = url
    return StartedExecutionOut.started(rerun, url)


@router.post(
    ONE + "/approvals/{node_id:path}",
    openapi_extra=needs(TokenScope.RUN_APPROVE),
    responses=errors_for(
        401,
        404,
        409,
        422,
        notes={**NOT_YOURS, 409: "The execution is not waiting on that node"},
    ),
)
async def decide_approval(
    execution_id: ExecutionId,
    node_id: Annotated[
        str,
        Path(
            max_length=255,
            description="The approval node's id; inside a sub-workflow, as the execution's "
            "`waiting_on` names it (`parent/child`).",
        ),
    ],
    body: ApprovalRequest,
    session: Tx,
    actor: CurrentActor,
) -> ExecutionOut:
    """Approve or reject an approval the execution waits on; the run then resumes."""
    decision = execution_control.Decision(approved=body.approved, comment=body.comment)
    execution = await execution_control.decide_approval(
        session, actor, execution_id, node_id, decision
    )
    return ExecutionOut.of(execution)


@router.get(
    ONE + "/events",
    response_class=StreamingResponse,
    responses={
        200: EVENT_STREAM_RESPONSE,
        **errors_for(
            401,
            404,
            422,
            notes={**NOT_YOURS, 422: "Invalid input, e.g. `Last-Event-ID` not an event id"},
        ),
    },
)
async def follow_events(
    execution_id: ExecutionId,
    state: StateDep,
    session: Tx,
    actor: CurrentActor,
    last_event_id_header: Annotated[
        str | None,
        Header(alias="Last-Event-ID", description="Resume after this event id."),
    ] = None,
    last_event_id: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_EVENT_ID,
            description="Resume after this event id (for clients without headers).",
        ),
    ] = None,
) -> StreamingResponse:
    """Live events: `execution.status`, `node.started|finished|failed|skipped|waiting|
    retrying|cancelled`, `agent.delta`, `agent.tool_call`. Every stored event after
    `Last-Event-ID` is replayed first, so a reconnecting client misses nothing."""
    await execution_queries.get_visible_execution(session, actor, execution_id)
    after = parse_last_event_id(last_event_id_header, last_event_id)
    events = state.bus.subscribe(execution_id, after_id=after)
    return event_stream_response(events, keepalive_s=state.settings.sse_keepalive_s)
