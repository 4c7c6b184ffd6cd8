"""The one place where domain errors become HTTP answers.

Every error body has the shape `{"error": {"code", "message", "details"}}`.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from relayflow import errors
from relayflow.api.route_match import MalformedIds, allowed_methods, malformed_ids
from relayflow.store.transient import DATABASE_FAILURES, is_transient

log = logging.getLogger(__name__)
# Seconds a client is asked to wait when the database does not answer.
DATABASE_RETRY_AFTER_S = 2

STATUS_BY_ERROR: dict[type[errors.RelayflowError], int] = {
    errors.NotFound: 404,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.Conflict: 409,
    errors.InvalidInput: 422,
    errors.PayloadTooLarge: 413,
    errors.UnsupportedMediaType: 415,
    errors.RateLimited: 429,
    errors.ConfigError: 500,
    errors.InternalError: 500,
}

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
    503: "unavailable",
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


class ErrorInfo(BaseModel):
    code: str = Field(description="A stable machine name, e.g. `not_found`, `graph_invalid`.")
    message: str = Field(description="What went wrong, naming the field or limit.")
    details: Any = Field(
        None, description="More about it, e.g. `[{field, message}]` for invalid input."
    )


class ErrorOut(BaseModel):
    """The body of every error answer (what `error_body` builds)."""

    error: ErrorInfo


_HEADER = {"schema": {"type": "string"}, "required": True}
ERROR_RESPONSES: dict[int, dict[str, Any]] = {
    400: {"description": "The body cannot be parsed at all (e.g. it is not UTF-8)"},
    401: {
        "description": "Not signed in, or the credentials are invalid or expired",
        "headers": {"WWW-Authenticate": {**_HEADER, "description": "`Bearer`"}},
    },
    403: {"description": "Signed in, but not allowed to do this"},
    404: {"description": "No such object, or not visible to the caller"},
    409: {"description": "Conflicts with the object's current state"},
    413: {"description": "The body is above the size limit (setting `max_body_bytes`)"},
    415: {"description": "The content type cannot be read"},
    422: {"description": "Invalid input; `error.details` names each field and its problem"},
    429: {
        "description": "Too many requests; retry after the given seconds",
        "headers": {"Retry-After": {**_HEADER, "description": "Seconds to wait."}},
    },
    503: {"description": "A service it needs is unavailable; retry later"},
}


def errors_for(*statuses: int, notes: dict[int, str] | None = None) -> dict[int | str, Any]:
    """The `responses=` of a route: each status it can answer with the error body.

    `notes` replaces the generic description of a status with what it means there.
    """
    declared: dict[int | str, Any] = {}
    for status in statuses:
        response = {**ERROR_RESPONSES[status], "model": ErrorOut}
        if notes and status in notes:
            response["description"] = notes[status]
        declared[status] = response
    return declared


def status_for(exc: errors.RelayflowError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def _field_path(loc: tuple[Any, ...]) -> str:
    # ("body", "nodes", 0, "id") -> "nodes[0].id"; the "body"/"query" prefix says where.
    parts: list[str] = []
    for item in loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or str(loc[0] if loc else "body")


def describe_validation_errors(raw: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    details: list[dict[str, Any]] = []
    for err in raw:
        loc = tuple(err.get("loc", ()))
        field = _field_path(loc)
        if err.get("type") == "json_invalid":
            ctx = err.get("ctx") or {}
            details.append(
                {"field": "body", "message": f"malformed JSON: {ctx.get('error', 'invalid')}"}
            )
            continue
        details.append(
            {"field": field, "message": err.get("msg", "invalid"), "type": err.get("type")}
        )
    summary = "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
    return summary or "invalid request", details


class RefusedBody(StarletteHTTPException):
    """A domain error raised while FastAPI reads a request body.

    FastAPI turns any other exception raised there into a bare 400; this one it lets
    through, and it is answered exactly like the domain error it carries.
    """

    def __init__(self, error: errors.RelayflowError) -> None:
        super().__init__(status_for(error), error.message)
        self.error = error


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(errors.RelayflowError)
    async def _domain(_: Request, exc: errors.RelayflowError) -> JSONResponse:
        headers = None
        if isinstance(exc, errors.RateLimited):
            headers = {"Retry-After": str(max(1, round(exc.retry_after)))}
        elif isinstance(exc, errors.Unauthorized):
            headers = {"WWW-Authenticate": "Bearer"}
        return JSONResponse(
            error_body(exc.code, exc.message, exc.details),
            status_code=status_for(exc),
            headers=headers,
        )

    for failure in DATABASE_FAILURES:
        app.add_exception_handler(failure, _database_failure)

    @app.exception_handler(RefusedBody)
    async def _refused_body(request: Request, exc: RefusedBody) -> JSONResponse:
        return await _domain(request, exc.error)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, details = describe_validation_errors(list(exc.errors()))
        return JSONResponse(error_body("invalid_input", message, details), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            malformed = malformed_ids(request.app.router.routes, request.scope)
            if malformed is not None:
                return _malformed_id_answer(request.method, malformed)
        if exc.status_code == 405:
            # Starlette names only the first route that matched the path; the path may
            # have a route per method, so every one of them is asked.
            allowed = allowed_methods(request.app.router.routes, request.scope)
            return method_not_allowed(request.method, allowed)
        return JSONResponse(
            error_body(HTTP_CODES.get(exc.status_code, "error"), str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )


async def _database_failure(request: Request, exc: Exception) -> JSONResponse:
    """The database is away (down, restarting, locked by another writer): 503, nothing
    was accepted; any other database error is a plain 500."""
    if not is_transient(exc):
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return JSONResponse(error_body("internal_error", "internal server error"), status_code=500)
    log.warning("%s %s: the database is unavailable (%s)", request.method, request.url.path, exc)
    return JSONResponse(
        error_body(
            "database_unavailable",
            "the database is unavailable (down, restarting or busy); nothing was done, retry later",
        ),
        status_code=503,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )


def method_not_allowed(method: str, allowed: list[str]) -> JSONResponse:
    return JSONResponse(
        error_body(
            "method_not_allowed",
            f"{method} is not allowed here; allowed: {', '.join(allowed)}",
            {"allowed": allowed},
        ),
        status_code=405,
        headers={"Allow": ", ".join(allowed)},
    )


def _malformed_id_answer(method: str, malformed: MalformedIds) -> JSONResponse:
    if method.upper() not in malformed.methods:
        return method_not_allowed(method, malformed.methods)
    problem = "must be a UUID (8-4-4-4-12 lowercase hex digits)"
    details = [
        {"field": name, "message": problem, "type": "uuid_parsing"} for name in malformed.names
    ]
    message = "; ".join(f"{name}: {problem}" for name in malformed.names)
    return JSONResponse(error_body("invalid_input", message, details), status_code=422)
