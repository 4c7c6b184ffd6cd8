"""Time-ordered ids for the rows written on every run (executions, node runs).

A random UUID (v4) lands anywhere in an index: with a long history every insert
touches a different leaf page of each index that starts with the id (the primary
keys, and node runs' and events' indexes by execution), pages that have long left
the cache, each written whole to the WAL the first time it changes after a
checkpoint. A UUIDv7 (RFC 9562) starts with the time in milliseconds, so new rows
go where the last ones went: the same few pages, however long the history. Its 74
random bits keep it unguessable (ownership is checked on every read anyway); the
time it carries is the row's `started_at` to the millisecond, which its owner sees.
"""

from __future__ import annotations

import os
import time
import uuid

_RANDOM_A = (1 << 12) - 1
_RANDOM_B = (1 << 62) - 1


def time_ordered_id() -> uuid.UUID:
    """A UUIDv7: 48 bits of Unix time in ms, the version (7), 12 random bits, the
    variant (0b10), 62 random bits."""
    millis = time.time_ns() // 1_000_000 & ((1 << 48) - 1)
    random = int.from_bytes(os.urandom(10), "big")
    return uuid.UUID(
        int=millis << 80
        | 0x7 << 76
        | (random >> 62 & _RANDOM_A) << 64
        | 0b10 << 62
        | random & _RANDOM_B
    )
