"""Objects of the osu!api v2 compatibility layer, built from bancho.py rows.

Every key the official API documents is present, typed as osu-web types it:
a value bancho.py does not keep gets a neutral default (false, 0, "", [],
null where osu-web itself may send null), never a missing key. The README
(section "osu!api v2") lists each field's source. Datetimes are ISO 8601 in
UTC with an explicit offset ("2024-01-01T12:00:00+00:00")."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterable

from ..constants import (
    BOT_USER_ID,
    PP_STATUSES,
    V2_GROUPS,
    V2_LEADERBOARD_STATUSES,
    V2_RANKED,
    V2_RULESETS,
    V2_STATUS_NAMES,
    MapStatus,
    Privileges,
    ScoreStatus,
    level_from_score,
    mods_list,
)
from .common import iso_datetime

ASSETS = "https://assets.ppy.sh"
DEFAULT_COVER_URL = f"{ASSETS}/user-profile-covers/default.jpeg"
ACTIVE_SECONDS = 180 * 24 * 3600
RULESET_NAMES = tuple(V2_RULESETS.values())
FAILTIMES = {"exit": [0] * 100, "fail": [0] * 100}
PROFILE_ORDER = ["me", "recent_activity", "top_ranks", "medals", "historical", "beatmaps", "kudosu"]
UNSPECIFIED = {"id": 1, "name": "Unspecified"}
_GROUP_NAMES = {
    "dev": ("osu!dev", "DEV", "#E45678", 11),
    "gmt": ("Global Moderation Team", "GMT", "#EB8C47", 4),
    "bng": ("Beatmap Nominators", "BN", "#A347EB", 28),
    "alumni": ("osu! Alumni", "ALU", "#999999", 16),
    "bot": ("Bot", "BOT", "#000000", 33),
}


RANK_HISTORY_DAYS = 90


def _rank_history(mode: int, ranks: Iterable[dict[str, Any]], now: float) -> dict[str, Any] | None:
    """One global rank a day, oldest first: each day's last recorded rank,
    carried forward over days without a snapshot, from the first day with
    one to today (osu-web gives 90 days; fewer are known here)."""
    by_day: dict[int, int] = {}
    for row in ranks:  # oldest first: a later snapshot of a day wins
        by_day[int(row["created_at"]) // 86_400_000] = int(row["pp_rank"])
    if not by_day:
        return None
    data, rank = [], None
    for day in range(min(by_day), int(now) // 86_400 + 1):
        rank = by_day.get(day, rank)
        data.append(rank)
    return {"mode": ruleset(mode), "data": data[-RANK_HISTORY_DAYS:]}


def _rank_highest(peak: dict[str, Any] | None) -> dict[str, Any] | None:
    if not peak or peak.get("best_global_rank") is None:
        return None
    return {"rank": int(peak["best_global_rank"]), "updated_at": iso_unix(int(peak["best_rank_at"]) // 1000)}


def iso(value: Any) -> str | None:
    """A DATETIME column (stored as UTC) with its zone."""
    text = iso_datetime(value)
    return None if text is None else text + "+00:00"


def iso_unix(seconds: Any) -> str | None:
    if not seconds:
        return None
    return datetime.fromtimestamp(int(seconds), tz=timezone.utc).isoformat()


def ruleset(mode: int) -> str:
    return V2_RULESETS[mode % 4]


# --- users ------------------------------------------------------------------------------


def _default_group(row: dict[str, Any]) -> str:
    if row["id"] == BOT_USER_ID:
        return "bot"
    for privilege, name in V2_GROUPS:
        if row["priv"] & privilege:
            return name
    return "default"


def _is_supporter(row: dict[str, Any], now: float) -> bool:
    return bool(row["priv"] & Privileges.SUPPORTER) or (row["donor_end"] or 0) > now


def user(row: dict[str, Any], base_url: str, now: float) -> dict[str, Any]:
    """User (formerly UserCompact) from a users row."""
    return {
        "avatar_url": f"{base_url}avatars/{row['id']}",
        "country_code": row["country"].upper(),
        "default_group": _default_group(row),
        "id": row["id"],
        "is_active": (row["latest_activity"] or 0) > now - ACTIVE_SECONDS,
        "is_bot": row["id"] == BOT_USER_ID,
        "is_deleted": False,
        "is_online": False,
        "is_supporter": _is_supporter(row, now),
        "last_visit": iso_unix(row["latest_activity"]),
        "pm_friends_only": False,
        "profile_colour": None,
        "username": row["name"],
    }


def country(code: str) -> dict[str, Any]:
    # no name table: the code stands in for the name
    return {"code": code.upper(), "name": code.upper()}


def cover() -> dict[str, Any]:
    return {"custom_url": None, "url": DEFAULT_COVER_URL, "id": None}


def team(row: dict[str, Any]) -> dict[str, Any] | None:
    """The player's clan as a team (clan_name/clan_tag columns), or None."""
    if not row.get("clan_id") or row.get("clan_name") is None:
        return None
    return {"flag_url": None, "id": row["clan_id"], "name": row["clan_name"], "short_name": row["clan_tag"]}


