"""SQL the osu!api v2 layer needs beyond players.py, scores.py and maps.py:
listings by many ids at once (one query per listing, never one per row),
the counts on a user's profile, first places, leaderboard positions and the
country ranking."""

from __future__ import annotations

from typing import Any, Sequence

from ..constants import HIT_COUNT_STATUSES, GameMode, ScoreStatus, fits_utf8mb3
from ..db import Database
from . import in_list
from .maps import map_select, with_extras
from .players import INFO_COLUMNS, UNRESTRICTED
from .scores import SCORE_COLUMNS, with_maps

_INFO_SELECT = ", ".join(f"u.{c}" for c in INFO_COLUMNS)


async def players_by_ids(db: Database, user_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Unrestricted players with these ids (unknown ones skipped), by id,
    each with their clan (clan_name, clan_tag; null without one)."""
    if not user_ids:
        return []
    values: dict[str, Any] = {}
    return await db.fetch_all(
        f"SELECT {_INFO_SELECT}, c.name AS clan_name, c.tag AS clan_tag"
        " FROM users u LEFT JOIN clans c ON c.id = u.clan_id"
        f" WHERE u.id {in_list('id', list(user_ids), values)}"
        f" AND (u.priv & {UNRESTRICTED}) = {UNRESTRICTED} ORDER BY u.id",
        values,
    )


async def hit_counts(db: Database, user_ids: Sequence[int], mode: int) -> dict[int, dict[str, Any]]:
    """Each player's 300s, 100s, 50s and misses summed over all their scores
    in the mode, by user id."""
    if not user_ids:
        return {}
    values: dict[str, Any] = {"mode": mode}
    rows = await db.fetch_all(
        "SELECT s.userid, SUM(s.n300) AS n300, SUM(s.n100) AS n100, SUM(s.n50) AS n50,"
        " SUM(s.nmiss) AS nmiss FROM scores s"
        f" WHERE s.mode = :mode AND s.userid {in_list('id', list(user_ids), values)} GROUP BY s.userid",
        values,
    )
    return {row["userid"]: row for row in rows}


def _first_condition(alias: str) -> str:
    """The score under `alias` is the #1 of its map and mode: no other
    unrestricted player's best beats it (by score, ties to the earlier play,
    then the lower id: the order of scores.map_scores)."""
    return (
        "NOT EXISTS (SELECT 1 FROM scores o JOIN users ou ON ou.id = o.userid"
        f" WHERE o.map_md5 = {alias}.map_md5 AND o.mode = {alias}.mode"
        f" AND o.status = {int(ScoreStatus.BEST)} AND (ou.priv & {UNRESTRICTED}) = {UNRESTRICTED}"
        f" AND (o.score > {alias}.score OR (o.score = {alias}.score AND (o.play_time < {alias}.play_time"
        f" OR (o.play_time = {alias}.play_time AND o.id < {alias}.id)))))"
    )


async def profile_counts(db: Database, user_id: int, mode: int, recent_after: str) -> dict[str, Any]:
    """The counts on a user's profile: maps played, favourites, followers,
    best scores (at most 100, like the list), first places and recent plays."""
    values = {"id": user_id, "mode": mode, "recent_after": recent_after}
    leaderboard = in_list("status", tuple(int(x) for x in HIT_COUNT_STATUSES), values)
    row = await db.fetch_one(
        "SELECT"
        " (SELECT COUNT(DISTINCT s.map_md5) FROM scores s WHERE s.userid = :id) AS beatmap_playcounts_count,"
        " (SELECT COUNT(*) FROM favourites f WHERE f.userid = :id) AS favourite_beatmapset_count,"
        " (SELECT COUNT(*) FROM relationships r WHERE r.user2 = :id AND r.type = 'friend') AS follower_count,"
        " (SELECT COUNT(*) FROM scores s JOIN maps m ON m.md5 = s.map_md5 WHERE s.userid = :id"
        f"  AND s.mode = :mode AND s.status = {int(ScoreStatus.BEST)} AND m.status {leaderboard}) AS scores_best_count,"
        " (SELECT COUNT(*) FROM scores s JOIN maps m ON m.md5 = s.map_md5 WHERE s.userid = :id"
        f"  AND s.mode = :mode AND s.status = {int(ScoreStatus.BEST)} AND m.status {leaderboard}"
        f"  AND {_first_condition('s')}) AS scores_first_count,"
        " (SELECT COUNT(*) FROM scores s WHERE s.userid = :id AND s.mode = :mode"
        "  AND s.play_time > :recent_after) AS scores_recent_count",
        values,
    )
    return dict(row or {})


async def monthly_playcounts(db: Database, user_id: int) -> list[dict[str, Any]]:
    """The player's plays per month ('YYYY-MM', count), oldest first."""
    return await db.fetch_all(
        "SELECT SUBSTR(s.play_time, 1, 7) AS month, COUNT(*) AS count FROM scores s"
        " WHERE s.userid = :id GROUP BY SUBSTR(s.play_time, 1, 7) ORDER BY month",
        {"id": user_id},
    )


async def first_places(db: Database, *, user_id: int, mode: int, limit: int) -> list[dict[str, Any]]:
    """The player's #1 scores on ranked, approved and loved maps, newest
    first, each with its map under "map" (scores.with_maps)."""
    values: dict[str, Any] = {"id": user_id, "mode": mode, "limit": limit}
    columns = ", ".join(f"s.{c}" for c in SCORE_COLUMNS)
    rows = await db.fetch_all(
        f"SELECT {columns} FROM scores s JOIN maps m ON m.md5 = s.map_md5"
        f" WHERE s.userid = :id AND s.mode = :mode AND s.status = {int(ScoreStatus.BEST)}"
        f" AND m.status {in_list('status', tuple(int(x) for x in HIT_COUNT_STATUSES), values)} AND {_first_condition('s')}"
        " ORDER BY s.play_time DESC, s.id DESC LIMIT :limit",
        values,
    )
    return await with_maps(db, rows)


