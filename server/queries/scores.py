"""SQL for scores: a player's scores, a map's leaderboard, one score, and a
player's most played maps. Listings join their maps (or players) in the same
query: one query per request, never one per row."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from ..constants import HIT_COUNT_STATUSES, GameMode, MapStatus, ScoreStatus
from ..db import Database
from . import force_index, in_list, in_order_join
from .maps import maps_by_md5
from .players import UNRESTRICTED

SCORE_COLUMNS = (
    "id", "map_md5", "score", "pp", "acc", "max_combo", "mods", "n300", "n100", "n50",
    "nmiss", "ngeki", "nkatu", "grade", "status", "mode", "play_time", "time_elapsed",
    "client_flags", "userid", "perfect", "online_checksum",
)

# the columns of a player's score listing (its map comes from maps_by_md5)
_PLAYER_SCORE_COLUMNS = (
    "id", "map_md5", "score", "pp", "acc", "max_combo", "mods", "n300", "n100", "n50", "nmiss",
    "ngeki", "nkatu", "grade", "status", "mode", "play_time", "time_elapsed", "perfect",
)

# the columns of a map's score listing, beside its player
_MAP_SCORE_COLUMNS = (
    "id", "map_md5", "score", "pp", "acc", "max_combo", "mods", "n300", "n100", "n50", "nmiss",
    "ngeki", "nkatu", "grade", "status", "mode", "play_time", "time_elapsed", "userid",
    "perfect",
)

RANKED_STATUSES = (int(MapStatus.RANKED), int(MapStatus.APPROVED))


@dataclass(frozen=True)
class ModsFilter:
    """How a score's mods must relate to `mods`: "all" of them present
    (mods & M = M), "any" of them (mods & M != 0), or "equal" (exactly M)."""

    mods: int
    match: str = "all"

    def sql(self, column: str) -> str:
        if self.match == "all":
            return f"({column} & :mods) = :mods"
        if self.match == "any":
            return f"({column} & :mods) != 0"
        return f"{column} = :mods"


@functools.cache  # made once: the same few lists in every request
def _columns(table: str, columns: tuple[str, ...]) -> str:
    return ", ".join(f"{table}.{c}" for c in columns)


async def player_scores(
    db: Database,
    *,
    user_id: int,
    mode: int,
    scope: str,
    mods: ModsFilter | None,
    limit: int,
    include_loved: bool,
    include_failed: bool,
    played_after: str | None = None,
    unrestricted_only: bool = False,
) -> list[dict[str, Any]]:
    """best: the player's best scores on ranked and approved (and loved) maps
    by pp; recent: all their scores, newest first. Each row's map is under
    "map" (a row of maps_by_md5: shared, read only), from the in-process
    snapshots rather than joined columns: a score listing's map columns
    were half of its Python time. Scores on maps the server does not know
    are left out; with unrestricted_only, so is everything of a restricted
    or unknown player (their check in the same query)."""
    values: dict[str, Any] = {"user_id": user_id, "mode": mode, "limit": limit, "offset": 0}
    conditions = ["s.userid = :user_id", "s.mode = :mode"]
    player_join = ""
    if unrestricted_only:
        player_join = " JOIN users u ON u.id = s.userid"
        conditions.append(f"(u.priv & {UNRESTRICTED}) = {UNRESTRICTED}")
    if mods is not None:
        values["mods"] = mods.mods
        conditions.append(mods.sql("s.mods"))
    if played_after is not None:
        values["played_after"] = played_after
        conditions.append("s.play_time > :played_after")
    if scope == "best":
        statuses = RANKED_STATUSES + ((int(MapStatus.LOVED),) if include_loved else ())
        conditions.append(f"s.status = {int(ScoreStatus.BEST)}")
        conditions.append(f"m.status {in_list('map_status', statuses, values)}")
        order, index = "s.pp DESC, s.id DESC", "api_scores_user_best_index"
        # the map's status filters, so it is joined: from the (md5, status) index alone (0007)
        map_join = f" JOIN maps m{force_index(db, 'api_maps_md5_status_index')} ON m.md5 = s.map_md5"
    else:
        if not include_failed:
            conditions.append(f"s.status != {int(ScoreStatus.FAILED)}")
        order, index = "s.play_time DESC, s.id DESC", "api_scores_user_recent_index"
        # not joined: with_maps leaves out a score on a map the server does
        # not know, and the next page makes up for it. The join had been a
        # third of MariaDB's work for the listing, for a case that is rare
        map_join = ""
    query = (
        f"SELECT {_columns('s', _PLAYER_SCORE_COLUMNS)}"
        f" FROM scores s{force_index(db, index)}{map_join}{player_join}"
        f" WHERE {' AND '.join(conditions)} ORDER BY {order} LIMIT :limit OFFSET :offset"
    )
    shown = await with_maps(db, page := await db.fetch_all(query, values))
    while len(shown) < limit and len(page) == limit:
        values["offset"] += limit
        page = await db.fetch_all(query, values)
        # a play made since the last page moves it along: no score twice
        listed = {row["id"] for row in shown}
        shown += await with_maps(db, [row for row in page if row["id"] not in listed])
    return shown[:limit]


async def with_maps(db: Database, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Put each score row's map (by its map_md5) under "map": a row of
    maps_by_md5, shared and read only. A score whose map went missing
    since it was read is left out, as a join would have."""
    if not rows:
        return rows
    known = await maps_by_md5(db, (row["map_md5"] for row in rows))
    for row in rows:
        row["map"] = known.get(row["map_md5"].lower())
    return [row for row in rows if row["map"] is not None]


