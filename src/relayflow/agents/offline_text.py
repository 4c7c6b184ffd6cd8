"""Offline models' text (`test:...`), without the model library: names, directives,
echo answers and token estimates. `offline.py` builds the pydantic-ai model on these;
`relayflow run` answers plain offline requests with them alone, so a local run of an
offline workflow does not pay for importing the model library.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from relayflow import errors

PROVIDER = "test"
REQUEST_OVERHEAD_TOKENS = 50  # what a chat request costs beyond its text, roughly
NO_SUCH_TOOL = "no such tool"

_TOKEN = re.compile(r"\w+|[^\w\s]")
_ASK = re.compile(r"^\s*@ask\s+([^:]+?)\s*:\s*(.+?)\s*$")
_TOOL = re.compile(r"^\s*@tool\s+([\w.-]+)\s*(.*?)\s*$")
_JSON = re.compile(r"^\s*@json\s+(.+?)\s*$")
_SLEEP = re.compile(r"^sleep-(\d+)$")
_FLAKY = re.compile(r"^flaky-(\d+)$")


# ----------------------------------------------------------------- model names
@dataclass(frozen=True)
class OfflineBehaviour:
    name: str
    sleep_s: float = 0.0
    always_fail: bool = False
    fail_first: int = 0


def behaviour_for(name: str) -> OfflineBehaviour:
    """What `test:<name>` does; unknown names fail with the list of known ones."""
    if name == "echo":
        return OfflineBehaviour(name)
    if name == "fail":
        return OfflineBehaviour(name, always_fail=True)
    if match := _SLEEP.match(name):
        return OfflineBehaviour(name, sleep_s=int(match.group(1)) / 1000)
    if match := _FLAKY.match(name):
        return OfflineBehaviour(name, fail_first=int(match.group(1)))
    raise errors.InvalidInput(
        f"unknown offline model 'test:{name}': use test:echo, test:sleep-<ms>, "
        "test:fail or test:flaky-<n>"
    )


# ----------------------------------------------------------------- the answer
@dataclass(frozen=True)
class Directive:
    tool: str
    args: dict[str, Any]


def estimate_tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


def split_prompt(prompt: str) -> tuple[str, list[Directive], Any]:
    """The prompt without directive lines, its tool directives, and its `@json` value."""
    kept: list[str] = []
    directives: list[Directive] = []
    json_answer: Any = None
    for line in prompt.splitlines():
        if match := _ASK.match(line):
            directives.append(
                Directive(f"ask_{tool_slug(match.group(1))}", {"question": match.group(2)})
            )
        elif match := _TOOL.match(line):
            directives.append(Directive(match.group(1), _json_object(match.group(2))))
        elif match := _JSON.match(line):
            json_answer = _json_value(match.group(1))
        else:
            kept.append(line)
    return "\n".join(kept).strip(), directives, json_answer


def tool_slug(name: str) -> str:
    """A tool-name-safe version of an agent name: `Senior Writer` -> `senior_writer`."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return slug or "agent"


def echo_text(role: str, prompt: str) -> str:
    return f"[{role}] echo: {prompt}"


def _json_object(text: str) -> dict[str, Any]:
    value = _json_value(text) if text else {}
    return value if isinstance(value, dict) else {"input": value}


def _json_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def answer_with_results(role: str, prompt: str, results: Sequence[tuple[str, str]]) -> str:
    lines = [echo_text(role, prompt)]
    lines += [f"{tool} -> {result}" for tool, result in results]
    return "\n".join(lines)


# ----------------------------------------------------------------- direct answers
@dataclass(frozen=True)
class DirectAnswer:
    text: str
    input_tokens: int
    output_tokens: int


def plain_answer(model: str, *, role: str, system_prompt: str | None, prompt: str) -> DirectAnswer:
    """The text answer to a request with no tools and no schema, and its estimated usage."""
    _, _, name = model.partition(":")
    behaviour_for(name)  # an unknown name fails here, as on the agent path
    text, directives, _ = split_prompt(prompt)
    # No tools here: directives get the note the agent path gives for a missing tool.
    answer = answer_with_results(role, text, [(d.tool, NO_SUCH_TOOL) for d in directives])
    used = REQUEST_OVERHEAD_TOKENS + estimate_tokens(prompt) + estimate_tokens(system_prompt or "")
    return DirectAnswer(answer, used, estimate_tokens(answer))
