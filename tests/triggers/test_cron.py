"""Cron expressions read in a time zone, with naive-UTC fire times."""

from __future__ import annotations

import datetime as dt

import pytest

from relayflow.cron import CronSchedule
from relayflow.errors import InvalidInput


def test_weekday_mornings_fire_at_local_time_across_dst() -> None:
    cron = CronSchedule.parse("0 9 * * 1-5", "Europe/Paris")
    # Friday 27 March 2026 is still winter time (UTC+1); Monday 30 March is summer (UTC+2).
    times = cron.upcoming(dt.datetime(2026, 3, 27, 0, 0), 2)
    assert times == [dt.datetime(2026, 3, 27, 8, 0), dt.datetime(2026, 3, 30, 7, 0)]


def test_next_after_is_strictly_after() -> None:
    cron = CronSchedule.parse("*/15 * * * *")
    assert cron.next_after(dt.datetime(2026, 1, 1, 12, 15)) == dt.datetime(2026, 1, 1, 12, 30)
    assert cron.latest_at_or_before(dt.datetime(2026, 1, 1, 12, 15)) == dt.datetime(
        2026, 1, 1, 12, 15
    )
    assert cron.latest_at_or_before(dt.datetime(2026, 1, 1, 12, 14, 59)) == dt.datetime(
        2026, 1, 1, 12, 0
    )


def test_nicknames_are_accepted() -> None:
    assert CronSchedule.parse("@Hourly").expression == "@hourly"


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("61 * * * *", "not a valid cron expression"),
        ("* * * *", "must have 5 fields"),
        ("* * * * * *", "must have 5 fields"),
        ("0 0 30 2 *", "never fires"),
        ("every day", "must have 5 fields"),
    ],
)
def test_bad_expressions_name_the_cron_field(expression: str, fragment: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        CronSchedule.parse(expression)
    assert caught.value.message.startswith("cron: ")
    assert fragment in caught.value.message
    assert caught.value.details[0]["field"] == "cron"


def test_unknown_time_zone_names_the_timezone_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        CronSchedule.parse("* * * * *", "Mars/Olympus_Mons")
    assert caught.value.details[0]["field"] == "timezone"
