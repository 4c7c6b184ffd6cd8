"""A webhook request's body as the execution's input, by its content type.

- `application/json` (and `*/*+json`): the JSON value as is. An empty body is `null`.
- `application/x-www-form-urlencoded` and `multipart/form-data`: an object of the
  fields, each a string, or a list of strings when the field repeats. File parts
  are refused (415): send their content as JSON instead.
- `text/*`: the text as one JSON string (decoded with the declared charset, UTF-8
  by default).
- No content type: JSON if the body parses as JSON, else 415.
- Anything else: 415, naming the types accepted.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.requests import Request

from relayflow import errors

ACCEPTED = "application/json, application/x-www-form-urlencoded, multipart/form-data, text/*"


def _media_type(content_type: str | None) -> tuple[str, str]:
    """(`type/subtype` lower-cased, charset) of a Content-Type header."""
    if not content_type:
        return "", "utf-8"
    media, *params = content_type.split(";")
    charset = "utf-8"
    for param in params:
        name, _, value = param.strip().partition("=")
        if name.lower() == "charset" and value:
            charset = value.strip('"').lower()
    return media.strip().lower(), charset


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.InvalidInput(
            f"body: malformed JSON ({exc})",
            details=[{"field": "body", "message": f"malformed JSON: {exc}"}],
        ) from exc


def _decode_text(body: bytes, charset: str) -> str:
    try:
        return body.decode(charset)
    except (LookupError, UnicodeDecodeError) as exc:
        raise errors.InvalidInput(
            f"body: not valid {charset} text",
            details=[{"field": "body", "message": f"cannot decode as {charset}"}],
        ) from exc


def _fields(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, value in pairs:
        if name in fields:
            previous = fields[name]
            fields[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            fields[name] = value
    return fields


async def decode_webhook_body(request: Request, body: bytes) -> Any:
    """The input value of a webhook delivery; raises UnsupportedMediaType or InvalidInput."""
    media, charset = _media_type(request.headers.get("content-type"))
    if media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    ):
        return _json(body) if body.strip() else None
    if media == "application/x-www-form-urlencoded":
        return _fields(parse_qsl(_decode_text(body, charset), keep_blank_values=True))
    if media == "multipart/form-data":
        form = await request.form()
        pairs: list[tuple[str, str]] = []
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                await form.close()
                raise errors.UnsupportedMediaType(
                    f"file uploads are not accepted (field {name!r}); send the content as JSON",
                    details=[{"field": name, "message": "file part"}],
                )
            pairs.append((name, value))
        return _fields(pairs)
    if media.startswith("text/"):
        return _decode_text(body, charset)
    if not media:
        if not body.strip():
            return None
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError):
            pass
        raise errors.UnsupportedMediaType(
            f"send a Content-Type header: the body is not JSON; accepted: {ACCEPTED}"
        )
    raise errors.UnsupportedMediaType(
        f"cannot read a {media} body; accepted: {ACCEPTED}",
        details={"content_type": media, "accepted": ACCEPTED},
    )
