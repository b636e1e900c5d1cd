"""bancho.py's own second JSON API, under /v2/ on the same host as its /v1:
players, their status and stats, maps, scores and clans, each a paged
list filtered by exact values or one object by its id. GET only, no key.

Answered as bancho.py (FastAPI) answers: {"status": "success", "data",
"meta"} (formats.bancho_v2); 404 {"status": "error", "error": "<Thing> not
found."}; a parameter pydantic refuses answers 422 {"detail": [...]} with
pydantic's own error items (every refused parameter, path ones first), so
they are the very texts bancho.py sends; a trailing slash answers 307 to
the path without it (the router's). Unlike osu!api v2's /api/v2/, this API
has no authentication."""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from .. import presence
from ..endpoints import Endpoint, Handler
from ..formats import bancho_v2 as fmt
from ..params import Args, Param, Values, query_values
from ..queries import listings, live
from ..queries.listings import CLANS, MAPS, PLAYERS, SCORES, STATS, Table
from ..responses import JSONResponse
from ..schemas import INT, STR, Schema, arr, integer, json_body, obj
from ..upstream import LIVE_UNAVAILABLE, UpstreamUnavailable

TAG = "bancho.py's /v2 API"


class Refused(Exception):
    """pydantic's error items for one parameter."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        super().__init__(items)
        self.items = items


@lru_cache(maxsize=None)
def _adapter(annotation: Any) -> TypeAdapter:
    return TypeAdapter(annotation)


class Validated(Param):
    """A parameter as FastAPI reads it: its text validated by pydantic
    against the handler's annotation (lax: ' 7 ', '1.0' and '1_000' are
    integers, 'on' and 'yes' are true), a missing one its default."""

    def __init__(self, name: str, annotation: Any, description: str = "", *, default: Any = None,
                 where: str = "query", schema: Schema | None = None) -> None:
        super().__init__(name, description, required=where == "path")
        self.annotation, self.default, self.where, self._schema = annotation, default, where, schema or STR

    def read(self, values: Values) -> Any:
        raw = values.path.get(self.name) if self.where == "path" else values.get(self.name)
        if raw is None:
            return self.default
        try:
            return _adapter(self.annotation).validate_python(raw)
        except ValidationError as exc:
            raise Refused([{**item, "loc": [self.where, self.name]}
                           for item in exc.errors(include_url=False)]) from None

    def schema(self) -> Schema:
        return self._schema


def _id(name: str) -> Param:
    return Validated(name, int, where="path", schema=INT)


def _int(name: str, description: str = "") -> Param:
    return Validated(name, int | None, description or "exact value", schema=INT)


def _text(name: str, description: str = "exact value (any case)") -> Param:
    return Validated(name, str | None, description)


PAGE = (Validated("page", Annotated[int, Field(ge=1)], "from 1; default 1", default=1, schema=integer(1)),
        Validated("page_size", Annotated[int, Field(ge=1, le=100)], "1-100; default 50", default=50,
               schema=integer(1, 100)))


async def _fastapi(endpoint: Endpoint, request: Request) -> Response:
    """Every parameter is read; all that pydantic refuses answer together."""
    values = query_values(request)
    args, refused = {}, []
    for param in endpoint.params:
        try:
            args[param.attr] = param.read(values)
        except Refused as exc:
            refused += exc.items
    if refused:
        return JSONResponse({"detail": refused}, status_code=422)
    return await endpoint.handler(request, Args(**args))


def _not_found(thing: str) -> Response:
    return JSONResponse({"status": "error", "error": f"{thing} not found."}, status_code=404)


def _db(request: Request):
    return request.app.state.db


async def _listing(request: Request, p: Args, table: Table, filters: dict[str, Any]) -> Response:
    db = _db(request)
    rows = await listings.page(db, table, filters, p.page, p.page_size)
    total = await listings.total(db, table, filters)
    shape = fmt.shaper(table)
    return JSONResponse(fmt.envelope([shape(row) for row in rows], fmt.page_meta(total, p.page, p.page_size)))


async def _one(request: Request, table: Table, thing: str, **key: Any) -> Response:
    row = await listings.by_key(_db(request), table, **key)
    if row is None:
        return _not_found(thing)
    return JSONResponse(fmt.envelope(fmt.shaper(table)(row)))


# --- players

async def get_players(request: Request, p: Args) -> Response:
    return await _listing(request, p, PLAYERS, {f: getattr(p, f) for f in PLAYERS.filters})


async def get_player(request: Request, p: Args) -> Response:
    return await _one(request, PLAYERS, "Player", id=p.player_id)


async def get_player_status(request: Request, p: Args) -> Response:
    try:
        upstream = await presence.v2_status(request, p.player_id)
    except UpstreamUnavailable:
        return JSONResponse({"status": "error", "error": LIVE_UNAVAILABLE}, status_code=503)
    if upstream is not None:
        return JSONResponse(upstream[1], status_code=upstream[0])
    since = int(time.time()) - request.app.state.settings.presence_ttl
    session = await live.online_session(_db(request), p.player_id, since)
    if session is None:
        return JSONResponse({"status": "error", "error": "Player status not found."}, status_code=404)
    return JSONResponse(fmt.envelope(fmt.player_status(session, session["beatmap_id"] or 0)))


async def get_player_mode_stats(request: Request, p: Args) -> Response:
    return await _one(request, STATS, "Player stats", id=p.player_id, mode=p.mode)


async def get_player_stats(request: Request, p: Args) -> Response:
    return await _listing(request, p, STATS, {"id": p.player_id})


# --- maps, scores, clans

async def get_maps(request: Request, p: Args) -> Response:
    return await _listing(request, p, MAPS, {f: getattr(p, f) for f in MAPS.filters})


async def get_map(request: Request, p: Args) -> Response:
    return await _one(request, MAPS, "Map", id=p.map_id)


async def get_scores(request: Request, p: Args) -> Response:
    filters = {f: getattr(p, f) for f in SCORES.filters if f != "userid"}
    return await _listing(request, p, SCORES, {**filters, "userid": p.user_id})


async def get_score(request: Request, p: Args) -> Response:
    return await _one(request, SCORES, "Score", id=p.score_id)


async def get_clans(request: Request, p: Args) -> Response:
    return await _listing(request, p, CLANS, {})


async def get_clan(request: Request, p: Args) -> Response:
    return await _one(request, CLANS, "Clan", id=p.clan_id)


# --- the declarations

ERRORS = {404: json_body(fmt.ERROR_SCHEMA, "Not found"),
          422: json_body(obj({"detail": arr(obj({"type": STR, "loc": arr({}), "msg": STR}))}),
                         "A parameter pydantic refuses")}


def _endpoint(handler: Handler, summary: str, path: str, params: tuple[Param, ...], data: Schema, *,
              paged: bool = False) -> Endpoint:
    return Endpoint(f"v2_bancho_{handler.__name__}", handler, summary, TAG, (path,), params=params,
                    answers={200: json_body(fmt.envelope_schema(data, paged)), **ERRORS}, serve=_fastapi)


ENDPOINTS: list[Endpoint] = [
    _endpoint(get_players, "Players, filtered by exact values", "/v2/players",
              (_int("priv"), _text("country", "as stored: lower case, xx unknown"), _int("clan_id"),
               _int("clan_priv"), _int("preferred_mode"), _int("play_style"), *PAGE),
              arr(fmt.schema_of(PLAYERS)), paged=True),
    _endpoint(get_player, "A player (restricted ones too)", "/v2/players/{player_id}", (_id("player_id"),),
              fmt.schema_of(PLAYERS)),
    _endpoint(get_player_status, "An online player's status", "/v2/players/{player_id}/status",
              (_id("player_id"),), fmt.PLAYER_STATUS_SCHEMA),
    _endpoint(get_player_mode_stats, "A player's stats in one mode", "/v2/players/{player_id}/stats/{mode}",
              (_id("player_id"), _id("mode")), fmt.schema_of(STATS)),
    _endpoint(get_player_stats, "A player's stats in every mode", "/v2/players/{player_id}/stats",
              (_id("player_id"), *PAGE), arr(fmt.schema_of(STATS)), paged=True),
    _endpoint(get_maps, "Maps, filtered by exact values", "/v2/maps",
              (_int("set_id"), _text("server", "osu! or private"), _int("status", "bancho.py's: -1 to 5"),
               _text("artist"), _text("creator"), _text("filename"), _int("mode"),
               Validated("frozen", bool | None, "true or false", schema={"type": "boolean"}), *PAGE),
              arr(fmt.schema_of(MAPS)), paged=True),
    _endpoint(get_map, "A map (this database's only)", "/v2/maps/{map_id}", (_id("map_id"),),
              fmt.schema_of(MAPS)),
    _endpoint(get_scores, "Scores, filtered by exact values", "/v2/scores",
              (_text("map_md5"), _int("mods", "the exact mods"), _int("status", "0 failed, 1 submitted, 2 best"),
               _int("mode"), _int("user_id"), *PAGE),
              arr(fmt.schema_of(SCORES)), paged=True),
    _endpoint(get_score, "A score", "/v2/scores/{score_id}", (_id("score_id"),), fmt.schema_of(SCORES)),
    _endpoint(get_clans, "Clans", "/v2/clans", PAGE, arr(fmt.schema_of(CLANS)), paged=True),
    _endpoint(get_clan, "A clan", "/v2/clans/{clan_id}", (_id("clan_id"),), fmt.schema_of(CLANS)),
]
