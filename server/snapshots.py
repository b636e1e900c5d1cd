"""What requests read over and over, kept in process: figures computed over
every player (the global and country ranks by pp, the player count, who
holds a session), rows that seldom change (beatmaps, which bancho.py also
caches; clans; the active v1 keys) and a player's hit totals (a sum over
all their scores, which only their next score changes).

A rank is 1 + the number of ranked players (unrestricted, pp > 0) of the
mode with more pp; ties share a rank. Counting them in SQL costs a scan of
every player above, per rank asked for, which grows with the players and
made a profile page the slowest request of all. So each mode's ranked
players are read once into arrays in leaderboard order (one for everyone,
one per country): a rank is a binary search in their pp, and a page of the
pp leaderboard a slice of their ids; bancho.py keeps its ranks the same
way, in Redis sorted sets. Counting users is likewise a scan on InnoDB.

A snapshot older than SNAPSHOT_MAX_AGE seconds is rebuilt in the
background while requests go on reading it, up to twice that age; after
any write through this process's Database (or with SNAPSHOT_MAX_AGE 0)
requests wait for the rebuild. At most MAX_ENTRIES are kept, the least
recently used dropped first (popular maps stay while the rest come and
go). Writes made by another process (the game server) show within twice
SNAPSHOT_MAX_AGE (within one rebuild of it under steady traffic); a
player's own pp is always read fresh, so only the other players' values
can be that old."""

from __future__ import annotations

import asyncio
import bisect
import time
import weakref
from array import array
from functools import partial
from typing import Any, Awaitable, Callable, Iterable, TypeVar

from .constants import Privileges
from .db import Database

UNRESTRICTED = int(Privileges.UNRESTRICTED)
DEFAULT_MAX_AGE = 10
T = TypeVar("T")
# beatmaps are the many entries (ranks and the count are a handful; a
# map's rating and its set's favourites are a number each): a map row is
# about 2 kB, so this bounds the cache to some 16 MB. Score listings name
# thousands of distinct maps within a snapshot's age at 20k maps.
MAX_ENTRIES = 8192
# facts in one memo (see Snapshots.memo): a score id and a bool are ~100 B
MEMO_ENTRIES = 100_000
# formatted rows in one memo: with the row it was made from (kept alive by
# it, though the snapshots may have dropped it), ~4 kB, so some 16 MB
MEMO_ROWS = 4096


class Board:
    """Ranked players in leaderboard order (pp descending, then id): their
    pp negated, so bisect counts who is above, and their ids, for a page."""

    __slots__ = ("negated_pp", "ids")

    def __init__(self, ordered: list[tuple[int, float, str]]) -> None:
        self.negated_pp = array("d", [-pp for _, pp, _ in ordered])
        self.ids = array("q", [user_id for user_id, _, _ in ordered])

    def above(self, pp: float) -> int:
        """How many have more pp."""
        return bisect.bisect_left(self.negated_pp, -pp)

    def page(self, offset: int, limit: int) -> list[int]:
        return self.ids[offset:offset + limit].tolist()


