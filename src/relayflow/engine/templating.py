"""Sandboxed Jinja2 templates and expressions over `{input, nodes, execution}`.

- A template that is exactly one `{{ expression }}` yields the expression's value
  with its type (object, list, number, boolean, null); any other template renders to
  a string, in which objects and lists are written as JSON and null as nothing.
- An expression (a condition's `when`, a map's `items`) is bare Jinja2 expression
  syntax (`input.score > 5`); wrapping it in `{{ }}` is accepted too.
- Undefined names are errors naming the node, the field and the name, never silent
  empty strings. The environment is immutable-sandboxed: templates cannot call
  unsafe attributes or mutate the outputs they read.

Compiled templates are cached by source text: the same prompt renders for every
execution and every map item.

Every render has a budget (`engine.template_limits`): sizes, `range`, integer
size and time, enforced step by step by the sandbox (`engine.template_sandbox`).
The engine renders through the `*_async` functions, which run the render in a
thread off the event loop: a template that computes for seconds never holds the
API, and it stops at its deadline (the node's `timeout_s` or the setting).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from jinja2 import StrictUndefined, Template, TemplateSyntaxError
from jinja2 import nodes as ast
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.parser import Parser
from jinja2.runtime import Undefined

from relayflow.engine.template_limits import (
    LimitBreach,
    NeedsThread,
    RenderBudget,
    TemplateLimitError,
    TemplateLimits,
    current_budget,
    run_within,
)
from relayflow.engine.template_sandbox import BoundedSandbox
from relayflow.errors import TemplateError

# Names every template may use; `iteration` is the node's loop iteration (0 first).
CONTEXT_NAMES = frozenset({"input", "nodes", "execution", "iteration", "secrets"})


class Scope(dict[str, Any]):
    """A context mapping that knows its own path, for messages like `nodes.x is undefined`."""

    __slots__ = ("path",)

    def __init__(self, path: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.path = path


class _Undefined(StrictUndefined):
    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        obj = self._undefined_obj
        if isinstance(obj, Scope) and self._undefined_name is not None:
            return f"{obj.path}.{self._undefined_name} is undefined"
        return super()._undefined_message


def _finalize(value: Any) -> Any:
    # Inside running text, objects and lists read better (and parse) as JSON, and a
    # null (a skipped node's output) is empty rather than the word "None".
    if isinstance(value, dict | list):
        current_budget().check_value(value, "this value")
        return json.dumps(value, ensure_ascii=False, default=str)
    if value is None:
        return ""
    return value


class _Environment(BoundedSandbox):
    def getattr(self, obj: Any, attribute: str) -> Any:
        # JSON data first: `input.items` is the "items" key, not dict.items.
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


ENV = _Environment(
    undefined=_Undefined,
    autoescape=False,
    keep_trailing_newline=True,
    finalize=_finalize,
)
GLOBAL_NAMES = frozenset(ENV.globals)


# ----------------------------------------------------------------- compiling
@dataclass(frozen=True, slots=True)
class _Compiled:
    kind: Literal["text", "value", "template"]
    text: str = ""
    expression: _Expression | None = None
    template: Template | None = None


def single_expression(source: str) -> str | None:
    """The expression inside a template made of exactly one `{{ ... }}`, else None."""
    if "{{" not in source:
        return None
    tokens = [t for t in ENV.lex(source) if not (t[1] == "data" and not t[2].strip())]
    if len(tokens) < 2 or tokens[0][1] != "variable_begin" or tokens[-1][1] != "variable_end":
        return None
    inner = tokens[1:-1]
    if any(t[1] in ("variable_begin", "variable_end", "block_begin", "data") for t in inner):
        return None
    return "".join(t[2] for t in inner).strip()


@lru_cache(maxsize=8192)
def _compile_template(source: str) -> _Compiled:
    if "{{" not in source and "{%" not in source and "{#" not in source:
        return _Compiled("text", text=source)
    expression = single_expression(source)
    if expression is not None:
        return _Compiled("value", expression=_compile_expression(expression))
    return _Compiled("template", template=ENV.from_string(source))


@dataclass(frozen=True, slots=True)
class _Expression:
    function: Callable[..., Any]
    # Only reads the context (`nodes.a.output`, `input["k"]`): what it yields exists
    # already and is not counted against the size limit; anything else is.
    lookup: bool


@lru_cache(maxsize=8192)
def _compile_expression(source: str) -> _Expression:
    inner = single_expression(source)
    text = inner if inner is not None else source
    function = ENV.compile_expression(text, undefined_to_none=False)
    return _Expression(function, _is_lookup(text))


def _is_lookup(expression: str) -> bool:
    node = Parser(ENV, expression, state="variable").parse_expression()
    while isinstance(node, ast.Getattr | ast.Getitem):
        if isinstance(node, ast.Getitem) and not isinstance(node.arg, ast.Const):
            return False
        node = node.node
    return isinstance(node, ast.Name)


# ----------------------------------------------------------------- rendering
def _fail(where: str, exc: Exception) -> TemplateError:
    if isinstance(exc, LimitBreach):
        return TemplateLimitError(f"{where}: {exc}")
    if isinstance(exc, TemplateSyntaxError):
        return TemplateError(f"{where}: syntax error: {exc.message} (line {exc.lineno})")
    if isinstance(exc, UndefinedError):
        return TemplateError(f"{where}: {exc.message}")
    if isinstance(exc, SecurityError):
        return TemplateError(f"{where}: not allowed: {exc}")
    if isinstance(exc, RecursionError):
        return TemplateError(f"{where}: the template recursed too deeply")
    return TemplateError(f"{where}: {type(exc).__name__}: {exc}")


def _defined(value: Any) -> Any:
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    return value


def _value_of(expression: _Expression, context: Mapping[str, Any]) -> Any:
    value = _defined(expression.function(**context))
    if not expression.lookup:
        current_budget().count_produced(value, "the value")
    return value


def _within(
    budget: RenderBudget | None, function: Callable[..., Any], *args: Any, **kw: Any
) -> Any:
    if budget is None:
        budget = RenderBudget(TemplateLimits())
    return run_within(budget, function, *args, **kw)


def render(
    value: Any, context: Mapping[str, Any], *, where: str, budget: RenderBudget | None = None
) -> Any:
    """Render every string inside a JSON value; a lone `{{ expr }}` keeps its type."""
    return _within(budget, _render_value, value, context, where)


def _render_value(value: Any, context: Mapping[str, Any], where: str) -> Any:
    if isinstance(value, str):
        return _render_string(value, context, where)
    if isinstance(value, dict):
        return {k: _render_value(v, context, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_render_value(v, context, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def render_string(
    source: str, context: Mapping[str, Any], *, where: str, budget: RenderBudget | None = None
) -> Any:
    return _within(budget, _render_string, source, context, where)


def _render_string(source: str, context: Mapping[str, Any], where: str) -> Any:
    try:
        compiled = _compile_template(source)
        if compiled.kind == "text":
            return compiled.text
        if compiled.kind == "value":
            assert compiled.expression is not None
            return _value_of(compiled.expression, context)
        assert compiled.template is not None
        text = compiled.template.render(context)
        current_budget().count_produced(text, "the rendered text")
        return text
    except (TemplateError, NeedsThread):
        raise
    except Exception as exc:
        raise _fail(where, exc) from None


def render_text(
    source: str, context: Mapping[str, Any], *, where: str, budget: RenderBudget | None = None
) -> str:
    """Render to a string whatever the template yields (a prompt, a URL, a header)."""
    return str(_within(budget, _render_text, source, context, where))


def _render_text(source: str, context: Mapping[str, Any], where: str) -> str:
    value = _render_string(source, context, where)
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def evaluate(
    expression: str, context: Mapping[str, Any], *, where: str, budget: RenderBudget | None = None
) -> Any:
    """Evaluate a bare expression (`input.score > 5`)."""
    return _within(budget, _evaluate, expression, context, where)


def _evaluate(expression: str, context: Mapping[str, Any], where: str) -> Any:
    try:
        return _value_of(_compile_expression(expression), context)
    except (TemplateError, NeedsThread):
        raise
    except Exception as exc:
        raise _fail(where, exc) from None


# ----------------------------------------------------------------- off the event loop
_pool: ThreadPoolExecutor | None = None


def _render_pool(threads: int) -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="relayflow-template")
    return _pool


def has_templates(value: Any) -> bool:
    """Whether any string inside a JSON value has template syntax (else it is plain data)."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value or "{#" in value
    if isinstance(value, dict):
        return any(has_templates(v) for v in value.values())
    if isinstance(value, list):
        return any(has_templates(v) for v in value)
    return False


# Short templates whose expressions only read and compare data (`Hi {{ input.name }}`,
# `{{ nodes.a.output }}`, `input.score > 5`) cost next to nothing: they render on the
# event loop, sparing the thread hop (most prompts, outputs and conditions do).
_CHEAP = (
    ast.Name, ast.Const, ast.Getattr, ast.Getitem, ast.Compare, ast.Operand, ast.And,
    ast.Or, ast.Not, ast.CondExpr, ast.List, ast.Tuple, ast.Dict, ast.Pair, ast.Neg, ast.Pos,
    # Arithmetic is cheap on numbers; on anything else (a repetition, a concatenation,
    # a %-format) the sandbox stops a render on the loop and it is made on a thread.
    ast.Add, ast.Sub, ast.Mul, ast.Div, ast.FloorDiv, ast.Mod,
)  # fmt: skip
INLINE_MAX_SOURCE = 500  # characters; longer sources are not even looked at on the loop


@lru_cache(maxsize=8192)
def _is_cheap_expression(expression: str) -> bool:
    try:
        node = Parser(ENV, expression, state="variable").parse_expression()
    except Exception:
        return False  # its error is reported when it runs
    return isinstance(node, _CHEAP) and all(isinstance(n, _CHEAP) for n in node.find_all(ast.Node))


@lru_cache(maxsize=8192)
def _is_cheap_template(source: str) -> bool:
    try:
        tree = ENV.parse(source)
    except Exception:
        return False
    for output in tree.body:
        if not isinstance(output, ast.Output):
            return False  # a block: {% for %}, {% set %}, {% macro %}...
        for node in output.nodes:
            if isinstance(node, ast.TemplateData):
                continue
            if not isinstance(node, _CHEAP) or not all(
                isinstance(n, _CHEAP) for n in node.find_all(ast.Node)
            ):
                return False
    return True


def _renders_inline(value: Any, *, expression: bool = False) -> bool:
    if isinstance(value, str):
        if not expression and not has_templates(value):
            return True
        if len(value) > INLINE_MAX_SOURCE:
            return False
        if expression:
            inner = single_expression(value)
            return _is_cheap_expression(inner if inner is not None else value)
        return _is_cheap_template(value)
    if isinstance(value, dict):
        return all(_renders_inline(v) for v in value.values())
    if isinstance(value, list):
        return all(_renders_inline(v) for v in value)
    return True


async def _off_loop(budget: RenderBudget, function: Callable[..., Any], *args: Any) -> Any:
    loop = asyncio.get_running_loop()
    pool = _render_pool(budget.limits.render_threads)
    future = loop.run_in_executor(pool, run_within, budget, function, *args)
    try:
        return await future
    except asyncio.CancelledError:
        budget.stop()  # the thread stops at the render's next step
        raise


async def _render(
    budget: RenderBudget, inline: bool, function: Callable[..., Any], *args: Any
) -> Any:
    """On the loop if `inline` and every step stays cheap (else from the start again, on
    a render thread): a thread's round trip costs far more than a cheap render."""
    if inline:
        produced = budget.produced
        budget.on_loop = True
        try:
            return run_within(budget, function, *args)
        except NeedsThread:
            budget.produced = produced  # what the abandoned render counted
        finally:
            budget.on_loop = False
    return await _off_loop(budget, function, *args)


async def render_async(
    value: Any, context: Mapping[str, Any], *, where: str, budget: RenderBudget
) -> Any:
    """`render` in a thread, so the event loop stays free; cheap ones stay inline."""
    return await _render(budget, _renders_inline(value), _render_value, value, context, where)


async def render_text_async(
    source: str, context: Mapping[str, Any], *, where: str, budget: RenderBudget
) -> str:
    inline = _renders_inline(source)
    return str(await _render(budget, inline, _render_text, source, context, where))


async def evaluate_async(
    expression: str, context: Mapping[str, Any], *, where: str, budget: RenderBudget
) -> Any:
    inline = _renders_inline(expression, expression=True)
    return await _render(budget, inline, _evaluate, expression, context, where)


# ----------------------------------------------------------------- checking
@dataclass(frozen=True)
class TemplateCheck:
    """What validation learns from one template without running it."""

    problems: tuple[str, ...] = ()
    node_refs: frozenset[str] = frozenset()


def _parse(source: str, mode: Literal["template", "expression"]) -> ast.Template:
    if mode == "template":
        return ENV.parse(source)
    inner = single_expression(source)
    parser = Parser(ENV, inner if inner is not None else source, state="variable")
    expression = parser.parse_expression()
    if not parser.stream.eos:
        raise TemplateSyntaxError(
            f"unexpected {parser.stream.current.value!r} after the expression",
            parser.stream.current.lineno,
        )
    template = ast.Template([ast.Output([expression])], lineno=1)
    template.set_environment(ENV)
    return template


def check_template(
    source: str,
    *,
    mode: Literal["template", "expression"] = "template",
    extra_names: Collection[str] = (),
) -> TemplateCheck:
    """Syntax errors, unknown top-level names and the `nodes.X` references of a template."""
    if mode == "template" and "{{" not in source and "{%" not in source and "{#" not in source:
        return TemplateCheck()  # plain text
    return _check(source, mode, frozenset(extra_names))


class _NameTracker(CodeGenerator):
    """Jinja's `meta.find_undeclared_variables`, but with its optimizer off: reading a
    template must never evaluate it (Jinja folds constant expressions while compiling)."""

    def __init__(self) -> None:
        super().__init__(ENV, "<check>", "<check>", optimized=False)
        self.undeclared: set[str] = set()

    def write(self, x: str) -> None:
        pass

    def enter_frame(self, frame: Frame) -> None:
        super().enter_frame(frame)
        for action, param in frame.symbols.loads.values():
            if action == "resolve" and param not in ENV.globals:
                self.undeclared.add(param)


def _undeclared_names(tree: ast.Template) -> set[str]:
    tracker = _NameTracker()
    tracker.visit(tree)
    return tracker.undeclared


@lru_cache(maxsize=8192)
def _check(
    source: str, mode: Literal["template", "expression"], extra_names: frozenset[str]
) -> TemplateCheck:
    try:
        tree = _parse(source, mode)
    except TemplateSyntaxError as exc:
        return TemplateCheck(problems=(f"syntax error: {exc.message} (line {exc.lineno})",))
    except ValueError:  # Python refuses to convert an integer literal this long
        return TemplateCheck(problems=("syntax error: a number has too many digits",))
    try:
        undeclared = _undeclared_names(tree)
    except TemplateSyntaxError as exc:  # an unknown filter or test
        message = exc.message or "invalid template"
        return TemplateCheck(problems=(f"{message[:1].lower()}{message[1:].rstrip('.')}",))
    problems = []
    allowed = CONTEXT_NAMES | GLOBAL_NAMES | extra_names
    for name in sorted(undeclared - allowed):
        names = ", ".join(sorted(CONTEXT_NAMES | extra_names))
        problems.append(f"unknown name {name!r} (available: {names})")
    refs = set()
    for getattr_node in tree.find_all(ast.Getattr):
        if isinstance(getattr_node.node, ast.Name) and getattr_node.node.name == "nodes":
            refs.add(getattr_node.attr)
    for getitem in tree.find_all(ast.Getitem):
        if (
            isinstance(getitem.node, ast.Name)
            and getitem.node.name == "nodes"
            and isinstance(getitem.arg, ast.Const)
            and isinstance(getitem.arg.value, str)
        ):
            refs.add(getitem.arg.value)
    return TemplateCheck(tuple(problems), frozenset(refs))
