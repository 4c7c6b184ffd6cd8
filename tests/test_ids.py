"""Time-ordered ids (`relayflow.ids`): UUIDv7 as RFC 9562 lays it out."""

from __future__ import annotations

import time
import uuid

from relayflow.ids import time_ordered_id


def test_an_id_is_a_version_7_uuid_carrying_the_time_in_milliseconds() -> None:
    before = time.time_ns() // 1_000_000
    new = time_ordered_id()
    after = time.time_ns() // 1_000_000

    assert new.version == 7
    assert new.variant == uuid.RFC_4122
    assert before <= new.int >> 80 <= after


def test_ids_sort_in_the_order_they_were_made_across_milliseconds() -> None:
    made = []
    for _ in range(5):
        made.append(time_ordered_id())
        time.sleep(0.002)

    assert sorted(made) == made
    assert sorted(str(i) for i in made) == [str(i) for i in made]  # as text too (SQLite)


def test_ids_made_in_the_same_millisecond_differ() -> None:
    made = {time_ordered_id() for _ in range(20_000)}

    assert len(made) == 20_000
