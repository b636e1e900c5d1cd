"""Routes of the osu!track API (osutrack-api.ameo.dev), under /track/: a tool
sets its base URL to <api host>/track. Parameters are read and refused the
way osu!track's server (osutrack-api's webserver.ts) reads them, with its
error texts as text/plain 400s; answers are in formats.track.

Modes are osu!track's 0-3, plus bancho.py's relax (4-6) and autopilot (8)
modes as an extension. Unknown and restricted players read as unknown."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from .. import track
from ..constants import MAX_INT32, PLAYABLE_MODES
from ..db import Database
from ..endpoints import Endpoint, Handler
from ..formats import track as fmt
from ..params import Args, Param, ParamError, Values, query_values
from ..queries import players
from ..queries import track as q
from ..responses import JSONResponse
from ..schemas import INT, NINT, NNUM, NSTR, NUM, OBJ, STR, Schema, arr, enum, json_body, obj, text_body

INVALID_USER = "Invalid or missing `user` param; must be a valid osu! user ID"
INVALID_HISCORES_USER = (
    "Invalid or missing `user` param; must be a valid osu! user ID (default) or username "
    "(if `userMode` is set to `username`)"
)
INVALID_MODE = (
    "Invalid or missing `mode` param; must be a valid osu! game mode; 0=osu!, 1=taiko, 2=ctb, 3=mania"
)
INVALID_LIMIT = (
    "Invalid `limit` param; must be a non-zero integer greater than 0 and less than or equal to 10000"
)
# what osu!track's rate limiter answers, with a Retry-After header
TOO_MANY_REQUESTS = "Too many requests, please try again later."

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 100

_MODES = {str(int(mode)): int(mode) for mode in PLAYABLE_MODES}
# JavaScript's `+user` equal to `parseInt(user)`: an integer, optionally
# with a zero fraction, surrounded by white space
_USER_ID = re.compile(r"^\s*\+?(\d+)(?:\.0*)?\s*$")
# JavaScript's Number(): a decimal literal with an optional exponent
_JS_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_DATE_ONLY = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?$")


def _db(request: Request) -> Database:
    return request.app.state.db


class _One(Param):
    """A parameter given once: a repeated one is an array to osu!track's
    server, which every check refuses, so it reads as not given here."""

    def read(self, values: Values) -> Any:
        given = values.getlist(self.name)
        return self.parse(given[0] if len(given) == 1 else None)

    def parse(self, raw: str | None) -> Any:
        return raw

    def schema(self) -> Schema:
        return STR


def _user_id(raw: str | None) -> int | None:
    """A positive integer id, or None when invalid or missing. One of more
    than 19 digits is read as a number past every id (it names no player),
    without an int() of thousands of digits."""
    match = _USER_ID.match(raw or "")
    if not match:
        return None
    digits = match.group(1).lstrip("0")
    if len(digits) > 19:
        return MAX_INT32 + 1
    return int(digits) if digits else None


class User(_One):
    def __init__(self) -> None:
        super().__init__("user", "a positive integer player id")

    def parse(self, raw: str | None) -> int:
        user_id = _user_id(raw)
        if user_id is None:
            raise ParamError(INVALID_USER)
        return user_id


class Mode(_One):
    """0-3 (osu!track's), 4-6 and 8 (bancho.py's relax and autopilot); with
    a default, a bad mode reads as it (as hiscores reads one)."""

    def __init__(self, default: int | None = None) -> None:
        super().__init__("mode", "0-3, or bancho.py's 4-6 and 8" + (f"; default {default}" if default is not None else ""))
        self.default = default

    def parse(self, raw: str | None) -> int:
        mode = _MODES.get(raw or "")
        if mode is None:
            if self.default is None:
                raise ParamError(INVALID_MODE)
            return self.default
        return mode

    def schema(self) -> Schema:
        return enum(*_MODES)


class Limit(Param):
    """1 to 10000, 100 when absent, as JavaScript's Number() reads it."""

    def __init__(self) -> None:
        super().__init__("limit", f"1-{MAX_LIMIT}, default {DEFAULT_LIMIT}")

    def read(self, values: Values) -> int:
        given = values.getlist("limit")
        if not given:
            return DEFAULT_LIMIT
        text = given[0].strip() if len(given) == 1 else ""
        number = float(text) if _JS_NUMBER.match(text) else 0.0  # Number("") is 0
        # (range first: `1e309` reads as infinity, which round() refuses)
        if not 0 < number <= MAX_LIMIT or number != round(number):
            raise ParamError(INVALID_LIMIT)
        return int(number)

    def schema(self) -> Schema:
        return STR


class Date(_One):
    """Unix milliseconds (see parse_date); a bad date is ignored."""

    def parse(self, raw: str | None) -> int | None:
        return parse_date(raw)


