"""SQL for players: lookups, stats with ranks, search, the leaderboard."""

from __future__ import annotations

import bisect
import itertools
from array import array
from functools import partial
from typing import Any, Sequence

from ..constants import Privileges, fits_utf8mb3, safe_name
from ..db import Database
from ..snapshots import add_ranks, off_the_loop, ranked_page, snapshots
from . import clans, force_index, in_list

UNRESTRICTED = int(Privileges.UNRESTRICTED)
VERIFIED = int(Privileges.VERIFIED)

INFO_COLUMNS = (
    "id", "name", "safe_name", "priv", "country", "silence_end", "donor_end",
    "creation_time", "latest_activity", "clan_id", "clan_priv", "preferred_mode",
    "play_style", "custom_badge_name", "custom_badge_icon", "userpage_content",
)

STATS_COLUMNS = (
    "id", "mode", "tscore", "rscore", "pp", "plays", "playtime", "acc", "max_combo",
    "total_hits", "replay_views", "xh_count", "x_count", "sh_count", "s_count", "a_count",
)

# What the leaderboard may be sorted by, and the stats column behind each.
LEADERBOARD_SORTS = {
    "tscore": "tscore",
    "rscore": "rscore",
    "pp": "pp",
    "acc": "acc",
    "plays": "plays",
    "playtime": "playtime",
}


_INFO_SELECT = ", ".join(f"u.{c}" for c in INFO_COLUMNS)
_STATS_SELECT = ", ".join(f"s.{c}" for c in STATS_COLUMNS)
# beside a player's columns (the id is theirs)
_JOINED_STATS_SELECT = ", ".join(f"s.{c}" for c in STATS_COLUMNS[1:])
# a stats row with what add_ranks needs of its player
_STATS_WITH_PLAYER = (*STATS_COLUMNS, "priv", "country")
_INFO_SIZE = len(INFO_COLUMNS)


async def player_by_id(db: Database, user_id: int) -> dict[str, Any] | None:
    return await _fetch_player(db, column="id", value=user_id)


async def player_by_name(db: Database, name: str) -> dict[str, Any] | None:
    if not fits_utf8mb3(name):
        return None
    # safe_name is how bancho.py looks names up: case- and space-insensitive
    return await _fetch_player(db, column="safe_name", value=safe_name(name))


async def held_player(db: Database, *, user_id: int | None = None, name: str | None = None) -> dict[str, Any] | None:
    """The player by id (or else name) as player_by_id gives it, from the
    in-process snapshots when fresh, for the read endpoints that look a
    player up before their own query (bancho.py answers those from its
    player cache too), so a player's listing is one statement, not two. A
    restriction or rename by another process shows within the snapshots'
    age, as a map's changes do. A copy: the held row is shared."""
    if user_id is not None:
        key, read = ("player_id", user_id), partial(player_by_id, user_id=user_id)
    elif name is not None:
        key, read = ("player_name", safe_name(name)), partial(player_by_name, name=name)
    else:
        return None
    row = await snapshots(db).get(key, read)
    return None if row is None else dict(row)


async def _fetch_player(db: Database, *, column: str, value: Any) -> dict[str, Any] | None:
    return await db.fetch_one(f"SELECT {_INFO_SELECT} FROM users u WHERE u.{column} = :value", {"value": value})


async def player_stats(db: Database, user_id: int, modes: Sequence[int]) -> list[dict[str, Any]]:
    """The player's stats rows for the given modes, each with rank and
    country_rank, in mode order (player_with_stats' without the player)."""
    if not modes:
        return []
    return (await player_with_stats(db, user_id=user_id, modes=modes))[1]


