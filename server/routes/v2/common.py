"""What every osu!api v2 route shares: how an endpoint is served (the
token, its scope, the errors osu-web answers), the kinds of its
parameters, and the objects several routes build (users, scores, sets)."""

from __future__ import annotations

import base64
import json
import re
import time
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response

from ... import oauth
from ...constants import V2_RULESET_IDS, V2_SCORE_SHAPE_VERSION, Privileges, parse_mod_acronyms
from ...db import Database
from ...endpoints import Endpoint, Handler, Serve
from ...formats import v2 as fmt
from ...params import Param, ParamError, PathNotFound, Values, query_values
from ...queries import players
from ...queries import v2 as q
from ...queries.scores import ModsFilter
from ...responses import JSONResponse
from ...schemas import (
    INT,
    NSTR,
    STATUS,
    STR,
    V2_ERROR,
    V2_UNAUTHENTICATED,
    Schema,
    any_of,
    arr,
    enum,
    json_body,
    obj,
)

UNAUTHENTICATED = {"authentication": "basic"}
MISSING_SCOPE = {"error": "A required scope is missing."}
MAX_IDS = 50
DIGITS = re.compile(r"^\d{1,10}$")
TAG = "osu!api v2"


class V2Error(Exception):
    def __init__(self, status_code: int, body: Any) -> None:
        super().__init__(status_code)
        self.status_code = status_code
        self.body = body


def not_found(message: str | None = None) -> V2Error:
    return V2Error(404, {"error": message})


def invalid(message: str) -> V2Error:
    return V2Error(422, {"error": message})


def db_of(request: Request) -> Database:
    return request.app.state.db


def base_url(request: Request) -> str:
    return request.app.state.public_urls.base(request)


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def new_shape(request: Request) -> bool:
    value = request.headers.get("x-api-version", "").strip()
    return value.isdigit() and int(value) >= V2_SCORE_SHAPE_VERSION


def has_replay(request: Request, score_id: int) -> bool:
    return (request.app.state.settings.replays_dir / f"{score_id}.osr").is_file()


# --- serving ------------------------------------------------------------------------------


async def _authenticate(request: Request) -> oauth.Token:
    header = request.headers.get("authorization", "")
    if header[:7].lower() != "bearer " or not header[7:].strip():
        raise V2Error(401, UNAUTHENTICATED)
    db = db_of(request)
    secret = await oauth.signing_secret(db, request.app.state.settings.oauth_secret)
    found = oauth.decode_token(secret, header[7:].strip())
    if found is None or await oauth.is_revoked(db, found) or not await oauth.client_is_active(db, found.client_id):
        raise V2Error(401, UNAUTHENTICATED)
    return found


def api(scope: str | None = "public") -> Serve:
    """How an /api/v2 endpoint is served, as osu-web answers: the token (401
    {"authentication": "basic"}), its scope (403), the parameters (422
    {"error": message}), then the handler's value as JSON; the handler
    finds the token in request.state.token."""

    async def serve(endpoint: Endpoint, request: Request) -> Response:
        try:
            found = await _authenticate(request)
            if scope is not None and scope not in found.scopes:
                raise V2Error(403, MISSING_SCOPE)
            request.state.token = found
            try:
                args = endpoint.read(query_values(request))
            except PathNotFound:
                raise not_found() from None
            except ParamError as exc:
                raise invalid(str(exc)) from None
            result = await endpoint.handler(request, args)
        except V2Error as exc:
            return JSONResponse(exc.body, status_code=exc.status_code)
        return result if isinstance(result, Response) else JSONResponse(result)

    return serve


def endpoint(handler: Handler, summary: str, path: str, params: tuple[Param, ...], ok: Schema | None, *,
             name: str | None = None, method: str = "GET", scope: str | None = "public",
             extra: dict[int | str, Schema] | None = None) -> Endpoint:
    """An /api/v2 endpoint, served at its path with and without a trailing
    slash (osu.py sends one)."""
    answers: dict[int | str, Schema] = {
        **({} if ok is None else {200: json_body(ok)}),
        401: json_body(V2_UNAUTHENTICATED, 'Missing, invalid, expired or revoked token: {"authentication": "basic"}'),
        403: json_body(V2_ERROR, "A required scope is missing"),
        # a missing object ({"error": null}), or the router's answer to a
        # path parameter of the wrong form ({"status": "Not found."})
        404: json_body(any_of(V2_ERROR, STATUS), "Not found"),
        422: json_body(V2_ERROR, "An invalid parameter"),
        **(extra or {}),
    }
    return Endpoint(f"v2_{name or handler.__name__}", handler, summary, TAG, (path, path + "/"), (method,), params,
                    answers, security=({"oauth2": [scope] if scope else []},), serve=api(scope))


# --- parameter kinds ------------------------------------------------------------------------


class Flag(Param):
    """True for 1, true, yes or on (any case); anything else is false."""

    def parse(self, raw: str | None) -> bool:
        return (raw or "").strip().lower() in ("1", "true", "yes", "on")

    def schema(self) -> Schema:
        return STR


class Text(Param):
    def __init__(self, name: str, description: str = "", *, max_length: int | None = None,
                 attr: str | None = None) -> None:
        super().__init__(name, description, attr=attr)
        self.max_length = max_length

    def parse(self, raw: str | None) -> str | None:
        return raw if raw is None or self.max_length is None else raw[: self.max_length]

    def schema(self) -> Schema:
        return STR


