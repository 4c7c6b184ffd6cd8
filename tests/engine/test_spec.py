from __future__ import annotations

import pytest
from pydantic import ValidationError

from relayflow.engine.spec import (
    AgentData,
    ConditionData,
    EdgeSpec,
    GraphSpec,
    HttpData,
    InputData,
    MapData,
    TemplateField,
    TransformData,
)


def test_react_flow_keys_are_kept() -> None:
    raw = {
        "nodes": [
            {
                "id": "a",
                "type": "input",
                "position": {"x": 1, "y": 2},
                "data": {},
                "width": 150,
                "selected": True,
            }
        ],
        "edges": [
            {"id": "e", "source": "a", "target": "b", "sourceHandle": "yes", "animated": True}
        ],
        "viewport": {"zoom": 1},
    }
    graph = GraphSpec.model_validate(raw)
    assert graph.model_dump(by_alias=True, exclude_none=True) == {
        **raw,
        "edges": [{**raw["edges"][0]}],
    }
    assert graph.edges[0].source_handle == "yes"


def test_edges_accept_python_names_too() -> None:
    assert EdgeSpec(id="e", source="a", target="b", source_handle="h").source_handle == "h"


def test_every_kind_accepts_the_common_fields() -> None:
    common = {
        "label": "L",
        "retries": 2,
        "retry_backoff_s": 0.1,
        "timeout_s": 5,
        "max_iterations": 3,
    }
    data = TransformData.model_validate({"value": 1, **common})
    assert (data.label, data.retries, data.timeout_s, data.max_iterations) == ("L", 2, 5, 3)
    with pytest.raises(ValidationError):
        TransformData.model_validate({"value": 1, "timeout_s": 0})


def test_input_schema_uses_its_json_name() -> None:
    data = InputData.model_validate({"schema": {"type": "object"}})
    assert data.json_schema == {"type": "object"}
    assert list(data.json_schemas()) == [("data.schema", {"type": "object"})]


def test_agent_model_strings_need_a_provider() -> None:
    with pytest.raises(ValidationError, match="provider:model"):
        AgentData.model_validate({"model": "gpt-4o", "prompt": "x"})


def test_http_method_is_normalised() -> None:
    assert HttpData.model_validate({"url": "https://x", "method": "post"}).method == "POST"


def test_data_models_describe_their_templates() -> None:
    data = HttpData.model_validate(
        {"url": "https://x/{{ input.id }}", "headers": {"A": "{{ input.a }}"}, "body": {"k": ["v"]}}
    )
    assert [t.field for t in data.templates()] == [
        "data.url",
        "data.headers.A",
        "data.body.k[0]",
    ]
    mapping = MapData.model_validate({"items": "input", "template_id": "t", "prompt": "{{ item }}"})
    assert list(mapping.templates()) == [
        TemplateField("data.items", "input", "expression"),
        TemplateField("data.prompt", "{{ item }}", extra_names=frozenset({"item", "index"})),
    ]


def test_condition_declares_its_handles() -> None:
    data = ConditionData.model_validate({"cases": [{"handle": "a", "when": "1"}], "default": "b"})
    assert data.source_handles() == ("a", "b")
    with pytest.raises(ValidationError, match="at least one case or a default"):
        ConditionData.model_validate({})
