"""Response shapes of the legacy osu!api v1. Every scalar is a JSON string
(integers without a decimal point, booleans "1"/"0", dates
"YYYY-MM-DD HH:MM:SS" in UTC); null only where the official API sends null.
Keys come in the order the live API sends them."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from ..constants import PP_STATUSES, V1_APPROVED, V1_DATED_STATUSES, MapStatus, level_from_score


def integer(value: Any) -> str | None:
    if type(value) is int:  # as the drivers hand most columns back: the common case first
        return str(value)
    return None if value is None else str(int(value))


def number(value: Any) -> str | None:
    """A float as the live API prints single-precision columns: at most six
    significant digits, no trailing zeros or point, never an exponent."""
    if value is None:
        return None
    value = float(value)
    text = f"{value:.6g}"
    if "e" in text:
        text = f"{value:.6f}" if abs(value) < 1 else f"{round(value):d}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def flag(value: Any) -> str:
    return "1" if value else "0"


def date(value: Any) -> str | None:
    """A DATETIME column (datetime from MySQL, text from SQLite)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        # isoformat: a fifth of strftime's cost, in a listing's every row
        return (value.replace(microsecond=0) if value.microsecond else value).isoformat(" ")
    return str(value).replace("T", " ")[:19]


def unix_date(seconds: int) -> str:
    # time.gmtime: a third of datetime's cost, the same text
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds))


def beatmap(row: dict[str, Any], mode: int | None = None) -> dict[str, Any]:
    """A map row (with creator_id, favourite_count, rating) as v1 shows it;
    `mode` overrides the map's own for converts."""
    status = MapStatus(row["status"])
    updated = date(row["last_update"])
    return {
        "beatmapset_id": integer(row["set_id"]),
        "beatmap_id": integer(row["id"]),
        "approved": integer(V1_APPROVED[status]),
        "total_length": integer(row["total_length"]),
        # bancho.py keeps no drain time; the full length stands in for it
        "hit_length": integer(row["total_length"]),
        "version": row["version"],
        "file_md5": row["md5"],
        "diff_size": number(row["cs"]),
        "diff_overall": number(row["od"]),
        "diff_approach": number(row["ar"]),
        "diff_drain": number(row["hp"]),
        "mode": integer(row["mode"] if mode is None else mode),
        "count_normal": "0",
        "count_slider": "0",
        "count_spinner": "0",
        # no submission or ranking dates are stored: the last update stands in
        "submit_date": updated,
        "approved_date": updated if status in V1_DATED_STATUSES else None,
        "last_update": updated,
        "artist": row["artist"],
        "artist_unicode": row["artist"],
        "title": row["title"],
        "title_unicode": row["title"],
        "creator": row["creator"],
        "creator_id": integer(row["creator_id"] or 0),
        "bpm": number(row["bpm"]),
        "source": "",
        "tags": "",
        "genre_id": "0",
        "language_id": "0",
        "favourite_count": integer(row["favourite_count"] or 0),
        "rating": number(row["rating"] or 0),
        "storyboard": "0",
        "video": "0",
        "download_unavailable": "0",
        "audio_unavailable": "0",
        "playcount": integer(row["plays"]),
        "passcount": integer(row["passes"]),
        "packs": None,
        "max_combo": integer(row["max_combo"]),
        "diff_aim": None,
        "diff_speed": None,
        "difficultyrating": number(row["diff"]),
    }