def groups(row: dict[str, Any]) -> list[dict[str, Any]]:
    name = _default_group(row)
    if name == "default":
        return []
    title, short, colour, group_id = _GROUP_NAMES[name]
    return [{
        "colour": colour, "has_listing": True, "has_playmodes": False, "id": group_id,
        "identifier": name, "is_probationary": False, "name": title, "playmodes": None,
        "short_name": short, "description": None,
    }]


def user_with_includes(row: dict[str, Any], base_url: str, now: float) -> dict[str, Any]:
    """User + country, cover, groups and team (listings, scores)."""
    return {
        **user(row, base_url, now),
        "country": country(row["country"]),
        "cover": cover(),
        "groups": groups(row),
        "team": team(row),
    }


def statistics(stats: dict[str, Any] | None, hits: dict[str, Any] | None) -> dict[str, Any]:
    """UserStatistics in one mode; zeros for a player without a stats row."""
    s = stats or {}
    h = hits or {}
    tscore = int(s.get("tscore") or 0)
    level = level_from_score(tscore)
    pp = float(s.get("pp") or 0)
    global_rank = int(s.get("global_rank") or 0) or None
    country_rank = int(s.get("country_rank") or 0) or None
    return {
        "count_100": int(h.get("n100") or 0),
        "count_300": int(h.get("n300") or 0),
        "count_50": int(h.get("n50") or 0),
        "count_miss": int(h.get("nmiss") or 0),
        "country_rank": country_rank,
        "global_rank": global_rank,
        "global_rank_exp": None,
        "global_rank_percent": None,
        "grade_counts": {
            "a": int(s.get("a_count") or 0),
            "s": int(s.get("s_count") or 0),
            "sh": int(s.get("sh_count") or 0),
            "ss": int(s.get("x_count") or 0),
            "ssh": int(s.get("xh_count") or 0),
        },
        "hit_accuracy": float(s.get("acc") or 0),
        "accuracy": float(s.get("acc") or 0) / 100,
        "is_ranked": global_rank is not None,
        "level": {"current": int(level), "progress": int((level - int(level)) * 100)},
        "maximum_combo": int(s.get("max_combo") or 0),
        "play_count": int(s.get("plays") or 0),
        "play_time": int(s.get("playtime") or 0),
        "pp": pp,
        "pp_exp": 0,
        "rank": {"country": country_rank},
        "rank_change_since_30_days": None,
        "ranked_score": int(s.get("rscore") or 0),
        "replays_watched_by_others": int(s.get("replay_views") or 0),
        "total_hits": int(s.get("total_hits") or 0),
        "total_score": tscore,
        "variants": None,
    }


def _playstyle(bits: int) -> list[str] | None:
    names = [name for bit, name in ((1, "mouse"), (2, "tablet"), (4, "keyboard"), (8, "touch")) if bits & bit]
    return names or None


