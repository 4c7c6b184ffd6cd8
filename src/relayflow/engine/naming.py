"""How node runs inside a node are named in the run store.

A `map` item is recorded as `node[3]`, a sub-workflow's node as `node/child`
(`node@2/child` when the parent runs in loop iteration 2), a map item's
sub-workflow node as `node[3]/child`, and a sub-workflow an agent calls as a tool
as `node#1/child`. Graph node ids may not contain the separators, so the node a
row belongs to is always the part before the first of them (`owner_node_id`):
a rerun from a node must drop those rows together with the node's own.
"""

from __future__ import annotations

import re

RESERVED = "/[]@#"
_SPLIT = re.compile(r"[/\[\]@#]")


def item_key(node_id: str, index: int) -> str:
    return f"{node_id}[{index}]"


def tool_call_key(node_id: str, call: int) -> str:
    return f"{node_id}#{call}"


def child_prefix(parent_prefix: str, key: str, iteration: int) -> str:
    """The prefix of the node runs of a child run started under `key`."""
    return f"{parent_prefix}{key}{f'@{iteration}' if iteration else ''}/"


def owner_node_id(recorded_node_id: str) -> str:
    """The top-level graph node a recorded row belongs to (`sub/x` -> `sub`)."""
    return _SPLIT.split(recorded_node_id, maxsplit=1)[0]


def reserved_characters_in(node_id: str) -> str:
    return "".join(sorted({c for c in node_id if c in RESERVED}))
