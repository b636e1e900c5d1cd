"""Routes of the bancho.py-style JSON API: each endpoint is declared once
(ENDPOINTS, at the end: its parameters and answers, from which come the
reading of each request and /openapi.json); each handler calls the query
layer and shapes the answer with formats.bancho. Served under /v1/<name>
and, as the older docs show, /<name>."""

from __future__ import annotations

import re
import time
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from .. import presence, replays, schemas
from ..constants import PLAYABLE_MODES, USERNAME_PATTERN
from ..db import Database
from ..endpoints import Endpoint, Handler
from ..formats import bancho as fmt
from ..params import Args, Choice, Flag, Integer, Mode, Mods, Param, Text
from ..queries import clans, maps, players, pools, scores
from ..responses import JSONResponse, bad_request, dumps, not_found, success
from ..schemas import (
    BAD_REQUEST,
    BOOL,
    INT,
    MAX_INT63,
    NINT,
    NSTR,
    NUM,
    OBJ,
    STR,
    Schema,
    any_of,
    arr,
    binary_body,
    enum,
    json_body,
    nullable,
    obj,
    status_error,
)
from ..snapshots import MEMO_ROWS, snapshots

MD5_PATTERN = re.compile(r"^[0-9a-fA-F]{32}$")
COUNTRY_PATTERN = re.compile(r"^[A-Za-z]{2}$")

# bancho.py's smallest player id: 1 is the bot, 2 is reserved (ppy).
MIN_PLAYER_ID = 3

TAG = "bancho.py-style API"

# --- parameters several endpoints share

PLAYER = (
    Integer("id", "the player's id (3 or more: 1 is the bot); exactly one of `id` and `name`",
            minimum=MIN_PLAYER_ID),
    Text("name", "the player's name (any case, spaces and underscores alike); exactly one of `id` and `name`",
         max_length=15, pattern=USERNAME_PATTERN),
)
SCOPE_SCORES = Choice("scope", ("recent", "best"), required=True)
MODS_FILTER = Mods(matching=True)


def _map_params(min_id: int) -> tuple[Param, ...]:
    return (Integer("id", "the map id (wins over md5)", minimum=min_id),
            Text("md5", "the map's md5", min_length=32, max_length=32, pattern=MD5_PATTERN))


def _limit(default: int) -> Param:
    return Integer("limit", f"default {default}", default=default, minimum=1, maximum=100)


def _endpoint(handler: Handler, summary: str, params: tuple[Param, ...], ok: Schema, *,
              errors: tuple[int, ...] = (400, 404), answer: Schema | None = None,
              not_found_text: str = "Not found") -> Endpoint:
    """A GET endpoint served at /v1/<name> and, as the older docs show it, /<name>."""
    name = handler.__name__
    answers: dict[int | str, Schema] = {200: answer or json_body(ok, summary)}
    for code in errors:
        answers[code] = BAD_REQUEST if code == 400 else status_error(not_found_text)
    return Endpoint(name, handler, summary, TAG, (f"/v1/{name}", f"/{name}"), params=params, answers=answers)


def _db(request: Request) -> Database:
    return request.app.state.db


def _player_key(p: Args, message: str, *, id_wins: bool = False) -> tuple[int | None, str | None]:
    """The `id` or the `name` that names a player, or a 400. Most endpoints
    want exactly one of the two; with id_wins (as bancho.py's most-played
    does) an id given beside a name is used and the name ignored."""
    user_id, name = p.id, p.name
    if user_id is not None and id_wins:
        name = None
    if (user_id is None) == (name is None):
        raise bad_request(message)
    return user_id, name


async def _player(request: Request, p: Args, message: str, *, id_wins: bool = False) -> dict[str, Any]:
    """The player named by `id` or `name` (see _player_key), or a 400/404."""
    user_id, name = _player_key(p, message, id_wins=id_wins)
    row = await players.held_player(_db(request), user_id=user_id, name=name)
    if row is None:
        raise not_found("Player not found.")
    return row


async def _beatmap(request: Request, p: Args) -> dict[str, Any]:
    """The map named by `id` or `md5` (the id wins when both are given), or a
    400/404."""
    if p.id is None and p.md5 is None:
        raise bad_request("Must provide either id or md5!")
    db = _db(request)
    row = await (maps.map_by_id(db, p.id) if p.id is not None else maps.map_by_md5(db, p.md5.lower()))
    if row is None:
        raise not_found("Map not found.")
    return row


def _online_since(request: Request) -> int:
    """Sessions with a heartbeat at or after this Unix time are online."""
    return int(time.time()) - request.app.state.settings.presence_ttl


# --- players -----------------------------------------------------------------


async def search_players(request: Request, p: Args) -> Response:
    rows = await players.search_players(_db(request), p.q)
    if isinstance(rows, players.Answer):  # the name index's, handed out again
        if rows.encoded is None:
            rows.encoded = orjson.Fragment(dumps(rows))
        return success(results=len(rows), result=rows.encoded)
    return success(results=len(rows), result=rows)


