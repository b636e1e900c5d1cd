"""osu!api v2: users (one, several, their scores and beatmapsets)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from starlette.requests import Request

from ...constants import V2_RULESET_IDS
from ...endpoints import Endpoint
from ...formats import v2 as fmt
from ...params import Args, Lenient, PathValue
from ...queries import clans, players, scores
from ...queries import track as track_queries
from ...queries import v2 as q
from ...schemas import INT, STR, arr, enum, obj
from . import common
from .common import (
    BEATMAP,
    BEATMAPSET,
    KEY,
    RULESET,
    USER,
    Flag,
    IdList,
    Ruleset,
    base_url,
    db_of,
    endpoint,
    not_found,
    score,
    sets,
    user_row,
    users_by_id,
)

MAX_SCORE_RESULTS = 100
SCORE_KINDS = ("best", "firsts", "recent")
BEATMAPSET_KINDS = ("most_played", "favourite", "ranked", "loved", "pending", "graveyard", "guest", "nominated")
USER_PARAM = PathValue("user", STR, "an id, @name, or what `key` says")


async def get_user(request: Request, p: Args) -> Any:
    return await _profile(request, p, None)


async def get_user_mode(request: Request, p: Args) -> Any:
    return await _profile(request, p, p.mode)


async def _profile(request: Request, p: Args, mode_name: str | None) -> Any:
    row = await user_row(request, p.user, p.key)
    if mode_name is not None and mode_name not in V2_RULESET_IDS:
        raise not_found()
    mode = V2_RULESET_IDS[mode_name] if mode_name else row["preferred_mode"] % 4
    db = db_of(request)
    modes = list(V2_RULESET_IDS.values())
    stats = {s["mode"]: s for s in await players.player_stats(db, row["id"], modes)}
    hits = {m: (await q.hit_counts(db, [row["id"]], m)).get(row["id"], {}) for m in modes}
    cutoff = (common.utc_now() - timedelta(hours=24)).strftime("%Y-%m-%d %H:%M:%S")
    counts = await q.profile_counts(db, row["id"], mode, cutoff)
    monthly = await q.monthly_playcounts(db, row["id"])
    clan = await clans.clan_by_id(db, row["clan_id"]) if row["clan_id"] else None
    row = {**row, "clan_name": clan and clan["name"], "clan_tag": clan and clan["tag"]}
    now = time.time()
    history_start = (int(now) // 86_400 - fmt.RANK_HISTORY_DAYS + 1) * 86_400_000
    ranks = await track_queries.ranks_since(db, user_id=row["id"], mode=mode, since=history_start)
    peak = await track_queries.peak(db, user_id=row["id"], mode=mode)
    # ?mode was given but the default playmode is reported unchanged, as osu-web does
    return fmt.user_extended(row, mode=mode, stats=stats, hits=hits, counts=counts, monthly=monthly,
                             base_url=base_url(request), now=now, ranks=ranks, peak=peak)


async def get_users(request: Request, p: Args) -> Any:
    db = db_of(request)
    rows = await q.players_by_ids(db, p.ids)
    user_ids = [row["id"] for row in rows]
    modes = list(V2_RULESET_IDS.values())
    stats = {m: {s["id"]: s for s in await players.players_stats(db, user_ids, m)} for m in modes}
    hits = {m: await q.hit_counts(db, user_ids, m) for m in modes}
    now = time.time()
    by_id = {}
    for row in rows:
        body = fmt.user_with_includes(row, base_url(request), now)
        body["statistics_rulesets"] = {
            fmt.ruleset(m): fmt.statistics(stats[m].get(row["id"]), hits[m].get(row["id"])) for m in modes
        }
        by_id[row["id"]] = body
    return {"users": [by_id[i] for i in p.ids if i in by_id]}


async def user_scores(request: Request, p: Args) -> Any:
    row = await user_row(request, p.user, p.key)
    if p.type not in SCORE_KINDS:
        raise not_found()
    mode = row["preferred_mode"] % 4 if p.ruleset is None else p.ruleset
    wanted = min(MAX_SCORE_RESULTS, p.offset + p.limit)
    if p.offset >= wanted:
        return []
    db = db_of(request)
    if p.type == "firsts":
        rows = await q.first_places(db, user_id=row["id"], mode=mode, limit=wanted)
    elif p.type == "best":
        rows = await scores.player_scores(db, user_id=row["id"], mode=mode, scope="best", mods=None,
                                          limit=wanted, include_loved=False, include_failed=False)
    else:
        cutoff = (common.utc_now() - timedelta(hours=24)).strftime("%Y-%m-%d %H:%M:%S")
        rows = await scores.player_scores(db, user_id=row["id"], mode=mode, scope="recent", mods=None,
                                          limit=wanted, include_loved=True, include_failed=p.include_fails,
                                          played_after=cutoff)
    user = (await users_by_id(request, [row["id"]])).get(row["id"])
    answer = []
    for index, score_row in enumerate(rows[p.offset:wanted], start=p.offset):
        body = score(request, {**score_row, "userid": row["id"]}, dict(score_row["map"]), user=user)
        if p.type == "best":
            pp = float(score_row["pp"] or 0)
            body["weight"] = {"percentage": 100 * 0.95**index, "pp": pp * 0.95**index}
        answer.append(body)
    return answer


async def user_beatmapsets(request: Request, p: Args) -> Any:
    row = await user_row(request, p.user, p.key)
    if p.type not in BEATMAPSET_KINDS:
        raise not_found()
    if p.type != "most_played":
        return []  # mapping and favourites are not tracked per set here (see README)
    db = db_of(request)
    played = (await scores.most_played(db, user_id=row["id"], mode=row["preferred_mode"] % 4,
                                       limit=p.offset + p.limit))[p.offset:]
    found = await q.map_ids_where(db, ids=[played_row["id"] for played_row in played]) if played else []
    grouped, _ = await sets(request, list(dict.fromkeys(f["set_id"] for f in found)))
    by_id = {r["id"]: r for rows in grouped.values() for r in rows}
    answer = []
    for played_row in played:
        map_row = by_id.get(played_row["id"])
        if map_row is None:
            continue
        answer.append({
            "beatmap_id": played_row["id"], "count": int(played_row["plays"]),
            "beatmap": fmt.beatmap(map_row, base_url(request)),
            "beatmapset": fmt.beatmapset(grouped[map_row["set_id"]]),
        })
    return answer


USER_SCORES = arr(obj({"id": INT}, {"beatmap": BEATMAP, "beatmapset": BEATMAPSET, "user": USER}))

ENDPOINTS: list[Endpoint] = [
    endpoint(get_users, "Users by id", "/api/v2/users", (IdList(),), obj({"users": arr(USER)})),
    endpoint(user_scores, "A user's scores", "/api/v2/users/{user}/scores/{type}",
             (USER_PARAM, PathValue("type", enum(*SCORE_KINDS)), Ruleset("mode"),
              Lenient("limit", "1-100, clamped; default 5", 5, 1, MAX_SCORE_RESULTS),
              Lenient("offset", "0-100, clamped; default 0", 0, 0, MAX_SCORE_RESULTS),
              Flag("include_fails", "1: recent failed plays too"), KEY),
             USER_SCORES),
    endpoint(user_beatmapsets, "A user's beatmapsets (most_played)", "/api/v2/users/{user}/beatmapsets/{type}",
             (USER_PARAM, PathValue("type", enum(*BEATMAPSET_KINDS)),
              Lenient("limit", "1-100, clamped; default 5", 5, 1, 100),
              Lenient("offset", "0-10000, clamped; default 0", 0, 0, 10_000), KEY),
             arr(obj({"beatmap_id": INT, "count": INT, "beatmap": BEATMAP, "beatmapset": BEATMAPSET}))),
    endpoint(get_user_mode, "A user, with a ruleset's statistics", "/api/v2/users/{user}/{mode}",
             (USER_PARAM, PathValue("mode", RULESET), KEY), USER),
    endpoint(get_user, "A user", "/api/v2/users/{user}", (USER_PARAM, KEY), USER),
]
