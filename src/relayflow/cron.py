"""Cron expressions in a time zone: validation and fire times.

Times cross this module's boundary as naive UTC (the database's convention, see
`domain.utcnow`); the expression itself is read in the schedule's time zone, so
`0 9 * * 1-5` in Europe/Paris fires at 09:00 Paris time across DST changes.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass

from croniter import CroniterBadCronError, CroniterBadDateError, croniter

from relayflow.domain import utcnow
from relayflow.errors import InvalidInput

# Five fields (minute hour day month weekday) or one of the @ nicknames. A
# sixth "seconds" field is refused: a schedule finer than a minute is a loop.
NICKNAMES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


@dataclass(frozen=True)
class CronSchedule:
    """A validated cron expression bound to a time zone."""

    expression: str
    timezone: str

    @classmethod
    def parse(cls, expression: str, timezone: str = "UTC") -> CronSchedule:
        """Validate both parts; errors name the field (`cron` or `timezone`)."""
        expression = " ".join(expression.split())
        check_timezone(timezone)
        if expression.lower() in NICKNAMES:
            return cls(expression.lower(), timezone)
        fields = expression.split(" ")
        if len(fields) != 5:
            raise InvalidInput(
                f"cron: {expression!r} must have 5 fields (minute hour day month weekday), "
                f"not {len(fields)}",
                details=[{"field": "cron", "message": "expected 5 fields"}],
            )
        try:
            croniter(expression)
        except (CroniterBadCronError, ValueError, KeyError) as exc:
            raise InvalidInput(
                f"cron: {expression!r} is not a valid cron expression ({exc})",
                details=[{"field": "cron", "message": str(exc)}],
            ) from exc
        schedule = cls(expression, timezone)
        try:
            schedule.next_after(utcnow())
        except CroniterBadDateError as exc:  # e.g. "0 0 30 2 *": February 30th
            raise InvalidInput(
                f"cron: {expression!r} never fires",
                details=[{"field": "cron", "message": "never fires"}],
            ) from exc
        return schedule

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def next_after(self, after: dt.datetime) -> dt.datetime:
        """The first fire time strictly after `after` (both naive UTC)."""
        return next(self.fire_times(after))

    def fire_times(self, after: dt.datetime) -> Iterator[dt.datetime]:
        """Fire times strictly after `after`, in order, as naive UTC."""
        start = after.replace(tzinfo=dt.UTC).astimezone(self.zone)
        it = croniter(self.expression, start)
        while True:
            fire: dt.datetime = it.get_next(dt.datetime)
            yield fire.astimezone(dt.UTC).replace(tzinfo=None)

    def latest_at_or_before(self, moment: dt.datetime) -> dt.datetime:
        """The last fire time at or before `moment` (naive UTC)."""
        start = (moment + dt.timedelta(microseconds=1)).replace(tzinfo=dt.UTC)
        it = croniter(self.expression, start.astimezone(self.zone))
        fire: dt.datetime = it.get_prev(dt.datetime)
        return fire.astimezone(dt.UTC).replace(tzinfo=None)

    def upcoming(self, after: dt.datetime, count: int) -> list[dt.datetime]:
        times = self.fire_times(after)
        return [next(times) for _ in range(count)]


def check_timezone(name: str) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(
            f"timezone: {name!r} is not a known IANA time zone (e.g. 'UTC', 'Europe/Paris')",
            details=[{"field": "timezone", "message": "unknown time zone"}],
        ) from exc
