"""A Jinja2 sandbox where every operation that can grow a value or take time is bounded.

On top of Jinja's immutable sandbox:
- Nothing is folded at compile time: the optimizer is off, the growing operators
  (`*`, `**`, `+`, `%`) are intercepted and every filter takes the context, which
  Jinja never evaluates while compiling. Saving `{{ 3 ** (2 * 10**7) }}` costs nothing.
- The intercepted operators, method calls (`.center`, `.replace`, `.join`, ...),
  filters (`center`, `indent`, `join`, `format`, `batch`, ...), `~`, `range` and
  `lipsum` check their operands against the current `RenderBudget` first.
- Every loop iteration, call and filter ticks the budget, so a render past its
  deadline stops at its next step.
- Captured output (`{% set %}` blocks, macros, the render itself) is joined by a
  `concat` that stops at the size limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.filters import FILTERS
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from jinja2.utils import _PassArg, generate_lorem_ipsum, pass_context

from relayflow.engine.template_checks import (
    _arg,
    check_binop,
    check_format_spec,
    check_method_call,
    check_percent_format,
    check_replace,
    describe_int,
)
from relayflow.engine.template_limits import (
    NeedsThread,
    RenderBudget,
    current_budget,
    json_weight,
)

LOOP_FILTER = "_relayflow_loop_step"  # wraps every `{% for %}` iterable (see _parse)
GROWING_OPERATORS = frozenset({"*", "**", "+", "%"})
_NUMBERS = frozenset({int, float, bool})
# Filters that turn their value into text: a list or object given to one must fit.
TEXT_FILTERS = frozenset(
    {
        "capitalize", "center", "e", "escape", "filesizeformat", "forceescape", "format",
        "indent", "lower", "pprint", "replace", "safe", "string", "striptags", "title",
        "tojson", "trim", "truncate", "upper", "urlencode", "urlize", "wordcount",
        "wordwrap", "xmlattr",
    }
)  # fmt: skip


# ----------------------------------------------------------------- filters
Precheck = Callable[[RenderBudget, Any, tuple[Any, ...], Mapping[str, Any]], Any]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _center(budget: RenderBudget, value: Any, args: tuple[Any, ...], kw: Mapping[str, Any]) -> Any:
    width = _arg(args, kw, 0, "width")
    if isinstance(width, int):
        budget.check_chars(max(width, len(_text(value))), f"|center({describe_int(width)})")
    return value


def _indent(budget: RenderBudget, value: Any, args: tuple[Any, ...], kw: Mapping[str, Any]) -> Any:
    width = _arg(args, kw, 0, "width")
    text = _text(value)
    each = len(width) if isinstance(width, str) else width if isinstance(width, int) else 4
    budget.check_chars(len(text) + (text.count("\n") + 1) * max(each, 0), "|indent()")
    return value


def _wordwrap(
    budget: RenderBudget, value: Any, args: tuple[Any, ...], kw: Mapping[str, Any]
) -> Any:
    width, wrapstring = _arg(args, kw, 0, "width"), _arg(args, kw, 2, "wrapstring")
    text = _text(value)
    width = width if isinstance(width, int) and width > 0 else 1
    # A break at most at every space, every newline and every `width` characters.
    breaks = min(len(text), len(text) // width + text.count(" ") + text.count("\n") + 1)
    each = len(wrapstring) if isinstance(wrapstring, str) else 1
    budget.check_chars(len(text) + breaks * each, "|wordwrap()")
    return value


def _replace(budget: RenderBudget, value: Any, args: tuple[Any, ...], kw: Mapping[str, Any]) -> Any:
    old, new = _arg(args, kw, 0, "old"), _arg(args, kw, 1, "new")
    count = _arg(args, kw, 2, "count")
    check_replace(budget, _text(value), old, new, -1 if count is None else count)
    return value


def _join(budget: RenderBudget, value: Any, args: tuple[Any, ...], kw: Mapping[str, Any]) -> Any:
    items = list(value)
    separator = _arg(args, kw, 0, "d")
    limit = budget.limits.max_chars
    if _arg(args, kw, 1, "attribute") is not None:
        size = json_weight(items, limit)
    else:
        size = sum(len(i) if isinstance(i, str) else json_weight(i, limit) for i in items)
    size += len(separator if isinstance(separator, str) else "") * max(len(items) - 1, 0)
    budget.check_chars(size, "|join()")
    return items


def _format(budget: RenderBudget, value: Any, args: tuple[Any, ...], kw: Mapping[str, Any]) -> Any:
    check_percent_format(budget, _text(value), dict(kw) if kw else tuple(args))
    return value


def _batch(budget: RenderBudget, value: Any, args: tuple[Any, ...], kw: Mapping[str, Any]) -> Any:
    count = _arg(args, kw, 0, "linecount")
    if isinstance(count, int):
        budget.check_count(count, f"|batch({describe_int(count)})")
    return value


def _slice(budget: RenderBudget, value: Any, args: tuple[Any, ...], kw: Mapping[str, Any]) -> Any:
    count = _arg(args, kw, 0, "slices")
    if isinstance(count, int):
        budget.check_count(count, f"|slice({describe_int(count)})")
    return value


def _sum(budget: RenderBudget, value: Any, args: tuple[Any, ...], kw: Mapping[str, Any]) -> Any:
    items = list(value)
    start = _arg(args, kw, 1, "start")
    if isinstance(start, list | tuple) or any(isinstance(i, list | tuple) for i in items):
        budget.check_value([start, items], "the result of |sum()")
    return items


PRECHECKS: dict[str, Precheck] = {
    "center": _center,
    "indent": _indent,
    "wordwrap": _wordwrap,
    "replace": _replace,
    "join": _join,
    "format": _format,
    "batch": _batch,
    "slice": _slice,
    "sum": _sum,
}


def bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` behind a budget tick and its precheck. Taking the context also keeps
    Jinja from running the filter at compile time on constant arguments."""
    pass_arg = _PassArg.from_obj(function)
    precheck = PRECHECKS.get(name)
    is_text = name in TEXT_FILTERS

    @pass_context
    def bounded(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        budget = current_budget()
        budget.tick()
        if is_text and not isinstance(value, str):
            budget.check_value(value, f"the value given to |{name}")
        if precheck is not None:
            value = precheck(budget, value, args, kwargs)
        if pass_arg is _PassArg.context:
            return function(context, value, *args, **kwargs)
        if pass_arg is _PassArg.eval_context:
            return function(context.eval_ctx, value, *args, **kwargs)
        if pass_arg is _PassArg.environment:
            return function(context.environment, value, *args, **kwargs)
        return function(value, *args, **kwargs)

    bounded.__name__ = bounded.__qualname__ = f"bounded_{name}"
    bounded.__doc__ = function.__doc__
    return bounded


def loop_step(iterable: Iterable[Any]) -> Iterator[Any]:
    """Every `{% for %}` iterates through this: one budget tick per item."""
    budget = current_budget()
    for item in iterable:
        budget.tick()
        yield item


# ----------------------------------------------------------------- globals
def bounded_range(*args: int) -> range:
    numbers = range(*args)
    start, stop, step = numbers.start, numbers.stop, numbers.step
    if step > 0:
        length = max(0, (stop - start + step - 1) // step)
    else:
        length = max(0, (start - stop - step - 1) // -step)
    current_budget().check_count(length, "range()")
    return numbers


# The longest word of Jinja's lorem ipsum is 14 letters; with a space and a comma, 16.
_LIPSUM_WORD = 16


def bounded_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    budget = current_budget()
    budget.check_chars(n * (max * _LIPSUM_WORD + 16), f"lipsum({describe_int(n)})")
    return generate_lorem_ipsum(n=n, html=html, min=min, max=max)


# ----------------------------------------------------------------- compiling
class _CodeGenerator(CodeGenerator):
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        # `a ~ b` joins through the environment, which checks the size (never folded).
        self.write("environment.join_text((")
        for argument in node.nodes:
            self.visit(argument, frame)
            self.write(", ")
        self.write("))")


class _BoundedFormatter(SandboxedFormatter):
    def __init__(self, env: Any, budget: RenderBudget) -> None:
        super().__init__(env)
        self.budget = budget
        self.size = 0

    def format_field(self, value: Any, format_spec: str) -> Any:
        self.size += check_format_spec(self.budget, format_spec, value)
        self.budget.check_chars(self.size, "this formatted string")
        return super().format_field(value, format_spec)


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with every growing operation bounded (module doc)."""

    code_generator_class = _CodeGenerator
    intercepted_binops = GROWING_OPERATORS

    def __init__(self, **options: Any) -> None:
        super().__init__(optimized=False, **options)
        self.filters = {name: bounded_filter(name, f) for name, f in FILTERS.items()}
        self.filters[LOOP_FILTER] = loop_step
        self.globals["range"] = bounded_range
        self.globals["lipsum"] = bounded_lipsum

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Filter(loop.iter, LOOP_FILTER, [], [], None, None, lineno=loop.lineno)
        return tree

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        # No tick: without a loop or a call, operators are as many as the source has.
        budget = current_budget()
        if type(left) in _NUMBERS and type(right) in _NUMBERS and operator != "**":
            # The common case, kept cheap: only a product of integers can grow much.
            if operator == "*" and type(left) is int and type(right) is int:
                bits = left.bit_length() + right.bit_length()
                if bits > budget.limits.max_int_bits:
                    budget.check_int_bits(bits, "this product")
        elif budget.on_loop:
            raise NeedsThread  # a repetition or a concatenation can take long: not here
        else:
            check_binop(budget, operator, left, right)
        return self.binop_table[operator](left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = current_budget()
        budget.tick()
        args = check_method_call(budget, __obj, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        # Jinja's own wrapper for `str.format`/`format_map`, with widths bounded.
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        text: str = value.__self__
        is_format_map = value.__name__ == "format_map"

        def bounded_format(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                kwargs = args[0]
                args = ()
            formatter = _BoundedFormatter(self, current_budget())
            return type(text)(formatter.vformat(text, args, kwargs))

        return bounded_format

    def join_text(self, parts: tuple[Any, ...]) -> str:
        budget = current_budget()
        budget.tick()
        limit = budget.limits.max_chars
        size = sum(len(p) if isinstance(p, str) else json_weight(p, limit) for p in parts)
        budget.check_chars(size, "this ~ concatenation")
        return "".join(map(str, parts))

    def concat(self, chunks: Iterable[str]) -> str:
        budget = current_budget()
        limit = budget.limits.max_chars
        parts = []
        size = 0
        for chunk in chunks:
            size += len(chunk)
            if size > limit:
                budget.check_chars(size, "the rendered text")
            parts.append(chunk)
        return "".join(parts)
