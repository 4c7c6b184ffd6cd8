from __future__ import annotations

from typing import Any

import pytest

from relayflow.engine import templating
from relayflow.engine.templating import Scope, check_template, evaluate, render, render_text
from relayflow.errors import TemplateError


def context(**extra: Any) -> dict[str, Any]:
    nodes = Scope("nodes", a=Scope("nodes.a", output={"score": 7, "tags": ["x", "y"]}))
    return {
        "input": Scope("input", {"name": "Ada", "items": [1, 2], "n": 3}),
        "nodes": nodes,
        "execution": {"id": "e1", "trigger": {"type": "manual"}},
        "iteration": 0,
        **extra,
    }


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ input.n }}", 3),
        ("  {{ nodes.a.output }}  ", {"score": 7, "tags": ["x", "y"]}),
        ("{{ nodes['a'].output.score > 5 }}", True),
        ("{{ input.items }}", [1, 2]),  # JSON keys win over dict methods
        ("{{ none }}", None),
        ("{{- input.name -}}", "Ada"),
    ],
)
def test_a_lone_expression_yields_its_typed_value(source: str, expected: Any) -> None:
    assert render(source, context(), where="w") == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Hello {{ input.name }}!", "Hello Ada!"),
        ("{{ input.name }} has {{ input.n }}", "Ada has 3"),
        ("tags: {{ nodes.a.output.tags }}", 'tags: ["x", "y"]'),
        ("{% for i in input.items %}{{ i }},{% endfor %}", "1,2,"),
        ("no templating at all", "no templating at all"),
        ("run {{ execution.trigger.type }}", "run manual"),
    ],
)
def test_other_templates_render_to_strings(source: str, expected: str) -> None:
    assert render(source, context(), where="w") == expected


def test_render_walks_objects_and_lists() -> None:
    value = {"a": ["{{ input.n }}", 4], "b": {"c": "{{ input.name }}"}}
    assert render(value, context(), where="w") == {"a": [3, 4], "b": {"c": "Ada"}}


def test_render_text_always_gives_a_string() -> None:
    assert (
        render_text("{{ nodes.a.output }}", context(), where="w")
        == '{"score": 7, "tags": ["x", "y"]}'
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ nodes.b.output }}", "node 'n': data.prompt: nodes.b is undefined"),
        ("{{ nodes.a.outptu }}", "node 'n': data.prompt: nodes.a.outptu is undefined"),
        ("x {{ input.missing }} y", "node 'n': data.prompt: input.missing is undefined"),
        ("{{ secret }}", "node 'n': data.prompt: 'secret' is undefined"),
        ("{{ 1 / 0 }}", "node 'n': data.prompt: ZeroDivisionError: division by zero"),
        (
            "{{ input.x + }}",
            "node 'n': data.prompt: syntax error: unexpected 'end of template' (line 1)",
        ),
    ],
)
def test_errors_name_the_place_and_the_problem(source: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render(source, context(), where="node 'n': data.prompt")
    assert caught.value.message == message


def test_the_sandbox_refuses_unsafe_and_mutating_calls() -> None:
    with pytest.raises(TemplateError, match="not allowed"):
        render("{{ input.items.append(3) }}", context(), where="w")
    with pytest.raises(TemplateError, match="not allowed"):
        render("{{ ''.__class__.__mro__ }}", context(), where="w")
    assert context()["input"]["items"] == [1, 2]


def test_expressions_are_bare_or_wrapped() -> None:
    assert evaluate("nodes.a.output.score >= 7", context(), where="w") is True
    assert evaluate("{{ input.n * 2 }}", context(), where="w") == 6
    assert evaluate("item.k", context(item={"k": 1}), where="w") == 1
    with pytest.raises(TemplateError, match=r"input\.zzz is undefined"):
        evaluate("input.zzz", context(), where="w")


def test_compiled_templates_are_cached() -> None:
    source = "cached {{ input.name }} " + "x" * 10
    render(source, context(), where="w")
    before = templating._compile_template.cache_info().hits
    render(source, context(), where="w")
    assert templating._compile_template.cache_info().hits == before + 1


def test_check_finds_node_references_and_unknown_names() -> None:
    check = check_template("{{ nodes.a.output }} {{ nodes['b'] }} {{ foo }} {{ range(2) }}")
    assert check.node_refs == {"a", "b"}
    assert check.problems == (
        "unknown name 'foo' (available: execution, input, iteration, nodes, secrets)",
    )
    assert check_template("{{ item }}", extra_names={"item"}).problems == ()
    assert check_template("input.x 3", mode="expression").problems == (
        "syntax error: unexpected 3 after the expression (line 1)",
    )
