"""Size checks made before an operation that can grow a value runs.

Each check looks at the operands only (lengths, widths, bit counts), never at the
result, so a string of three billion characters is refused before it is built.
The limits come from the current `RenderBudget` (`engine.template_limits`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

from relayflow.engine.template_limits import RenderBudget
from relayflow.engine.template_limits import json_weight as budget_weight

SEQUENCES = (str, bytes, bytearray, list, tuple)


def describe_int(value: int) -> str:
    return f"{value:,}" if value.bit_length() <= 64 else "a very large integer"


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bytes | bytearray):
        return "a byte string"
    return "a list"


# ----------------------------------------------------------------- operators
def check_binop(budget: RenderBudget, operator: str, left: Any, right: Any) -> None:
    if operator == "*":
        _check_multiply(budget, left, right)
    elif operator == "**":
        _check_power(budget, left, right)
    elif operator == "+":
        _check_add(budget, left, right)
    elif operator == "%" and isinstance(left, str | bytes):
        check_percent_format(budget, left, right)


def _check_multiply(budget: RenderBudget, left: Any, right: Any) -> None:
    if isinstance(left, int) and isinstance(right, SEQUENCES):
        left, right = right, left
    if isinstance(left, SEQUENCES) and isinstance(right, int) and not isinstance(right, bool):
        if right <= 1:
            return
        what = f"{_kind(left)} repeated {describe_int(right)} times"
        if isinstance(left, str | bytes | bytearray):
            budget.check_chars(len(left) * right, what)
        else:
            limit = budget.limits.max_chars
            each = budget_weight(left, limit // right + 1)
            budget.check_chars(each * right, what)
    elif isinstance(left, int) and isinstance(right, int):
        budget.check_int_bits(left.bit_length() + right.bit_length(), "this product")


def _check_power(budget: RenderBudget, base: Any, exponent: Any) -> None:
    if not (isinstance(base, int) and isinstance(exponent, int)) or exponent <= 1:
        return
    if abs(base) <= 1:
        return
    bits = exponent * math.log2(abs(base))
    budget.check_int_bits(bits, f"{describe_int(base)} ** {describe_int(exponent)}")


def _check_add(budget: RenderBudget, left: Any, right: Any) -> None:
    if isinstance(left, str | bytes | bytearray) and isinstance(right, str | bytes | bytearray):
        budget.check_chars(len(left) + len(right), "this concatenation")
    elif isinstance(left, list | tuple) and isinstance(right, list | tuple):
        limit = budget.limits.max_chars
        size = budget_weight(left, limit) + budget_weight(right, limit)
        budget.check_chars(size, "this concatenation of lists")


# ----------------------------------------------------------------- formatting
def _percent_specs(fmt: str | bytes) -> Iterator[tuple[int | str | None, int | str | None]]:
    """(width, precision) of each `%` conversion: an int, `*` (from the arguments) or None."""
    text = fmt.decode("latin-1") if isinstance(fmt, bytes) else fmt
    end = len(text)
    index = 0
    while (index := text.find("%", index)) >= 0:
        index += 1
        if index < end and text[index] == "(":
            depth = 1
            index += 1
            while index < end and depth:
                depth += {"(": 1, ")": -1}.get(text[index], 0)
                index += 1
        while index < end and text[index] in "-+ #0":
            index += 1
        width, index = _spec_number(text, index)
        precision: int | str | None = None
        if index < end and text[index] == ".":
            precision, index = _spec_number(text, index + 1)
        while index < end and text[index] in "hlL":
            index += 1
        index += 1  # the conversion type (`%%` included)
        yield width, precision


def _spec_number(text: str, index: int) -> tuple[int | str | None, int]:
    if index < len(text) and text[index] == "*":
        return "*", index + 1
    start = index
    while index < len(text) and text[index].isdigit():
        index += 1
    if index == start:
        return None, index
    digits = text[start:index]
    return (int(digits) if len(digits) <= 18 else 10**18), index


def check_percent_format(budget: RenderBudget, fmt: str | bytes, arguments: Any) -> None:
    """`'%0999999999d' % 1`: the widths and precisions, plus the arguments, must fit."""
    star_values = iter(arguments) if isinstance(arguments, tuple) else iter(())
    total = len(fmt)
    for width, precision in _percent_specs(fmt):
        for number in (width, precision):
            if number == "*":
                given = next(star_values, 0)
                total += abs(given) if isinstance(given, int) else 0
            elif isinstance(number, int):
                total += number
    limit = budget.limits.max_chars
    if total <= limit:
        total += budget_weight(arguments, limit)
    budget.check_chars(total, "this formatted string (its widths and values)")


def check_format_spec(budget: RenderBudget, spec: str, value: Any) -> int:
    """A `str.format` field (`{:0999999999}`): the numbers in its spec bound its width."""
    widest = 0
    digits = ""
    for char in spec + " ":
        if char.isdigit():
            digits += char
        elif digits:
            widest += int(digits) if len(digits) <= 18 else 10**18
            digits = ""
    limit = budget.limits.max_chars
    size = widest + (len(value) if isinstance(value, str) else budget_weight(value, limit))
    budget.check_chars(size, "this formatted field")
    return size


# ----------------------------------------------------------------- methods
def _arg(args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name)


def check_method_call(
    budget: RenderBudget, method: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> tuple[Any, ...]:
    """Checks a call of a growing str/bytes/int method; returns the arguments to use
    (a one-shot iterable given to `join` is read once here and passed on as a list)."""
    owner = getattr(method, "__self__", None)
    name = getattr(method, "__name__", "")
    if isinstance(owner, str | bytes | bytearray):
        size = len(owner)
        if name in ("center", "ljust", "rjust", "zfill"):
            width = _arg(args, kwargs, 0, "width")
            if isinstance(width, int):
                budget.check_chars(max(width, size), f".{name}({describe_int(width)})")
        elif name == "expandtabs":
            tabsize = _arg(args, kwargs, 0, "tabsize")
            tabsize = 8 if tabsize is None else tabsize
            if isinstance(tabsize, int):
                tabs = owner.count("\t" if isinstance(owner, str) else b"\t")  # type: ignore[arg-type]
                budget.check_chars(size + tabs * max(tabsize, 0), ".expandtabs()")
        elif name == "replace" and len(args) >= 2:
            check_replace(budget, owner, args[0], args[1], args[2] if len(args) > 2 else -1)
        elif name == "join" and args:
            items = list(args[0])
            pieces = sum(len(item) if isinstance(item, SEQUENCES) else 0 for item in items)
            budget.check_chars(pieces + size * max(len(items) - 1, 0), ".join()")
            return (items, *args[1:])
        elif name == "translate" and args and isinstance(args[0], Mapping):
            longest = max(
                (len(v) for v in args[0].values() if isinstance(v, str | bytes)), default=1
            )
            budget.check_chars(size * max(longest, 1), ".translate()")
    elif isinstance(owner, int) and name == "to_bytes":
        length = _arg(args, kwargs, 0, "length")
        if isinstance(length, int):
            budget.check_chars(length, f".to_bytes({describe_int(length)})")
    return args


def check_replace(budget: RenderBudget, text: Any, old: Any, new: Any, count: Any = -1) -> None:
    if not isinstance(text, str | bytes) or not isinstance(old, type(text)):
        return
    if not isinstance(new, type(text)) or len(new) <= len(old):
        return
    found = len(text) + 1 if not old else text.count(old)  # type: ignore[arg-type]
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    budget.check_chars(len(text) + found * (len(new) - len(old)), "this replace")