async def get_player_count(request: Request, p: Args) -> Response:
    # online: unrestricted players online (server/presence.py), the bot left
    # out; the total counts every account, as bancho.py's does, from a
    # snapshot (server/snapshots.py)
    online = await presence.online_count(request)
    total = await snapshots(_db(request)).get("player_count", players.count_players)
    return success(counts={"online": online, "total": total})


async def get_player_info(request: Request, p: Args) -> Response:
    if p.scope == "info":
        player = await _player(request, p, "Must provide either id OR name!")
        return success(player={"info": fmt.player_info(player)})
    user_id, name = _player_key(p, "Must provide either id OR name!")
    player, rows = await players.player_with_stats(_db(request), user_id=user_id, name=name, modes=PLAYABLE_MODES)
    if player is None:
        raise not_found("Player not found.")
    out: dict[str, Any] = {}
    if p.scope == "all":
        out["info"] = fmt.player_info(player)
    out["stats"] = fmt.player_stats(rows)
    return success(player=out)


async def get_player_status(request: Request, p: Args) -> Response:
    player = await _player(request, p, "Must provide either id OR name!")
    return success(player_status=await presence.player_status(request, player))


async def get_player_scores(request: Request, p: Args) -> Response:
    player = await _player(request, p, "Must provide either id OR name!")
    db = _db(request)
    rows = await scores.player_scores(
        db,
        user_id=player["id"],
        mode=p.mode,
        scope=p.scope,
        mods=p.mods,
        limit=p.limit,
        include_loved=p.include_loved,
        include_failed=p.include_failed,
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


async def get_player_most_played(request: Request, p: Args) -> Response:
    player = await _player(request, p, "Must provide either id or name.", id_wins=True)
    rows = await scores.most_played(_db(request), user_id=player["id"], mode=p.mode, limit=p.limit)
    return success(maps=[fmt.most_played(row) for row in rows])


async def get_leaderboard(request: Request, p: Args) -> Response:
    rows = await players.leaderboard(
        _db(request),
        mode=p.mode,
        sort=p.sort,
        limit=p.limit,
        offset=p.offset,
        country=p.country.lower() if p.country else None,
    )
    return success(leaderboard=[fmt.leaderboard_row(row) for row in rows])


# --- maps and scores ---------------------------------------------------------


async def get_map_info(request: Request, p: Args) -> Response:
    return success(map=fmt.beatmap(await _beatmap(request, p)))


async def get_map_scores(request: Request, p: Args) -> Response:
    beatmap = await _beatmap(request, p)
    db = _db(request)
    rows = await scores.map_scores(db, map_md5=beatmap["md5"], mode=p.mode, scope=p.scope, mods=p.mods, limit=p.limit)
    return success(scores=[fmt.map_score(row) for row in await clans.with_clans(db, rows)])


async def get_score_info(request: Request, p: Args) -> Response:
    row = await scores.score_by_id(_db(request), p.id)
    if row is None:
        raise not_found("Score not found.")
    return success(score=fmt.score(row))


async def get_replay(request: Request, p: Args) -> Response:
    """The stored replay of a score: with headers (the default) the full
    .osr as bancho.py assembles it, without them the stored frame stream."""
    path = request.app.state.settings.replays_dir / f"{p.id}.osr"
    try:
        frames = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise not_found("Replay not found.") from None
    headers = {"Content-Description": "File Transfer"}
    if not p.include_headers:
        return Response(frames, media_type="application/octet-stream", headers=headers)
    row = await scores.replay_score(_db(request), p.id)
    if row is None:
        raise not_found("Score not found.")
    name = replays.replay_filename(
        row["player_name"], row["map_artist"], row["map_title"], row["map_version"], row["play_time"]
    )
    headers["Content-Disposition"] = replays.content_disposition(name)
    body = replays.osr_file(row, row["player_name"], row["map_md5"], frames)
    return Response(body, media_type="application/octet-stream", headers=headers)


# --- clans and pools ---------------------------------------------------------


async def get_clan(request: Request, p: Args) -> Response:
    db = _db(request)
    clan = await clans.clan_by_id(db, p.id)
    if clan is None:
        raise not_found("Clan not found.")
    members = await clans.clan_members(db, p.id)
    return JSONResponse(fmt.clan(clan, members))


async def get_mappool(request: Request, p: Args) -> Response:
    db = _db(request)
    pool = await pools.pool_by_id(db, p.id, online_since=_online_since(request))
    if pool is None:
        raise not_found("Pool not found.")
    online = await presence.online_among(request, [pool["created_by"]],
                                         {pool["created_by"]} if pool["creator_online"] else set())
    pool["creator_online"] = pool["created_by"] in online
    slots = await pools.pool_maps(db, p.id)
    # like get_clan, bancho.py answers the pool without a "status" key
    return JSONResponse(fmt.mappool(pool, slots))


# --- live matches ------------------------------------------------------------


async def get_match(request: Request, p: Args) -> Response:
    found = await presence.match(request, p.id)
    if found is None:
        raise not_found("Match not found.")
    return success(match=found)


# --- the declarations --------------------------------------------------------

SCORE_ID = Integer("id", required=True, minimum=0, maximum=MAX_INT63)
BEATMAP = fmt.BEATMAP_SCHEMA
SCORE_FIELDS = fmt.SCORE_SCHEMA["properties"]
CLAN_OF_ROW = {"clan_id": NINT, "clan_name": NSTR, "clan_tag": NSTR}

ENDPOINTS: list[Endpoint] = [
    _endpoint(search_players, "Players whose name contains the text",
              (Text("q", required=True, min_length=2, max_length=32),),
              schemas.success(results=INT, result=arr(obj({"id": INT, "name": STR})))),
    _endpoint(get_player_count, "Online and total player counts", (),
              schemas.success(counts=obj({"online": INT, "total": INT})), errors=()),
    _endpoint(get_player_info, "A player's profile and/or statistics",
              (Choice("scope", ("info", "stats", "all"), required=True), *PLAYER),
              schemas.success(player=obj(optional={
                  "info": fmt.PLAYER_INFO_SCHEMA,
                  "stats": {"type": "object", "additionalProperties": fmt.PLAYER_STATS_SCHEMA}}))),
    _endpoint(get_player_status, "Whether a player is online and what they do", PLAYER,
              schemas.success(player_status=any_of(
                  obj({"online": enum(False), "last_seen": INT}),
                  obj({"online": enum(True), "login_time": NUM, "status": obj({
                      "action": INT, "info_text": STR, "mode": INT, "mods": INT, "beatmap": nullable(BEATMAP)})}),
              ))),
    _endpoint(get_player_scores, "A player's best or recent scores",
              (SCOPE_SCORES, Mode(), MODS_FILTER, _limit(25), Flag("include_loved", False),
               Flag("include_failed", True), *PLAYER),
              schemas.success(scores=arr(obj({**SCORE_FIELDS, "beatmap": BEATMAP})),
                              player=obj({"id": INT, "name": STR,
                                          "clan": nullable(obj({"id": INT, "name": STR, "tag": STR}))}))),
    _endpoint(get_player_most_played, "The maps a player played most",
              (Mode(), _limit(25),
               Integer("id", "the player's id; `id` or `name` (the id wins)", minimum=MIN_PLAYER_ID),
               Text("name", "the player's name; `id` or `name` (the id wins)", max_length=15,
                    pattern=USERNAME_PATTERN)),
              schemas.success(maps=arr(obj({"md5": STR, "id": INT, "set_id": INT, "status": INT, "artist": STR,
                                            "title": STR, "version": STR, "creator": STR, "plays": INT})))),
    _endpoint(get_leaderboard, "The global or a country's leaderboard",
              (Choice("sort", tuple(players.LEADERBOARD_SORTS), "default pp", default="pp"), Mode(), _limit(50),
               Integer("offset", "default 0", default=0, minimum=0),
               Text("country", "a country code", min_length=2, max_length=2, pattern=COUNTRY_PATTERN)),
              schemas.success(leaderboard=arr(obj({"player_id": INT, "name": STR, "country": STR, "pp": NUM,
                                                   "acc": NUM, **CLAN_OF_ROW}))),
              errors=(400,)),
    _endpoint(get_map_info, "A beatmap", _map_params(3), schemas.success(map=BEATMAP)),
    _endpoint(get_map_scores, "A beatmap's leaderboard",
              (SCOPE_SCORES, Mode(), MODS_FILTER, _limit(50), *_map_params(0)),
              schemas.success(scores=arr(obj({**SCORE_FIELDS, "player_name": STR, "player_country": STR,
                                              **CLAN_OF_ROW})))),
    _endpoint(get_score_info, "A score", (SCORE_ID,), schemas.success(score=obj(dict(SCORE_FIELDS)))),
    _endpoint(get_replay, "A score's replay file (.osr)", (SCORE_ID, Flag("include_headers", True)), OBJ,
              answer=binary_body("The .osr file (with headers) or the stored frame stream",
                                 "application/octet-stream"),
              not_found_text="Replay or score not found"),
    _endpoint(get_clan, "A clan and its members (no status key)",
              (Integer("id", required=True, minimum=1),),
              obj({"id": INT, "name": STR, "tag": STR, "members": arr(fmt.CLAN_MEMBER_SCHEMA),
                   "owner": fmt.CLAN_MEMBER_SCHEMA})),
    _endpoint(get_mappool, "A tournament map pool (no status key)",
              (Integer("id", required=True, minimum=1),),
              obj({"id": INT, "name": STR, "created_at": STR, "created_by": OBJ,
                   "maps": {"type": "object", "additionalProperties": BEATMAP}})),
    _endpoint(get_match, "A live multiplayer match",
              (Integer("id", required=True, minimum=1, maximum=64),),
              schemas.success(match=obj({"name": STR, "mode": INT, "mods": INT, "seed": INT, "host": OBJ,
                                         "refs": arr(OBJ), "in_progress": BOOL, "is_scrimming": BOOL, "map": OBJ,
                                         "active_slots": OBJ}))),
]
