"""A webhook request's body as the execution's input, by its content type.

- `application/json` (and `*/*+json`): the JSON value as is. An empty body is `null`.
- `application/x-www-form-urlencoded` and `multipart/form-data`: an object of the
  fields, each a string, or a list of strings when the field repeats. File parts
  are refused (415): send their content as JSON instead. At most
  `RELAYFLOW_MAX_FORM_FIELDS` fields (422 beyond).
- `text/*`: the text as one JSON string (decoded with the declared charset, UTF-8
  by default).
- No content type: JSON if the body parses as JSON, else 415.
- Anything else: 415, naming the types accepted.

Every value goes through the input limits of `relayflow.json_values` (422 naming
the field as `input.…`), parsing included: nothing here is quadratic or recursive,
and large bodies are parsed off the event loop (`off_loop`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from urllib.parse import unquote_plus

from starlette.datastructures import UploadFile
from starlette.requests import Request

from relayflow import errors
from relayflow.api.body_parsing import limits_of, off_loop
from relayflow.api.deps import state_of
from relayflow.json_values import (
    JsonLimits,
    MalformedJson,
    check_fields,
    check_value,
    parse_json,
)

ACCEPTED = "application/json, application/x-www-form-urlencoded, multipart/form-data, text/*"
ROOT = "input"
FORM_FIELDS_SETTING = "RELAYFLOW_MAX_FORM_FIELDS"


class TooManyFields(errors.InvalidInput):
    """The form has more fields than allowed."""

    code = "too_many_fields"


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


def _decode_text(body: bytes, charset: str) -> str:
    try:
        return body.decode(charset)
    except (LookupError, UnicodeDecodeError) as exc:
        raise errors.InvalidInput(
            f"body: not valid {charset} text",
            details=[{"field": "body", "message": f"cannot decode as {charset}"}],
        ) from exc


def parse_form(text: str) -> list[tuple[str, str]]:
    """`name=value&...` pairs, as `urllib.parse.parse_qsl(keep_blank_values=True)` reads
    them, in linear time and unquoting only what needs it (usually nothing)."""
    halves = (piece.partition("=") for piece in text.split("&") if piece)
    if "%" not in text and "+" not in text:
        return [(name, value) for name, _, value in halves]
    return [(unquote_plus(name), unquote_plus(value)) for name, _, value in halves]


def _fields(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Fields by name; a repeated name collects its values in a list (in linear time)."""
    if len({name for name, _ in pairs}) == len(pairs):
        return dict(pairs)
    grouped: defaultdict[str, list[str]] = defaultdict(list)
    for name, value in pairs:
        grouped[name].append(value)
    return {name: values[0] if len(values) == 1 else values for name, values in grouped.items()}


def _check_field_count(count: int, limit: int) -> None:
    if count > limit:
        raise TooManyFields(
            f"body: more than {limit} form fields ({FORM_FIELDS_SETTING})",
            details=[
                {
                    "field": "body",
                    "message": f"has more than {limit} form fields",
                    "limit": limit,
                    "setting": FORM_FIELDS_SETTING,
                }
            ],
        )


def _multipart_parts(content_type: str, body: bytes) -> int:
    """An upper bound of a multipart body's parts: its boundary delimiters, counted in C."""
    for param in content_type.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.lower() == "boundary" and value:
            return body.count(b"--" + value.strip('"').encode("latin-1", "replace"))
    return 0


def _urlencoded(body: bytes, charset: str, limits: JsonLimits) -> dict[str, Any]:
    pairs = parse_form(_decode_text(body, charset))
    check_fields(pairs, limits, root=ROOT)
    return _fields(pairs)


async def decode_webhook_body(request: Request, body: bytes) -> Any:
    """The input value of a webhook delivery; raises UnsupportedMediaType or InvalidInput."""
    content_type = request.headers.get("content-type")
    media, charset = _media_type(content_type)
    limits = limits_of(request)
    max_fields = state_of(request).settings.max_form_fields
    if media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    ):
        if not body.strip():
            return None
        return await off_loop(body, lambda: parse_json(body, limits, root=ROOT))
    if media == "application/x-www-form-urlencoded":
        # Counted in C before any parsing: a body of 160,000 fields costs nothing.
        _check_field_count(body.count(b"&") + 1 if body else 0, max_fields)
        return await off_loop(body, lambda: _urlencoded(body, charset, limits))
    if media == "multipart/form-data":
        _check_field_count(max(0, _multipart_parts(content_type or "", body) - 1), max_fields)
        form = await request.form(max_fields=max_fields, max_files=max_fields)
        pairs: list[tuple[str, str]] = []
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                await form.close()
                raise errors.UnsupportedMediaType(
                    f"file uploads are not accepted (field {name!r}); send the content as JSON",
                    details=[{"field": name, "message": "file part"}],
                )
            pairs.append((name, value))
        check_fields(pairs, limits, root=ROOT)
        return _fields(pairs)
    if media.startswith("text/"):
        text = _decode_text(body, charset)
        check_value(text, limits, root=ROOT)
        return text
    if not media:
        if not body.strip():
            return None
        try:
            return await off_loop(body, lambda: parse_json(body, limits, root=ROOT))
        except MalformedJson:
            pass
        raise errors.UnsupportedMediaType(
            f"send a Content-Type header: the body is not JSON; accepted: {ACCEPTED}"
        )
    raise errors.UnsupportedMediaType(
        f"cannot read a {media} body; accepted: {ACCEPTED}",
        details={"content_type": media, "accepted": ACCEPTED},
    )
