"""The OpenAPI 3.1 document of the whole service, served as /openapi.json.

A plain dict assembled from the small helpers below: every route in the
app (both spellings of each bancho-style endpoint, both v1 prefixes, v2's
paths with and without their trailing slash) with its parameters, request
bodies and every answer it can give, error bodies included. The schemas
name the keys a client can rely on and type them; objects stay open
(`additionalProperties` is allowed), so adding a field never breaks the
document. tests/test_openapi.py checks it against the app's routes and the
OpenAPI specification, and runs schemathesis against a live server."""

from __future__ import annotations

import copy
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .responses import dumps

Schema = dict[str, Any]

MAX_INT32 = 2**31 - 1
MAX_INT63 = 2**63 - 1

# --- schema helpers -------------------------------------------------------------------


def obj(required: dict[str, Schema] | None = None, optional: dict[str, Schema] | None = None, **extra: Any) -> Schema:
    """An object with these keys (required ones first); open to more keys."""
    required = required or {}
    schema: Schema = {"type": "object", "properties": {**required, **(optional or {})}}
    if required:
        schema["required"] = list(required)
    schema.update(extra)
    return schema


def arr(items: Schema, **extra: Any) -> Schema:
    return {"type": "array", "items": items, **extra}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def any_of(*schemas: Schema) -> Schema:
    return {"anyOf": list(schemas)}


STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
NUM: Schema = {"type": "number"}
BOOL: Schema = {"type": "boolean"}
OBJ: Schema = {"type": "object"}
NULL: Schema = {"type": "null"}
NSTR = nullable(STR)
NINT = nullable(INT)
NNUM = nullable(NUM)
# v1 prints every value as a string (or null where the official API does)
V1_VALUE: Schema = {"type": ["string", "null"]}


def integer(minimum: int | None = None, maximum: int | None = None, **extra: Any) -> Schema:
    schema: Schema = {"type": "integer", **extra}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


def string(min_length: int | None = None, max_length: int | None = None, pattern: str | None = None, **extra: Any) -> Schema:
    schema: Schema = {"type": "string", **extra}
    if min_length is not None:
        schema["minLength"] = min_length
    if max_length is not None:
        schema["maxLength"] = max_length
    if pattern is not None:
        schema["pattern"] = pattern
    return schema


def enum(*values: Any, **extra: Any) -> Schema:
    kinds = {type(v) for v in values}
    schema: Schema = {"enum": list(values), **extra}
    if kinds == {str}:
        schema["type"] = "string"
    elif kinds == {int}:
        schema["type"] = "integer"
    return schema


# --- parameters, bodies and answers ------------------------------------------------------


def query(name: str, schema: Schema, description: str | None = None, *, required: bool = False, **extra: Any) -> Schema:
    param: Schema = {"name": name, "in": "query", "required": required, "schema": schema, **extra}
    if description:
        param["description"] = description
    return param


def path_param(name: str, schema: Schema, description: str | None = None) -> Schema:
    param: Schema = {"name": name, "in": "path", "required": True, "schema": schema}
    if description:
        param["description"] = description
    return param


def header(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "header", "required": False, "schema": schema, "description": description}


def content(media_types: dict[str, Schema]) -> Schema:
    return {media: {"schema": schema} for media, schema in media_types.items()}


def json_body(schema: Schema, description: str = "JSON") -> Schema:
    return {"description": description, "content": content({"application/json": schema})}


def text_body(description: str, media_type: str = "text/plain", schema: Schema = STR) -> Schema:
    return {"description": description, "content": content({media_type: schema})}


def binary_body(description: str, *media_types: str) -> Schema:
    return {"description": description, "content": {m: {"schema": {"type": "string", "format": "binary"}} for m in media_types}}


def no_body(description: str) -> Schema:
    return {"description": description}


# --- error bodies ----------------------------------------------------------------------------

STATUS = obj({"status": STR}, description='bancho.py-style error: {"status": "<what is wrong>"}')
V1_ERROR = obj({"error": STR}, description='osu!api v1 error: {"error": "<message>"}')
V2_UNAUTHENTICATED = obj({"authentication": enum("basic")})
V2_ERROR = obj({"error": NSTR})
OAUTH_ERROR = obj({"error": STR, "error_description": STR, "message": STR}, {"hint": STR})


def status_error(description: str) -> Schema:
    return json_body(STATUS, description)


# what any route may answer besides its own: the router's 404 for a path
# parameter of the wrong form, 405, the 414 of a too long query string, a database out of reach (503) and the
# rate limiter's 429
COMMON: dict[str, Schema] = {
    "404": status_error("Not found"),
    "405": status_error("Method not allowed"),
    "414": status_error("Query string too long"),
    "429": status_error("Too many requests (see Retry-After)"),
    "503": status_error("Database unavailable"),
}


