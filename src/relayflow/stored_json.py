"""Stored JSON values always read back and always serialise.

Rows written before the input limits existed (`relayflow.json_values`) may hold
values no serialiser writes back: nested hundreds of levels deep (pydantic's
serialiser stops at about 255 levels, `json` at Python's recursion limit), lone
UTF-16 surrogates (SQLite keeps them; UTF-8 cannot encode them), `NaN` or
`Infinity` (SQLite keeps them; they are not JSON). Two safety nets:

- `load_stored_json` is the databases' JSON deserialiser: `json.loads`, and only if
  that fails (too deep, an integer too long for `int`) a lenient reading in which
  containers nested deeper than `SERVE_MAX_DEPTH` become a marker object.
- `servable` is applied to every stored value an API answer or event stream
  carries: the value itself when it is fine (the common case, checked without
  copying), else a copy with each container nested deeper than `SERVE_MAX_DEPTH`
  replaced by `{"truncated": "nested deeper than 128 levels"}`, lone surrogates
  by U+FFFD and non-finite numbers by null.

`SERVE_MAX_DEPTH` is not a policy knob but the serialiser's own bound (about 255
levels for a whole answer) less room for the answer's envelope; the input limit
`RELAYFLOW_MAX_JSON_DEPTH` may not exceed it, so accepted input is always served
whole.

Imports nothing internal.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

SERVE_MAX_DEPTH = 128
TRUNCATED = {"truncated": f"nested deeper than {SERVE_MAX_DEPTH} levels"}
UNREADABLE = {"unreadable": "this stored JSON value could not be read"}

_SURROGATE = re.compile("[\ud800-\udfff]")
_TOKEN = re.compile(r'[\[\]{}"]')
_STRING_REST = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


# ----------------------------------------------------------------- reading
def load_stored_json(text: str | bytes) -> Any:
    """A JSON column's value; never raises (see the module's docstring)."""
    try:
        return json.loads(text)
    except (RecursionError, ValueError):
        pass
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    try:
        return json.loads(
            truncate_deep(text, SERVE_MAX_DEPTH),
            parse_int=_lenient_int,
            parse_constant=lambda _name: None,
        )
    except (RecursionError, ValueError):
        return dict(UNREADABLE)


def _lenient_int(digits: str) -> int | float:
    try:
        return int(digits)
    except ValueError:  # longer than Python converts (4,300 digits)
        return float(digits)


def _skip_string(text: str, position: int) -> int | None:
    """The index after the string whose opening quote ends at `position`."""
    rest = _STRING_REST.match(text, position)
    return rest.end() if rest else None


def _after_container(text: str, position: int) -> int:
    """The index after the container whose opening bracket ends at `position`."""
    depth = 1
    while depth:
        token = _TOKEN.search(text, position)
        if token is None:
            return len(text)
        position = token.end()
        char = token.group()
        if char == '"':
            end = _skip_string(text, position)
            if end is None:
                return len(text)
            position = end
        elif char in "[{":
            depth += 1
        else:
            depth -= 1
    return position


def truncate_deep(text: str, max_depth: int) -> str:
    """JSON text with each container nested deeper than `max_depth` replaced by a marker."""
    pieces: list[str] = []
    copied = position = depth = 0
    marker = json.dumps(TRUNCATED)
    while True:
        token = _TOKEN.search(text, position)
        if token is None:
            break
        char = token.group()
        position = token.end()
        if char == '"':
            end = _skip_string(text, position)
            if end is None:
                break
            position = end
        elif char in "[{":
            if depth < max_depth:
                depth += 1
                continue
            pieces += [text[copied : token.start()], marker]
            copied = position = _after_container(text, position)
        else:
            depth -= 1
    pieces.append(text[copied:])
    return "".join(pieces)


# ----------------------------------------------------------------- serving
def _string_fine(text: str) -> bool:
    return text.isascii() or _SURROGATE.search(text) is None


def _scalars_fine(values: list[Any], kinds: set[type]) -> bool:
    # C-level passes over every scalar of one container at once.
    if str in kinds:
        strings = values if len(kinds) == 1 else [v for v in values if type(v) is str]
        if not _string_fine("".join(strings)):
            return False
    if float in kinds:
        floats = values if len(kinds) == 1 else [v for v in values if type(v) is float]
        if not all(map(math.isfinite, floats)):
            return False
    return True


def _needs_repair(value: Any, max_depth: int) -> bool:
    if type(value) is not dict and type(value) is not list:
        return _repaired_scalar(value) is not value
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth >= max_depth:
            return True
        is_dict = type(item) is dict
        values = list(item.values()) if is_dict else item
        kinds = set(map(type, values))
        if not _scalars_fine(values, kinds):
            return True
        if is_dict and not _string_fine("".join(k for k in item if type(k) is str)):
            return True
        if dict in kinds or list in kinds:
            stack.extend((v, depth + 1) for v in values if type(v) is dict or type(v) is list)
    return False


def _repaired_string(text: str) -> str:
    return text if _string_fine(text) else _SURROGATE.sub("\ufffd", text)


def _repaired_scalar(value: Any) -> Any:
    if type(value) is str:
        return _repaired_string(value)
    if type(value) is float and not math.isfinite(value):
        return None
    return value


def _repaired(value: Any, max_depth: int) -> Any:
    """A copy of `value` with every problem fixed (iteratively: any depth is safe)."""
    holder: list[Any] = [None]
    # Entries: (source, its depth, the container to put its copy in, under which key).
    stack: list[tuple[Any, int, Any, Any]] = [(value, 0, holder, 0)]
    while stack:
        item, depth, target, slot = stack.pop()
        kind = type(item)
        if kind is not dict and kind is not list:
            target[slot] = _repaired_scalar(item)
        elif depth >= max_depth:
            target[slot] = dict(TRUNCATED)
        elif kind is dict:
            copy: dict[Any, Any] = {}
            target[slot] = copy
            for key, child in item.items():
                new_key = _repaired_string(key) if type(key) is str else key
                copy[new_key] = None  # keeps the order; filled when popped
                stack.append((child, depth + 1, copy, new_key))
        else:
            items: list[Any] = [None] * len(item)
            target[slot] = items
            stack.extend((child, depth + 1, items, i) for i, child in enumerate(item))
    return holder[0]


def servable(value: Any, max_depth: int = SERVE_MAX_DEPTH) -> Any:
    """`value`, or a repaired copy that every serialiser writes (see the docstring)."""
    if value is None or type(value) in (bool, int):
        return value
    if not _needs_repair(value, max_depth):
        return value
    return _repaired(value, max_depth)