class IdList(Param):
    """`ids[]` (repeated) and `ids` (comma-separated): the first MAX_IDS
    distinct ids, in order; what is not an id is left out."""

    def __init__(self, name: str = "ids") -> None:
        super().__init__(name, f"up to {MAX_IDS} ids")

    def read(self, values: Values) -> list[int]:
        ids: list[int] = []
        for value in values.getlist(f"{self.name}[]") + values.getlist(self.name):
            for part in value.split(","):
                if DIGITS.match(part.strip()) and int(part) < 2**31 and int(part) not in ids:
                    ids.append(int(part))
        return ids[:MAX_IDS]

    def schema(self) -> Schema:
        return arr(STR)

    def document(self) -> list[Schema]:
        return [{"name": f"{self.name}[]", "in": "query", "required": False, "schema": arr(STR),
                 "description": self.description, "style": "form", "explode": True},
                {"name": self.name, "in": "query", "required": False, "schema": STR,
                 "description": "comma-separated ids"}]


class Ruleset(Param):
    """A ruleset name (or its number) as bancho.py's vanilla mode; None when
    not given (the route's default applies). With several names, the first
    one given is read, as osu-web reads `ruleset` before `mode`."""

    def __init__(self, *names: str) -> None:
        super().__init__(names[0], "osu, taiko, fruits or mania (or 0-3)", attr="ruleset")
        self.names = names

    def read(self, values: Values) -> int | None:
        return self.parse(next((values.get(name) for name in self.names if values.get(name)), None))

    def parse(self, raw: str | None) -> int | None:
        if not raw:
            return None
        if raw in V2_RULESET_IDS:
            return V2_RULESET_IDS[raw]
        if raw in ("0", "1", "2", "3"):
            return int(raw)
        raise ParamError("invalid ruleset parameter")

    def schema(self) -> Schema:
        return enum(*V2_RULESET_IDS)

    def document(self) -> list[Schema]:
        return [{"name": name, "in": "query", "required": False, "schema": self.schema(),
                 "description": self.description} for name in self.names]


class ModsList(Param):
    """`mods[]` (or `mods`) acronyms, NM for none: an exact combination."""

    def __init__(self) -> None:
        super().__init__("mods[]", "acronyms, an exact combination (NM: none)", attr="mods")

    def read(self, values: Values) -> ModsFilter | None:
        acronyms = values.getlist("mods[]") + values.getlist("mods")
        if not acronyms:
            return None
        total = 0
        for acronym in acronyms:
            mods = parse_mod_acronyms(acronym.strip())
            if mods is None:
                raise ParamError("invalid mods parameter")
            total |= int(mods)
        return ModsFilter(total, "equal")

    def schema(self) -> Schema:
        return arr(STR)

    def document(self) -> list[Schema]:
        return [{**super().document()[0], "style": "form", "explode": True}]


KEY = Text("key", "id or username: what the `user` path parameter is")


# --- objects several routes build ---------------------------------------------------------


async def user_row(request: Request, text: str, key: str | None) -> dict[str, Any]:
    """users/{user}: an id, `@name`, or what `key` says (id or username); a
    numeric text without a key is tried as an id, then as a name. 404 for
    the unknown and the restricted."""
    db = db_of(request)
    text = unquote(text)
    row = None
    if key == "username":
        row = await players.player_by_name(db, text.removeprefix("@") if text.startswith("@") else text)
    elif text.startswith("@"):
        row = await players.player_by_name(db, text[1:])
    elif key == "id":
        row = await players.player_by_id(db, int(text)) if DIGITS.match(text) and int(text) < 2**31 else None
    else:
        if DIGITS.match(text) and int(text) < 2**31:
            row = await players.player_by_id(db, int(text))
        if row is None:
            row = await players.player_by_name(db, text)
    if row is None or not row["priv"] & Privileges.UNRESTRICTED:
        raise not_found()
    return row


def cursor_string(cursor: dict[str, Any] | None) -> str | None:
    if cursor is None:
        return None
    return base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode().rstrip("=")


async def users_by_id(request: Request, user_ids: list[int]) -> dict[int, dict[str, Any]]:
    """User + country, cover, groups, team for each unrestricted id."""
    rows = await q.players_by_ids(db_of(request), user_ids)
    now = time.time()
    return {row["id"]: fmt.user_with_includes(row, base_url(request), now) for row in rows}


def score(
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
    body = fmt.score(row, status, new_shape=new_shape(request), has_replay=has_replay(request, row["id"]))
    if with_map and map_row is not None:
        beatmap = fmt.beatmap(map_row, base_url(request))
        if row["mode"] % 4 != map_row["mode"]:
            beatmap.update(mode=fmt.ruleset(row["mode"]), mode_int=row["mode"] % 4, convert=True)
        body["beatmap"] = beatmap
        body["beatmapset"] = fmt.beatmapset([map_row])
    if user is not None:
        body["user"] = user
    return body


async def sets(request: Request, set_ids: list[int]) -> tuple[dict[int, list[dict[str, Any]]], dict[int, dict[int, int]]]:
    """The maps rows of each set and each set's rating counts."""
    db = db_of(request)
    grouped: dict[int, list[dict[str, Any]]] = {}
    for row in await q.maps_of_sets(db, set_ids):
        grouped.setdefault(row["set_id"], []).append(row)
    return grouped, await q.rating_counts(db, set_ids)


# the objects' schemas: the keys a client relies on
USER = obj({"id": INT, "username": STR, "country_code": STR})
BEATMAP = obj({"id": INT, "beatmapset_id": INT, "mode": STR, "checksum": NSTR, "version": STR})
BEATMAPSET = obj({"id": INT, "artist": STR, "title": STR})
SCORE = obj({"id": INT})
RULESET = enum("osu", "taiko", "fruits", "mania")
