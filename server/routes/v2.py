"""Routes of the osu!api v2 compatibility layer: `POST /oauth/token` (the
client credentials grant) and the read side of `/api/v2/` over bancho.py's
data. Every path also answers with a trailing slash (osu.py sends one).

Every /api/v2 route needs `Authorization: Bearer <token>` carrying the
`public` scope; failures answer as osu.ppy.sh does: 401
`{"authentication":"basic"}` for a missing, malformed, badly signed, expired
or revoked token (or one of a revoked client), 403 for a missing scope, 404
`{"error":null}` for what does not exist, 422 for an invalid parameter.

Only the vanilla rulesets exist in v2 (osu, taiko, fruits, mania: bancho.py
modes 0-3); relax and autopilot are not served here. Scores come in the
shape the `x-api-version` header asks for (formats.v2.score)."""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qsl, unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .. import oauth
from ..constants import (
    V2_LEADERBOARD_STATUSES,
    V2_RULESET_IDS,
    V2_SCORE_SHAPE_VERSION,
    MapStatus,
    Privileges,
    ScoreStatus,
    parse_mod_acronyms,
)
from ..db import Database
from ..formats import v2 as fmt
from ..params import read_body
from ..queries import clans, maps, players, scores
from ..queries import track as track_queries
from ..queries import v2 as q
from ..queries.scores import ModsFilter
from ..responses import JSONResponse

UNAUTHENTICATED = {"authentication": "basic"}
MISSING_SCOPE = {"error": "A required scope is missing."}
MAX_IDS = 50
MAX_SCORE_RESULTS = 100
RANKING_PAGE_SIZE = 50
RANKING_MAX_PAGES = 200
SEARCH_PAGE_SIZE = 20
MAX_BODY_BYTES = 16 * 1024
MAX_SQL_ID = 2**63 - 1
_DIGITS = re.compile(r"^\d{1,10}$")


class V2Error(Exception):
    def __init__(self, status_code: int, body: Any) -> None:
        super().__init__(status_code)
        self.status_code = status_code
        self.body = body


def not_found(message: str | None = None) -> V2Error:
    return V2Error(404, {"error": message})


def invalid(message: str) -> V2Error:
    return V2Error(422, {"error": message})


def _db(request: Request) -> Database:
    return request.app.state.db


def _base_url(request: Request) -> str:
    return str(request.base_url)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _new_shape(request: Request) -> bool:
    value = request.headers.get("x-api-version", "").strip()
    return value.isdigit() and int(value) >= V2_SCORE_SHAPE_VERSION


def _has_replay(request: Request, score_id: int) -> bool:
    return (request.app.state.settings.replays_dir / f"{score_id}.osr").is_file()


# --- parameters ---------------------------------------------------------------------------


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    """Lenient as osu-web is: unparsable is the default, out of range clamped."""
    value = (request.query_params.get(name) or "").strip()
    if not re.fullmatch(r"-?\d{1,12}", value):
        return default
    return max(low, min(high, int(value)))


def _bool_param(request: Request, name: str) -> bool:
    return (request.query_params.get(name) or "").strip().lower() in ("1", "true", "yes", "on")


def _ids_param(request: Request, name: str = "ids") -> list[int]:
    values = request.query_params.getlist(f"{name}[]") + request.query_params.getlist(name)
    ids: list[int] = []
    for value in values:
        for part in value.split(","):
            if _DIGITS.match(part.strip()) and int(part) < 2**31 and int(part) not in ids:
                ids.append(int(part))
    return ids[:MAX_IDS]


def _ruleset(name: str | None, default: int) -> int:
    """A ruleset name (or its number) as bancho.py's vanilla mode."""
    if name is None or name == "":
        return default
    if name in V2_RULESET_IDS:
        return V2_RULESET_IDS[name]
    if name in ("0", "1", "2", "3"):
        return int(name)
    raise invalid("invalid ruleset parameter")


