"""The OpenAPI document as the contract: only statuses and bodies the app really answers.

Each route declares the errors of its own (`errors_for(401, 404, ...)`). Two are
the app's, not a route's, and are added here to every operation with a body: 400
(the body cannot be parsed at all, e.g. not UTF-8) and 413 (above `max_body_bytes`).

FastAPI adds a 422 with its own `HTTPValidationError` body to every operation that
has parameters; this app answers validation errors with its error body instead
(`api.errors`), and every route declares its own 422 where one can happen. So the
generated 422s, and the schemas only they use, are dropped from the document.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from relayflow.api.errors import ERROR_RESPONSES, ErrorOut

BODY_ERRORS = (400, 413)
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
_FASTAPI_422 = "#/components/schemas/HTTPValidationError"


def _is_fastapi_422(response: dict[str, Any]) -> bool:
    content = response.get("content", {}).get("application/json", {})
    return bool(content.get("schema", {}).get("$ref") == _FASTAPI_422)


def error_response(status: int) -> dict[str, Any]:
    """One `errors_for` entry as the document states it."""
    declared = {**ERROR_RESPONSES[status]}
    ref = f"#/components/schemas/{ErrorOut.__name__}"
    declared["content"] = {"application/json": {"schema": {"$ref": ref}}}
    return declared


def contract_document(document: dict[str, Any]) -> dict[str, Any]:
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if _is_fastapi_422(responses.get("422", {})):
                del responses["422"]
            if "requestBody" in operation:
                for status in BODY_ERRORS:
                    responses.setdefault(str(status), error_response(status))
            operation["responses"] = dict(sorted(responses.items()))
    schemas = document.get("components", {}).get("schemas", {})
    for name in FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    return document


def install_contract_document(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = contract_document(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
