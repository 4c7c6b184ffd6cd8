"""JSON from outside, bounded and checked before anything is stored.

Every JSON request body and every webhook body is parsed and checked here, so
that nothing the databases cannot store (or the serialisers cannot write back)
gets in. A value is refused, with a 422 naming its JSON path and the limit, when it

- nests deeper than `max_depth` containers (`RELAYFLOW_MAX_JSON_DEPTH`);
- holds a string (value or key) longer than `max_string_length` characters
  (`RELAYFLOW_MAX_STRING_LENGTH`);
- holds a NUL character (PostgreSQL's text and jsonb cannot store it) or a lone
  UTF-16 surrogate (not a character; no UTF-8 encoder writes it);
- holds a number that is not finite (`NaN`, `Infinity`, or `1e999`, which
  overflows to infinity) or an integer outside the signed 64-bit range (SQLite
  turns larger ones into inexact floats; JavaScript clients lose them too).

Parsing is bounded itself: the parser (jiter, through pydantic-core) is iterative
up to its own hard nesting bound (200) and refuses deeper documents with an error
instead of exhausting the stack, so a 5,000-level document costs one scan.

Imports only `errors`, so the API and the runtime can both use it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic_core import from_json

from relayflow import errors

DEPTH_SETTING = "RELAYFLOW_MAX_JSON_DEPTH"
STRING_SETTING = "RELAYFLOW_MAX_STRING_LENGTH"
# jiter (pydantic-core's parser) refuses documents nested deeper than this.
PARSER_MAX_DEPTH = 200
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
# Path finding after a parse error scans the document again in Python: bounded, so
# that a hostile document cannot make the error message expensive.
MAX_PATH_SCAN_STEPS = 10_000

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{0,63}")
_SURROGATE = re.compile("[\ud800-\udfff]")
_TOKEN = re.compile(rb'[\[\]{},:"]')
# The rest of a JSON string after its opening quote (the unrolled-loop form: linear).
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
# A run of array elements without strings or containers (`1, 2.5, true, ...`).
_SCALAR_RUN = re.compile(rb'[^\[\]{}",]*(?:,[^\[\]{}",]*)*')
_POSITION = re.compile(r"at line (\d+) column (\d+)$")
_NON_FINITE = (b"NaN", b"Infinity", b"-Infinity")


class JsonTooDeep(errors.InvalidInput):
    """The JSON value is nested too deeply."""

    code = "json_too_deep"


class StringTooLong(errors.InvalidInput):
    """A string is longer than allowed."""

    code = "string_too_long"


class InvalidCharacter(errors.InvalidInput):
    """A string holds a character that cannot be stored (NUL or a lone surrogate)."""

    code = "invalid_character"


class NumberOutOfRange(errors.InvalidInput):
    """A number is not finite or is outside the range that can be stored."""

    code = "number_out_of_range"


class MalformedJson(errors.InvalidInput):
    """The body is not valid JSON."""

    code = "invalid_input"


class _LimitSettings(Protocol):
    max_json_depth: int
    max_string_length: int


@dataclass(frozen=True)
class JsonLimits:
    max_depth: int = 64
    max_string_length: int = 1_048_576

    @classmethod
    def from_settings(cls, settings: _LimitSettings) -> JsonLimits:
        return cls(max_depth=settings.max_json_depth, max_string_length=settings.max_string_length)


# ----------------------------------------------------------------- paths
def format_path(root: str, parts: Sequence[str | int]) -> str:
    """`input.items[3].name`; odd keys quoted (`input["a b"]`), long ones shortened."""
    out = root
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            out += f".{part}" if out else part
        else:
            shown = part if len(part) <= 64 else part[:64] + "..."
            out += "[" + json.dumps(shown) + "]"  # ASCII-escaped: safe in any answer
    return out or "body"


def _parts(link: Any) -> list[str | int]:
    parts: list[str | int] = []
    while link is not None:
        link, part = link
        parts.append(part)
    parts.reverse()
    return parts


def _refusal(
    cls: type[errors.InvalidInput], field: str, problem: str, **extra: Any
) -> errors.InvalidInput:
    return cls(f"{field}: {problem}", details=[{"field": field, "message": problem, **extra}])


def _too_deep(field: str, limits: JsonLimits) -> errors.InvalidInput:
    return _refusal(
        JsonTooDeep,
        field,
        f"nested deeper than {limits.max_depth} levels ({DEPTH_SETTING})",
        limit=limits.max_depth,
        setting=DEPTH_SETTING,
    )


# ----------------------------------------------------------------- checking values
def _string_problem(text: str, limits: JsonLimits) -> errors.InvalidInput | None:
    """What is wrong with one string (value or key), as an error without its field."""
    if len(text) > limits.max_string_length:
        return StringTooLong(
            f"is {len(text)} characters long; the limit is {limits.max_string_length} "
            f"({STRING_SETTING})",
            details={"limit": limits.max_string_length, "setting": STRING_SETTING},
        )
    if "\x00" in text:
        return InvalidCharacter("contains a NUL character (\\u0000), which cannot be stored")
    if not text.isascii() and _SURROGATE.search(text):
        return InvalidCharacter("contains a lone UTF-16 surrogate, which is not a character")
    return None


def _number_problem(value: int | float) -> str | None:
    if isinstance(value, float):
        if not math.isfinite(value):
            return "is not a finite number (NaN, Infinity or too large for a double)"
        return None
    if value < INT_MIN or value > INT_MAX:
        return "is an integer outside the signed 64-bit range (-2^63 to 2^63-1)"
    return None


def _raise_for_string(problem: errors.InvalidInput, field: str) -> None:
    extra = problem.details if isinstance(problem.details, dict) else {}
    raise _refusal(type(problem), field, problem.message, **extra)


def _strings_fine(strings: list[str], limits: JsonLimits) -> bool:
    # C-level passes over all of them at once; the slow path names the culprit.
    if not strings:
        return True
    if max(map(len, strings)) > limits.max_string_length:
        return False
    joined = "".join(strings)
    return "\x00" not in joined and (joined.isascii() or _SURROGATE.search(joined) is None)


def _scalars_fine(values: list[Any], kinds: set[type], limits: JsonLimits) -> bool:
    """Whether every scalar among `values` (of the given types) is within the limits."""
    if str in kinds:
        strings = values if len(kinds) == 1 else [v for v in values if type(v) is str]
        if not _strings_fine(strings, limits):
            return False
    if int in kinds:
        ints = values if len(kinds) == 1 else [v for v in values if type(v) is int]
        if min(ints) < INT_MIN or max(ints) > INT_MAX:
            return False
    if float in kinds:
        floats = values if len(kinds) == 1 else [v for v in values if type(v) is float]
        if not all(map(math.isfinite, floats)):
            return False
    return True


def _locate(container: Any, link: Any, limits: JsonLimits, root: str) -> None:
    """Raise for the first scalar child (or key) of `container` that breaks a limit."""
    pairs = container.items() if type(container) is dict else enumerate(container)
    for key, child in pairs:
        if type(key) is str:
            problem = _string_problem(key, limits)
            if problem is not None:
                _raise_for_string(problem, format_path(root, _parts((link, key))) + " (key)")
        field = format_path(root, _parts((link, key)))
        if type(child) is str:
            problem = _string_problem(child, limits)
            if problem is not None:
                _raise_for_string(problem, field)
        elif type(child) is int or type(child) is float:
            number_problem = _number_problem(child)
            if number_problem is not None:
                raise _refusal(NumberOutOfRange, field, number_problem)


_CONTAINERS = (dict, list)


def check_value(value: Any, limits: JsonLimits, *, root: str = "") -> None:
    """Raise a 422 error naming the first part of `value` that breaks a limit.

    Iterative (an explicit stack), so any nesting the parser produced is safe here;
    the scalars of each container are checked together in C-level passes.
    """
    if type(value) is str:
        problem = _string_problem(value, limits)
        if problem is not None:
            _raise_for_string(problem, format_path(root, ()))
        return
    if type(value) is int or type(value) is float:
        number_problem = _number_problem(value)
        if number_problem is not None:
            raise _refusal(NumberOutOfRange, format_path(root, ()), number_problem)
        return
    if type(value) not in _CONTAINERS:
        return
    # Entries: (container, its depth (1 for the outermost), link to its path).
    stack: list[tuple[Any, int, Any]] = [(value, 1, None)]
    while stack:
        container, depth, link = stack.pop()
        if depth > limits.max_depth:
            raise _too_deep(format_path(root, _parts(link)), limits)
        is_dict = type(container) is dict
        values = list(container.values()) if is_dict else container
        kinds = set(map(type, values))
        fine = _scalars_fine(values, kinds, limits)
        if is_dict and fine:
            fine = _strings_fine(list(container), limits)
        if not fine:
            _locate(container, link, limits, root)
            raise AssertionError("a limit was broken but not located")  # pragma: no cover
        if dict in kinds or list in kinds:
            pairs = container.items() if is_dict else enumerate(container)
            for key, child in pairs:
                if type(child) in _CONTAINERS:
                    stack.append((child, depth + 1, (link, key)))


def check_fields(pairs: Iterable[tuple[str, str]], limits: JsonLimits, *, root: str = "") -> None:
    """Check form fields (names and values) like the strings of a JSON value."""
    pairs = list(pairs)
    if _strings_fine([name for name, _ in pairs], limits) and _strings_fine(
        [value for _, value in pairs], limits
    ):
        return
    for name, value in pairs:
        problem = _string_problem(name, limits)
        if problem is not None:
            _raise_for_string(problem, format_path(root, [name]) + " (name)")
        problem = _string_problem(value, limits)
        if problem is not None:
            _raise_for_string(problem, format_path(root, [name]))


# ----------------------------------------------------------------- parsing
def parse_json(data: bytes, limits: JsonLimits, *, root: str = "") -> Any:
    """The checked value of a JSON document (UTF-8), else a 422 error naming where."""
    try:
        value = from_json(data, allow_inf_nan=False)
    except ValueError as exc:
        raise _parse_error(data, str(exc), limits, root) from None
    check_value(value, limits, root=root)
    return value


def _parse_error(data: bytes, message: str, limits: JsonLimits, root: str) -> errors.InvalidInput:
    if message.startswith("recursion limit exceeded"):
        return _too_deep(deep_path(data, limits.max_depth, root), limits)
    offset = _offset_of(data, message)
    field = path_at(data, offset, root) if offset is not None else format_path(root, ())
    if "surrogate" in message or "hex escape" in message or "unicode code point" in message:
        problem = f"holds a lone UTF-16 surrogate or an invalid \\u escape ({message})"
        return _refusal(InvalidCharacter, field, problem)
    if message.startswith("number out of range"):
        return _refusal(NumberOutOfRange, field, f"number out of range ({message})")
    if offset is not None and data[offset:].startswith(_NON_FINITE):
        problem = "is not a finite number: NaN and Infinity are not JSON"
        return _refusal(NumberOutOfRange, field, problem)
    return _refusal(MalformedJson, "body", f"malformed JSON: {message}")


def _offset_of(data: bytes, message: str) -> int | None:
    """The byte offset jiter's "at line L column C" (columns count bytes) points at."""
    found = _POSITION.search(message)
    if found is None:
        return None
    line, column = int(found.group(1)), int(found.group(2))
    start = 0
    for _ in range(line - 1):
        start = data.find(b"\n", start) + 1
        if start == 0:
            return None
    return min(len(data), start + column - 1)