def parse_date(text: str | None) -> int | None:
    """`from`/`to` as Unix milliseconds, or None (ignored) when absent or
    not a date. YYYY, YYYY-MM and YYYY-MM-DD are midnight UTC, as
    JavaScript's Date reads them; a date and time without a zone is read as
    UTC too."""
    if text is None:
        return None
    text = text.strip()
    try:
        match = _DATE_ONLY.match(text)
        if match:
            year, month, day = (int(part) if part else 1 for part in match.groups())
            moment = datetime(year, month, day, tzinfo=timezone.utc)
        elif _DATE_TIME.match(text):
            moment = datetime.fromisoformat(text.replace(" ", "T"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
        else:
            return None
    except ValueError:  # a month 13, a February 30th...
        return None
    return round(moment.timestamp() * 1000)


async def _unrestricted(db: Database, user_id: int) -> dict[str, Any] | None:
    if user_id > MAX_INT32:
        return None
    player = await players.player_by_id(db, user_id)
    return player if track.is_unrestricted(player) else None


def _too_many(retry_after: int) -> Response:
    return PlainTextResponse(TOO_MANY_REQUESTS, status_code=429, headers={"Retry-After": str(retry_after)})


# --- endpoints --------------------------------------------------------------


async def update(request: Request, p: Args) -> Response:
    db = _db(request)
    player = await _unrestricted(db, p.user)
    if player is None:
        return JSONResponse(fmt.unknown_user(p.mode))
    try:
        snapshot = await track.update(db, request.app.state.settings, player, p.mode)
    except track.RateLimited as exc:
        return _too_many(exc.retry_after)
    return JSONResponse(fmt.update(snapshot))


async def stats_history(request: Request, p: Args) -> Response:
    db = _db(request)
    if await _unrestricted(db, p.user) is None:
        return JSONResponse([])
    rows = await q.snapshots(db, user_id=p.user, mode=p.mode, since=p.from_, until=p.to)
    return JSONResponse([fmt.history_entry(row) for row in rows])


async def hiscores(request: Request, p: Args) -> Response:
    db = _db(request)
    if p.userMode == "username":
        player = await players.player_by_name(db, p.user) if p.user and p.user.strip() else None
        if not track.is_unrestricted(player):
            player = None
    else:
        user_id = _user_id(p.user)
        player = None if user_id is None else await _unrestricted(db, user_id)
    if player is None:
        raise ParamError(INVALID_HISCORES_USER)
    rows = await q.hiscores(db, user_id=player["id"], mode=p.mode, since=p.from_, until=p.to)
    if not rows and not await q.has_snapshot(db, player["id"], p.mode):
        # osu!track updates a player it has nothing for, then looks again
        try:
            await track.update(db, request.app.state.settings, player, p.mode)
        except track.RateLimited:
            pass
        rows = await q.hiscores(db, user_id=player["id"], mode=p.mode, since=p.from_, until=p.to)
    return JSONResponse([fmt.hiscore(row) for row in rows])


async def peak(request: Request, p: Args) -> Response:
    db = _db(request)
    if await _unrestricted(db, p.user) is None:
        return JSONResponse(fmt.peak(None))
    return JSONResponse(fmt.peak(await q.peak(db, user_id=p.user, mode=p.mode)))


async def bestplays(request: Request, p: Args) -> Response:
    rows = await q.best_plays(_db(request), mode=p.mode, since=p.from_, until=p.to, limit=p.limit)
    return JSONResponse([fmt.best_play(row) for row in rows])


async def _osutrack(endpoint: Endpoint, request: Request) -> Response:
    """How an osu!track endpoint is served: a refused parameter answers
    osu!track's text as a text/plain 400, whether the declarations refuse
    it or the handler does (hiscores' user, found by name)."""
    try:
        return await endpoint.handler(request, endpoint.read(query_values(request)))
    except ParamError as exc:
        return PlainTextResponse(str(exc), status_code=400)


# --- the declarations ---------------------------------------------------------

TAG = "osu!track"
RANGE = (Date("from", "a date (YYYY[-MM[-DD]]) or date and time", attr="from_"), Date("to", "the same"))


def _endpoint(handler: Handler, summary: str, params: tuple[Param, ...], ok: Schema, method: str = "GET",
              extra: dict[int | str, Schema] | None = None) -> Endpoint:
    name = handler.__name__
    return Endpoint(f"track_{name}", handler, summary, TAG, (f"/track/{name}",), (method,), params,
                    {200: json_body(ok), 400: text_body("osu!track's error text (text/plain)"), **(extra or {})},
                    serve=_osutrack)


ENDPOINTS: list[Endpoint] = [
    _endpoint(update, "Snapshot a player now", (User(), Mode()),
              obj({"username": NSTR, "mode": INT}, description="the change since the last snapshot"), "POST",
              {429: {**text_body("Rate limited (osu!track's text)"), "headers": {"Retry-After": {"schema": STR}}}}),
    _endpoint(stats_history, "A player's snapshots", (User(), Mode(), *RANGE), arr(OBJ)),
    _endpoint(hiscores, "A player's recorded top plays",
              (_One("user", "an id, or a name with userMode=username"),
               _One("userMode", "id (default) or username"), Mode(default=0), *RANGE),
              arr(obj({"beatmap_id": INT, "score": INT, "pp": NUM, "mods": INT, "rank": STR, "score_time": STR}))),
    _endpoint(peak, "A player's best rank and accuracy", (User(), Mode()),
              arr(obj({"best_global_rank": NINT, "best_rank_timestamp": NSTR, "best_accuracy": NNUM,
                       "best_acc_timestamp": NSTR}), minItems=1, maxItems=1)),
    _endpoint(bestplays, "The best plays of everyone", (Mode(), Limit(), *RANGE), arr(OBJ)),
]