def user(player: dict[str, Any], stats: dict[str, Any] | None, hits: dict[str, Any] | None) -> dict[str, Any]:
    """A player with their stats in one mode; the stats fields are null when
    the player has no stats row in that mode."""
    def stat(value: Any, convert=integer) -> str | None:
        return None if stats is None else convert(value)

    s = stats or {}
    h = hits or {}
    return {
        "user_id": integer(player["id"]),
        "username": player["name"],
        "join_date": unix_date(player["creation_time"]),
        "count300": stat(h.get("n300") or 0),
        "count100": stat(h.get("n100") or 0),
        "count50": stat(h.get("n50") or 0),
        "playcount": stat(s.get("plays")),
        "ranked_score": stat(s.get("rscore")),
        "total_score": stat(s.get("tscore")),
        "pp_rank": stat(s.get("global_rank")),
        "level": stat(level_from_score(int(s.get("tscore") or 0)), number),
        "pp_raw": stat(s.get("pp"), number),
        # the one field the live API prints at full double precision
        "accuracy": stat(s.get("acc"), lambda v: repr(float(v))),
        "count_rank_ss": stat(s.get("x_count")),
        "count_rank_ssh": stat(s.get("xh_count")),
        "count_rank_s": stat(s.get("s_count")),
        "count_rank_sh": stat(s.get("sh_count")),
        "count_rank_a": stat(s.get("a_count")),
        "country": player["country"].upper(),
        "total_seconds_played": stat(s.get("playtime")),
        "pp_country_rank": stat(s.get("country_rank")),
        "events": [],
    }


def _pp(row: dict[str, Any], map_status: int) -> str | None:
    # scores on maps that award no pp (loved, qualified...) show null
    return number(row["pp"]) if map_status in PP_STATUSES else None


def _with_hits(out: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """out, the fields before them already set, with a score's hit fields
    added in v1's order. Written into the caller's dict, each with str():
    these are NOT NULL integer columns in both schemas, and a listing's
    every row comes through here (a dict of their own, merged, and a call a
    field had been a quarter of v1 get_scores' time)."""
    out["maxcombo"] = str(row["max_combo"])
    out["count50"] = str(row["n50"])
    out["count100"] = str(row["n100"])
    out["count300"] = str(row["n300"])
    out["countmiss"] = str(row["nmiss"])
    out["countkatu"] = str(row["nkatu"])
    out["countgeki"] = str(row["ngeki"])
    out["perfect"] = "1" if row["perfect"] else "0"
    out["enabled_mods"] = str(row["mods"])
    return out


def map_score(row: dict[str, Any], map_status: int, replay_available: bool) -> dict[str, Any]:
    """A get_scores row."""
    out = _with_hits({"score_id": str(row["id"]), "score": str(row["score"]), "username": row["player_name"]}, row)
    out["user_id"] = str(row["userid"])
    out["date"] = date(row["play_time"])
    out["rank"] = row["grade"]
    out["pp"] = _pp(row, map_status)
    out["replay_available"] = flag(replay_available)
    return out


def best_score(row: dict[str, Any], user_id: int, replay_available: bool) -> dict[str, Any]:
    """A get_user_best row (a player's score with its map under "map")."""
    out = _with_hits({"beatmap_id": str(row["map"]["id"]), "score_id": str(row["id"]), "score": str(row["score"])}, row)
    out["user_id"] = integer(user_id)
    out["date"] = date(row["play_time"])
    out["rank"] = row["grade"]
    out["pp"] = number(row["pp"])
    out["replay_available"] = flag(replay_available)
    return out


def recent_score(row: dict[str, Any], user_id: int, failed: bool) -> dict[str, Any]:
    """A get_user_recent row: no pp, and no score id for a failed play."""
    out = _with_hits({"beatmap_id": str(row["map"]["id"]), "score": str(row["score"])}, row)
    out["user_id"] = integer(user_id)
    out["date"] = date(row["play_time"])
    out["rank"] = row["grade"]
    out["score_id"] = None if failed else integer(row["id"])
    return out


def open_match(row: dict[str, Any]) -> dict[str, Any]:
    """A live match: open (no end time) and without finished games."""
    return {
        "match": {
            "match_id": integer(row["id"]),
            "name": row["name"],
            "start_time": unix_date(row["created_at"]),
            "end_time": None,
        },
        "games": [],
    }