def _mods_filter(request: Request) -> ModsFilter | None:
    """`mods[]` acronyms (NM: no mods) as an exact combination."""
    acronyms = request.query_params.getlist("mods[]") + request.query_params.getlist("mods")
    if not acronyms:
        return None
    total = 0
    for acronym in acronyms:
        mods = parse_mod_acronyms(acronym.strip())
        if mods is None:
            raise invalid("invalid mods parameter")
        total |= int(mods)
    return ModsFilter(total, "equal")


async def _user(request: Request, text: str) -> dict[str, Any]:
    """users/{user}: an id, `@name`, or what `key` says (id or username); a
    numeric text without a key is tried as an id, then as a name. 404 for
    the unknown and the restricted."""
    db = _db(request)
    key = request.query_params.get("key")
    text = unquote(text)
    row = None
    if key == "username":
        row = await players.player_by_name(db, text.removeprefix("@") if text.startswith("@") else text)
    elif text.startswith("@"):
        row = await players.player_by_name(db, text[1:])
    elif key == "id":
        row = await players.player_by_id(db, int(text)) if _DIGITS.match(text) and int(text) < 2**31 else None
    else:
        if _DIGITS.match(text) and int(text) < 2**31:
            row = await players.player_by_id(db, int(text))
        if row is None:
            row = await players.player_by_name(db, text)
    if row is None or not row["priv"] & Privileges.UNRESTRICTED:
        raise not_found()
    return row


def _cursor_string(cursor: dict[str, Any] | None) -> str | None:
    if cursor is None:
        return None
    return base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode().rstrip("=")


def _page(request: Request) -> int:
    """The rankings page: cursor_string, then cursor[page], then page."""
    page: Any = None
    text = request.query_params.get("cursor_string")
    if text:
        try:
            page = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))).get("page")
        except (ValueError, binascii.Error, AttributeError):
            page = None
    if page is None:
        page = request.query_params.get("cursor[page]") or request.query_params.get("page")
    try:
        number = int(page)
    except (TypeError, ValueError):
        return 1
    return max(1, min(RANKING_MAX_PAGES, number))


# --- building objects from rows -------------------------------------------------------------


async def _users_by_id(request: Request, user_ids: list[int]) -> dict[int, dict[str, Any]]:
    """User + country, cover, groups, team for each unrestricted id."""
    rows = await q.players_by_ids(_db(request), user_ids)
    now = time.time()
    return {row["id"]: fmt.user_with_includes(row, _base_url(request), now) for row in rows}


def _score(
    request: Request,
    row: dict[str, Any],
    map_row: dict[str, Any] | None,
    *,
    user: dict[str, Any] | None = None,
    with_map: bool = True,
) -> dict[str, Any]:
    """A score (row + userid) with its beatmap, beatmapset and user."""
    row = dict(row)
    if map_row is not None:
        row["beatmap_id"] = map_row["id"]
    status = None if map_row is None else map_row["status"]
    body = fmt.score(row, status, new_shape=_new_shape(request), has_replay=_has_replay(request, row["id"]))
    if with_map and map_row is not None:
        beatmap = fmt.beatmap(map_row, _base_url(request))
        if row["mode"] % 4 != map_row["mode"]:
            beatmap.update(mode=fmt.ruleset(row["mode"]), mode_int=row["mode"] % 4, convert=True)
        body["beatmap"] = beatmap
        body["beatmapset"] = fmt.beatmapset([map_row])
    if user is not None:
        body["user"] = user
    return body


async def _sets(request: Request, set_ids: list[int]) -> tuple[dict[int, list[dict[str, Any]]], dict[int, dict[int, int]]]:
    """The maps rows of each set and each set's rating counts."""
    db = _db(request)
    grouped: dict[int, list[dict[str, Any]]] = {}
    for row in await q.maps_of_sets(db, set_ids):
        grouped.setdefault(row["set_id"], []).append(row)
    return grouped, await q.rating_counts(db, set_ids)


async def _beatmaps_extended(request: Request, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Get Beatmap objects for (id, set_id) rows, in their order."""
    set_ids = list(dict.fromkeys(row["set_id"] for row in found))
    grouped, ratings = await _sets(request, set_ids)
    answer = []
    for wanted in found:
        rows = grouped.get(wanted["set_id"], [])
        row = next((r for r in rows if r["id"] == wanted["id"]), None)
        if row is not None:
            answer.append(fmt.beatmap_with_set(row, rows, ratings.get(wanted["set_id"], {}), _base_url(request)))
    return answer


# --- OAuth ------------------------------------------------------------------------------------


def _token_error(status: int, error: str, description: str, hint: str | None = None) -> JSONResponse:
    body = {"error": error, "error_description": description, "message": description}
    if hint is not None:
        body["hint"] = hint
    return JSONResponse(body, status_code=status)


async def _token_fields(request: Request) -> dict[str, str]:
    """The token request's fields from a form or JSON body, with HTTP Basic
    credentials filling in client_id and client_secret."""
    fields: dict[str, str] = {}
    body = await read_body(request, MAX_BODY_BYTES, f"Request body too large: at most {MAX_BODY_BYTES} bytes.")
    if body:
        content_type = request.headers.get("content-type", "")
        if "json" in content_type:
            try:
                data = json.loads(body)
            except ValueError:
                data = None
            if isinstance(data, dict):
                fields = {str(k): str(v) for k, v in data.items() if v is not None}
        else:
            fields = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    authorization = request.headers.get("authorization", "")
    if authorization[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        if ":" in decoded:
            client_id, secret = decoded.split(":", 1)
            fields.setdefault("client_id", unquote(client_id))
            fields.setdefault("client_secret", unquote(secret))
    return fields


async def token(request: Request) -> Response:
    fields = await _token_fields(request)
    grant = fields.get("grant_type")
    if not grant:
        return _token_error(400, "invalid_request", "The request is missing a required parameter, includes an "
                            "invalid parameter value, includes a parameter more than once, or is otherwise "
                            "malformed.", 'Check the `grant_type` parameter')
    if grant != "client_credentials":
        return _token_error(400, "unsupported_grant_type", "The authorization grant type is not supported by "
                            "the authorization server.", "Check that all required parameters have been provided")
    db = _db(request)
    client_id = await oauth.authenticate_client(db, fields.get("client_id"), fields.get("client_secret"))
    if client_id is None:
        return _token_error(401, "invalid_client", "Client authentication failed")
    try:
        scopes = oauth.granted_scopes(fields.get("scope"))
    except oauth.ScopeError as exc:
        return _token_error(400, "invalid_scope", "The requested scope is invalid, unknown, or malformed",
                            f"Check the `{exc}` scope")
    settings = request.app.state.settings
    secret = await oauth.signing_secret(db, settings.oauth_secret)
    access_token = oauth.issue_token(secret, client_id, scopes, settings.oauth_token_ttl)
    return JSONResponse({"token_type": "Bearer", "expires_in": settings.oauth_token_ttl, "access_token": access_token})


async def _authenticate(request: Request) -> oauth.Token:
    header = request.headers.get("authorization", "")
    if header[:7].lower() != "bearer " or not header[7:].strip():
        raise V2Error(401, UNAUTHENTICATED)
    db = _db(request)
    secret = await oauth.signing_secret(db, request.app.state.settings.oauth_secret)
    found = oauth.decode_token(secret, header[7:].strip())
    if found is None or await oauth.is_revoked(db, found) or not await oauth.client_is_active(db, found.client_id):
        raise V2Error(401, UNAUTHENTICATED)
    return found


Handler = Callable[[Request], Awaitable[Any]]


def _api(handler: Handler, *, scope: str | None = "public") -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            found = await _authenticate(request)
            if scope is not None and scope not in found.scopes:
                raise V2Error(403, MISSING_SCOPE)
            request.state.token = found
            # an {id:int} past SQL's BIGINT names nothing (and the drivers refuse it)
            if any(isinstance(v, int) and v > MAX_SQL_ID for v in request.path_params.values()):
                raise not_found()
            result = await handler(request)
        except V2Error as exc:
            return JSONResponse(exc.body, status_code=exc.status_code)
        return result if isinstance(result, Response) else JSONResponse(result)

    endpoint.__name__ = handler.__name__
    return endpoint


async def revoke_current_token(request: Request) -> Response:
    await oauth.revoke_token(_db(request), request.state.token)
    return Response(status_code=204)


# --- users ------------------------------------------------------------------------------------


async def get_user(request: Request) -> Any:
    row = await _user(request, request.path_params["user"])
    mode_name = request.path_params.get("mode")
    if mode_name is not None and mode_name not in V2_RULESET_IDS:
        raise not_found()
    mode = V2_RULESET_IDS[mode_name] if mode_name else row["preferred_mode"] % 4
    db = _db(request)
    modes = list(V2_RULESET_IDS.values())
    stats = {s["mode"]: s for s in await players.player_stats(db, row["id"], modes)}
    hits = {m: (await q.hit_counts(db, [row["id"]], m)).get(row["id"], {}) for m in modes}
    cutoff = (_utc_now() - timedelta(hours=24)).strftime("%Y-%m-%d %H:%M:%S")
    counts = await q.profile_counts(db, row["id"], mode, cutoff)
    monthly = await q.monthly_playcounts(db, row["id"])
    clan = await clans.clan_by_id(db, row["clan_id"]) if row["clan_id"] else None
    row = {**row, "clan_name": clan and clan["name"], "clan_tag": clan and clan["tag"]}
    now = time.time()
    history_start = (int(now) // 86_400 - fmt.RANK_HISTORY_DAYS + 1) * 86_400_000
    ranks = await track_queries.ranks_since(db, user_id=row["id"], mode=mode, since=history_start)
    peak = await track_queries.peak(db, user_id=row["id"], mode=mode)
    body = fmt.user_extended(row, mode=mode, stats=stats, hits=hits, counts=counts, monthly=monthly,
                             base_url=_base_url(request), now=now, ranks=ranks, peak=peak)
    # ?mode was given but the default playmode is reported unchanged, as osu-web does
    return body


async def get_users(request: Request) -> Any:
    ids = _ids_param(request)
    db = _db(request)
    rows = await q.players_by_ids(db, ids)
    user_ids = [row["id"] for row in rows]
    modes = list(V2_RULESET_IDS.values())
    stats = {m: {s["id"]: s for s in await players.players_stats(db, user_ids, m)} for m in modes}
    hits = {m: await q.hit_counts(db, user_ids, m) for m in modes}
    now = time.time()
    by_id = {}
    for row in rows:
        body = fmt.user_with_includes(row, _base_url(request), now)
        body["statistics_rulesets"] = {
            fmt.ruleset(m): fmt.statistics(stats[m].get(row["id"]), hits[m].get(row["id"])) for m in modes
        }
        by_id[row["id"]] = body
    return {"users": [by_id[i] for i in ids if i in by_id]}


async def user_scores(request: Request) -> Any:
    row = await _user(request, request.path_params["user"])
    kind = request.path_params["type"]
    if kind not in ("best", "firsts", "recent"):
        raise not_found()
    mode = _ruleset(request.query_params.get("mode"), row["preferred_mode"] % 4)
    limit = _int_param(request, "limit", 5, 1, MAX_SCORE_RESULTS)
    offset = _int_param(request, "offset", 0, 0, MAX_SCORE_RESULTS)
    wanted = min(MAX_SCORE_RESULTS, offset + limit)
    if offset >= wanted:
        return []
    db = _db(request)
    if kind == "firsts":
        rows = await q.first_places(db, user_id=row["id"], mode=mode, limit=wanted)
    elif kind == "best":
        rows = await scores.player_scores(db, user_id=row["id"], mode=mode, scope="best", mods=None,
                                          limit=wanted, include_loved=False, include_failed=False)
    else:
        cutoff = (_utc_now() - timedelta(hours=24)).strftime("%Y-%m-%d %H:%M:%S")
        rows = await scores.player_scores(db, user_id=row["id"], mode=mode, scope="recent", mods=None,
                                          limit=wanted, include_loved=True,
                                          include_failed=_bool_param(request, "include_fails"),
                                          played_after=cutoff)
    user = (await _users_by_id(request, [row["id"]])).get(row["id"])
    answer = []
    for index, score_row in enumerate(rows[offset:wanted], start=offset):
        body = _score(request, {**score_row, "userid": row["id"]}, dict(score_row["map"]), user=user)
        if kind == "best":
            pp = float(score_row["pp"] or 0)
            body["weight"] = {"percentage": 100 * 0.95**index, "pp": pp * 0.95**index}
        answer.append(body)
    return answer


async def user_beatmapsets(request: Request) -> Any:
    row = await _user(request, request.path_params["user"])
    kind = request.path_params["type"]
    if kind not in ("most_played", "favourite", "ranked", "loved", "pending", "graveyard", "guest", "nominated"):
        raise not_found()
    if kind != "most_played":
        return []  # mapping and favourites are not tracked per set here (see README)
    limit = _int_param(request, "limit", 5, 1, 100)
    offset = _int_param(request, "offset", 0, 0, 10_000)
    db = _db(request)
    played = (await scores.most_played(db, user_id=row["id"], mode=row["preferred_mode"] % 4,
                                       limit=offset + limit))[offset:]
    found = await q.map_ids_where(db, ids=[p["id"] for p in played]) if played else []
    grouped, _ = await _sets(request, list(dict.fromkeys(f["set_id"] for f in found)))
    by_id = {r["id"]: r for rows in grouped.values() for r in rows}
    answer = []
    for p in played:
        map_row = by_id.get(p["id"])
        if map_row is None:
            continue
        answer.append({
            "beatmap_id": p["id"], "count": int(p["plays"]),
            "beatmap": fmt.beatmap(map_row, _base_url(request)),
            "beatmapset": fmt.beatmapset(grouped[map_row["set_id"]]),
        })
    return answer


# --- beatmaps ---------------------------------------------------------------------------------


async def get_beatmap(request: Request) -> Any:
    found = await q.map_ids_where(_db(request), ids=[request.path_params["beatmap"]])
    answer = await _beatmaps_extended(request, found)
    if not answer:
        raise not_found()
    return answer[0]


async def get_beatmaps(request: Request) -> Any:
    found = await q.map_ids_where(_db(request), ids=_ids_param(request))
    return {"beatmaps": await _beatmaps_extended(request, found)}


async def lookup_beatmap(request: Request) -> Any:
    db = _db(request)
    params = request.query_params
    found: list[dict[str, Any]] = []
    if params.get("checksum"):
        found = await q.map_ids_where(db, md5=params["checksum"][:64])
    if not found and params.get("filename"):
        found = await q.map_ids_where(db, filename=params["filename"][:512])
    if not found and _DIGITS.match(params.get("id", "")) and int(params["id"]) < 2**31:
        found = await q.map_ids_where(db, ids=[int(params["id"])])
    answer = await _beatmaps_extended(request, found)
    if not answer:
        raise not_found()
    return answer[0]


async def _map(request: Request) -> dict[str, Any]:
    map_row = await maps.map_by_id(_db(request), request.path_params["beatmap"])
    if map_row is None:
        raise not_found()
    return map_row


async def beatmap_scores(request: Request) -> Any:
    map_row = await _map(request)
    mode = _ruleset(request.query_params.get("mode"), map_row["mode"])
    mods = _mods_filter(request)
    limit = _int_param(request, "limit", 50, 1, 100)
    if MapStatus(map_row["status"]) not in V2_LEADERBOARD_STATUSES:
        return {"scores": [], "score_count": 0, "user_score": None, "userScore": None}
    db = _db(request)
    rows = await scores.map_scores(db, map_md5=map_row["md5"], mode=mode, scope="best", mods=mods, limit=limit)
    users = await _users_by_id(request, [r["userid"] for r in rows])
    answer = []
    for position, row in enumerate(rows, start=1):
        body = _score(request, row, map_row, user=users.get(row["userid"]), with_map=False)
        body["rank_global"] = position
        answer.append(body)
    return {"scores": answer, "score_count": await q.count_map_scores(db, map_row["md5"], mode),
            "user_score": None, "userScore": None}


async def _player_scores_on_map(request: Request) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    map_row = await _map(request)
    user = await _user(request, request.path_params["user"])
    mode = _ruleset(request.query_params.get("ruleset") or request.query_params.get("mode"), map_row["mode"])
    rows = await scores.player_map_scores(_db(request), user_id=user["id"], map_md5=map_row["md5"],
                                          mode=mode, mods=_mods_filter(request))
    return map_row, user, rows


async def beatmap_user_score(request: Request) -> Any:
    map_row, user, rows = await _player_scores_on_map(request)
    best = next((r for r in rows if r["status"] == ScoreStatus.BEST), None) or (rows[0] if rows else None)
    if best is None:
        raise not_found()
    users = await _users_by_id(request, [user["id"]])
    position = await q.leaderboard_position(_db(request), best)
    body = _score(request, best, map_row, user=users.get(user["id"]))
    body["rank_global"] = position
    return {"position": position, "score": body}


async def beatmap_user_scores(request: Request) -> Any:
    map_row, _, rows = await _player_scores_on_map(request)
    return {"scores": [_score(request, row, map_row, with_map=False) for row in rows]}


async def get_beatmapset(request: Request) -> Any:
    return await _beatmapset(request, request.path_params["beatmapset"])


async def lookup_beatmapset(request: Request) -> Any:
    text = request.query_params.get("beatmap_id", "")
    found = await q.map_ids_where(_db(request), ids=[int(text)]) if _DIGITS.match(text) and int(text) < 2**31 else []
    if not found:
        raise not_found()
    return await _beatmapset(request, found[0]["set_id"])


async def _beatmapset(request: Request, set_id: int) -> Any:
    grouped, ratings = await _sets(request, [set_id])
    if set_id not in grouped:
        raise not_found()
    return fmt.beatmapset_extended(grouped[set_id], ratings.get(set_id, {}), _base_url(request), with_beatmaps=True)


# --- rankings, scores, search ----------------------------------------------------------------


async def rankings(request: Request) -> Any:
    mode_name, kind = request.path_params["mode"], request.path_params["type"]
    if mode_name not in V2_RULESET_IDS or kind not in ("performance", "score", "country"):
        raise not_found()
    mode = V2_RULESET_IDS[mode_name]
    page = _page(request)
    offset = (page - 1) * RANKING_PAGE_SIZE
    db = _db(request)
    if kind == "country":
        rows = await q.country_ranking(db, mode=mode, limit=RANKING_PAGE_SIZE, offset=offset)
        total = await q.count_countries(db, mode)
        ranking = [{
            "code": row["code"].upper(), "active_users": int(row["active_users"]),
            "play_count": int(row["play_count"] or 0), "ranked_score": int(row["ranked_score"] or 0),
            "performance": float(row["performance"] or 0), "country": fmt.country(row["code"]),
        } for row in rows]
    else:
        country = (request.query_params.get("country") or "").strip().lower()[:2] or None
        if kind == "score":
            country = None  # osu-web filters by country on performance only
        sort = "pp" if kind == "performance" else "rscore"
        board = await players.leaderboard(db, mode=mode, sort=sort, limit=RANKING_PAGE_SIZE, offset=offset, country=country)
        ids = [row["player_id"] for row in board]
        stats = {s["id"]: s for s in await players.players_stats(db, ids, mode)}
        hits = await q.hit_counts(db, ids, mode)
        users = await _users_by_id(request, ids)
        total = await q.count_ranked_players(db, mode=mode, column=sort, country=country)
        ranking = [{**fmt.statistics(stats.get(i), hits.get(i)), "user": users[i]} for i in ids if i in users]
    total = min(total, RANKING_PAGE_SIZE * RANKING_MAX_PAGES)
    cursor = {"page": page + 1} if offset + RANKING_PAGE_SIZE < total and page < RANKING_MAX_PAGES else None
    return {"cursor": cursor, "cursor_string": _cursor_string(cursor), "ranking": ranking, "total": total}


async def get_score(request: Request) -> Any:
    db = _db(request)
    row = await scores.score_by_id(db, request.path_params["score"])
    mode_name = request.path_params.get("mode")
    if mode_name is not None and mode_name not in V2_RULESET_IDS:
        raise not_found()
    if row is None or (mode_name is not None and row["mode"] != V2_RULESET_IDS[mode_name]) or row["mode"] > 3:
        raise not_found()
    users = await _users_by_id(request, [row["userid"]])
    if row["userid"] not in users:
        raise not_found()
    found = await q.map_ids_where(db, md5=row["map_md5"])
    grouped, _ = await _sets(request, [f["set_id"] for f in found])
    map_row = next((r for rows in grouped.values() for r in rows if r["md5"] == row["map_md5"]), None)
    body = _score(request, row, map_row, user=users[row["userid"]])
    if map_row is not None:
        body["beatmap"]["beatmapset_id"] = map_row["set_id"]
        body["beatmapset"] = fmt.beatmapset(grouped[map_row["set_id"]])
    body["rank_global"] = await q.leaderboard_position(db, row)
    body["replay_views"] = 0
    return body


async def search(request: Request) -> Any:
    mode = request.query_params.get("mode", "all")
    if mode not in ("all", "user", "wiki_page"):
        raise invalid("invalid mode parameter")
    answer: dict[str, Any] = {}
    if mode in ("all", "user"):
        text = (request.query_params.get("query") or "").strip()[:64]
        page = _int_param(request, "page", 1, 1, 5)
        found = await players.search_players(_db(request), text) if text else []
        found = found[:100]
        chosen = [row["id"] for row in found[(page - 1) * SEARCH_PAGE_SIZE : page * SEARCH_PAGE_SIZE]]
        users = await _users_by_id(request, chosen)
        answer["user"] = {"data": [users[i] for i in chosen if i in users], "total": len(found)}
    if mode in ("all", "wiki_page"):
        answer["wiki_page"] = {"data": [], "total": 0}
    return answer


def routes() -> list[BaseRoute]:
    """Every path twice: as written and with a trailing slash."""
    table: list[tuple[str, Any, str]] = [
        ("/api/v2/oauth/tokens/current", _api(revoke_current_token, scope=None), "DELETE"),
        ("/api/v2/users", _api(get_users), "GET"),
        ("/api/v2/users/{user}/scores/{type}", _api(user_scores), "GET"),
        ("/api/v2/users/{user}/beatmapsets/{type}", _api(user_beatmapsets), "GET"),
        ("/api/v2/users/{user}/{mode}", _api(get_user), "GET"),
        ("/api/v2/users/{user}", _api(get_user), "GET"),
        ("/api/v2/beatmaps", _api(get_beatmaps), "GET"),
        ("/api/v2/beatmaps/lookup", _api(lookup_beatmap), "GET"),
        ("/api/v2/beatmaps/{beatmap:int}", _api(get_beatmap), "GET"),
        ("/api/v2/beatmaps/{beatmap:int}/scores", _api(beatmap_scores), "GET"),
        ("/api/v2/beatmaps/{beatmap:int}/scores/users/{user}", _api(beatmap_user_score), "GET"),
        ("/api/v2/beatmaps/{beatmap:int}/scores/users/{user}/all", _api(beatmap_user_scores), "GET"),
        ("/api/v2/beatmapsets/lookup", _api(lookup_beatmapset), "GET"),
        ("/api/v2/beatmapsets/{beatmapset:int}", _api(get_beatmapset), "GET"),
        ("/api/v2/rankings/{mode}/{type}", _api(rankings), "GET"),
        ("/api/v2/scores/{score:int}", _api(get_score), "GET"),
        ("/api/v2/scores/{mode}/{score:int}", _api(get_score), "GET"),
        ("/api/v2/search", _api(search), "GET"),
    ]
    answer: list[BaseRoute] = []
    for path, handler, method in [("/oauth/token", token, "POST"), *table]:
        for variant in (path, path + "/"):
            answer.append(Route(variant, handler, methods=[method], name=f"v2:{method}:{variant}"))
    return answer
