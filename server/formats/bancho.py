"""Response shapes of the bancho.py-style JSON API. Each function turns rows
from the query layer into one documented object, keys in bancho.py's order."""

from __future__ import annotations

from typing import Any, Iterable

from ..constants import ClanPrivileges, mods_acronyms
from ..queries.maps import MAP_COLUMNS
from ..queries.players import INFO_COLUMNS, STATS_COLUMNS
from ..schemas import INT, NSTR, NUM, STR, obj
from .common import iso_datetime, json_datetime, picked, unprefixed


def beatmap(row: dict[str, Any]) -> dict[str, Any]:
    """A map from a row of its columns (MAP_COLUMNS)."""
    out = picked(row, MAP_COLUMNS)
    out["last_update"] = json_datetime(out["last_update"])
    return out


def player_info(row: dict[str, Any]) -> dict[str, Any]:
    return {column: row[column] for column in INFO_COLUMNS}


def player_stats(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Stats keyed by mode as a string ("0", "4", ...)."""
    out = {}
    for row in rows:
        stats = picked(row, STATS_COLUMNS, ("global_rank", "country_rank"))
        stats["rank"] = row["global_rank"]
        stats["country_rank"] = row["country_rank"]
        out[str(row["mode"])] = stats
    return out


def clan_brief(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"id": row["id"], "name": row["name"], "tag": row["tag"]}


_PLAYER_SCORE_KEYS = (
    "id", "score", "pp", "acc", "max_combo", "mods", "n300", "n100", "n50", "nmiss",
    "ngeki", "nkatu", "grade", "status", "mode", "play_time", "time_elapsed", "perfect",
)


def player_score(row: dict[str, Any], shown_map: dict[str, Any]) -> dict[str, Any]:
    """A score of a player's listing, with its map as beatmap() shows it."""
    out = picked(row, _PLAYER_SCORE_KEYS, ("map_md5", "map"))
    out["play_time"] = json_datetime(out["play_time"])
    out["beatmap"] = shown_map
    return out


_MAP_SCORE_KEYS = (
    "map_md5", "score", "pp", "acc", "max_combo", "mods", "n300", "n100", "n50", "nmiss",
    "ngeki", "nkatu", "grade", "status", "mode", "play_time", "time_elapsed", "userid",
    "perfect", "player_name", "player_country", "clan_id", "clan_name", "clan_tag",
)


def map_score(row: dict[str, Any]) -> dict[str, Any]:
    out = picked(row, _MAP_SCORE_KEYS, ("id",))
    out["play_time"] = json_datetime(out["play_time"])
    return out


def score(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["play_time"] = json_datetime(out["play_time"])
    return out


_MOST_PLAYED_KEYS = ("md5", "id", "set_id", "status", "artist", "title", "version", "creator", "plays")


def most_played(row: dict[str, Any]) -> dict[str, Any]:
    return picked(row, _MOST_PLAYED_KEYS)


_LEADERBOARD_KEYS = (
    "player_id", "name", "country", "tscore", "rscore", "pp", "plays", "playtime", "acc",
    "max_combo", "xh_count", "x_count", "sh_count", "s_count", "a_count", "clan_id",
    "clan_name", "clan_tag",
)


def leaderboard_row(row: dict[str, Any]) -> dict[str, Any]:
    return picked(row, _LEADERBOARD_KEYS)


def clan_rank_name(clan_priv: int) -> str:
    try:
        return ClanPrivileges(clan_priv).name.title()
    except ValueError:
        return "Member"


def clan(row: dict[str, Any], members: list[dict[str, Any]]) -> dict[str, Any]:
    def member(m: dict[str, Any]) -> dict[str, Any]:
        return {"id": m["id"], "name": m["name"], "country": m["country"], "rank": clan_rank_name(m["clan_priv"])}

    owner = next((m for m in members if m["id"] == row["owner"]), None)
    return {
        "id": row["id"],
        "name": row["name"],
        "tag": row["tag"],
        "members": [member(m) for m in members],
        "owner": None if owner is None else {**member(owner), "rank": "Owner"},
    }


def mappool(pool: dict[str, Any], slots: list[dict[str, Any]]) -> dict[str, Any]:
    """A pool keyed by pick name: the slot's mods as acronyms and its number
    ('NM1', 'HD2'), the form bancho.py's in-game pool commands use."""
    clan = None
    if pool["clan_id"] is not None:
        clan = {"id": pool["clan_id"], "name": pool["clan_name"], "tag": pool["clan_tag"], "members": pool["clan_members"]}
    return {
        "id": pool["id"],
        "name": pool["name"],
        "created_at": iso_datetime(pool["created_at"]),
        "created_by": {
            "id": pool["created_by"],
            "name": pool["creator_name"],
            "country": pool["creator_country"],
            "clan": clan,
            "online": bool(pool["creator_online"]),
        },
        "maps": {
            f"{mods_acronyms(slot['pool_mods'])}{slot['pool_slot']}": _pool_map(unprefixed(slot, "map_"))
            for slot in slots
        },
    }


def _pool_map(row: dict[str, Any]) -> dict[str, Any]:
    # bancho.py lists a pool's maps with id ahead of md5
    out = beatmap(row)
    return {"id": out.pop("id"), **out}


# --- live state --------------------------------------------------------------


def player_status_online(session: dict[str, Any]) -> dict[str, Any]:
    """A player with a live session: what they are doing, with the map as
    get_map_info shows it (null when the map is not known here)."""
    beatmap_row = unprefixed(session, "beatmap_")
    return {
        "online": True,
        "login_time": float(session["login_time"]),
        "status": {
            "action": session["action"],
            "info_text": session["info_text"],
            "mode": session["mode"],
            "mods": session["mods"],
            "beatmap": beatmap(beatmap_row) if beatmap_row["id"] is not None else None,
        },
    }


def match(row: dict[str, Any], refs: list[dict[str, Any]], slots: list[dict[str, Any]]) -> dict[str, Any]:
    """A live match; active_slots holds the occupied slots keyed by their
    index as a string."""
    return {
        "name": row["name"],
        "mode": row["mode"],
        "mods": row["mods"],
        "seed": row["seed"],
        "host": {"id": row["host_id"], "name": row["host_name"]},
        "refs": [{"id": ref["user_id"], "name": ref["name"]} for ref in refs],
        "in_progress": bool(row["in_progress"]),
        "is_scrimming": bool(row["is_scrimming"]),
        "map": {"id": row["map_id"], "md5": row["map_md5"], "name": row["map_name"]},
        "active_slots": {
            str(slot["slot"]): {
                "loaded": bool(slot["loaded"]),
                "mods": slot["mods"],
                "player": {"id": slot["user_id"], "name": slot["name"]},
                "skipped": bool(slot["skipped"]),
                "status": slot["status"],
                "team": slot["team"],
            }
            for slot in slots
        },
    }


# --- the shapes above, as JSON Schema (for the endpoints' declarations)

BEATMAP_SCHEMA = obj({
    "id": INT, "md5": STR, "set_id": INT, "artist": STR, "title": STR, "version": STR, "creator": STR,
    "last_update": STR, "total_length": INT, "max_combo": INT, "status": INT, "plays": INT, "passes": INT,
    "mode": INT, "bpm": NUM, "cs": NUM, "od": NUM, "ar": NUM, "hp": NUM, "diff": NUM,
})
SCORE_SCHEMA = obj({
    "id": INT, "score": INT, "pp": NUM, "acc": NUM, "max_combo": INT, "mods": INT, "n300": INT, "n100": INT,
    "n50": INT, "nmiss": INT, "ngeki": INT, "nkatu": INT, "grade": STR, "status": INT, "mode": INT,
    "play_time": STR, "time_elapsed": INT,
})
PLAYER_INFO_SCHEMA = obj({
    "id": INT, "name": STR, "safe_name": STR, "priv": INT, "country": STR, "silence_end": INT, "donor_end": INT,
    "creation_time": INT, "latest_activity": INT, "clan_id": INT, "clan_priv": INT, "preferred_mode": INT,
    "play_style": INT, "custom_badge_name": NSTR, "custom_badge_icon": NSTR, "userpage_content": NSTR,
})
PLAYER_STATS_SCHEMA = obj({
    "id": INT, "mode": INT, "tscore": INT, "rscore": INT, "pp": NUM, "plays": INT, "playtime": INT, "acc": NUM,
    "max_combo": INT, "total_hits": INT, "replay_views": INT, "xh_count": INT, "x_count": INT, "sh_count": INT,
    "s_count": INT, "a_count": INT, "rank": INT, "country_rank": INT,
})
CLAN_MEMBER_SCHEMA = obj({"id": INT, "name": STR, "country": STR, "rank": STR})
