"""osu!api v2: one score, and the rankings and search."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from starlette.requests import Request

from ...constants import V2_RULESET_IDS
from ...endpoints import Endpoint
from ...formats import v2 as fmt
from ...params import Args, Lenient, Param, ParamError, PathInteger, PathValue, Values
from ...queries import players, scores
from ...queries import v2 as q
from ...schemas import INT, NSTR, OBJ, STR, Schema, arr, enum, nullable, obj
from .common import (
    RULESET,
    SCORE,
    USER,
    Text,
    cursor_string,
    db_of,
    endpoint,
    not_found,
    score,
    sets,
    users_by_id,
)

RANKING_PAGE_SIZE = 50
RANKING_MAX_PAGES = 200
RANKING_KINDS = ("performance", "score", "country")
SEARCH_PAGE_SIZE = 20
SEARCH_MODES = ("all", "user", "wiki_page")


async def get_score(request: Request, p: Args) -> Any:
    return await _score(request, p.score, None)


async def get_score_mode(request: Request, p: Args) -> Any:
    return await _score(request, p.score, p.mode)


async def _score(request: Request, score_id: int, mode_name: str | None) -> Any:
    db = db_of(request)
    row = await scores.score_by_id(db, score_id)
    if mode_name is not None and mode_name not in V2_RULESET_IDS:
        raise not_found()
    if row is None or (mode_name is not None and row["mode"] != V2_RULESET_IDS[mode_name]) or row["mode"] > 3:
        raise not_found()
    users = await users_by_id(request, [row["userid"]])
    if row["userid"] not in users:
        raise not_found()
    found = await q.map_ids_where(db, md5=row["map_md5"])
    grouped, _ = await sets(request, [f["set_id"] for f in found])
    map_row = next((r for rows in grouped.values() for r in rows if r["md5"] == row["map_md5"]), None)
    body = score(request, row, map_row, user=users[row["userid"]])
    if map_row is not None:
        body["beatmap"]["beatmapset_id"] = map_row["set_id"]
        body["beatmapset"] = fmt.beatmapset(grouped[map_row["set_id"]])
    body["rank_global"] = await q.leaderboard_position(db, row)
    body["replay_views"] = 0
    return body


class RankingPage(Param):
    """The page: `cursor_string` (URL-safe base64 of {"page": n}), then
    `cursor[page]`, then `page`; 1 when none reads, at most RANKING_MAX_PAGES."""

    def __init__(self) -> None:
        super().__init__("page", "1-200; default 1")

    def read(self, values: Values) -> int:
        page: Any = None
        text = values.get("cursor_string")
        if text:
            try:
                page = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))).get("page")
            except (ValueError, binascii.Error, AttributeError):
                page = None
        if page is None:
            page = values.get("cursor[page]") or values.get("page")
        try:
            number = int(page)
        except (TypeError, ValueError):
            return 1
        return max(1, min(RANKING_MAX_PAGES, number))

    def schema(self) -> Schema:
        return STR

    def document(self) -> list[Schema]:
        return [{"name": name, "in": "query", "required": False, "schema": STR, "description": description}
                for name, description in (("page", self.description), ("cursor[page]", "the same"),
                                          ("cursor_string", "the cursor_string of the page before"))]


async def rankings(request: Request, p: Args) -> Any:
    if p.mode not in V2_RULESET_IDS or p.type not in RANKING_KINDS:
        raise not_found()
    mode = V2_RULESET_IDS[p.mode]
    offset = (p.page - 1) * RANKING_PAGE_SIZE
    db = db_of(request)
    if p.type == "country":
        rows = await q.country_ranking(db, mode=mode, limit=RANKING_PAGE_SIZE, offset=offset)
        total = await q.count_countries(db, mode)
        ranking = [{
            "code": row["code"].upper(), "active_users": int(row["active_users"]),
            "play_count": int(row["play_count"] or 0), "ranked_score": int(row["ranked_score"] or 0),
            "performance": float(row["performance"] or 0), "country": fmt.country(row["code"]),
        } for row in rows]
    else:
        country = (p.country or "").strip().lower()[:2] or None
        if p.type == "score":
            country = None  # osu-web filters by country on performance only
        sort = "pp" if p.type == "performance" else "rscore"
        board = await players.leaderboard(db, mode=mode, sort=sort, limit=RANKING_PAGE_SIZE, offset=offset,
                                          country=country)
        ids = [row["player_id"] for row in board]
        stats = {s["id"]: s for s in await players.players_stats(db, ids, mode)}
        hits = await q.hit_counts(db, ids, mode)
        users = await users_by_id(request, ids)
        total = await q.count_ranked_players(db, mode=mode, column=sort, country=country)
        ranking = [{**fmt.statistics(stats.get(i), hits.get(i)), "user": users[i]} for i in ids if i in users]
    total = min(total, RANKING_PAGE_SIZE * RANKING_MAX_PAGES)
    cursor = {"page": p.page + 1} if offset + RANKING_PAGE_SIZE < total and p.page < RANKING_MAX_PAGES else None
    return {"cursor": cursor, "cursor_string": cursor_string(cursor), "ranking": ranking, "total": total}


class SearchMode(Param):
    def __init__(self) -> None:
        super().__init__("mode", "all (default), user or wiki_page")

    def parse(self, raw: str | None) -> str:
        if raw is None:
            return "all"
        if raw not in SEARCH_MODES:
            raise ParamError("invalid mode parameter")
        return raw

    def schema(self) -> Schema:
        return enum(*SEARCH_MODES)


async def search(request: Request, p: Args) -> Any:
    answer: dict[str, Any] = {}
    if p.mode in ("all", "user"):
        text = (p.query or "").strip()[:64]
        found = await players.search_players(db_of(request), text) if text else []
        found = found[:100]
        chosen = [row["id"] for row in found[(p.page - 1) * SEARCH_PAGE_SIZE : p.page * SEARCH_PAGE_SIZE]]
        users = await users_by_id(request, chosen)
        answer["user"] = {"data": [users[i] for i in chosen if i in users], "total": len(found)}
    if p.mode in ("all", "wiki_page"):
        answer["wiki_page"] = {"data": [], "total": 0}
    return answer


SCORE_PARAM = PathInteger("score", "a score id")

ENDPOINTS: list[Endpoint] = [
    endpoint(rankings, "Rankings", "/api/v2/rankings/{mode}/{type}",
             (PathValue("mode", RULESET), PathValue("type", enum(*RANKING_KINDS)), RankingPage(),
              Text("country", "a country code (performance only)")),
             obj({"cursor": nullable(obj({"page": INT})), "cursor_string": NSTR, "ranking": arr(OBJ),
                  "total": INT})),
    endpoint(get_score, "A score", "/api/v2/scores/{score}", (SCORE_PARAM,), SCORE),
    endpoint(get_score_mode, "A score of a ruleset", "/api/v2/scores/{mode}/{score}",
             (PathValue("mode", RULESET), SCORE_PARAM), SCORE),
    endpoint(search, "Search users", "/api/v2/search",
             (SearchMode(), Text("query"), Lenient("page", "1-5, clamped; default 1", 1, 1, 5)),
             obj(optional={"user": obj({"data": arr(USER), "total": INT}),
                           "wiki_page": obj({"data": arr(OBJ), "total": INT})})),
]
