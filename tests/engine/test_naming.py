from __future__ import annotations

import pytest

from relayflow.engine.naming import child_prefix, item_key, owner_node_id, tool_call_key


@pytest.mark.parametrize(
    ("recorded", "owner"),
    [
        ("plain", "plain"),
        (item_key("map", 3), "map"),
        (child_prefix("", "sub", 0) + "x", "sub"),
        (child_prefix("", "sub", 2) + "x", "sub"),
        (child_prefix(child_prefix("", item_key("m", 1), 0), "inner", 0) + "y", "m"),
        (tool_call_key("agent", 1) + "/child", "agent"),
    ],
)
def test_every_nested_row_names_its_owner(recorded: str, owner: str) -> None:
    assert owner_node_id(recorded) == owner


def test_child_prefixes_nest() -> None:
    assert child_prefix("", "sub", 0) == "sub/"
    assert child_prefix("sub/", "m[2]", 1) == "sub/m[2]@1/"