async def leaderboard_position(db: Database, score: dict[str, Any]) -> int | None:
    """A best score's 1-based place on its map's leaderboard, ordered as
    scores.map_scores orders it; None for a score that is not a best."""
    if score["status"] != ScoreStatus.BEST:
        return None
    by = "pp" if score["mode"] >= GameMode.RX_STD else "score"
    above = await db.fetch_val(
        "SELECT COUNT(*) FROM scores o JOIN users ou ON ou.id = o.userid"
        f" WHERE o.map_md5 = :md5 AND o.mode = :mode AND o.status = {int(ScoreStatus.BEST)}"
        f" AND (ou.priv & {UNRESTRICTED}) = {UNRESTRICTED}"
        f" AND (o.{by} > :value OR (o.{by} = :value AND (o.play_time < :play_time"
        " OR (o.play_time = :play_time AND o.id < :id))))",
        {"md5": score["map_md5"], "mode": score["mode"], "value": score[by],
         "play_time": score["play_time"], "id": score["id"]},
    )
    return 1 + int(above)


async def count_map_scores(db: Database, map_md5: str, mode: int) -> int:
    """How many unrestricted players have a best score on the map."""
    return int(await db.fetch_val(
        "SELECT COUNT(*) FROM scores s JOIN users u ON u.id = s.userid"
        f" WHERE s.map_md5 = :md5 AND s.mode = :mode AND s.status = {int(ScoreStatus.BEST)}"
        f" AND (u.priv & {UNRESTRICTED}) = {UNRESTRICTED}",
        {"md5": map_md5, "mode": mode},
    ))


async def maps_of_sets(db: Database, set_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Every map of these sets, by set and map id, with what maps.with_extras
    sets beside them (as v1 get_beatmaps shows them)."""
    if not set_ids:
        return []
    values: dict[str, Any] = {}
    rows = await db.fetch_all(
        f"SELECT {map_select()} FROM maps m WHERE m.set_id {in_list('set', list(set_ids), values)}"
        " ORDER BY m.set_id, m.id",
        values,
    )
    return await with_extras(db, rows)


async def map_ids_where(db: Database, *, ids: Sequence[int] = (), md5: str | None = None,
                        filename: str | None = None) -> list[dict[str, Any]]:
    """(id, set_id) of the maps with these ids, or this md5, or this file name."""
    if not all(fits_utf8mb3(text) for text in (md5, filename) if text is not None):
        return []
    values: dict[str, Any] = {}
    if md5 is not None:
        where, values["md5"] = "m.md5 = :md5", md5
    elif filename is not None:
        where, values["filename"] = "m.filename = :filename", filename
    elif ids:
        where = f"m.id {in_list('id', list(ids), values)}"
    else:
        return []
    return await db.fetch_all(f"SELECT m.id, m.set_id FROM maps m WHERE {where} ORDER BY m.id", values)


async def rating_counts(db: Database, set_ids: Sequence[int]) -> dict[int, dict[int, int]]:
    """How many ratings of each value (0-10) each set's maps have."""
    if not set_ids:
        return {}
    values: dict[str, Any] = {}
    rows = await db.fetch_all(
        "SELECT m.set_id, r.rating, COUNT(*) AS n FROM ratings r JOIN maps m ON m.md5 = r.map_md5"
        f" WHERE m.set_id {in_list('set', list(set_ids), values)} GROUP BY m.set_id, r.rating",
        values,
    )
    found: dict[int, dict[int, int]] = {}
    for row in rows:
        found.setdefault(row["set_id"], {})[int(row["rating"])] = int(row["n"])
    return found


async def count_ranked_players(db: Database, *, mode: int, column: str, country: str | None) -> int:
    """How many players the leaderboard of players.leaderboard holds."""
    values: dict[str, Any] = {"mode": mode}
    country_filter = ""
    if country:
        country_filter, values["country"] = "AND u.country = :country", country
    return int(await db.fetch_val(
        "SELECT COUNT(*) FROM stats s JOIN users u ON u.id = s.id"
        f" WHERE s.mode = :mode AND (u.priv & {UNRESTRICTED}) = {UNRESTRICTED}"
        f" AND s.{column} > 0 {country_filter}",
        values,
    ))


async def country_ranking(db: Database, *, mode: int, limit: int, offset: int) -> list[dict[str, Any]]:
    """Countries by the summed pp of their unrestricted players with pp."""
    return await db.fetch_all(
        "SELECT u.country AS code, COUNT(*) AS active_users, SUM(s.plays) AS play_count,"
        " SUM(s.rscore) AS ranked_score, SUM(s.pp) AS performance"
        " FROM stats s JOIN users u ON u.id = s.id"
        f" WHERE s.mode = :mode AND (u.priv & {UNRESTRICTED}) = {UNRESTRICTED} AND s.pp > 0"
        " GROUP BY u.country ORDER BY performance DESC, code ASC LIMIT :limit OFFSET :offset",
        {"mode": mode, "limit": limit, "offset": offset},
    )


async def count_countries(db: Database, mode: int) -> int:
    return int(await db.fetch_val(
        "SELECT COUNT(DISTINCT u.country) FROM stats s JOIN users u ON u.id = s.id"
        f" WHERE s.mode = :mode AND (u.priv & {UNRESTRICTED}) = {UNRESTRICTED} AND s.pp > 0",
        {"mode": mode},
    ))
