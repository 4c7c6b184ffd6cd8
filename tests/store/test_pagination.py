"""The opaque keyset cursor."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from relayflow import errors
from relayflow.store.pagination import decode_cursor, encode_cursor


def test_cursor_round_trips_to_the_microsecond() -> None:
    created = dt.datetime(2026, 1, 2, 3, 4, 5, 678901)
    row_id = uuid.uuid4()

    cursor = encode_cursor(created, row_id)

    assert decode_cursor(cursor) == (created, row_id)
    assert str(row_id) not in cursor  # opaque, and URL-safe
    assert all(c.isalnum() or c in "-_" for c in cursor)


@pytest.mark.parametrize("cursor", ["", "!!!", "bm90IGpzb24", "WzEsMl0", "WyJ4IiwgInkiXQ"])
def test_a_cursor_we_did_not_issue_is_invalid_input(cursor: str) -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        decode_cursor(cursor)
    assert caught.value.details == [{"field": "cursor", "message": "invalid cursor"}]