def user_extended(
    row: dict[str, Any],
    *,
    mode: int,
    stats: dict[int, dict[str, Any]],
    hits: dict[int, dict[str, Any]],
    counts: dict[str, Any],
    monthly: Iterable[dict[str, Any]],
    base_url: str,
    now: float,
    ranks: list[dict[str, Any]] = (),
    peak: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """UserExtended (Get User) in a mode, with statistics in every ruleset;
    rank history and highest rank come from the osu!track snapshots (ranks:
    the recorded ranks of the last RANK_HISTORY_DAYS days, peak: the best
    one), null when none are recorded."""
    supporter = _is_supporter(row, now)
    rank_history = _rank_history(mode, ranks, now)  # shown under both of osu-web's names
    page = row.get("userpage_content") or ""
    rulesets = {name: statistics(stats.get(m), hits.get(m)) for m, name in V2_RULESETS.items()}
    current = rulesets[ruleset(mode)]
    return {
        **user_with_includes(row, base_url, now),
        "cover_url": DEFAULT_COVER_URL,
        "discord": None,
        "has_supported": bool(row["donor_end"]),
        "interests": None,
        "join_date": iso_unix(row["creation_time"]) or iso_unix(1),
        "location": None,
        "max_blocks": 50,
        "max_friends": 500 if supporter else 250,
        "occupation": None,
        "playmode": ruleset(row["preferred_mode"]),
        "playstyle": _playstyle(row["play_style"] or 0),
        "post_count": 0,
        "profile_hue": None,
        "profile_order": list(PROFILE_ORDER),
        "title": None,
        "title_url": None,
        "twitter": None,
        "website": None,
        "account_history": [],
        "active_tournament_banner": None,
        "active_tournament_banners": [],
        "badges": [],
        "beatmap_playcounts_count": int(counts.get("beatmap_playcounts_count") or 0),
        "comments_count": 0,
        "daily_challenge_user_stats": {
            "daily_streak_best": 0, "daily_streak_current": 0, "last_update": None,
            "last_weekly_streak": None, "playcount": 0, "top_10p_placements": 0,
            "top_50p_placements": 0, "user_id": row["id"], "weekly_streak_best": 0,
            "weekly_streak_current": 0,
        },
        "favourite_beatmapset_count": int(counts.get("favourite_beatmapset_count") or 0),
        "follower_count": int(counts.get("follower_count") or 0),
        "graveyard_beatmapset_count": 0,
        "guest_beatmapset_count": 0,
        "kudosu": {"available": 0, "total": 0},
        "loved_beatmapset_count": 0,
        "mapping_follower_count": 0,
        "monthly_playcounts": [{"start_date": f"{m['month']}-01", "count": int(m["count"])} for m in monthly],
        "nominated_beatmapset_count": 0,
        "page": {"html": _escape(page), "raw": page},
        "pending_beatmapset_count": 0,
        "previous_usernames": [],
        "rank_highest": _rank_highest(peak),
        "rank_history": rank_history,
        "rankHistory": rank_history,
        "ranked_beatmapset_count": 0,
        "ranked_and_approved_beatmapset_count": 0,
        "replays_watched_counts": [],
        "scores_best_count": min(100, int(counts.get("scores_best_count") or 0)),
        "scores_first_count": int(counts.get("scores_first_count") or 0),
        "scores_pinned_count": 0,
        "scores_recent_count": int(counts.get("scores_recent_count") or 0),
        "statistics": current,
        "statistics_rulesets": rulesets,
        "support_level": 1 if supporter else 0,
        "unranked_beatmapset_count": 0,
        "user_achievements": [],
    }


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- beatmaps -----------------------------------------------------------------------------


def ranked(status: int) -> int:
    return V2_RANKED[MapStatus(status)]


def beatmap(row: dict[str, Any], base_url: str) -> dict[str, Any]:
    """BeatmapExtended from a maps row (creator_id optional)."""
    rank = ranked(row["status"])
    return {
        "beatmapset_id": row["set_id"],
        "difficulty_rating": float(row["diff"]),
        "id": row["id"],
        "mode": ruleset(row["mode"]),
        "status": V2_STATUS_NAMES[rank],
        "total_length": int(row["total_length"]),
        "user_id": int(row.get("creator_id") or 0),
        "version": row["version"],
        "accuracy": float(row["od"]),
        "ar": float(row["ar"]),
        "bpm": float(row["bpm"]),
        "checksum": row["md5"],
        "convert": False,
        "count_circles": 0,
        "count_sliders": 0,
        "count_spinners": 0,
        "cs": float(row["cs"]),
        "current_user_playcount": 0,
        "current_user_tag_ids": [],
        "deleted_at": None,
        "drain": float(row["hp"]),
        "failtimes": {key: list(value) for key, value in FAILTIMES.items()},
        "hit_length": int(row["total_length"]),
        "is_scoreable": MapStatus(row["status"]) in V2_LEADERBOARD_STATUSES,
        "last_updated": iso(row["last_update"]),
        "lazer_only": False,
        "max_combo": int(row["max_combo"]),
        "mode_int": int(row["mode"]) % 4,
        "owners": [{"id": int(row.get("creator_id") or 0), "username": row["creator"]}],
        "passcount": int(row["passes"]),
        "playcount": int(row["plays"]),
        "ranked": rank,
        "rating": float(row.get("rating") or 0),
        "top_tag_ids": [],
        "url": f"{base_url}beatmaps/{row['id']}",
    }


def _covers(set_id: int) -> dict[str, str]:
    base = f"{ASSETS}/beatmaps/{set_id}/covers"
    covers = {}
    for name in ("cover", "card", "list", "slimcover"):
        covers[name] = f"{base}/{name}.jpg"
        covers[f"{name}@2x"] = f"{base}/{name}@2x.jpg"
    return covers


def beatmapset(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Beatmapset (the compact form) from the maps rows of one set (a
    single row will do: a score's map)."""
    top = max(rows, key=lambda r: (float(r["diff"]), r["id"]))
    rank = max(ranked(r["status"]) for r in rows)
    set_id = top["set_id"]
    return {
        "anime_cover": False,
        "artist": top["artist"],
        "artist_unicode": top["artist"],
        "covers": _covers(set_id),
        "creator": top["creator"],
        "favourite_count": int(top.get("favourite_count") or 0),
        "genre_id": 1,
        "hype": None,
        "id": set_id,
        "language_id": 1,
        "nsfw": False,
        "offset": 0,
        "play_count": sum(int(r["plays"]) for r in rows),
        "preview_url": f"//b.ppy.sh/preview/{set_id}.mp3",
        "source": "",
        "spotlight": False,
        "status": V2_STATUS_NAMES[rank],
        "title": top["title"],
        "title_unicode": top["title"],
        "track_id": None,
        "user_id": int(top.get("creator_id") or 0),
        "video": False,
    }


def beatmapset_extended(
    rows: list[dict[str, Any]], ratings: dict[int, int], base_url: str, *, with_beatmaps: bool
) -> dict[str, Any]:
    """BeatmapsetExtended from the maps rows of one set, with the set's
    rating counts (value -> count)."""
    compact = beatmapset(rows)
    rank = max(ranked(r["status"]) for r in rows)
    scoreable = any(MapStatus(r["status"]) in V2_LEADERBOARD_STATUSES for r in rows)
    last_updated = max(iso(r["last_update"]) for r in rows)
    modes = sorted({ruleset(r["mode"]) for r in rows})
    total = sum(ratings.values())
    extended = {
        **compact,
        "availability": {"download_disabled": False, "more_information": None},
        "bpm": float(max(rows, key=lambda r: (float(r["diff"]), r["id"]))["bpm"]),
        "can_be_hyped": False,
        "deleted_at": None,
        "discussion_enabled": True,
        "discussion_locked": False,
        "is_scoreable": scoreable,
        "last_updated": last_updated,
        "legacy_thread_url": None,
        "nominations_summary": {
            "current": 0,
            "eligible_main_rulesets": modes,
            "required_meta": {"main_ruleset": 2, "non_main_ruleset": 1},
        },
        "ranked": rank,
        "ranked_date": last_updated if scoreable else None,
        "rating": (sum(v * n for v, n in ratings.items()) / total) if total else 0.0,
        "storyboard": False,
        "submitted_date": min(iso(r["last_update"]) for r in rows),
        "tags": "",
        "current_user_attributes": None,
        "converts": [],
        "current_nominations": [],
        "description": {"description": ""},
        "genre": dict(UNSPECIFIED),
        "language": dict(UNSPECIFIED),
        "pack_tags": [],
        "ratings": [ratings.get(value, 0) for value in range(11)],
        "recent_favourites": [],
        "related_users": [],
        "related_tags": [],
        "has_favourited": False,
        "version_count": 0,
        "current_user_playcount": 0,
        "user": {
            "avatar_url": f"{base_url}avatars/{compact['user_id']}", "country_code": "XX",
            "default_group": "default", "id": compact["user_id"], "is_active": False, "is_bot": False,
            "is_deleted": False, "is_online": False, "is_supporter": False, "last_visit": None,
            "pm_friends_only": False, "profile_colour": None, "username": compact["creator"],
        },
    }
    if with_beatmaps:
        extended["beatmaps"] = [beatmap(r, base_url) for r in rows]
    return extended


def beatmap_with_set(row: dict[str, Any], set_rows: list[dict[str, Any]], ratings: dict[int, int], base_url: str) -> dict[str, Any]:
    """Get Beatmap: BeatmapExtended + its BeatmapsetExtended (no beatmaps)."""
    return {**beatmap(row, base_url), "beatmapset": beatmapset_extended(set_rows, ratings, base_url, with_beatmaps=False)}


# --- scores -------------------------------------------------------------------------------


def _grade(grade: str) -> str:
    return "F" if grade == "N" else grade


def _ruleset_statistics(row: dict[str, Any]) -> dict[str, int]:
    """The bancho.py counters as lazer's hit results (zero ones omitted)."""
    mode = row["mode"] % 4
    if mode == 0:
        pairs = (("great", "n300"), ("ok", "n100"), ("meh", "n50"), ("miss", "nmiss"))
    elif mode == 1:
        pairs = (("great", "n300"), ("ok", "n100"), ("miss", "nmiss"))
    elif mode == 2:
        pairs = (("great", "n300"), ("large_tick_hit", "n100"), ("small_tick_hit", "n50"),
                 ("small_tick_miss", "nkatu"), ("miss", "nmiss"))
    else:
        pairs = (("perfect", "ngeki"), ("great", "n300"), ("good", "nkatu"), ("ok", "n100"),
                 ("meh", "n50"), ("miss", "nmiss"))
    found = {name: int(row[column]) for name, column in pairs if row[column]}
    return found or {"miss": 0}


def _maximum_statistics(row: dict[str, Any]) -> dict[str, int]:
    mode = row["mode"] % 4
    n300, n100, n50, nmiss = (int(row[c]) for c in ("n300", "n100", "n50", "nmiss"))
    if mode == 3:
        return {"perfect": n300 + n100 + n50 + nmiss + int(row["ngeki"]) + int(row["nkatu"])}
    if mode == 2:
        return {"great": n300 + nmiss, "large_tick_hit": n100, "small_tick_hit": n50 + int(row["nkatu"])}
    return {"great": n300 + n100 + n50 + nmiss}


def score(row: dict[str, Any], map_status: int | None, *, new_shape: bool, has_replay: bool) -> dict[str, Any]:
    """A score in the shape the x-api-version asks for, without includes.
    `map_status` is its map's bancho.py status (None: the map is unknown)."""
    mode = row["mode"] % 4
    passed = row["status"] != ScoreStatus.FAILED
    pp = float(row["pp"]) if row["pp"] and map_status in PP_STATUSES else None
    mods = mods_list(int(row["mods"]))
    if not new_shape:
        return {
            "accuracy": float(row["acc"]) / 100,
            "best_id": row["id"] if row["status"] == ScoreStatus.BEST else None,
            "created_at": iso(row["play_time"]),
            "id": row["id"],
            "max_combo": int(row["max_combo"]),
            "mode": ruleset(mode),
            "mode_int": mode,
            "mods": mods,
            "passed": passed,
            "perfect": bool(row["perfect"]),
            "pp": pp,
            "rank": _grade(row["grade"]),
            "replay": has_replay,
            "score": int(row["score"]),
            "statistics": {
                "count_100": int(row["n100"]), "count_300": int(row["n300"]), "count_50": int(row["n50"]),
                "count_geki": int(row["ngeki"]), "count_katu": int(row["nkatu"]), "count_miss": int(row["nmiss"]),
            },
            "type": f"score_best_{ruleset(mode)}" if row["status"] == ScoreStatus.BEST else f"score_{ruleset(mode)}",
            "user_id": row["userid"],
            "current_user_attributes": {"pin": None},
        }
    ended = iso(row["play_time"])
    return {
        "accuracy": float(row["acc"]) / 100,
        "beatmap_id": row.get("beatmap_id"),
        "best_id": None,
        "build_id": None,
        "classic_total_score": int(row["score"]),
        "ended_at": ended,
        "has_replay": has_replay,
        "id": row["id"],
        "is_perfect_combo": bool(row["perfect"]),
        "legacy_perfect": bool(row["perfect"]),
        "legacy_score_id": row["id"],
        "legacy_total_score": int(row["score"]),
        "max_combo": int(row["max_combo"]),
        "maximum_statistics": _maximum_statistics(row),
        "mods": [{"acronym": acronym} for acronym in mods],
        "passed": passed,
        "pp": pp,
        "preserve": True,
        "processed": True,
        "rank": _grade(row["grade"]),
        "ranked": map_status is not None and MapStatus(map_status) in V2_LEADERBOARD_STATUSES,
        "replay": has_replay,
        "ruleset_id": mode,
        "started_at": None,
        "statistics": _ruleset_statistics(row),
        "total_score": int(row["score"]),
        "type": "solo_score",
        "user_id": row["userid"],
        "current_user_attributes": {"pin": None},
    }