async def player_with_stats(
    db: Database, *, user_id: int | None = None, name: str | None = None, modes: Sequence[int]
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The player by id (or else name), as player_by_id gives it, with their
    stats rows in the given modes, each with rank and country_rank, in mode
    order: one query where a profile took two round trips."""
    if user_id is not None:
        where, values = "u.id = :key", {"key": user_id}
    elif name is not None and fits_utf8mb3(name):
        where, values = "u.safe_name = :key", {"key": safe_name(name)}
    else:
        return None, []
    # one mode in the join; several filtered here: `mode IN (...)` has
    # MariaDB weigh the list against every (mode, ...) index of stats,
    # which cost more than reading the player's few rows
    joined = "s.id = u.id"
    if len(modes) == 1:
        joined += " AND s.mode = :mode"
        values["mode"] = modes[0]
    # tuples, cut in two: a dict of the joined row and then copies of its
    # halves had been a third of a profile's Python
    rows = await db.fetch_tuples(
        f"SELECT {_INFO_SELECT}, {_JOINED_STATS_SELECT} FROM users u LEFT JOIN stats s ON {joined}"
        f" WHERE {where} ORDER BY s.mode",
        values,
    )
    if not rows:
        return None, []
    player = dict(zip(INFO_COLUMNS, rows[0][:_INFO_SIZE], strict=True))
    wanted = set(modes)
    # the stats row's id is the player's, as are priv and country (for add_ranks)
    head, tail = (player["id"],), (player["priv"], player["country"])
    stats = [dict(zip(_STATS_WITH_PLAYER, head + row[_INFO_SIZE:] + tail, strict=True))
             for row in rows if row[_INFO_SIZE] in wanted]  # its mode: None without stats
    return player, await add_ranks(db, stats)


async def count_players(db: Database) -> int:
    """Every account, as bancho.py counts them (bot and restricted included)."""
    return await db.fetch_val("SELECT COUNT(*) FROM users")


async def search_players(db: Database, text: str) -> list[dict[str, Any]]:
    """Unrestricted, verified players whose name contains the text (letters
    in any case), by id."""
    if not fits_utf8mb3(text):
        return []
    index = await snapshots(db).get("name_index", _name_index)
    if index is not None and text.isascii():
        return index.search(text)
    # '!' escapes LIKE's wildcards the same way in MySQL and SQLite
    escaped = text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    mask = UNRESTRICTED | VERIFIED
    return await db.fetch_all(
        "SELECT id, name FROM users"
        f" WHERE (priv & {mask}) = {mask} AND name LIKE :pattern ESCAPE '!'"
        " ORDER BY id ASC",
        {"pattern": f"%{escaped}%"},
    )


# Past this many searchable players the names stay in the database: the
# index holds about 270 bytes a player (27 MB at this bound), against a
# worker's 150 MB memory target
NAME_INDEX_MAX_PLAYERS = 100_000
# searches an index remembers the answer to, by their total of names (a
# reference each, and about 35 bytes of JSON once encoded: some 11 MB at
# this bound)
NAME_INDEX_REMEMBERED = 250_000


class Answer(list):
    """A search's matching rows as the name index remembers and hands them
    out again; `encoded` keeps their JSON once a response has made it (an
    orjson.Fragment: a short text matches thousands of players, whose
    encoding was half of a search's time)."""

    __slots__ = ("encoded",)

    def __init__(self) -> None:
        super().__init__()
        self.encoded: Any = None


class NameIndex:
    """The searchable players' names, lower-cased and joined by newlines in
    id order: a substring search is str.find over one string, where `LIKE
    '%text%'` reads every name of the table, thousands of times a second
    for a search box. Only built over ASCII names (and only asked ASCII
    text), where lower-casing is exactly how both databases' LIKE compare."""

    __slots__ = ("rows", "starts", "text", "_answers", "_remembered")

    def __init__(self, rows: list[tuple[int, str]]) -> None:
        # {id, name} each, as the search answers them: never changed
        self.rows = [{"id": user_id, "name": name} for user_id, name in rows]
        lowered = [name.lower() for _, name in rows]
        self.starts = array("q", itertools.accumulate((len(name) + 1 for name in lowered), initial=0))
        self.text = "\n".join(lowered) + "\n"
        # the answers found so far: a pure function of this index, so they
        # are as fresh as it is. A short text matches thousands of names,
        # and a search box asks for the same few texts over and over.
        self._answers: dict[str, Answer] = {}
        self._remembered = 0

    def search(self, text: str) -> list[dict[str, Any]]:
        """The matching rows, in id order (the caller must not change the
        list: it may be handed out again)."""
        needle = text.lower()
        found = self._answers.get(needle)
        if found is not None:
            return found
        found, at, i = Answer(), 0, 0
        while (at := self.text.find(needle, at)) != -1:
            # a needle without a newline never spans two names
            i = bisect.bisect_right(self.starts, at, i) - 1
            found.append(self.rows[i])
            i += 1
            at = self.starts[i]  # on to the next name: each player once
        if self._remembered + len(found) > NAME_INDEX_REMEMBERED:
            self._answers.clear()
            self._remembered = 0
        self._answers[needle] = found
        self._remembered += len(found)
        return found


async def _name_index(db: Database) -> NameIndex | None:
    mask = UNRESTRICTED | VERIFIED
    if await db.fetch_val(f"SELECT COUNT(*) FROM users WHERE (priv & {mask}) = {mask}") > NAME_INDEX_MAX_PLAYERS:
        return None
    rows = await db.fetch_tuples(f"SELECT id, name FROM users WHERE (priv & {mask}) = {mask} ORDER BY id")
    return await off_the_loop(_ascii_name_index, rows)


def _ascii_name_index(rows: list[tuple[int, str]]) -> NameIndex | None:
    if not all(name.isascii() and "\n" not in name for _, name in rows):
        return None
    return NameIndex(rows)


async def leaderboard(
    db: Database, *, mode: int, sort: str, limit: int, offset: int, country: str | None
) -> list[dict[str, Any]]:
    column = LEADERBOARD_SORTS[sort]
    values: dict[str, Any] = {"mode": mode}
    if column == "pp":
        # the page's ids from the rank snapshot (pp order as of it), then
        # their rows by primary key: MariaDB would otherwise walk the index
        # past every player before the offset, or sort a whole country.
        # Forced: left to choose, it weighed every index of stats against
        # the ids, for twice the work of the lookups themselves
        ids = await ranked_page(db, mode=mode, country=country, offset=offset, limit=limit)
        if not ids:
            return []
        where = f"s.pp > 0 AND s.id {in_list('id', ids, values)}"
        index, order = force_index(db, "PRIMARY"), ""
    else:
        # the whole mode: down the sort column's index (0006), which MariaDB
        # would otherwise leave for a scan of users; one country: its players
        # by users' country index, which the optimiser finds itself
        where = f"s.{column} > 0" + (" AND u.country = :country" if country else "")
        values.update(limit=limit, offset=offset)
        if country:
            values["country"] = country
        index = "" if country else force_index(db, f"api_stats_mode_{column}_index")
        order = f" ORDER BY s.{column} DESC, s.id ASC LIMIT :limit OFFSET :offset"
    rows = await db.fetch_all(
        "SELECT u.id AS player_id, u.name, u.country, s.tscore, s.rscore, s.pp, s.plays,"
        " s.playtime, s.acc, s.max_combo, s.xh_count, s.x_count, s.sh_count, s.s_count,"
        " s.a_count, u.clan_id"
        f" FROM stats s{index} JOIN users u ON u.id = s.id"
        f" WHERE s.mode = :mode AND (u.priv & {UNRESTRICTED}) = {UNRESTRICTED} AND {where}{order}",
        values,
    )
    if column == "pp":
        # in the snapshot's order (whoever was restricted or lost their pp
        # since is left out by the WHERE)
        position = {user_id: i for i, user_id in enumerate(ids)}
        rows.sort(key=lambda row: position[row["player_id"]])
    return await clans.with_clans(db, rows)


async def player_by_api_key(db: Database, api_key: str) -> dict[str, Any] | None:
    return await db.fetch_one(f"SELECT {_INFO_SELECT} FROM users u WHERE u.api_key = :key", {"key": api_key})


async def players_stats(db: Database, user_ids: Sequence[int], mode: int) -> list[dict[str, Any]]:
    """Several players' stats rows in one mode, each with global_rank and
    country_rank (one query for a listing)."""
    if not user_ids:
        return []
    values: dict[str, Any] = {"mode": mode}
    rows = await db.fetch_all(
        f"SELECT {_STATS_SELECT}, u.priv, u.country FROM stats s JOIN users u ON u.id = s.id"
        f" WHERE s.mode = :mode AND s.id {in_list('id', user_ids, values)}",
        values,
    )
    return await add_ranks(db, rows)
