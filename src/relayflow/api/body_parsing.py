"""Every request body the API reads is parsed and checked here, once.

Each router is built with `route_class=CheckedRoute`: its routes hand their
endpoints a `CheckedRequest`, whose `json()` (what FastAPI calls to read a JSON
body) is the bounded parser and limit check of `relayflow.json_values`, and whose
form reading checks every field name and value against the same string limits.
A refused body answers 422 naming the field and the limit before any route code
runs, so nothing is written. Webhook bodies go through the same parser in
`relayflow.api.webhook_body`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.datastructures import FormData, UploadFile

from relayflow import errors
from relayflow.api.errors import RefusedBody
from relayflow.json_values import JsonLimits, check_fields, parse_json

# Bodies above this size are parsed and checked in a worker thread, so that the
# event loop keeps answering everyone else meanwhile (below it, a thread costs more).
OFF_LOOP_BYTES = 64 * 1024

T = TypeVar("T")


async def off_loop(body: bytes, work: Callable[[], T]) -> T:
    """`work()` (the parsing of `body`), in a worker thread when `body` is large."""
    if len(body) > OFF_LOOP_BYTES:
        return await asyncio.to_thread(work)
    return work()


def limits_of(request: Request) -> JsonLimits:
    state = getattr(request.app.state, "relayflow", None)
    return JsonLimits.from_settings(state.settings) if state is not None else JsonLimits()


class CheckedRequest(Request):
    # Where refused fields are named from: "" for API bodies (`name`, `input[0]`),
    # "input" for bodies that are an execution's input (`input.order`).
    body_root = ""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                limits, root = limits_of(self), self.body_root
                self._json = await off_loop(body, lambda: parse_json(body, limits, root=root))
            except errors.InvalidInput as exc:
                # FastAPI turns anything but an HTTPException raised here into a bare 400.
                raise RefusedBody(exc) from exc
        return self._json

    async def _get_form(self, **limits: Any) -> FormData:
        # Starlette's one form reader, behind both `form()` and FastAPI's Form fields.
        form = await super()._get_form(**limits)
        fields = [
            (name, value.filename or "" if isinstance(value, UploadFile) else value)
            for name, value in form.multi_items()
        ]
        try:
            check_fields(fields, limits_of(self), root=self.body_root)
        except errors.InvalidInput as exc:
            await form.close()
            raise RefusedBody(exc) from exc
        return form


class InputRequest(CheckedRequest):
    body_root = "input"


class CheckedRoute(APIRoute):
    """An APIRoute whose endpoint reads the request through `CheckedRequest`."""

    request_class: type[CheckedRequest] = CheckedRequest

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        request_class = self.request_class

        async def checked_handler(request: Request) -> Response:
            return await handler(request_class(request.scope, request.receive))

        return checked_handler


class InputBodyRoute(CheckedRoute):
    """For routes whose whole body is an execution's input (webhooks)."""

    request_class = InputRequest