async def map_scores(
    db: Database, *, map_md5: str, mode: int, scope: str, mods: ModsFilter | None, limit: int
) -> list[dict[str, Any]]:
    """The map's best scores (status 2) of unrestricted players, each with
    its player's name, country and clan_id (clans.with_clans names the
    clans, for an API that shows them); best orders them by pp in relax and
    autopilot modes and by score otherwise, recent by play time, newest
    first (as bancho.py does, recent lists bests too)."""
    values: dict[str, Any] = {"map_md5": map_md5, "mode": mode, "limit": limit}
    conditions = [
        "s.map_md5 = :map_md5",
        "s.mode = :mode",
        f"s.status = {int(ScoreStatus.BEST)}",
        f"(u.priv & {UNRESTRICTED}) = {UNRESTRICTED}",
    ]
    if mods is not None:
        values["mods"] = mods.mods
        conditions.append(mods.sql("s.mods"))
    if scope == "best":
        by = "pp" if mode >= GameMode.RX_STD else "score"
        order, index = f"s.{by} DESC, s.play_time ASC, s.id ASC", f"api_scores_map_{by}_index"
    else:
        order, index = "s.play_time DESC, s.id DESC", "api_scores_map_recent_index"
    return await db.fetch_all(
        f"SELECT {_columns('s', _MAP_SCORE_COLUMNS)}, u.name AS player_name,"
        " u.country AS player_country, u.clan_id"
        f" FROM scores s{force_index(db, index)} JOIN users u ON u.id = s.userid"
        f" WHERE {' AND '.join(conditions)} ORDER BY {order} LIMIT :limit",
        values,
    )


async def score_by_id(db: Database, score_id: int) -> dict[str, Any] | None:
    return await db.fetch_one(
        f"SELECT {_columns('s', SCORE_COLUMNS)} FROM scores s WHERE s.id = :id", {"id": score_id}
    )


