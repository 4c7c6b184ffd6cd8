"""The one place where domain errors become HTTP answers.

Every error body has the shape `{"error": {"code", "message", "details"}}`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from relayflow import errors

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
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


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

    @app.exception_handler(RefusedBody)
    async def _refused_body(request: Request, exc: RefusedBody) -> JSONResponse:
        return await _domain(request, exc.error)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, details = describe_validation_errors(list(exc.errors()))
        return JSONResponse(error_body("invalid_input", message, details), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "error")
        return JSONResponse(
            error_body(code, str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )
