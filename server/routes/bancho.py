"""Routes of the bancho.py-style JSON API: each handler reads and validates its
parameters, calls the query layer, and shapes the answer with
formats.bancho. Served under /v1/<name> and, as the older docs show, /<name>."""

from __future__ import annotations

import re
import time
from typing import Any, Awaitable, Callable

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..constants import MAX_INT32, PLAYABLE_MODES, USERNAME_PATTERN, parse_mod_acronyms
from ..db import Database
from ..formats import bancho as fmt
from ..params import Params, query_values
from ..queries import clans, live, maps, players, pools, scores
from .. import replays
from ..responses import JSONResponse, bad_request, dumps, not_found, success
from ..snapshots import MEMO_ROWS, snapshots

MD5_PATTERN = re.compile(r"^[0-9a-fA-F]{32}$")
COUNTRY_PATTERN = re.compile(r"^[A-Za-z]{2}$")

# bancho.py's smallest player id: 1 is the bot, 2 is reserved (ppy).
MIN_PLAYER_ID = 3


def _db(request: Request) -> Database:
    return request.app.state.db


def _mode(params: Params, default: int = 0) -> int:
    mode = params.integer("mode", default, minimum=0, maximum=11)
    if mode not in PLAYABLE_MODES:
        raise bad_request("Invalid gamemode.")
    return mode


def _mods_filter(params: Params) -> scores.ModsFilter | None:
    """`mods`: a number or acronyms ('HDDT'); a leading '=' (the default)
    asks for scores with all of them, a leading '~' for any of them."""
    text = params.string("mods", max_length=64)
    if text is None or text == "":
        return None
    match = "any" if text.startswith("~") else "all"
    body = text[1:] if text[0] in "=~" else text
    if body.isdecimal():
        mods = int(body)
        if mods > MAX_INT32:
            raise bad_request("Invalid 'mods': out of range.")
    else:
        parsed = parse_mod_acronyms(body)
        if parsed is None:
            raise bad_request("Invalid 'mods': expected a number or mod acronyms such as HDDT.")
        mods = int(parsed)
    return scores.ModsFilter(mods, match)


def _player_key(params: Params, message: str, *, id_wins: bool = False) -> tuple[int | None, str | None]:
    """The `id` or the `name` that names a player, or a 400. Most endpoints
    want exactly one of the two; with id_wins (as bancho.py's most-played
    does) an id given beside a name is used and the name ignored."""
    user_id = params.integer("id", minimum=MIN_PLAYER_ID)
    name = params.string("name", pattern=USERNAME_PATTERN, max_length=15)
    if user_id is not None and id_wins:
        name = None
    if (user_id is None) == (name is None):
        raise bad_request(message)
    return user_id, name


async def _player(request: Request, params: Params, message: str, *, id_wins: bool = False) -> dict[str, Any]:
    """The player named by `id` or `name` (see _player_key), or a 400/404."""
    user_id, name = _player_key(params, message, id_wins=id_wins)
    db = _db(request)
    row = await players.held_player(db, user_id=user_id, name=name)
    if row is None:
        raise not_found("Player not found.")
    return row


async def _beatmap(request: Request, params: Params, *, min_id: int) -> dict[str, Any]:
    """The map named by `id` or `md5` (the id wins when both are given), or a
    400/404."""
    map_id = params.integer("id", minimum=min_id)
    md5 = params.string("md5", min_length=32, max_length=32, pattern=MD5_PATTERN)
    if map_id is None and md5 is None:
        raise bad_request("Must provide either id or md5!")
    db = _db(request)
    row = await (maps.map_by_id(db, map_id) if map_id is not None else maps.map_by_md5(db, md5.lower()))
    if row is None:
        raise not_found("Map not found.")
    return row


def _limit(params: Params, default: int) -> int:
    return params.integer("limit", default, minimum=1, maximum=100)


def _online_since(request: Request) -> int:
    """Sessions with a heartbeat at or after this Unix time are online."""
    return int(time.time()) - request.app.state.settings.presence_ttl


# --- players -----------------------------------------------------------------


async def search_players(request: Request) -> Response:
    params = Params(query_values(request))
    text = params.string("q", min_length=2, max_length=32, required=True)
    rows = await players.search_players(_db(request), text)
    if isinstance(rows, players.Answer):  # the name index's, handed out again
        if rows.encoded is None:
            rows.encoded = orjson.Fragment(dumps(rows))
        return success(results=len(rows), result=rows.encoded)
    return success(results=len(rows), result=rows)