def responses(answers: dict[int | str, Schema], common: dict[str, Schema] | None = None) -> dict[str, Schema]:
    out = copy.deepcopy(COMMON if common is None else common)
    for code, answer in answers.items():
        out[str(code)] = answer
    return out


def operation(
    op_id: str,
    summary: str,
    tag: str,
    answers: dict[str, Schema],
    parameters: list[Schema] | None = None,
    *,
    security: list[dict[str, list[str]]] | None = None,
    body: Schema | None = None,
    description: str | None = None,
) -> Schema:
    op: Schema = {"operationId": op_id, "summary": summary, "tags": [tag], "responses": answers}
    if description:
        op["description"] = description
    if parameters:
        op["parameters"] = parameters
    if security is not None:
        op["security"] = security
    if body is not None:
        op["requestBody"] = body
    return op


# --- shared objects --------------------------------------------------------------------------

PLAYER_ID = integer(3, MAX_INT32, description="a player id (3 or more: 1 is the bot)")
USERNAME = string(2, 15, r"^[\w \[\]-]{2,15}$", description="a player name (any case, spaces and underscores alike)")
MD5 = string(32, 32, "^[0-9a-fA-F]{32}$")
BANCHO_MODE = enum(0, 1, 2, 3, 4, 5, 6, 8, description="bancho.py's mode: 0-3 vanilla, 4-6 relax, 8 autopilot")
MODS = string(max_length=64, description="a number or acronyms (HDDT); a leading '=' means all of them, '~' any")

BANCHO_MAP = obj({
    "id": INT, "md5": STR, "set_id": INT, "artist": STR, "title": STR, "version": STR, "creator": STR,
    "last_update": STR, "total_length": INT, "max_combo": INT, "status": INT, "plays": INT, "passes": INT,
    "mode": INT, "bpm": NUM, "cs": NUM, "od": NUM, "ar": NUM, "hp": NUM, "diff": NUM,
})
BANCHO_SCORE = obj({
    "id": INT, "score": INT, "pp": NUM, "acc": NUM, "max_combo": INT, "mods": INT, "n300": INT, "n100": INT,
    "n50": INT, "nmiss": INT, "ngeki": INT, "nkatu": INT, "grade": STR, "status": INT, "mode": INT,
    "play_time": STR, "time_elapsed": INT,
})
PLAYER_INFO = obj({
    "id": INT, "name": STR, "safe_name": STR, "priv": INT, "country": STR, "silence_end": INT, "donor_end": INT,
    "creation_time": INT, "latest_activity": INT, "clan_id": INT, "clan_priv": INT, "preferred_mode": INT,
    "play_style": INT, "custom_badge_name": NSTR, "custom_badge_icon": NSTR, "userpage_content": NSTR,
})
PLAYER_STATS = obj({
    "id": INT, "mode": INT, "tscore": INT, "rscore": INT, "pp": NUM, "plays": INT, "playtime": INT, "acc": NUM,
    "max_combo": INT, "total_hits": INT, "replay_views": INT, "xh_count": INT, "x_count": INT, "sh_count": INT,
    "s_count": INT, "a_count": INT, "rank": INT, "country_rank": INT,
})
CLAN_MEMBER = obj({"id": INT, "name": STR, "country": STR, "rank": STR})


def success(**payload: Schema) -> Schema:
    """bancho.py's envelope: {"status": "success", ...payload}."""
    return obj({"status": enum("success"), **payload})


# --- the bancho-style API ---------------------------------------------------------------------

BANCHO_TAG = "bancho.py-style API"
AUTHORIZED_TAG = "bancho.py-style API (authorized)"
BAD_REQUEST = status_error("A parameter is missing, malformed or out of range (the message names it)")
UNAUTHORIZED = status_error('Missing or unknown API key: {"status": "Invalid API key."}')
BEARER = [{"playerKey": []}]


def _player_params(exactly_one: bool = True) -> list[Schema]:
    note = "exactly one of `id` and `name`" if exactly_one else "`id` or `name` (the id wins)"
    return [query("id", PLAYER_ID, f"the player's id; {note}"), query("name", USERNAME, f"the player's name; {note}")]


def _mode_param() -> Schema:
    return query("mode", BANCHO_MODE, "default 0")


def _limit_param(default: int) -> Schema:
    return query("limit", integer(1, 100), f"default {default}")


def _map_params(min_id: int) -> list[Schema]:
    return [query("id", integer(min_id, MAX_INT32), "the map id (wins over md5)"), query("md5", MD5, "the map's md5")]


def _bancho(name: str, summary: str, params: list[Schema], ok: Schema, errors: tuple[int, ...] = (400, 404)) -> tuple[str, Schema]:
    answers: dict[int | str, Schema] = {200: json_body(ok, summary)}
    for code in errors:
        answers[code] = BAD_REQUEST if code == 400 else status_error("Not found")
    return name, operation(name, summary, BANCHO_TAG, responses(answers), params)


def bancho_operations() -> dict[str, Schema]:
    """name -> GET operation, served at /v1/<name> and /<name>."""
    scope_scores = query("scope", enum("recent", "best"), required=True)
    ops = [
        _bancho("search_players", "Players whose name contains the text",
                [query("q", string(2, 32), required=True)],
                success(results=INT, result=arr(obj({"id": INT, "name": STR})))),
        _bancho("get_player_count", "Online and total player counts", [],
                success(counts=obj({"online": INT, "total": INT})), errors=()),
        _bancho("get_player_info", "A player's profile and/or statistics",
                [query("scope", enum("info", "stats", "all"), required=True), *_player_params()],
                success(player=obj(optional={"info": PLAYER_INFO, "stats": {"type": "object", "additionalProperties": PLAYER_STATS}}))),
        _bancho("get_player_status", "Whether a player is online and what they do", _player_params(),
                success(player_status=any_of(
                    obj({"online": enum(False), "last_seen": INT}),
                    obj({"online": enum(True), "login_time": NUM, "status": obj({
                        "action": INT, "info_text": STR, "mode": INT, "mods": INT, "beatmap": nullable(BANCHO_MAP)})}),
                ))),
        _bancho("get_player_scores", "A player's best or recent scores",
                [scope_scores, *_player_params(), _mode_param(), query("mods", MODS), _limit_param(25),
                 query("include_loved", BOOL, "default false"), query("include_failed", BOOL, "default true")],
                success(scores=arr(obj({**BANCHO_SCORE["properties"], "beatmap": BANCHO_MAP})),
                        player=obj({"id": INT, "name": STR, "clan": nullable(obj({"id": INT, "name": STR, "tag": STR}))}))),
        _bancho("get_player_most_played", "The maps a player played most",
                [*_player_params(exactly_one=False), _mode_param(), _limit_param(25)],
                success(maps=arr(obj({"md5": STR, "id": INT, "set_id": INT, "status": INT, "artist": STR, "title": STR,
                                      "version": STR, "creator": STR, "plays": INT})))),
        _bancho("get_map_info", "A beatmap", _map_params(3), success(map=BANCHO_MAP)),
        _bancho("get_map_scores", "A beatmap's leaderboard",
                [scope_scores, *_map_params(0), _mode_param(), query("mods", MODS), _limit_param(50)],
                success(scores=arr(obj({**BANCHO_SCORE["properties"], "player_name": STR, "player_country": STR,
                                        "clan_id": NINT, "clan_name": NSTR, "clan_tag": NSTR})))),
        _bancho("get_score_info", "A score",
                [query("id", integer(0, MAX_INT63), required=True)],
                success(score=obj({**BANCHO_SCORE["properties"]}))),
        _bancho("get_leaderboard", "The global or a country's leaderboard",
                [query("sort", enum("tscore", "rscore", "pp", "acc", "plays", "playtime"), "default pp"), _mode_param(),
                 _limit_param(50), query("offset", integer(0, MAX_INT32), "default 0"),
                 query("country", string(2, 2, "^[A-Za-z]{2}$"))],
                success(leaderboard=arr(obj({"player_id": INT, "name": STR, "country": STR, "pp": NUM, "acc": NUM,
                                             "clan_id": NINT, "clan_name": NSTR, "clan_tag": NSTR}))),
                errors=(400,)),
        _bancho("get_clan", "A clan and its members (no status key)",
                [query("id", integer(1, MAX_INT32), required=True)],
                obj({"id": INT, "name": STR, "tag": STR, "members": arr(CLAN_MEMBER), "owner": CLAN_MEMBER})),
        _bancho("get_mappool", "A tournament map pool (no status key)",
                [query("id", integer(1, MAX_INT32), required=True)],
                obj({"id": INT, "name": STR, "created_at": STR, "created_by": OBJ,
                     "maps": {"type": "object", "additionalProperties": BANCHO_MAP}})),
        _bancho("get_match", "A live multiplayer match",
                [query("id", integer(1, 64), required=True)],
                success(match=obj({"name": STR, "mode": INT, "mods": INT, "seed": INT, "host": OBJ, "refs": arr(OBJ),
                                   "in_progress": BOOL, "is_scrimming": BOOL, "map": OBJ, "active_slots": OBJ}))),
    ]
    table = dict(ops)
    replay = operation(
        "get_replay", "A score's replay file (.osr)", BANCHO_TAG,
        responses({
            200: binary_body("The .osr file (with headers) or the stored frame stream", "application/octet-stream"),
            400: BAD_REQUEST,
            404: status_error("Replay or score not found"),
        }),
        [query("id", integer(0, MAX_INT63), required=True), query("include_headers", BOOL, "default true")],
    )
    table["get_replay"] = replay
    return table


def account_operations() -> dict[str, tuple[list[str], Schema]]:
    """name -> (methods, operation) of the authorized endpoints."""
    info_fields = obj(optional={
        "name": string(2, 15), "userpage_content": nullable(string(max_length=2048)),
        "custom_badge_name": nullable(string(max_length=16)), "custom_badge_icon": nullable(string(max_length=64)),
        "preferred_mode": any_of(BANCHO_MODE, STR), "play_style": any_of(integer(0, 15), STR),
    })
    forbidden = status_error("Restricted player, or a rename without supporter")
    too_large = status_error("Request body too large")
    return {
        "get_friends": (["GET"], operation(
            "get_friends", "The key holder's friends", AUTHORIZED_TAG,
            responses({200: json_body(success(friends=arr(obj({"id": INT, "name": STR})))), 401: UNAUTHORIZED}),
            security=BEARER)),
        "set_player_info": (["POST", "PUT"], operation(
            "set_player_info", "Update the key holder's profile fields", AUTHORIZED_TAG,
            responses({200: json_body(success(player=obj({"info": PLAYER_INFO}))), 400: BAD_REQUEST,
                       401: UNAUTHORIZED, 403: forbidden, 409: status_error("Username already taken"),
                       413: too_large, 415: status_error("Unsupported body type")}),
            security=BEARER,
            body={"required": False, "content": {"application/json": {"schema": info_fields},
                                                 "application/x-www-form-urlencoded": {"schema": info_fields}}})),
        "set_avatar": (["POST", "PUT"], operation(
            "set_avatar", "Replace the key holder's avatar (PNG, JPEG or GIF)", AUTHORIZED_TAG,
            responses({200: json_body(success(avatar=OBJ)), 400: BAD_REQUEST, 401: UNAUTHORIZED, 403: forbidden,
                       413: too_large}),
            security=BEARER,
            body={"required": True, "content": {
                "image/png": {"schema": {"type": "string", "format": "binary"}},
                "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                "image/gif": {"schema": {"type": "string", "format": "binary"}},
                "multipart/form-data": {"schema": obj({"avatar": {"type": "string", "format": "binary"}})},
            }})),
    }


def calculate_pp_operation() -> Schema:
    result = obj({"performance": OBJ, "difficulty": OBJ})
    return operation(
        "calculate_pp", "Star rating and pp of a map", AUTHORIZED_TAG,
        responses({200: json_body(any_of(result, arr(result))), 400: BAD_REQUEST, 401: UNAUTHORIZED,
                   404: status_error("Beatmap not found")}),
        [query("id", integer(0, MAX_INT32), required=True), query("mods", MODS),
         query("mode", BANCHO_MODE, "default: the map's own"),
         *(query(name, integer(0, MAX_INT32)) for name in ("combo", "misses", "ngeki", "nkatu", "n100", "n50")),
         query("acc", arr(integer(0, 100)), "repeatable; default 100, 99, 98, 95", style="form", explode=True)],
        security=BEARER,
    )


def avatar_operation() -> Schema:
    return operation(
        "get_avatar", "The avatar set_avatar stored", BANCHO_TAG,
        responses({200: binary_body("The image", "image/png", "image/jpeg", "image/gif"),
                   404: status_error("Avatar not found")}),
        [path_param("user_id", integer(0), "a player id")],
    )


# --- osu!api v1 -------------------------------------------------------------------------------

V1_TAG = "osu!api v1"
V1_USER_PARAMS = [query("u", STR, "a player id or name"), query("type", enum("id", "string"))]
V1_MODE = query("m", integer(0, 3), "0-3; out of range reads as the default")
V1_RX = query("rx", integer(0, 2), "0 vanilla, 1 relax, 2 autopilot")
V1_MODS = query("mods", STR, "a number or acronyms")


def _v1_limit(high: int) -> Schema:
    return query("limit", integer(1, high), f"1-{high}, clamped")


V1_ROW = {"type": "object", "additionalProperties": V1_VALUE}


def v1_operations() -> dict[str, tuple[str, list[Schema], Schema]]:
    """name -> (summary, parameters, 200 body)."""
    return {
        "get_beatmaps": ("Beatmaps", [
            query("since", STR, "YYYY-MM-DD[ HH:MM:SS]"), query("s", STR), query("b", STR), query("h", STR),
            *V1_USER_PARAMS, V1_MODE, query("a", integer(0, 1)), _v1_limit(500)], arr(V1_ROW)),
        "get_user": ("A player", [*V1_USER_PARAMS, V1_MODE, V1_RX, query("event_days", STR)], arr(obj({"user_id": STR, "username": STR}))),
        "get_scores": ("A beatmap's scores", [query("b", STR), *V1_USER_PARAMS, V1_MODE, V1_RX, V1_MODS, _v1_limit(100)], arr(V1_ROW)),
        "get_user_best": ("A player's best scores", [*V1_USER_PARAMS, V1_MODE, V1_RX, _v1_limit(100)], arr(V1_ROW)),
        "get_user_recent": ("A player's plays of the last 24 hours", [*V1_USER_PARAMS, V1_MODE, V1_RX, _v1_limit(50)], arr(V1_ROW)),
        "get_match": ("A live match", [query("mp", STR)],
                      any_of(obj({"match": enum(0), "games": arr(OBJ, maxItems=0)}),
                             obj({"match": obj({"match_id": STR, "name": STR, "start_time": STR, "end_time": NULL}),
                                  "games": arr(OBJ)}))),
        "get_replay": ("A score's replay frames, base64", [
            V1_MODE, V1_RX, query("s", STR), query("b", STR), *V1_USER_PARAMS, V1_MODS],
            any_of(obj({"content": STR, "encoding": enum("base64")}), V1_ERROR)),
    }


def _v1_operation(name: str, method: str, prefix: str, summary: str, params: list[Schema], ok: Schema) -> Schema:
    op = operation(
        f"v1_{name}{prefix.replace('/', '_')}_{method.lower()}", summary, V1_TAG,
        responses({200: json_body(ok), 401: json_body(V1_ERROR, 'Missing or unknown key `k`'),
                   413: status_error("Form body too large")}),
        params, security=[{"v1Key": []}],
    )
    if method == "POST":
        form = obj(optional={p["name"]: STR for p in params})
        op["requestBody"] = {"required": False, "content": {"application/x-www-form-urlencoded": {"schema": form}}}
    return op


def beatmap_file_operation() -> Schema:
    return operation(
        "v1_beatmap_file", "A beatmap's .osu file", V1_TAG,
        responses({200: text_body("The .osu file", "text/plain"), 404: text_body("No such file (empty body)", "text/plain")}),
        [path_param("beatmap_id", string(1, 10, r"^\d+$"), "a beatmap id")],
    )


# --- ingest -------------------------------------------------------------------------------------

INGEST_TAG = "ingest (game server)"
SESSION_FIELDS = {
    "action": integer(0, 13), "info_text": string(max_length=256), "mode": BANCHO_MODE,
    "mods": integer(0, MAX_INT32), "map_md5": string(max_length=32, pattern="^([0-9a-fA-F]{32})?$"),
}
MATCH_BODY = obj(
    {"name": string(max_length=64), "host_id": integer(1, MAX_INT32)},
    {"mode": BANCHO_MODE, "mods": integer(0, MAX_INT32), "seed": integer(-MAX_INT32 - 1, MAX_INT32),
     "referee_ids": arr(integer(1, MAX_INT32), maxItems=64), "in_progress": BOOL, "is_scrimming": BOOL,
     "map": obj(optional={"id": integer(-1, MAX_INT32), "md5": SESSION_FIELDS["map_md5"], "name": string(max_length=256)}),
     "slots": arr(obj({"slot": integer(0, 15)}, {"user_id": nullable(integer(1, MAX_INT32)), "status": integer(0, 255),
                                                  "team": integer(0, 2), "mods": integer(0, MAX_INT32),
                                                  "loaded": BOOL, "skipped": BOOL}), maxItems=16)},
)


def _ingest(op_id: str, summary: str, param: Schema, body: Schema | None, body_required: bool, not_found: bool = False) -> Schema:
    answers: dict[int | str, Schema] = {
        200: json_body(success()), 400: BAD_REQUEST,
        401: {**status_error('{"status": "Invalid ingest token."}'), "headers": {"WWW-Authenticate": {"schema": STR}}},
        413: status_error("Body too large"),
        503: status_error("Ingest disabled (INGEST_TOKEN unset) or database unavailable"),
    }
    if not_found:
        answers[404] = status_error("Session not found")
    return operation(
        op_id, summary, INGEST_TAG, responses(answers), [param], security=[{"ingestToken": []}],
        body=None if body is None else {"required": body_required, "content": {"application/json": {"schema": body}}},
    )


def ingest_paths() -> dict[str, dict[str, Schema]]:
    user = path_param("user_id", string(pattern=r"^\d{1,10}$"), "a player id")
    match = path_param("match_id", string(pattern=r"^\d{1,2}$"), "a match id, 1-64")
    session = obj(optional={"login_time": integer(0), **SESSION_FIELDS})
    return {
        "/ingest/sessions/{user_id}": {
            "put": _ingest("ingest_put_session", "A player logged in", user, session, True),
            "delete": _ingest("ingest_delete_session", "A player logged out", user, None, False),
        },
        "/ingest/sessions/{user_id}/heartbeat": {
            "post": _ingest("ingest_heartbeat", "A session is alive (and its status changed)", user,
                            obj(optional=SESSION_FIELDS), False, not_found=True),
        },
        "/ingest/matches/{match_id}": {
            "put": _ingest("ingest_put_match", "A match's whole state", match, MATCH_BODY, True),
            "delete": _ingest("ingest_delete_match", "A match was disbanded", match, None, False),
        },
    }


# --- osu!track ------------------------------------------------------------------------------------

TRACK_TAG = "osu!track"
TRACK_ERROR = text_body("osu!track's error text (text/plain)")
TRACK_USER = query("user", STR, "a positive integer player id")
TRACK_MODE = query("mode", enum("0", "1", "2", "3", "4", "5", "6", "8"))
TRACK_RANGE = [query("from", STR, "a date (YYYY[-MM[-DD]]) or date and time"), query("to", STR)]
TRACK_UPDATE = obj({"username": NSTR, "mode": INT}, description="the change since the last snapshot")


def track_paths() -> dict[str, dict[str, Schema]]:
    def op(name: str, summary: str, params: list[Schema], ok: Schema, extra: dict[int | str, Schema] | None = None) -> Schema:
        return operation(f"track_{name}", summary, TRACK_TAG, responses({200: json_body(ok), 400: TRACK_ERROR, **(extra or {})}), params)

    return {
        "/track/update": {"post": op(
            "update", "Snapshot a player now", [TRACK_USER, TRACK_MODE], TRACK_UPDATE,
            {429: {**text_body("Rate limited (osu!track's text)"), "headers": {"Retry-After": {"schema": STR}}}})},
        "/track/stats_history": {"get": op(
            "stats_history", "A player's snapshots", [TRACK_USER, TRACK_MODE, *TRACK_RANGE], arr(OBJ))},
        "/track/hiscores": {"get": op(
            "hiscores", "A player's recorded top plays",
            [TRACK_USER, TRACK_MODE, query("userMode", enum("id", "username")), *TRACK_RANGE],
            arr(obj({"beatmap_id": INT, "score": INT, "pp": NUM, "mods": INT, "rank": STR, "score_time": STR})))},
        "/track/peak": {"get": op(
            "peak", "A player's best rank and accuracy", [TRACK_USER, TRACK_MODE],
            arr(obj({"best_global_rank": NINT, "best_rank_timestamp": NSTR, "best_accuracy": NNUM, "best_acc_timestamp": NSTR}),
                minItems=1, maxItems=1))},
        "/track/bestplays": {"get": op(
            "bestplays", "The best plays of everyone",
            [TRACK_MODE, query("limit", STR, "1-10000, default 100"), *TRACK_RANGE], arr(OBJ))},
    }


# --- osu!api v2 --------------------------------------------------------------------------------------

V2_TAG = "osu!api v2"
RULESET = enum("osu", "taiko", "fruits", "mania")
V2_USER = obj({"id": INT, "username": STR, "country_code": STR})
V2_BEATMAP = obj({"id": INT, "beatmapset_id": INT, "mode": STR, "checksum": NSTR, "version": STR})
V2_BEATMAPSET = obj({"id": INT, "artist": STR, "title": STR})
V2_SCORE = obj({"id": INT})
V2_USER_PARAM = path_param("user", STR, "an id, @name, or what `key` says")
V2_BEATMAP_PARAM = path_param("beatmap", integer(0), "a beatmap id")
V2_MODS = query("mods[]", arr(STR), "acronyms, an exact combination (NM: none)", style="form", explode=True)


def _v2(op_id: str, summary: str, params: list[Schema], ok: Schema, *, scope: str | None = "public", extra: dict[int | str, Schema] | None = None) -> Schema:
    answers: dict[int | str, Schema] = {
        200: json_body(ok),
        401: json_body(V2_UNAUTHENTICATED, 'Missing, invalid, expired or revoked token: {"authentication": "basic"}'),
        403: json_body(V2_ERROR, "A required scope is missing"),
        # a missing object ({"error": null}), or the router's answer to a
        # path parameter of the wrong form ({"status": "Not found."})
        404: json_body(any_of(V2_ERROR, STATUS), "Not found"),
        422: json_body(V2_ERROR, "An invalid parameter"),
        **(extra or {}),
    }
    return operation(op_id, summary, V2_TAG, responses(answers), params,
                     security=[{"oauth2": [scope]} if scope else {"oauth2": []}])


def v2_paths() -> dict[str, dict[str, Schema]]:
    user_scores = arr(obj({"id": INT}, {"beatmap": V2_BEATMAP, "beatmapset": V2_BEATMAPSET, "user": V2_USER}))
    paths: dict[str, dict[str, Schema]] = {
        "/api/v2/oauth/tokens/current": {"delete": _v2(
            "v2_revoke_current_token", "Revoke the token in use", [], OBJ, scope=None,
            extra={200: None, 204: no_body("Revoked")})},
        "/api/v2/users": {"get": _v2(
            "v2_get_users", "Users by id", [query("ids[]", arr(STR), "up to 50 ids", style="form", explode=True),
                                           query("ids", STR, "comma-separated ids")],
            obj({"users": arr(V2_USER)}))},
        "/api/v2/users/{user}/scores/{type}": {"get": _v2(
            "v2_user_scores", "A user's scores",
            [V2_USER_PARAM, path_param("type", enum("best", "firsts", "recent")), query("mode", RULESET),
             query("limit", integer(1, 100)), query("offset", integer(0, 100)), query("include_fails", STR),
             query("key", enum("id", "username"))],
            user_scores)},
        "/api/v2/users/{user}/beatmapsets/{type}": {"get": _v2(
            "v2_user_beatmapsets", "A user's beatmapsets (most_played)",
            [V2_USER_PARAM, path_param("type", enum("most_played", "favourite", "ranked", "loved", "pending", "graveyard", "guest", "nominated")),
             query("limit", integer(1, 100)), query("offset", integer(0, 10_000)), query("key", enum("id", "username"))],
            arr(obj({"beatmap_id": INT, "count": INT, "beatmap": V2_BEATMAP, "beatmapset": V2_BEATMAPSET})))},
        "/api/v2/users/{user}/{mode}": {"get": _v2(
            "v2_get_user_mode", "A user, with a ruleset's statistics",
            [V2_USER_PARAM, path_param("mode", RULESET), query("key", enum("id", "username"))], V2_USER)},
        "/api/v2/users/{user}": {"get": _v2(
            "v2_get_user", "A user", [V2_USER_PARAM, query("key", enum("id", "username"))], V2_USER)},
        "/api/v2/beatmaps": {"get": _v2(
            "v2_get_beatmaps", "Beatmaps by id", [query("ids[]", arr(STR), "up to 50 ids", style="form", explode=True),
                                                 query("ids", STR, "comma-separated ids")],
            obj({"beatmaps": arr(V2_BEATMAP)}))},
        "/api/v2/beatmaps/lookup": {"get": _v2(
            "v2_lookup_beatmap", "A beatmap by checksum, file name or id",
            [query("checksum", STR), query("filename", STR), query("id", STR)], V2_BEATMAP)},
        "/api/v2/beatmaps/{beatmap}": {"get": _v2(
            "v2_get_beatmap", "A beatmap", [V2_BEATMAP_PARAM], V2_BEATMAP)},
        "/api/v2/beatmaps/{beatmap}/scores": {"get": _v2(
            "v2_beatmap_scores", "A beatmap's leaderboard",
            [V2_BEATMAP_PARAM, query("mode", RULESET), V2_MODS, query("limit", integer(1, 100))],
            obj({"scores": arr(V2_SCORE), "score_count": INT, "user_score": NULL, "userScore": NULL}))},
        "/api/v2/beatmaps/{beatmap}/scores/users/{user}": {"get": _v2(
            "v2_beatmap_user_score", "A user's best score on a beatmap",
            [V2_BEATMAP_PARAM, V2_USER_PARAM, query("mode", RULESET), query("ruleset", RULESET), V2_MODS,
             query("key", enum("id", "username"))],
            obj({"position": INT, "score": V2_SCORE}))},
        "/api/v2/beatmaps/{beatmap}/scores/users/{user}/all": {"get": _v2(
            "v2_beatmap_user_scores", "All of a user's scores on a beatmap",
            [V2_BEATMAP_PARAM, V2_USER_PARAM, query("mode", RULESET), query("ruleset", RULESET), V2_MODS,
             query("key", enum("id", "username"))],
            obj({"scores": arr(V2_SCORE)}))},
        "/api/v2/beatmapsets/lookup": {"get": _v2(
            "v2_lookup_beatmapset", "The beatmapset of a beatmap", [query("beatmap_id", STR)], V2_BEATMAPSET)},
        "/api/v2/beatmapsets/{beatmapset}": {"get": _v2(
            "v2_get_beatmapset", "A beatmapset", [path_param("beatmapset", integer(0))], V2_BEATMAPSET)},
        "/api/v2/rankings/{mode}/{type}": {"get": _v2(
            "v2_rankings", "Rankings",
            [path_param("mode", RULESET), path_param("type", enum("performance", "score", "country")),
             query("page", STR), query("cursor[page]", STR), query("cursor_string", STR), query("country", STR)],
            obj({"cursor": nullable(obj({"page": INT})), "cursor_string": NSTR, "ranking": arr(OBJ), "total": INT}))},
        "/api/v2/scores/{score}": {"get": _v2(
            "v2_get_score", "A score", [path_param("score", integer(0))], V2_SCORE)},
        "/api/v2/scores/{mode}/{score}": {"get": _v2(
            "v2_get_score_mode", "A score of a ruleset", [path_param("mode", RULESET), path_param("score", integer(0))], V2_SCORE)},
        "/api/v2/search": {"get": _v2(
            "v2_search", "Search users",
            [query("mode", enum("all", "user", "wiki_page")), query("query", STR), query("page", integer(1, 5))],
            obj(optional={"user": obj({"data": arr(V2_USER), "total": INT}), "wiki_page": obj({"data": arr(OBJ), "total": INT})}))},
    }
    revoke = paths["/api/v2/oauth/tokens/current"]["delete"]["responses"]
    del revoke["200"]
    token_fields = obj(optional={"grant_type": STR, "client_id": STR, "client_secret": STR, "scope": STR})
    paths["/oauth/token"] = {"post": operation(
        "oauth_token", "An access token (client credentials grant)", V2_TAG,
        responses({
            200: json_body(obj({"token_type": enum("Bearer"), "expires_in": INT, "access_token": STR})),
            400: json_body(OAUTH_ERROR, "Missing or unsupported grant type, or an invalid scope"),
            401: json_body(OAUTH_ERROR, "Client authentication failed"),
            413: status_error("Body too large"),
        }),
        body={"required": False, "content": {"application/x-www-form-urlencoded": {"schema": token_fields},
                                             "application/json": {"schema": token_fields}}},
    )}
    # every v2 path also answers with a trailing slash (osu.py sends one)
    out: dict[str, dict[str, Schema]] = {}
    for path, methods in paths.items():
        out[path] = methods
        slashed = {}
        for method, op in methods.items():
            op = copy.deepcopy(op)
            op["operationId"] += "_slash"
            slashed[method] = op
        out[path + "/"] = slashed
    return out


# --- operations --------------------------------------------------------------------------------------

OPS_TAG = "operations"


def ops_paths() -> dict[str, dict[str, Schema]]:
    return {
        "/health": {"get": operation("health", "The process answers", OPS_TAG,
                                     responses({200: json_body(obj({"status": enum("ok")}))}))},
        "/ready": {"get": operation("ready", "The database answers", OPS_TAG,
                                    responses({200: json_body(obj({"status": enum("ready")}))}))},
        "/metrics": {"get": operation("metrics", "Prometheus metrics", OPS_TAG,
                                      responses({200: text_body("Prometheus text format 0.0.4", "text/plain")}))},
        "/openapi.json": {"get": operation("openapi", "This document", OPS_TAG,
                                           responses({200: json_body(obj({"openapi": STR, "paths": OBJ}))}))},
    }


# --- the document ------------------------------------------------------------------------------------


def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Schema]] = {}
    paths.update(ops_paths())
    for name, op in bancho_operations().items():
        for path in (f"/v1/{name}", f"/{name}"):
            single = copy.deepcopy(op)
            if path.startswith("/v1/"):
                single["operationId"] = f"v1path_{name}"
            paths[path] = {"get": single}
    for name, (methods, op) in account_operations().items():
        for path in (f"/v1/{name}", f"/{name}"):
            entry = {}
            for method in methods:
                single = copy.deepcopy(op)
                single["operationId"] = f"{name}{'_v1path' if path.startswith('/v1/') else ''}_{method.lower()}"
                entry[method.lower()] = single
            paths[path] = entry
    for path in ("/v1/calculate_pp", "/calculate_pp"):
        op = calculate_pp_operation()
        if path.startswith("/v1/"):
            op["operationId"] = "v1path_calculate_pp"
        paths[path] = {"get": op}
    paths["/avatars/{user_id}"] = {"get": avatar_operation()}
    for name, (summary, params, ok) in v1_operations().items():
        for prefix in ("/api", "/api/v1"):
            paths[f"{prefix}/{name}"] = {
                method.lower(): _v1_operation(name, method, prefix, summary, params, ok) for method in ("GET", "POST")
            }
    paths["/osu/{beatmap_id}"] = {"get": beatmap_file_operation()}
    paths.update(ingest_paths())
    paths.update(track_paths())
    paths.update(v2_paths())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "osu-api-server",
            "version": "0.1.0",
            "description": (
                "The JSON API of an osu! private server's api. subdomain over bancho.py's database: the "
                "bancho.py-style API (/v1/<name> and /<name>), osu!api v1 (/api/...), osu!api v2 "
                "(/api/v2/..., /oauth/token), osu!track (/track/...), the ingest API and the operations "
                "endpoints. See the README for the behaviour behind each."
            ),
        },
        "tags": [{"name": t} for t in (BANCHO_TAG, AUTHORIZED_TAG, V1_TAG, V2_TAG, TRACK_TAG, INGEST_TAG, OPS_TAG)],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "playerKey": {"type": "http", "scheme": "bearer", "description": "a player's users.api_key"},
                "v1Key": {"type": "apiKey", "in": "query", "name": "k", "description": "a key from `keys create`"},
                "ingestToken": {"type": "http", "scheme": "bearer", "description": "INGEST_TOKEN"},
                "oauth2": {"type": "oauth2", "flows": {"clientCredentials": {
                    "tokenUrl": "/oauth/token", "scopes": {"public": "read public data"}}}},
            },
        },
    }


_CACHED: bytes | None = None


async def openapi_json(request: Request) -> Response:
    global _CACHED
    if _CACHED is None:
        _CACHED = dumps(document())
    return Response(_CACHED, media_type="application/json")


def routes() -> list[BaseRoute]:
    return [Route("/openapi.json", openapi_json, methods=["GET"], name="openapi")]
