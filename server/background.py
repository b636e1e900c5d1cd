"""Work the app does in the background while it serves, each job in a task
of its own, so that no request waits on it: the osu!track snapshot job
(server/track.py) and the clean-up of expired live state, which once ran
before every ingest write and took locks there that concurrent writers
deadlocked on."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import AsyncIterator, Awaitable, Callable

from . import track
from .db import Database
from .queries import live
from .settings import Settings

log = logging.getLogger("server.background")

# the longest wait between two looks at whether the track job is due
MAX_TRACK_CHECK_INTERVAL = 60
# the longest wait between two clean-ups: expired rows are never read (every
# read asks for fresh ones), so this only bounds how long they take space
MAX_CLEAN_UP_INTERVAL = 60


@contextlib.asynccontextmanager
async def every(seconds: float, name: str, job: Callable[[], Awaitable[None]]) -> AsyncIterator[None]:
    """Run job() at once and then every `seconds` while the block runs. A
    run that fails is logged and the next one comes as planned; the task is
    cancelled when the block ends."""

    async def repeat() -> None:
        while True:
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background job %s failed", name)
            await asyncio.sleep(seconds)

    task = asyncio.create_task(repeat(), name=name)
    try:
        yield
    finally:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        except Exception:  # a run cut short mid-query
            log.exception("background job %s failed while stopping", name)


def clean_up_interval(settings: Settings) -> int:
    return min(settings.presence_ttl, settings.match_ttl, MAX_CLEAN_UP_INTERVAL)


async def clean_up_live(db: Database, settings: Settings) -> None:
    """Delete the sessions and matches that have expired."""
    now = int(time.time())
    await live.delete_expired(
        db, sessions_before=now - settings.presence_ttl, matches_before=now - settings.match_ttl
    )


@contextlib.asynccontextmanager
async def live_clean_up(db: Database, settings: Settings) -> AsyncIterator[None]:
    """The clean-up, in the instances that take ingest writes (INGEST_TOKEN
    set): the others never add live state, and leave the database alone."""
    if settings.ingest_token is None:
        yield
        return
    async with every(clean_up_interval(settings), "live-clean-up", lambda: clean_up_live(db, settings)):
        yield


@contextlib.asynccontextmanager
async def track_snapshots(db: Database, settings: Settings) -> AsyncIterator[None]:
    """Run the osu!track snapshot job every TRACK_SNAPSHOT_INTERVAL seconds
    (never when it is 0). Several app instances may run this: the job's
    lease lets one at a time do the work, and a run cut short by a stop is
    resumed by the next (its lease runs out by itself)."""
    interval = settings.track_snapshot_interval
    if interval <= 0:
        yield
        return
    check = min(interval, MAX_TRACK_CHECK_INTERVAL)
    async with every(check, "track-snapshot-loop", lambda: track.run_if_due(db, settings)):
        yield