async def most_played(db: Database, *, user_id: int, mode: int, limit: int) -> list[dict[str, Any]]:
    """The maps the player has most scores on in the mode, most first. The
    plays are counted from the index alone; only the maps placed within the
    limit by their count (ties at the edge included, for the order by map
    id) are then joined to their maps. Joined before that cut, a heavy
    player's thousands of maps were each looked up, or MariaDB scanned
    every map and probed the counts for each."""
    return await db.fetch_all(
        "SELECT m.md5, m.id, m.set_id, m.status, m.artist, m.title, m.version, m.creator, p.plays"
        " FROM (SELECT map_md5, plays FROM (SELECT s.map_md5, COUNT(*) AS plays,"
        " RANK() OVER (ORDER BY COUNT(*) DESC) AS place"
        f" FROM scores s{force_index(db, 'api_scores_user_map_index')}"
        " WHERE s.userid = :user_id AND s.mode = :mode GROUP BY s.map_md5) counted"
        " WHERE place <= :limit) p"
        f" {in_order_join(db)} maps m ON m.md5 = p.map_md5 ORDER BY p.plays DESC, m.id ASC LIMIT :limit",
        {"user_id": user_id, "mode": mode, "limit": limit},
    )


async def player_map_scores(
    db: Database, *, user_id: int, map_md5: str, mode: int, mods: ModsFilter | None
) -> list[dict[str, Any]]:
    """A player's passed scores on one map in one mode, highest first."""
    values: dict[str, Any] = {"user_id": user_id, "map_md5": map_md5, "mode": mode}
    conditions = ["s.userid = :user_id", "s.map_md5 = :map_md5", "s.mode = :mode",
                  f"s.status != {int(ScoreStatus.FAILED)}"]
    if mods is not None:
        values["mods"] = mods.mods
        conditions.append(mods.sql("s.mods"))
    return await db.fetch_all(
        f"SELECT {_columns('s', SCORE_COLUMNS)}, u.name AS player_name"
        " FROM scores s JOIN users u ON u.id = s.userid"
        f" WHERE {' AND '.join(conditions)} ORDER BY s.score DESC, s.id ASC",
        values,
    )


async def score_with_player(db: Database, score_id: int) -> dict[str, Any] | None:
    """One score with its player's name and privileges."""
    return await db.fetch_one(
        f"SELECT {_columns('s', SCORE_COLUMNS)}, u.name AS player_name, u.priv AS player_priv"
        " FROM scores s JOIN users u ON u.id = s.userid WHERE s.id = :id",
        {"id": score_id},
    )


async def replay_score(db: Database, score_id: int) -> dict[str, Any] | None:
    """One score with what its .osr header and file name need: the player's
    name (player_name) and the map's md5, artist, title and version (map_*).
    Like bancho.py, a score whose player or map is unknown is not found."""
    columns = tuple(c for c in SCORE_COLUMNS if c != "map_md5")
    return await db.fetch_one(
        f"SELECT {_columns('s', columns)}, u.name AS player_name, m.md5 AS map_md5,"
        " m.artist AS map_artist, m.title AS map_title, m.version AS map_version"
        " FROM scores s JOIN users u ON u.id = s.userid JOIN maps m ON m.md5 = s.map_md5"
        " WHERE s.id = :id",
        {"id": score_id},
    )


async def hit_totals(db: Database, *, user_id: int, mode: int) -> dict[str, Any] | None:
    """A player's 300s, 100s and 50s summed over their scores in a mode on
    maps with leaderboards, as v1 and osu!track count them (bancho.py keeps
    no such totals)."""
    values: dict[str, Any] = {"user_id": user_id, "mode": mode}
    statuses = in_list("status", (int(s) for s in HIT_COUNT_STATUSES), values)
    # the map's status by a lookup per score rather than a join: joined,
    # MariaDB reads every map first and looks each up in the player's scores;
    # looked up in the (md5, status) index alone (0007), a quarter cheaper
    return await db.fetch_one(
        "SELECT SUM(s.n300) AS n300, SUM(s.n100) AS n100, SUM(s.n50) AS n50"
        f" FROM scores s{force_index(db, 'api_scores_user_map_index')}"
        " WHERE s.userid = :user_id AND s.mode = :mode"
        f" AND (SELECT m.status FROM maps m{force_index(db, 'api_maps_md5_status_index')}"
        f" WHERE m.md5 = s.map_md5) {statuses}",
        values,
    )