# ----------------------------------------------------------------- locating a problem
class _Frame:
    __slots__ = ("expecting_key", "is_object", "part")

    def __init__(self, is_object: bool) -> None:
        self.is_object = is_object
        self.part: str | int | None = None if is_object else 0
        self.expecting_key = is_object


def _decode_key(raw: bytes) -> str:
    try:
        key = json.loads(b'"' + raw)
    except ValueError:
        return raw[:-1].decode("utf-8", "replace")
    return key if isinstance(key, str) else str(key)


def _scan(data: bytes, *, end: int, depth_limit: int) -> tuple[list[_Frame], bool] | None:
    """The open containers at byte `end`, or when one more would exceed `depth_limit`.

    Returns (frames, too_deep), or None past MAX_PATH_SCAN_STEPS tokens.
    """
    frames: list[_Frame] = []
    position = 0
    for _ in range(MAX_PATH_SCAN_STEPS):
        token = _TOKEN.search(data, position, end)
        if token is None:
            return frames, False
        char = token.group()
        position = token.end()
        if char in b"[{":
            if len(frames) >= depth_limit:
                return frames, True
            frames.append(_Frame(char == b"{"))
        elif char in b"]}":
            if frames:
                frames.pop()
        elif char == b'"':  # skip the string whole, keeping it if it is a key
            rest = _STRING_REST.match(data, position, end)
            if rest is None:  # the position lies inside this string
                return frames, False
            if frames and frames[-1].is_object and frames[-1].expecting_key:
                frames[-1].part = _decode_key(data[position : rest.end()])
            position = rest.end()
        elif not frames:
            continue
        elif char == b",":
            top = frames[-1]
            if top.is_object:
                top.expecting_key = True
            else:  # count a run of plain elements at once
                run = _SCALAR_RUN.match(data, position, end)
                commas = run.group().count(b",") if run else 0
                top.part = int(top.part or 0) + 1 + commas
                position = run.end() if run else position
        else:  # ":"
            frames[-1].expecting_key = False
    return None


def _frames_path(frames: list[_Frame], root: str) -> str:
    return format_path(root, [f.part for f in frames if f.part is not None])


def path_at(data: bytes, offset: int, root: str = "") -> str:
    """The JSON path of the value at byte `offset` of a document valid up to there."""
    scanned = _scan(data, end=offset, depth_limit=PARSER_MAX_DEPTH + 1)
    if scanned is None:
        return f"{format_path(root, ())} (at byte {offset})"
    return _frames_path(scanned[0], root)


def deep_path(data: bytes, max_depth: int, root: str = "") -> str:
    """The JSON path of the first container nested deeper than `max_depth`."""
    scanned = _scan(data, end=len(data), depth_limit=max_depth)
    if scanned is None or not scanned[1]:
        return format_path(root, ())
    return _frames_path(scanned[0], root)
