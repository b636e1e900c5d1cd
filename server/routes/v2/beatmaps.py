"""osu!api v2: beatmaps (one, several, a lookup, their leaderboards) and
beatmapsets."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from ...constants import V2_LEADERBOARD_STATUSES, MapStatus, ScoreStatus
from ...endpoints import Endpoint
from ...formats import v2 as fmt
from ...params import Args, Lenient, PathInteger
from ...queries import maps, scores
from ...queries import v2 as q
from ...schemas import INT, NULL, arr, obj
from .common import (
    BEATMAP,
    BEATMAPSET,
    DIGITS,
    KEY,
    SCORE,
    IdList,
    ModsList,
    Ruleset,
    Text,
    base_url,
    db_of,
    endpoint,
    not_found,
    score,
    sets,
    user_row,
    users_by_id,
)
from .users import USER_PARAM


async def _beatmaps_extended(request: Request, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Get Beatmap objects for (id, set_id) rows, in their order."""
    set_ids = list(dict.fromkeys(row["set_id"] for row in found))
    grouped, ratings = await sets(request, set_ids)
    answer = []
    for wanted in found:
        rows = grouped.get(wanted["set_id"], [])
        row = next((r for r in rows if r["id"] == wanted["id"]), None)
        if row is not None:
            answer.append(fmt.beatmap_with_set(row, rows, ratings.get(wanted["set_id"], {}), base_url(request)))
    return answer


async def get_beatmap(request: Request, p: Args) -> Any:
    found = await q.map_ids_where(db_of(request), ids=[p.beatmap])
    answer = await _beatmaps_extended(request, found)
    if not answer:
        raise not_found()
    return answer[0]


async def get_beatmaps(request: Request, p: Args) -> Any:
    found = await q.map_ids_where(db_of(request), ids=p.ids)
    return {"beatmaps": await _beatmaps_extended(request, found)}


async def lookup_beatmap(request: Request, p: Args) -> Any:
    db = db_of(request)
    found: list[dict[str, Any]] = []
    if p.checksum:
        found = await q.map_ids_where(db, md5=p.checksum)
    if not found and p.filename:
        found = await q.map_ids_where(db, filename=p.filename)
    if not found and DIGITS.match(p.id or "") and int(p.id) < 2**31:
        found = await q.map_ids_where(db, ids=[int(p.id)])
    answer = await _beatmaps_extended(request, found)
    if not answer:
        raise not_found()
    return answer[0]


async def _map(request: Request, map_id: int) -> dict[str, Any]:
    map_row = await maps.map_by_id(db_of(request), map_id)
    if map_row is None:
        raise not_found()
    return map_row


async def beatmap_scores(request: Request, p: Args) -> Any:
    map_row = await _map(request, p.beatmap)
    mode = map_row["mode"] if p.ruleset is None else p.ruleset
    if MapStatus(map_row["status"]) not in V2_LEADERBOARD_STATUSES:
        return {"scores": [], "score_count": 0, "user_score": None, "userScore": None}
    db = db_of(request)
    rows = await scores.map_scores(db, map_md5=map_row["md5"], mode=mode, scope="best", mods=p.mods, limit=p.limit)
    users = await users_by_id(request, [r["userid"] for r in rows])
    answer = []
    for position, row in enumerate(rows, start=1):
        body = score(request, row, map_row, user=users.get(row["userid"]), with_map=False)
        body["rank_global"] = position
        answer.append(body)
    return {"scores": answer, "score_count": await q.count_map_scores(db, map_row["md5"], mode),
            "user_score": None, "userScore": None}


async def _player_scores_on_map(request: Request, p: Args) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    map_row = await _map(request, p.beatmap)
    user = await user_row(request, p.user, p.key)
    mode = map_row["mode"] if p.ruleset is None else p.ruleset
    rows = await scores.player_map_scores(db_of(request), user_id=user["id"], map_md5=map_row["md5"],
                                          mode=mode, mods=p.mods)
    return map_row, user, rows


async def beatmap_user_score(request: Request, p: Args) -> Any:
    map_row, user, rows = await _player_scores_on_map(request, p)
    best = next((r for r in rows if r["status"] == ScoreStatus.BEST), None) or (rows[0] if rows else None)
    if best is None:
        raise not_found()
    users = await users_by_id(request, [user["id"]])
    position = await q.leaderboard_position(db_of(request), best)
    body = score(request, best, map_row, user=users.get(user["id"]))
    body["rank_global"] = position
    return {"position": position, "score": body}


async def beatmap_user_scores(request: Request, p: Args) -> Any:
    map_row, _, rows = await _player_scores_on_map(request, p)
    return {"scores": [score(request, row, map_row, with_map=False) for row in rows]}


async def get_beatmapset(request: Request, p: Args) -> Any:
    return await _beatmapset(request, p.beatmapset)


async def lookup_beatmapset(request: Request, p: Args) -> Any:
    text = p.beatmap_id or ""
    found = await q.map_ids_where(db_of(request), ids=[int(text)]) if DIGITS.match(text) and int(text) < 2**31 else []
    if not found:
        raise not_found()
    return await _beatmapset(request, found[0]["set_id"])


async def _beatmapset(request: Request, set_id: int) -> Any:
    grouped, ratings = await sets(request, [set_id])
    if set_id not in grouped:
        raise not_found()
    return fmt.beatmapset_extended(grouped[set_id], ratings.get(set_id, {}), base_url(request), with_beatmaps=True)


BEATMAP_PARAM = PathInteger("beatmap", "a beatmap id")
ON_MAP = (BEATMAP_PARAM, USER_PARAM, Ruleset("ruleset", "mode"), ModsList(), KEY)

ENDPOINTS: list[Endpoint] = [
    endpoint(get_beatmaps, "Beatmaps by id", "/api/v2/beatmaps", (IdList(),), obj({"beatmaps": arr(BEATMAP)})),
    endpoint(lookup_beatmap, "A beatmap by checksum, file name or id", "/api/v2/beatmaps/lookup",
             (Text("checksum", "the beatmap's md5", max_length=64), Text("filename", max_length=512), Text("id")),
             BEATMAP),
    endpoint(get_beatmap, "A beatmap", "/api/v2/beatmaps/{beatmap}", (BEATMAP_PARAM,), BEATMAP),
    endpoint(beatmap_scores, "A beatmap's leaderboard", "/api/v2/beatmaps/{beatmap}/scores",
             (BEATMAP_PARAM, Ruleset("mode"), ModsList(), Lenient("limit", "1-100, clamped; default 50", 50, 1, 100)),
             obj({"scores": arr(SCORE), "score_count": INT, "user_score": NULL, "userScore": NULL})),
    endpoint(beatmap_user_score, "A user's best score on a beatmap",
             "/api/v2/beatmaps/{beatmap}/scores/users/{user}", ON_MAP, obj({"position": INT, "score": SCORE})),
    endpoint(beatmap_user_scores, "All of a user's scores on a beatmap",
             "/api/v2/beatmaps/{beatmap}/scores/users/{user}/all", ON_MAP, obj({"scores": arr(SCORE)})),
    endpoint(lookup_beatmapset, "The beatmapset of a beatmap", "/api/v2/beatmapsets/lookup", (Text("beatmap_id"),),
             BEATMAPSET),
    endpoint(get_beatmapset, "A beatmapset", "/api/v2/beatmapsets/{beatmapset}",
             (PathInteger("beatmapset", "a beatmapset id"),), BEATMAPSET),
]
