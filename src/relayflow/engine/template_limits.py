"""What one template render may cost, and the budget that enforces it.

A render gets a `RenderBudget`: the limits (settings `RELAYFLOW_TEMPLATE_*`) and a
deadline. The sandbox (`engine.template_sandbox`) consults the current budget before
every operation that can grow a value (a power, a repetition, a concatenation, a
format width, a join...) and ticks it on every loop iteration, call and filter, so
a template that runs past its deadline stops at its next step, wherever it is.

A breach raises `LimitBreach` with a message naming the limit; the templating layer
turns it into a `TemplateLimitError` naming the node and the field as well.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jinja2.utils import Namespace

from relayflow.errors import TemplateError

if TYPE_CHECKING:
    from relayflow.config import Settings


@dataclass(frozen=True, slots=True)
class TemplateLimits:
    # The longest string, and the largest list or object (counted as the characters
    # of its JSON), that a template may produce, its rendered output included.
    max_chars: int = 2_000_000
    # The most items a `range()` (and any loop count a filter takes) may have.
    max_range: int = 100_000
    # The largest integer a template may compute, in bits (10,000 bits: ~3,000 digits).
    max_int_bits: int = 10_000
    # Seconds one render may take when the node sets no (shorter) timeout_s.
    max_render_s: float = 5.0
    # Threads that run renders off the event loop.
    render_threads: int = 4

    @classmethod
    def from_settings(cls, settings: Settings) -> TemplateLimits:
        return cls(
            max_chars=settings.template_max_chars,
            max_range=settings.template_max_range,
            max_int_bits=settings.template_max_int_bits,
            max_render_s=settings.template_max_render_s,
            render_threads=settings.template_render_threads,
        )


SETTING = {
    "max_chars": "RELAYFLOW_TEMPLATE_MAX_CHARS",
    "max_range": "RELAYFLOW_TEMPLATE_MAX_RANGE",
    "max_int_bits": "RELAYFLOW_TEMPLATE_MAX_INT_BITS",
    "max_render_s": "RELAYFLOW_TEMPLATE_MAX_RENDER_S",
}


# How often a running render lets other threads (the event loop) take the GIL; the
# deadline is checked as often.
YIELD_EVERY_S = 0.001
# How long it then sleeps: long enough for a thread waiting for the GIL to wake and
# take it. A release without a wait (a zero-timeout select) was retaken at once, and
# since it counts as a switch, the waiter's 5 ms timer never forced one: the event
# loop starved for up to 1.9 s behind a hostile render (`bench/templates.py`).
YIELD_SLEEP_S = 0.0002


class TemplateLimitError(TemplateError):
    """A template went over one of its limits (size, range, integer size or time)."""

    code = "template_limit"


class LimitBreach(Exception):
    """Raised inside a render; the message names the limit (`over RELAYFLOW_...`)."""


class NeedsThread(Exception):
    """Raised inside a render on the event loop at a step that may take long (growing a
    string or a list): the render is abandoned and made again on a render thread."""


class RenderBudget:
    """The limits and the deadline of one render; `tick()` at every step."""

    __slots__ = (
        "deadline",
        "limits",
        "next_yield",
        "on_loop",
        "produced",
        "stopped",
        "time_limit",
    )

    def __init__(
        self,
        limits: TemplateLimits,
        *,
        budget_s: float | None = None,
        time_limit: str | None = None,
    ) -> None:
        self.limits = limits
        budget_s = limits.max_render_s if budget_s is None else budget_s
        # What the time budget comes from, for the message: the setting or timeout_s.
        self.time_limit = time_limit or f"{SETTING['max_render_s']} ({limits.max_render_s:g} s)"
        self.deadline = time.monotonic() + budget_s
        self.next_yield = time.monotonic() + YIELD_EVERY_S
        self.produced = 0  # characters of the results rendered so far
        self.stopped = False
        self.on_loop = False  # rendering on the event loop: only steps that stay cheap

    def tick(self) -> None:
        now = time.monotonic()
        if now > self.next_yield:
            # Renders run in threads beside the event loop: hand the GIL over now and
            # then, so the loop waits ~1 ms for it (YIELD_SLEEP_S says why a sleep).
            self.next_yield = now + YIELD_EVERY_S
            time.sleep(YIELD_SLEEP_S)
            if now > self.deadline:
                self._out_of_time()

    def stop(self) -> None:
        """Make the render stop at its next step (called from another thread)."""
        self.stopped = True
        self.deadline = self.next_yield = -math.inf

    def _out_of_time(self) -> None:
        if self.stopped:
            raise LimitBreach("the render was stopped (the node was cancelled or timed out)")
        raise LimitBreach(f"the template ran out of time, over {self.time_limit}")

    # ------------------------------------------------------------ size checks
    def breach(self, what: str, limit: str, value: int) -> LimitBreach:
        return LimitBreach(f"{what}, over {SETTING[limit]} ({value:,})")

    def check_chars(self, size: int, what: str) -> None:
        if size > self.limits.max_chars:
            raise self.breach(
                f"{what} would be {size:,} characters", "max_chars", self.limits.max_chars
            )

    def check_value(self, value: Any, what: str) -> None:
        """A list, object or string must serialise within max_chars."""
        limit = self.limits.max_chars
        if json_weight(value, limit, self.tick) > limit:
            raise self.breach(f"{what} is larger than {limit:,} characters", "max_chars", limit)

    def count_produced(self, value: Any, what: str) -> None:
        """Add a rendered result to what this render produced (every field of a JSON
        value renders within one budget): the total must fit max_chars too."""
        limit = self.limits.max_chars
        if isinstance(value, str):
            self.produced += len(value)
        elif isinstance(value, list | tuple | Mapping):
            self.produced += json_weight(value, limit - self.produced, self.tick)
        if self.produced > limit:
            raise self.breach(
                f"{what} would make this render's results {self.produced:,} characters",
                "max_chars",
                limit,
            )

    def check_int_bits(self, bits: float, what: str) -> None:
        if bits > self.limits.max_int_bits:
            raise self.breach(
                f"{what} would have about {bits:,.0f} bits",
                "max_int_bits",
                self.limits.max_int_bits,
            )

    def check_count(self, count: int, what: str) -> None:
        if count > self.limits.max_range:
            raise self.breach(
                f"{what} would have {count:,} items", "max_range", self.limits.max_range
            )


_CURRENT: ContextVar[RenderBudget | None] = ContextVar("relayflow_template_budget", default=None)
_UNBOUNDED_TIME = RenderBudget(TemplateLimits(), budget_s=math.inf)


def node_budget(
    limits: TemplateLimits, deadline: float | None, timeout_s: float | None
) -> RenderBudget:
    """The budget of a render inside a node attempt that must end by `deadline`
    (monotonic): a little before it, so the render's own error, naming the field,
    is the one the node fails with."""
    if deadline is None or timeout_s is None:
        return RenderBudget(limits)
    remaining = deadline - time.monotonic()
    if remaining >= limits.max_render_s:
        return RenderBudget(limits)
    margin = min(0.25, 0.2 * timeout_s)  # room to hand the error back on a busy machine
    return RenderBudget(
        limits,
        budget_s=max(remaining - margin, 0.0),
        time_limit=f"the node's timeout_s ({timeout_s:g} s)",
    )


def current_budget() -> RenderBudget:
    """The budget of the render in progress (default limits, no deadline, outside one)."""
    return _CURRENT.get() or _UNBOUNDED_TIME


def run_within(budget: RenderBudget, function: Any, /, *args: Any, **kwargs: Any) -> Any:
    """Call `function` with `budget` as the current budget (in whatever thread)."""
    token = _CURRENT.set(budget)
    try:
        return function(*args, **kwargs)
    finally:
        _CURRENT.reset(token)


def json_weight(value: Any, limit: int, tick: Callable[[], None] | None = None) -> int:
    """About how many characters `value` takes as JSON (or as text); stops past `limit`.

    Walks shared references once per reference, so a list holding the same long
    string 1,000 times weighs 1,000 strings, as its JSON would.
    """
    total = 0
    stack = [value]
    steps = 0
    while stack:
        item = stack.pop()
        steps += 1
        if tick is not None and not steps & 0xFFFF:
            tick()  # a walk of millions of items stays within the time budget
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, bool | float) or item is None:
            total += 5
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 1
        elif isinstance(item, bytes | bytearray):
            total += 4 * len(item) + 3
        elif isinstance(item, list | tuple | set | frozenset):
            total += len(item) + 2
            if total <= limit:
                stack.extend(item)
        elif isinstance(item, Mapping):
            total += 4 * len(item) + 2
            if total <= limit:
                for key, member in item.items():
                    stack.append(key)
                    stack.append(member)
        elif isinstance(item, Namespace):
            stack.append(item._Namespace__attrs)
        else:
            total += 16
        if total > limit:
            return total
    return total
