"""A cron expression in plain words: "every weekday at 09:00, Europe/Paris".

The API serves it beside the expression (`ScheduleOut.description`), so the UI
and API say the same thing. Common shapes are phrased (every N minutes, hourly
at :MM, daily, weekdays, chosen days, days of the month, yearly); anything else
(a day of the month *and* a weekday, `L`, `#`, uneven steps) falls back to
"custom schedule", the expression being shown next to it anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

FALLBACK = "custom schedule"
MAX_LISTED_TIMES = 6

# The nicknames of relayflow.cron.NICKNAMES as the five fields they stand for.
AS_EXPRESSION = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}

DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
DAY_NAMES = {name[:3].lower(): i for i, name in enumerate(DAYS)}
MONTH_NAMES = {name[:3].lower(): i + 1 for i, name in enumerate(MONTHS)}


class Unphrased(Exception):
    """The expression has a shape this module does not put in words."""


@dataclass(frozen=True)
class Field:
    """One cron field: every value (`*`), every `step` from the lowest, or listed values."""

    every: bool = False
    step: int | None = None
    values: tuple[int, ...] = ()


@dataclass(frozen=True)
class Bounds:
    low: int
    high: int
    names: dict[str, int] | None = None


MINUTE, HOUR = Bounds(0, 59), Bounds(0, 23)
DAY_OF_MONTH, MONTH = Bounds(1, 31), Bounds(1, 12, MONTH_NAMES)
WEEKDAY = Bounds(0, 7, DAY_NAMES)


def describe(expression: str, timezone: str = "UTC") -> str:
    """The schedule in words, with its time zone; a fallback for unusual shapes."""
    try:
        words = phrase(expression)
    except Unphrased:
        words = FALLBACK
    return f"{words}, {timezone}"


def phrase(expression: str) -> str:
    """The expression in words (without the zone); `Unphrased` if it cannot."""
    text = " ".join(expression.split()).lower()
    text = AS_EXPRESSION.get(text, text)
    parts = text.split(" ")
    if len(parts) != 5:
        raise Unphrased(expression)
    minute = _field(parts[0], MINUTE)
    hour = _field(parts[1], HOUR)
    day = _field(parts[2], DAY_OF_MONTH)
    month = _field(parts[3], MONTH)
    weekday = _weekdays(_field(parts[4], WEEKDAY))
    every_days, on_days = _days(day, month, weekday)
    kind, times = _times(minute, hour)
    if kind == "at":
        return f"{every_days} at {times}"
    return f"{times} {on_days}".strip()


# ----------------------------------------------------------------- fields
def _field(text: str, bounds: Bounds) -> Field:
    if text in ("*", "?"):
        return Field(every=True)
    if text.startswith(("*/", f"{bounds.low}/")) and "," not in text:
        step = _number(text.split("/", 1)[1], Bounds(1, bounds.high + 1))
        return Field(every=True) if step == 1 else Field(step=step)
    values: set[int] = set()
    for item in text.split(","):
        values.update(_item(item, bounds))
    if values == set(range(bounds.low, bounds.high + 1)):
        return Field(every=True)
    return Field(values=tuple(sorted(values)))


def _item(text: str, bounds: Bounds) -> range:
    span, _, step_text = text.partition("/")
    step = _number(step_text, Bounds(1, bounds.high + 1)) if step_text else 1
    if span == "*":
        first, last = bounds.low, bounds.high
    elif "-" in span:
        first_text, last_text = span.split("-", 1)
        first, last = _number(first_text, bounds), _number(last_text, bounds)
    else:
        first = _number(span, bounds)
        last = bounds.high if step_text else first
    if last < first:
        raise Unphrased(text)  # wrapping ranges (e.g. FRI-MON)
    return range(first, last + 1, step)


def _number(text: str, bounds: Bounds) -> int:
    if bounds.names and text in bounds.names:
        return bounds.names[text]
    if not text.isdigit():
        raise Unphrased(text)  # L, W, #, ...
    value = int(text)
    if not bounds.low <= value <= bounds.high:
        raise Unphrased(text)
    return value


def _weekdays(field: Field) -> Field:
    """7 is Sunday too."""
    if field.every or field.step is not None:
        return field
    values = {0 if v == 7 else v for v in field.values}
    return Field(every=True) if len(values) == 7 else Field(values=tuple(sorted(values)))


# ----------------------------------------------------------------- words
def _times(minute: Field, hour: Field) -> tuple[str, str]:
    """("at", "09:00 and 17:00") for fixed times, or ("repeat", "every 15 minutes ...")."""
    if hour.every:
        if minute.every:
            return "repeat", "every minute"
        if minute.step is not None:
            if 60 % minute.step:
                raise Unphrased("uneven minute step")
            return "repeat", f"every {minute.step} minutes"
        if len(minute.values) > MAX_LISTED_TIMES:
            raise Unphrased("too many minutes")
        return "repeat", "every hour at " + _join([f":{m:02d}" for m in minute.values])
    if hour.step is not None:
        if 24 % hour.step or len(minute.values) != 1:
            raise Unphrased("uneven hour step")
        return "repeat", f"every {hour.step} hours at :{minute.values[0]:02d}"
    hours = hour.values
    contiguous = hours == tuple(range(hours[0], hours[-1] + 1))
    if minute.every or minute.step is not None:
        if not contiguous:
            raise Unphrased("minutes in scattered hours")
        step = minute.step or 1
        if 60 % step:
            raise Unphrased("uneven minute step")
        every = "every minute" if step == 1 else f"every {step} minutes"
        last = 60 - step
        return "repeat", f"{every} from {hours[0]:02d}:00 to {hours[-1]:02d}:{last:02d}"
    if len(minute.values) == 1 and contiguous and len(hours) > 2:
        m = minute.values[0]
        return "repeat", f"every hour from {hours[0]:02d}:{m:02d} to {hours[-1]:02d}:{m:02d}"
    times = [f"{h:02d}:{m:02d}" for h in hours for m in minute.values]
    if len(times) > MAX_LISTED_TIMES:
        raise Unphrased("too many times")
    return "at", _join(times)


def _days(day: Field, month: Field, weekday: Field) -> tuple[str, str]:
    """How the days read after "every ..." (at fixed times) and after a repeat."""
    if day.step is not None or month.step is not None or weekday.step is not None:
        raise Unphrased("stepped days")
    months = "" if month.every else _join([MONTHS[m - 1] for m in month.values])
    if not day.every and not weekday.every:
        raise Unphrased("a day of the month or a weekday")  # cron reads it as either
    if not day.every:
        if len(day.values) == 1 and len(month.values) == 1:
            date = f"{months} {day.values[0]}"
            return f"every year on {date}", f"on {date}"
        dates = "the " + _join([_ordinal(d) for d in day.values])
        where = f"{dates} of {months or 'every month'}"
        return f"on {where}", f"on {where}"
    within = f" in {months}" if months else ""
    if weekday.every:
        return f"every day{within}", within.strip()
    days = set(weekday.values)
    if days == {1, 2, 3, 4, 5}:
        return f"every weekday{within}", f"on weekdays{within}"
    if days == {0, 6}:
        return f"every Saturday and Sunday{within}", f"on weekends{within}"
    # Monday first, as people list a week.
    names = _join([DAYS[d] for d in sorted(days, key=lambda d: (d + 6) % 7)])
    return f"every {names}{within}", f"on {names}{within}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
