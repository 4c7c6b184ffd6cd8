"""Cron expressions in plain words, as schedules show them beside the expression."""

from __future__ import annotations

import pytest

from relayflow.cron import NICKNAMES
from relayflow.cron_words import AS_EXPRESSION, describe


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        # every N minutes
        ("* * * * *", "every minute"),
        ("*/5 * * * *", "every 5 minutes"),
        ("0/15 * * * *", "every 15 minutes"),
        ("*/1 * * * *", "every minute"),
        # hourly at :MM
        ("0 * * * *", "every hour at :00"),
        ("30 * * * *", "every hour at :30"),
        ("0,30 * * * *", "every hour at :00 and :30"),
        ("15 */2 * * *", "every 2 hours at :15"),
        ("@hourly", "every hour at :00"),
        # daily
        ("0 9 * * *", "every day at 09:00"),
        ("30 18 * * *", "every day at 18:30"),
        ("0 9,17 * * *", "every day at 09:00 and 17:00"),
        ("@daily", "every day at 00:00"),
        ("@midnight", "every day at 00:00"),
        # weekdays, weekends, chosen days
        ("0 9 * * 1-5", "every weekday at 09:00"),
        ("0 9 * * MON-FRI", "every weekday at 09:00"),
        ("0 10 * * 0,6", "every Saturday and Sunday at 10:00"),
        ("0 10 * * 6,7", "every Saturday and Sunday at 10:00"),
        ("30 8 * * 1,3,5", "every Monday, Wednesday and Friday at 08:30"),
        ("0 0 * * 0", "every Sunday at 00:00"),
        ("0 0 * * 7", "every Sunday at 00:00"),
        ("0 7 * * sun,mon", "every Monday and Sunday at 07:00"),
        ("0 17 * * 2-4", "every Tuesday, Wednesday and Thursday at 17:00"),
        ("@weekly", "every Sunday at 00:00"),
        ("0 9 * * 0-6", "every day at 09:00"),
        # repeats within days and hours
        ("*/15 9-17 * * 1-5", "every 15 minutes from 09:00 to 17:45 on weekdays"),
        ("* 9 * * *", "every minute from 09:00 to 09:59"),
        ("0 9-17 * * *", "every hour from 09:00 to 17:00"),
        ("*/10 * * * 6,0", "every 10 minutes on weekends"),
        ("0 * * * 1", "every hour at :00 on Monday"),
        # monthly, yearly
        ("0 0 1 * *", "on the 1st of every month at 00:00"),
        ("0 12 1,15 * *", "on the 1st and 15th of every month at 12:00"),
        ("0 6 2,3,22,23 * *", "on the 2nd, 3rd, 22nd and 23rd of every month at 06:00"),
        ("0 6 11,12,13 * *", "on the 11th, 12th and 13th of every month at 06:00"),
        ("@monthly", "on the 1st of every month at 00:00"),
        ("0 0 1 1,7 *", "on the 1st of January and July at 00:00"),
        ("0 0 1 1 *", "every year on January 1 at 00:00"),
        ("@yearly", "every year on January 1 at 00:00"),
        ("0 8 25 DEC *", "every year on December 25 at 08:00"),
        ("0 9 * 6-8 1-5", "every weekday in June, July and August at 09:00"),
        ("0 9 * 12 *", "every day in December at 09:00"),
        ("*/30 * * 12 *", "every 30 minutes in December"),
        # spaces and case do not matter
        ("  0  9 *   * mon-fri ", "every weekday at 09:00"),
        ("@DAILY", "every day at 00:00"),
    ],
)
def test_common_schedules_in_words(expression: str, words: str) -> None:
    assert describe(expression, "Europe/Paris") == f"{words}, Europe/Paris"


@pytest.mark.parametrize(
    "expression",
    [
        "0 9 1 * 1",  # the 1st or a Monday: cron reads it as either
        "0 0 L * *",  # last day of the month
        "0 9 * * 1#2",  # second Monday
        "5 4 */3 * *",  # every third day of the month
        "*/7 * * * *",  # uneven: :56 then :00
        "0 */5 * * *",  # uneven: 20:00 then 00:00
        "0-10 * * * *",  # eleven minutes listed
        "0,10,20,30,40,50 8,20 * * *",  # twelve times
        "*/15 8,12,18 * * *",  # repeats in scattered hours
        "0 9 * * FRI-MON",  # a range that wraps the week
        "not a cron",
        "* * * *",
    ],
)
def test_unusual_schedules_fall_back_to_custom(expression: str) -> None:
    assert describe(expression, "UTC") == "custom schedule, UTC"


def test_every_nickname_is_phrased() -> None:
    assert set(AS_EXPRESSION) == set(NICKNAMES)
    assert all("custom" not in describe(nickname) for nickname in NICKNAMES)
