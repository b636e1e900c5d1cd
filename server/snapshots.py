"""What requests read over and over, kept in process: figures computed over
every player (the global and country ranks by pp, the player count) and
beatmap rows (which bancho.py also caches).

A rank is 1 + the number of ranked players (unrestricted, pp > 0) of the
mode with more pp; ties share a rank. Counting them in SQL costs a scan of
every player above, per rank asked for, which grows with the players and
made a profile page the slowest request of all. So each mode's pp values
are read once into sorted arrays (one for everyone, one per country) and a
rank is a binary search; bancho.py keeps its ranks the same way, in Redis
sorted sets. Counting users is likewise a scan on InnoDB.

A snapshot older than SNAPSHOT_MAX_AGE seconds is rebuilt in the
background while requests go on reading it, up to twice that age; after
any write through this process's Database (or with SNAPSHOT_MAX_AGE 0)
requests wait for the rebuild. At most MAX_ENTRIES are kept, the oldest
built dropped first. Writes made by another process (the game server) show
within twice SNAPSHOT_MAX_AGE (within one rebuild of it under steady
traffic); a player's own pp is always read fresh, so only the other
players' values can be that old."""

from __future__ import annotations

import asyncio
import bisect
import time
import weakref
from array import array
from functools import partial
from typing import Any, Awaitable, Callable, Iterable

from .constants import Privileges
from .db import Database

UNRESTRICTED = int(Privileges.UNRESTRICTED)
DEFAULT_MAX_AGE = 10
# beatmaps are the many entries (ranks and the count are a handful): a map
# row is about 2 kB, so this bounds the cache to some 10 MB
MAX_ENTRIES = 4096


class ModeRanks:
    """One mode's ranked pp values, sorted ascending."""

    __slots__ = ("everyone", "by_country")

    def __init__(self, rows: Iterable[tuple[float, str]]) -> None:
        everyone: list[float] = []
        by_country: dict[str, list[float]] = {}
        for pp, country in rows:
            everyone.append(pp)
            by_country.setdefault(country, []).append(pp)
        self.everyone = array("d", sorted(everyone))
        self.by_country = {c: array("d", sorted(values)) for c, values in by_country.items()}

    def ranks(self, pp: float, country: str) -> tuple[int, int]:
        """(global, country) rank of a ranked player with this pp."""
        above = len(self.everyone) - bisect.bisect_right(self.everyone, pp)
        peers = self.by_country.get(country)
        above_in_country = len(peers) - bisect.bisect_right(peers, pp) if peers is not None else 0
        return 1 + above, 1 + above_in_country


class Snapshots:
    """Figures computed over every player of one database (a mode's ranks,
    the player count), each built on first use and reused until it is
    max_age seconds old or this process writes; concurrent requests for a
    stale one wait for a single rebuild."""

    def __init__(self, db: Database, max_age: float) -> None:
        self.db = db
        self.max_age = max_age
        self._built: dict[Any, tuple[Any, float, int]] = {}  # key -> (value, built at, db.writes then)
        self._building: dict[Any, asyncio.Future[Any]] = {}

    async def get(self, key: Any, build: Callable[[Database], Awaitable[Any]]) -> Any:
        cached = self._built.get(key)
        if cached is not None and cached[2] == self.db.writes:
            age = time.monotonic() - cached[1]
            if age < self.max_age:
                return cached[0]
            if age < 2 * self.max_age:
                # only aged: answered as it is while one rebuild runs, so no
                # request waits on a rebuild (a mode's ranks take ~0.1 s at
                # 20k players); past twice the age, or once this process
                # has written, requests wait for the new one
                self._start_build(key, build)
                return cached[0]
        # shielded: one waiting request cut off (a timeout, a client gone)
        # must not cancel the build the others wait for
        return await asyncio.shield(self._start_build(key, build))

    def _start_build(self, key: Any, build: Callable[[Database], Awaitable[Any]]) -> asyncio.Future[Any]:
        pending = self._building.get(key)
        if pending is None:
            pending = self._building[key] = asyncio.ensure_future(self._build(key, build))
            pending.add_done_callback(lambda done: self._settled(key, done))
        return pending

    async def close(self) -> None:
        """Cancel the rebuilds still running (the app's shutdown)."""
        pending = list(self._building.values())
        for build in pending:
            build.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def _settled(self, key: Any, done: asyncio.Future[Any]) -> None:
        self._building.pop(key, None)
        if not done.cancelled():
            done.exception()  # seen here, so a failure no waiter read is not logged as lost

    async def _build(self, key: Any, build: Callable[[Database], Awaitable[Any]]) -> Any:
        writes, started = self.db.writes, time.monotonic()
        value = await build(self.db)
        self._built.pop(key, None)  # re-inserted last: the newest
        self._built[key] = (value, started, writes)
        if len(self._built) > MAX_ENTRIES:
            del self._built[next(iter(self._built))]
        return value


async def _mode_ranks(db: Database, mode: int) -> ModeRanks:
    # driven by stats' (mode, pp) index, each player's country and
    # privileges by primary key: no scan of users
    rows = await db.fetch_all(
        "SELECT s.pp, (SELECT u.country FROM users u WHERE u.id = s.id"
        f" AND (u.priv & {UNRESTRICTED}) = {UNRESTRICTED}) AS country"
        " FROM stats s WHERE s.mode = :mode AND s.pp > 0",
        {"mode": mode},
    )
    return ModeRanks((r["pp"], r["country"]) for r in rows if r["country"] is not None)


_SNAPSHOTS: "weakref.WeakKeyDictionary[Database, Snapshots]" = weakref.WeakKeyDictionary()


def configure(db: Database, max_age: float) -> None:
    """Set how old this database's snapshots may get (the app does, from
    SNAPSHOT_MAX_AGE); other users of a Database get DEFAULT_MAX_AGE."""
    _SNAPSHOTS[db] = Snapshots(db, max_age)


def snapshots(db: Database) -> Snapshots:
    found = _SNAPSHOTS.get(db)
    if found is None:
        found = _SNAPSHOTS[db] = Snapshots(db, DEFAULT_MAX_AGE)
    return found


async def add_ranks(db: Database, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Set global_rank and country_rank on stats rows that carry the
    player's priv and country: 0 for restricted players and for no pp, as
    bancho.py shows them."""
    for row in rows:
        pp, priv, country = row["pp"], row.pop("priv"), row.pop("country")
        if (priv & UNRESTRICTED) != UNRESTRICTED or not pp or pp <= 0:
            row["global_rank"] = row["country_rank"] = 0
        else:
            snapshot = await snapshots(db).get(("ranks", row["mode"]), partial(_mode_ranks, mode=row["mode"]))
            row["global_rank"], row["country_rank"] = snapshot.ranks(pp, country)
    return rows
