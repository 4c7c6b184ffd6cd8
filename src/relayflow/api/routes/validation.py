"""`POST /api/v1/workflows/validate`: every problem of a graph, without saving it."""

from __future__ import annotations

from fastapi import APIRouter

from relayflow.api.auth import CurrentActor, needs
from relayflow.api.body_parsing import CheckedRoute
from relayflow.api.deps import SessionDep, SettingsDep
from relayflow.api.errors import errors_for
from relayflow.api.graph_check import check_graph_for
from relayflow.api.schemas.validation import GraphIn, ValidationOut
from relayflow.domain import TokenScope

router = APIRouter(prefix="/api/v1/workflows", tags=["workflows"], route_class=CheckedRoute)


@router.post(
    "/validate",
    openapi_extra=needs(TokenScope.READ),
    responses=errors_for(
        401,
        404,
        422,
        notes={
            404: "A credential the graph names is not yours",
            422: "The graph is invalid; `error.details` lists every problem.",
        },
    ),
)
async def validate_workflow_graph(
    body: GraphIn, session: SessionDep, actor: CurrentActor, settings: SettingsDep
) -> ValidationOut:
    """Check a graph as the editor holds it: 200 when valid, else 422 with the problems.

    Each problem names its `node_id` or `edge_id`, the `field` and the `message`.
    Agent template ids are checked against the templates you may use.
    """
    await check_graph_for(session, actor, settings, body.nodes, body.edges)
    return ValidationOut.ok()
