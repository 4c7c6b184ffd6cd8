"""A scheduler in its own process on an accelerated clock, for the multi-process test.

`python -m tests.triggers.scheduler_process URL BASE_ISO BASE_EPOCH SPEED`: virtual
time is BASE_ISO + (time.time() - BASE_EPOCH) * SPEED, so processes started apart
share one clock. Prints `leading` when it takes the lead.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
import time

from relayflow.runtime.scheduler import Scheduler
from relayflow.store.db import Database


async def main(url: str, base: dt.datetime, base_epoch: float, speed: float) -> None:
    def clock() -> dt.datetime:
        return base + dt.timedelta(seconds=(time.time() - base_epoch) * speed)

    db = Database(url)
    scheduler = Scheduler(db, clock=clock, poll_s=0.05, misfire_grace_s=600)
    await scheduler.start()
    announced = False
    try:
        while True:
            if scheduler._lock_conn is not None and not announced:
                print("leading", flush=True)
                announced = True
            await asyncio.sleep(0.02)
    finally:
        await scheduler.stop()
        await db.dispose()


if __name__ == "__main__":
    url, base_iso, base_epoch, speed = sys.argv[1:5]
    asyncio.run(main(url, dt.datetime.fromisoformat(base_iso), float(base_epoch), float(speed)))
