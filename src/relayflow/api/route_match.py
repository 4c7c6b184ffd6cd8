"""What a path that no route took was meant for: the `Allow` of a 405, a malformed id's 422.

Ids are typed as UUIDs in the route paths (`/workflows/{workflow_id:uuid}`), so a
literal sibling such as `/workflows/validate` is never taken for an id: a wrong
method there is a 405 naming the methods it has. A path that has the shape of an
id route but whose id is no UUID then matches no route; it is answered as the
invalid input it is (422 naming the parameter), not as an unknown path.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from fastapi.routing import iter_route_contexts
from starlette.convertors import UUIDConvertor
from starlette.routing import BaseRoute, Match, compile_path
from starlette.types import Scope

# The order in which the Allow header lists them.
METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_UUID_PARAM = re.compile(r"{(\w+):uuid}")
_UUID_TEXT = re.compile(UUIDConvertor.regex)


def _ordered(methods: set[str]) -> list[str]:
    known = [m for m in METHOD_ORDER if m in methods]
    return known + sorted(methods.difference(METHOD_ORDER))


def allowed_methods(routes: Sequence[BaseRoute], scope: Scope) -> list[str]:
    """Every method of every route whose path matches the request's path."""
    methods: set[str] = set()
    # Included routers are walked as FastAPI does, each route with its full path.
    for route in iter_route_contexts(routes):
        match, _ = route.matches(scope)
        if match is not Match.NONE and route.methods:
            methods.update(m.upper() for m in route.methods)
    return _ordered(methods)


@dataclass(frozen=True)
class MalformedIds:
    names: list[str]  # the path parameters that are not UUIDs
    methods: list[str]  # the methods the routes of that shape answer to


@cache
def _any_id_pattern(path: str) -> re.Pattern[str]:
    """The route's path regex with its UUID parameters taking any segment."""
    regex, _, _ = compile_path(_UUID_PARAM.sub(r"{\1}", path))
    return regex


def malformed_ids(routes: Sequence[BaseRoute], scope: Scope) -> MalformedIds | None:
    """The id parameters that kept the request's path from matching a route, if any."""
    path, root = scope["path"], scope.get("root_path", "")
    if root and path.startswith(root):  # as the router sees it behind a mount or prefix
        path = path[len(root) :]
    names: set[str] = set()
    methods: set[str] = set()
    for route in iter_route_contexts(routes):
        if route.path is None or ":uuid}" not in route.path:
            continue
        found = _any_id_pattern(route.path).match(path)
        if found is None:
            continue
        bad = [
            name
            for name in _UUID_PARAM.findall(route.path)
            if not _UUID_TEXT.fullmatch(found.group(name))
        ]
        if bad:
            names.update(bad)
            methods.update(m.upper() for m in route.methods or ())
    if not names:
        return None
    return MalformedIds(names=sorted(names), methods=_ordered(methods))