async def get_player_count(request: Request) -> Response:
    db = _db(request)
    # online: unrestricted players with a fresh session (the game server
    # reports them through the ingest API), the bot left out; the total
    # counts every account, as bancho.py's does
    # both from snapshots (server/snapshots.py): sessions only change
    # through this service's ingest API, whose writes refresh them at once,
    # so only an expiring session can show up to SNAPSHOT_MAX_AGE late
    since = _online_since(request)
    online = await snapshots(db).get("online_count", lambda db: live.count_online(db, since))
    total = await snapshots(db).get("player_count", players.count_players)
    return success(counts={"online": online, "total": total})


async def get_player_info(request: Request) -> Response:
    params = Params(query_values(request))
    scope = params.choice("scope", ("info", "stats", "all"), required=True)
    if scope == "info":
        player = await _player(request, params, "Must provide either id OR name!")
        return success(player={"info": fmt.player_info(player)})
    user_id, name = _player_key(params, "Must provide either id OR name!")
    player, rows = await players.player_with_stats(_db(request), user_id=user_id, name=name, modes=PLAYABLE_MODES)
    if player is None:
        raise not_found("Player not found.")
    out: dict[str, Any] = {}
    if scope == "all":
        out["info"] = fmt.player_info(player)
    out["stats"] = fmt.player_stats(rows)
    return success(player=out)


async def get_player_status(request: Request) -> Response:
    params = Params(query_values(request))
    player = await _player(request, params, "Must provide either id OR name!")
    db = _db(request)
    # who holds a session, from a snapshot under the same rules as the
    # online count: most players asked about are offline and cost no query
    session = None
    if player["id"] in await snapshots(db).get("session_holders", live.session_holders):
        session = await live.session(db, player["id"], _online_since(request))
    if session is not None:
        return success(player_status=fmt.player_status_online(session))
    return success(player_status={"online": False, "last_seen": player["latest_activity"]})


async def get_player_scores(request: Request) -> Response:
    params = Params(query_values(request))
    scope = params.choice("scope", ("recent", "best"), required=True)
    mode = _mode(params)
    mods = _mods_filter(params)
    limit = _limit(params, 25)
    include_loved = params.boolean("include_loved", False)
    include_failed = params.boolean("include_failed", True)
    player = await _player(request, params, "Must provide either id OR name!")
    db = _db(request)
    rows = await scores.player_scores(
        db,
        user_id=player["id"],
        mode=mode,
        scope=scope,
        mods=mods,
        limit=limit,
        include_loved=include_loved,
        include_failed=include_failed,
    )
    clan = await clans.clan_by_id(db, player["clan_id"]) if player["clan_id"] else None
    shown = snapshots(db).memo("bancho.beatmap", MEMO_ROWS)
    return success(
        scores=[fmt.player_score(row, _shown_map(shown, row["map"])) for row in rows],
        player={"id": player["id"], "name": player["name"], "clan": fmt.clan_brief(clan)},
    )


def _shown_map(shown: dict[int, tuple[dict[str, Any], dict[str, Any]]], row: dict[str, Any]) -> dict[str, Any]:
    """fmt.beatmap of a map row the snapshots hold, made once per row while
    the memo lasts (the row is kept beside it, so its id stays its own):
    a listing shows the same few popular maps over and over."""
    held = shown.get(id(row))
    if held is None or held[0] is not row:
        held = shown[id(row)] = (row, fmt.beatmap(row))
    return held[1]


async def get_player_most_played(request: Request) -> Response:
    params = Params(query_values(request))
    mode = _mode(params)
    limit = _limit(params, 25)
    player = await _player(request, params, "Must provide either id or name.", id_wins=True)
    rows = await scores.most_played(_db(request), user_id=player["id"], mode=mode, limit=limit)
    return success(maps=[fmt.most_played(row) for row in rows])


async def get_leaderboard(request: Request) -> Response:
    params = Params(query_values(request))
    sort = params.choice("sort", tuple(players.LEADERBOARD_SORTS), "pp")
    mode = _mode(params)
    limit = _limit(params, 50)
    offset = params.integer("offset", 0, minimum=0)
    country = params.string("country", min_length=2, max_length=2, pattern=COUNTRY_PATTERN)
    rows = await players.leaderboard(
        _db(request),
        mode=mode,
        sort=sort,
        limit=limit,
        offset=offset,
        country=country.lower() if country else None,
    )
    return success(leaderboard=[fmt.leaderboard_row(row) for row in rows])