class ModeRanks:
    """One mode's ranked players: everyone's board and one per country
    (keyed in lower case, as bancho.py stores countries). Built from
    (id, pp, country) rows already in leaderboard order."""

    __slots__ = ("everyone", "by_country")

    def __init__(self, ordered: list[tuple[int, float, str]]) -> None:
        groups: dict[str, list[tuple[int, float, str]]] = {}
        for row in ordered:
            groups.setdefault(row[2].lower(), []).append(row)
        self.everyone = Board(ordered)
        self.by_country = {country: Board(members) for country, members in groups.items()}

    def ranks(self, pp: float, country: str) -> tuple[int, int]:
        """(global, country) rank of a ranked player with this pp."""
        peers = self.by_country.get(country.lower())
        return 1 + self.everyone.above(pp), 1 + (peers.above(pp) if peers is not None else 0)


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
        self._memos: dict[str, tuple[dict[Any, Any], float, int]] = {}  # name -> (facts, started, db.writes then)

    def memo(self, name: str, entries: int = MEMO_ENTRIES) -> dict[Any, Any]:
        """A dict of facts a request found out one at a time (the caller
        fills it), kept as long as a snapshot would be fresh: an empty one
        once max_age has passed since it was started, after a write
        through this process, or past `entries` facts (bound larger values
        by a smaller number)."""
        now = time.monotonic()
        held = self._memos.get(name)
        if (held is None or held[2] != self.db.writes or now - held[1] >= self.max_age
                or len(held[0]) >= entries):
            held = self._memos[name] = ({}, now, self.db.writes)
        return held[0]

    async def get(self, key: Any, build: Callable[[Database], Awaitable[Any]]) -> Any:
        cached = self._built.get(key)
        if cached is not None and cached[2] == self.db.writes:
            self._built[key] = self._built.pop(key)  # the most recently used: dropped last
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

    def put(self, key: Any, value: Any, started: float, writes: int) -> None:
        """Keep a value read from the database at `started` (monotonic), when
        db.writes was `writes`, as the snapshot under key."""
        self._built.pop(key, None)  # re-inserted last: the most recently used
        self._built[key] = (value, started, writes)
        if len(self._built) > MAX_ENTRIES:
            del self._built[next(iter(self._built))]

    async def get_many(
        self, kind: str, keys: Iterable[Any], read: Callable[[Database, list[Any]], Awaitable[dict[Any, Any]]],
        *, none_is_missing: bool = False,
    ) -> dict[Any, Any]:
        """The snapshots (kind, key) of many keys at once, for a listing:
        those held fresh as they are, the rest by one call of read(db,
        missing keys) -> {key: value} (a key it leaves out is None), kept
        for the next. With none_is_missing, a None held is read again (a
        row not there when last looked up, which the caller knows exists)."""
        # one pass with the clock and the write count read once: a listing
        # looks up some 50 keys, and a call a key had cost 4 us each
        built, writes, now, max_age = self._built, self.db.writes, time.monotonic(), self.max_age
        found: dict[Any, Any] = {}
        missing = []
        for key in keys:
            cached = built.pop((kind, key), None)
            if cached is not None:
                built[kind, key] = cached  # re-inserted last: the most recently used
                if (cached[2] == writes and now - cached[1] < max_age
                        and not (none_is_missing and cached[0] is None)):
                    found[key] = cached[0]
                    continue
            missing.append(key)
        if missing:
            values = await read(self.db, missing)
            for key in missing:
                found[key] = values.get(key)
                self.put((kind, key), found[key], now, writes)
        return found

    def forget(self, key: Any) -> None:
        """Drop one snapshot known to be behind: the next use rebuilds it."""
        self._built.pop(key, None)

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
        self.put(key, value, started, writes)
        return value


async def _mode_ranks(db: Database, mode: int) -> ModeRanks:
    # down stats' (mode, pp) index, already in leaderboard order (the
    # index's entries end with the id), each player's country and
    # privileges by primary key: no scan of users, no sort. Built while
    # requests are served, so as little Python a row as can be.
    rows = await db.fetch_tuples(
        "SELECT s.id, s.pp, (SELECT u.country FROM users u WHERE u.id = s.id"
        f" AND (u.priv & {UNRESTRICTED}) = {UNRESTRICTED}) AS country"
        " FROM stats s WHERE s.mode = :mode AND s.pp > 0 ORDER BY s.pp DESC, s.id ASC",
        {"mode": mode},
    )
    return await off_the_loop(_unrestricted_ranks, rows)


def _unrestricted_ranks(rows: list[tuple[int, float, str | None]]) -> ModeRanks:
    return ModeRanks([row for row in rows if row[2] is not None])


async def off_the_loop(build: Callable[..., T], *args: Any) -> T:
    """build(*args) in a worker thread: a snapshot made of every player
    (0.7 us a ranked player, 0.5 us a name) held the event loop, and every
    request with it, for as long as it took: 140 ms for 200,000 players. In
    a thread the loop gets the interpreter back every switch interval
    (5 ms), so requests wait at most some 15 ms while it is built."""
    return await asyncio.to_thread(build, *args)


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


async def mode_ranks(db: Database, mode: int) -> ModeRanks:
    return await snapshots(db).get(("ranks", mode), _RANK_BUILDERS.get(mode) or partial(_mode_ranks, mode=mode))


# one builder a mode, made once (a profile asks for up to eight modes' ranks)
_RANK_BUILDERS = {mode: partial(_mode_ranks, mode=mode) for mode in range(12)}


async def ranked_page(db: Database, *, mode: int, country: str | None, offset: int, limit: int) -> list[int]:
    """The ids on one page of the mode's pp leaderboard (of one country, or
    everyone), in order, as of the snapshot."""
    ranks = await mode_ranks(db, mode)
    board = ranks.everyone if country is None else ranks.by_country.get(country.lower())
    return [] if board is None else board.page(offset, limit)


async def add_ranks(db: Database, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Set global_rank and country_rank on stats rows that carry the
    player's priv and country: 0 for restricted players and for no pp, as
    bancho.py shows them."""
    for row in rows:
        pp, priv, country = row["pp"], row.pop("priv"), row.pop("country")
        if (priv & UNRESTRICTED) != UNRESTRICTED or not pp or pp <= 0:
            row["global_rank"] = row["country_rank"] = 0
        else:
            ranks = await mode_ranks(db, row["mode"])
            row["global_rank"], row["country_rank"] = ranks.ranks(pp, country)
    return rows
