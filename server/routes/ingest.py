"""The ingest API: the game server pushes live state here (who is online and
what they are doing, the multiplayer matches in play), because this service
runs apart from it and sees only the database. Every call needs
`Authorization: Bearer <INGEST_TOKEN>`; without INGEST_TOKEN set the whole
API answers 503. Bodies are JSON objects of at most MAX_BODY bytes, checked
field by field: a 400 names the first bad field.

Reads never serve expired rows (sessions past PRESENCE_TTL, matches past
MATCH_TTL); a background job deletes them (server/background.py), off the
write path, where its range locks made concurrent writers deadlock."""

from __future__ import annotations

import hmac
import math
import re
import time
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from ..constants import MAX_INT32, PLAYABLE_MODES
from ..db import Database
from ..endpoints import Endpoint, Handler, plain
from ..params import Args, Param, ParamError, PathParam, read_body
from ..queries import live
from ..responses import ApiError, bad_request, not_found, success
from ..schemas import (
    BAD_REQUEST,
    BOOL,
    STR,
    Schema,
    arr,
    enum,
    integer,
    json_body,
    nullable,
    obj,
    request_body,
    status_error,
    string,
)
from ..schemas import success as success_schema

MAX_BODY = 64 * 1024
MAX_INFO_TEXT = 256
MAX_MATCH_NAME = 64
MAX_MAP_NAME = 256
MAX_REFEREES = 64
SLOTS = 16
# bancho.py's Action enum: Idle 0 ... OsuDirect 13
MAX_ACTION = 13
# bancho.py's SlotStatus flags fit a byte; MatchTeams: neutral 0, blue 1, red 2
MAX_SLOT_STATUS = 255
MAX_TEAM = 2
# a login time up to 2106 (unsigned 32-bit seconds)
MAX_LOGIN_TIME = 2.0**32

_MD5 = re.compile(r"^[0-9a-fA-F]{32}$")
_ID = re.compile(r"^\d{1,10}$")
_MISSING = object()


# --- authentication and bodies -----------------------------------------------


def _check_token(request: Request) -> None:
    expected = request.app.state.settings.ingest_token
    if not expected:
        raise ApiError(503, "Ingest is disabled: set INGEST_TOKEN.")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    # (header text is the raw bytes read as latin-1: compared as those bytes,
    # a UTF-8 token matches too)
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode("latin-1"), expected.encode()):
        raise _Unauthorized()


class _Unauthorized(ApiError):
    def __init__(self) -> None:
        super().__init__(401, "Invalid ingest token.")

    def response(self):
        out = super().response()
        out.headers["WWW-Authenticate"] = "Bearer"
        return out


async def _token_first(endpoint: Endpoint, request: Request) -> Response:
    """How an ingest endpoint is served: the token, then as `plain` does."""
    _check_token(request)
    return await plain(endpoint, request)


async def _read_json(request: Request) -> Any:
    """The body parsed as JSON, _MISSING when empty; 413 past MAX_BODY
    (checked as it streams in, not only by Content-Length), 400 when it is
    not JSON."""
    body = await read_body(request, MAX_BODY, f"Request body too large: at most {MAX_BODY} bytes.")
    if not body.strip():
        return _MISSING
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"Invalid JSON body: {exc}.") from None


async def _json_object(request: Request, *, optional: bool = False) -> dict[str, Any]:
    body = await _read_json(request)
    if body is _MISSING and optional:
        return {}
    if not isinstance(body, dict):
        raise bad_request("The body must be a JSON object.")
    return body


class PathId(PathParam):
    def __init__(self, name: str, description: str, minimum: int, maximum: int) -> None:
        super().__init__(name, description, required=True)
        self.minimum, self.maximum = minimum, maximum

    def parse(self, raw: str) -> int:
        if not _ID.match(raw) or not self.minimum <= int(raw) <= self.maximum:
            raise ParamError(f"Invalid '{self.name}': must be an integer between {self.minimum} and {self.maximum}.")
        return int(raw)

    def schema(self) -> Schema:
        return string(pattern=rf"^\d{{1,{len(str(self.maximum))}}}$")


# --- field validation ----------------------------------------------------------


def _integer(value: Any, name: str, minimum: int, maximum: int) -> int:
    # (JSON true and false are not numbers, though Python's bool is an int)
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"Invalid '{name}': must be an integer.")
    if not minimum <= value <= maximum:
        raise bad_request(f"Invalid '{name}': must be between {minimum} and {maximum}.")
    return value


class _Fields:
    """Reads the fields of one JSON object; every error names the field by
    its path (`slots[2].team`)."""

    def __init__(self, data: dict[str, Any], allowed: tuple[str, ...], path: str = "") -> None:
        self.data = data
        self.path = path
        for key in data:
            if key not in allowed:
                raise bad_request(f"Unknown field '{self.name(key)}': expected {', '.join(allowed)}.")

    def name(self, key: str) -> str:
        return f"{self.path}{key}"

    def has(self, key: str) -> bool:
        return key in self.data

    def _get(self, key: str, default: Any) -> Any:
        if key not in self.data:
            if default is _MISSING:
                raise bad_request(f"Missing required field '{self.name(key)}'.")
            return default
        return self.data[key]

    def integer(self, key: str, minimum: int, maximum: int, default: Any = _MISSING) -> int:
        return _integer(self._get(key, default), self.name(key), minimum, maximum)

    def optional_id(self, key: str) -> int | None:
        """A player id (1 or more), or null."""
        if self.data.get(key, _MISSING) is None:
            return None
        return self.integer(key, 1, MAX_INT32)

    def number(self, key: str, minimum: float, maximum: float, default: Any = _MISSING) -> float:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise bad_request(f"Invalid '{self.name(key)}': must be a number.")
        if not minimum <= value <= maximum:
            low, high = (int(x) if float(x).is_integer() else x for x in (minimum, maximum))
            raise bad_request(f"Invalid '{self.name(key)}': must be between {low} and {high}.")
        return float(value)

    def boolean(self, key: str, default: Any = _MISSING) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise bad_request(f"Invalid '{self.name(key)}': must be true or false.")
        return value

    def string(self, key: str, max_length: int, default: Any = _MISSING) -> str:
        value = self._get(key, default)
        if not isinstance(value, str):
            raise bad_request(f"Invalid '{self.name(key)}': must be a string.")
        if len(value) > max_length:
            raise bad_request(f"Invalid '{self.name(key)}': at most {max_length} characters.")
        return value

    def md5(self, key: str, default: Any = _MISSING) -> str:
        """A beatmap md5 (32 hex digits, stored lower-case) or "" for none."""
        value = self._get(key, default)
        if not isinstance(value, str) or (value and not _MD5.match(value)):
            raise bad_request(f"Invalid '{self.name(key)}': must be 32 hexadecimal digits or \"\".")
        return value.lower()

    def mode(self, key: str, default: Any = _MISSING) -> int:
        value = self.integer(key, 0, 11, default)
        if value not in PLAYABLE_MODES:
            raise bad_request(f"Invalid '{self.name(key)}': {value} is not a playable mode.")
        return value

    def mods(self, key: str, default: Any = _MISSING) -> int:
        return self.integer(key, 0, MAX_INT32, default)

    def array(self, key: str, max_items: int, default: Any = _MISSING) -> list[Any]:
        value = self._get(key, default)
        if not isinstance(value, list):
            raise bad_request(f"Invalid '{self.name(key)}': must be an array.")
        if len(value) > max_items:
            raise bad_request(f"Invalid '{self.name(key)}': at most {max_items} items.")
        return value

    def nested(self, key: str, allowed: tuple[str, ...], default: Any = _MISSING) -> "_Fields":
        value = self._get(key, default)
        if not isinstance(value, dict):
            raise bad_request(f"Invalid '{self.name(key)}': must be an object.")
        return _Fields(value, allowed, f"{self.name(key)}.")


_STATUS_FIELDS = ("action", "info_text", "mode", "mods", "map_md5")


def _status_changes(fields: _Fields) -> dict[str, Any]:
    """The status fields present in a body, validated."""
    readers = {
        "action": lambda: fields.integer("action", 0, MAX_ACTION),
        "info_text": lambda: fields.string("info_text", MAX_INFO_TEXT),
        "mode": lambda: fields.mode("mode"),
        "mods": lambda: fields.mods("mods"),
        "map_md5": lambda: fields.md5("map_md5"),
    }
    return {key: read() for key, read in readers.items() if fields.has(key)}


def _session_body(body: dict[str, Any], now: float) -> dict[str, Any]:
    fields = _Fields(body, ("login_time", *_STATUS_FIELDS))
    # bancho.py's defaults for a fresh login: idle, no text, osu!, no mods, no map
    session = {"action": 0, "info_text": "", "mode": 0, "mods": 0, "map_md5": ""}
    session["login_time"] = fields.number("login_time", 0, MAX_LOGIN_TIME, now)
    session.update(_status_changes(fields))
    return session


_MATCH_FIELDS = (
    "name", "mode", "mods", "seed", "host_id", "referee_ids", "in_progress", "is_scrimming", "map", "slots",
)
_MAP_FIELDS = ("id", "md5", "name")
_SLOT_FIELDS = ("slot", "user_id", "status", "team", "mods", "loaded", "skipped")


def _match_body(body: dict[str, Any]) -> dict[str, Any]:
    fields = _Fields(body, _MATCH_FIELDS)
    match: dict[str, Any] = {
        "name": fields.string("name", MAX_MATCH_NAME),
        "mode": fields.mode("mode", 0),
        "mods": fields.mods("mods", 0),
        "seed": fields.integer("seed", -MAX_INT32 - 1, MAX_INT32, 0),
        "host_id": fields.integer("host_id", 1, MAX_INT32),
        "in_progress": fields.boolean("in_progress", False),
        "is_scrimming": fields.boolean("is_scrimming", False),
    }
    beatmap = fields.nested("map", _MAP_FIELDS, {})
    # the osu! client sends map id -1 while the host is choosing a map
    match["map_id"] = beatmap.integer("id", -1, MAX_INT32, 0)
    match["map_md5"] = beatmap.md5("md5", "")
    match["map_name"] = beatmap.string("name", MAX_MAP_NAME, "")

    referees = fields.array("referee_ids", MAX_REFEREES, [])
    # a set: naming a referee twice is harmless
    match["referee_ids"] = sorted({_integer(v, f"referee_ids[{i}]", 1, MAX_INT32) for i, v in enumerate(referees)})

    slots = []
    seen_slots: set[int] = set()
    seen_players: set[int] = set()
    for i, entry in enumerate(fields.array("slots", SLOTS, [])):
        path = f"slots[{i}]"
        if not isinstance(entry, dict):
            raise bad_request(f"Invalid '{path}': must be an object.")
        slot = _Fields(entry, _SLOT_FIELDS, f"{path}.")
        number = slot.integer("slot", 0, SLOTS - 1)
        if number in seen_slots:
            raise bad_request(f"Invalid '{path}.slot': slot {number} is given twice.")
        seen_slots.add(number)
        user_id = slot.optional_id("user_id")
        values = {
            "slot": number,
            "user_id": user_id,
            "status": slot.integer("status", 0, MAX_SLOT_STATUS, 0),
            "team": slot.integer("team", 0, MAX_TEAM, 0),
            "mods": slot.mods("mods", 0),
            "loaded": slot.boolean("loaded", False),
            "skipped": slot.boolean("skipped", False),
        }
        if user_id is None:
            continue  # an empty slot: nothing to show
        if user_id in seen_players:
            raise bad_request(f"Invalid '{path}.user_id': player {user_id} is in two slots.")
        seen_players.add(user_id)
        slots.append(values)
    match["slots"] = slots
    return match


# --- handlers ------------------------------------------------------------------


def _db(request: Request) -> Database:
    return request.app.state.db


async def put_session(request: Request, p: Args) -> Response:
    now = time.time()
    session = _session_body(await _json_object(request), now)
    await live.put_session(_db(request), p.user_id, session, int(now))
    return success()


async def heartbeat(request: Request, p: Args) -> Response:
    changes = _status_changes(_Fields(await _json_object(request, optional=True), _STATUS_FIELDS))
    now = int(time.time())
    db = _db(request)
    # an expired session is gone even if not yet deleted: log in again (PUT)
    if not await live.has_session(db, p.user_id, now - request.app.state.settings.presence_ttl):
        raise not_found("Session not found.")
    await live.heartbeat(db, p.user_id, changes, now)
    return success()


async def delete_session(request: Request, p: Args) -> Response:
    await live.delete_session(_db(request), p.user_id)
    return success()


async def put_match(request: Request, p: Args) -> Response:
    match = _match_body(await _json_object(request))
    now = int(time.time())
    await live.replace_match(_db(request), p.match_id, match, now)
    return success()


async def delete_match(request: Request, p: Args) -> Response:
    await live.delete_match(_db(request), p.match_id)
    return success()


# --- the declarations --------------------------------------------------------

TAG = "ingest (game server)"
USER_ID = PathId("user_id", "a player id", 1, MAX_INT32)
MATCH_ID = PathId("match_id", "a match id, 1-64", 1, 64)
MODE = enum(*(int(mode) for mode in PLAYABLE_MODES))
MD5 = string(max_length=32, pattern="^([0-9a-fA-F]{32})?$")
# the bodies the readers above take, documented (tests/test_endpoints.py
# checks that each names exactly the fields its reader allows)
STATUS_BODY = {"action": integer(0, MAX_ACTION), "info_text": string(max_length=MAX_INFO_TEXT), "mode": MODE,
               "mods": integer(0, MAX_INT32), "map_md5": MD5}
SESSION_BODY = obj(optional={"login_time": integer(0), **STATUS_BODY})
MATCH_BODY = obj(
    {"name": string(max_length=MAX_MATCH_NAME), "host_id": integer(1, MAX_INT32)},
    {"mode": MODE, "mods": integer(0, MAX_INT32), "seed": integer(-MAX_INT32 - 1, MAX_INT32),
     "referee_ids": arr(integer(1, MAX_INT32), maxItems=MAX_REFEREES), "in_progress": BOOL, "is_scrimming": BOOL,
     "map": obj(optional={"id": integer(-1, MAX_INT32), "md5": MD5, "name": string(max_length=MAX_MAP_NAME)}),
     "slots": arr(obj({"slot": integer(0, SLOTS - 1)},
                      {"user_id": nullable(integer(1, MAX_INT32)), "status": integer(0, MAX_SLOT_STATUS),
                       "team": integer(0, MAX_TEAM), "mods": integer(0, MAX_INT32), "loaded": BOOL,
                       "skipped": BOOL}), maxItems=SLOTS)},
)


def _endpoint(handler: Handler, summary: str, path: str, method: str, param: Param, body: Schema | None,
              body_required: bool, session_not_found: bool = False) -> Endpoint:
    answers: dict[int | str, Schema] = {
        200: json_body(success_schema()), 400: BAD_REQUEST,
        401: {**status_error('{"status": "Invalid ingest token."}'), "headers": {"WWW-Authenticate": {"schema": STR}}},
        413: status_error("Body too large"),
        503: status_error("Ingest disabled (INGEST_TOKEN unset) or database unavailable"),
    }
    if session_not_found:
        answers[404] = status_error("Session not found")
    return Endpoint(
        f"ingest_{handler.__name__}", handler, summary, TAG, (path,), (method,), (param,), answers,
        security=({"ingestToken": []},), serve=_token_first,
        body=None if body is None else request_body({"application/json": body}, required=body_required),
    )


ENDPOINTS: list[Endpoint] = [
    _endpoint(put_session, "A player logged in", "/ingest/sessions/{user_id}", "PUT", USER_ID, SESSION_BODY, True),
    _endpoint(delete_session, "A player logged out", "/ingest/sessions/{user_id}", "DELETE", USER_ID, None, False),
    _endpoint(heartbeat, "A session is alive (and its status changed)", "/ingest/sessions/{user_id}/heartbeat",
              "POST", USER_ID, obj(optional=STATUS_BODY), False, session_not_found=True),
    _endpoint(put_match, "A match's whole state", "/ingest/matches/{match_id}", "PUT", MATCH_ID, MATCH_BODY, True),
    _endpoint(delete_match, "A match was disbanded", "/ingest/matches/{match_id}", "DELETE", MATCH_ID, None, False),
]