# --- maps and scores ---------------------------------------------------------


async def get_map_info(request: Request) -> Response:
    beatmap = await _beatmap(request, Params(query_values(request)), min_id=3)
    return success(map=fmt.beatmap(beatmap))


async def get_map_scores(request: Request) -> Response:
    params = Params(query_values(request))
    scope = params.choice("scope", ("recent", "best"), required=True)
    mode = _mode(params)
    mods = _mods_filter(params)
    limit = _limit(params, 50)
    beatmap = await _beatmap(request, params, min_id=0)
    db = _db(request)
    rows = await scores.map_scores(db, map_md5=beatmap["md5"], mode=mode, scope=scope, mods=mods, limit=limit)
    return success(scores=[fmt.map_score(row) for row in await clans.with_clans(db, rows)])


async def get_score_info(request: Request) -> Response:
    params = Params(query_values(request))
    score_id = params.integer("id", minimum=0, maximum=2**63 - 1, required=True)
    row = await scores.score_by_id(_db(request), score_id)
    if row is None:
        raise not_found("Score not found.")
    return success(score=fmt.score(row))


async def get_replay(request: Request) -> Response:
    """The stored replay of a score: with headers (the default) the full
    .osr as bancho.py assembles it, without them the stored frame stream."""
    params = Params(query_values(request))
    score_id = params.integer("id", minimum=0, maximum=2**63 - 1, required=True)
    include_headers = params.boolean("include_headers", True)
    path = request.app.state.settings.replays_dir / f"{score_id}.osr"
    try:
        frames = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise not_found("Replay not found.") from None
    headers = {"Content-Description": "File Transfer"}
    if not include_headers:
        return Response(frames, media_type="application/octet-stream", headers=headers)
    row = await scores.replay_score(_db(request), score_id)
    if row is None:
        raise not_found("Score not found.")
    name = replays.replay_filename(
        row["player_name"], row["map_artist"], row["map_title"], row["map_version"], row["play_time"]
    )
    headers["Content-Disposition"] = replays.content_disposition(name)
    body = replays.osr_file(row, row["player_name"], row["map_md5"], frames)
    return Response(body, media_type="application/octet-stream", headers=headers)


# --- clans and pools ---------------------------------------------------------


async def get_clan(request: Request) -> Response:
    params = Params(query_values(request))
    clan_id = params.integer("id", minimum=1, required=True)
    db = _db(request)
    clan = await clans.clan_by_id(db, clan_id)
    if clan is None:
        raise not_found("Clan not found.")
    members = await clans.clan_members(db, clan_id)
    return JSONResponse(fmt.clan(clan, members))


async def get_mappool(request: Request) -> Response:
    params = Params(query_values(request))
    pool_id = params.integer("id", minimum=1, required=True)
    db = _db(request)
    pool = await pools.pool_by_id(db, pool_id, online_since=_online_since(request))
    if pool is None:
        raise not_found("Pool not found.")
    slots = await pools.pool_maps(db, pool_id)
    # like get_clan, bancho.py answers the pool without a "status" key
    return JSONResponse(fmt.mappool(pool, slots))


# --- live matches ------------------------------------------------------------


async def get_match(request: Request) -> Response:
    params = Params(query_values(request))
    match_id = params.integer("id", minimum=1, maximum=64, required=True)
    db = _db(request)
    since = int(time.time()) - request.app.state.settings.match_ttl
    state = await live.match_state(db, match_id, since)
    if state is None:
        raise not_found("Match not found.")
    return success(match=fmt.match(*state))


Handler = Callable[[Request], Awaitable[Response]]

ENDPOINTS: dict[str, Handler] = {
    "search_players": search_players,
    "get_player_count": get_player_count,
    "get_player_info": get_player_info,
    "get_player_status": get_player_status,
    "get_player_scores": get_player_scores,
    "get_player_most_played": get_player_most_played,
    "get_map_info": get_map_info,
    "get_map_scores": get_map_scores,
    "get_score_info": get_score_info,
    "get_replay": get_replay,
    "get_leaderboard": get_leaderboard,
    "get_clan": get_clan,
    "get_mappool": get_mappool,
    "get_match": get_match,
}


def routes() -> list[BaseRoute]:
    table: list[BaseRoute] = []
    for name, handler in ENDPOINTS.items():
        table.append(Route(f"/v1/{name}", handler, methods=["GET"], name=f"bancho:{name}"))
        table.append(Route(f"/{name}", handler, methods=["GET"], name=f"bancho:{name}:legacy"))
    return table
