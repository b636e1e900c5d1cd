"""Routes of the osu!track API (osutrack-api.ameo.dev), under /track/: a tool
sets its base URL to <api host>/track. Parameters are read and refused the
way osu!track's server (osutrack-api's webserver.ts) reads them, with its
error texts as text/plain 400s; answers are in formats.track.

Modes are osu!track's 0-3, plus bancho.py's relax (4-6) and autopilot (8)
modes as an extension. Unknown and restricted players read as unknown."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from .. import track
from ..constants import MAX_INT32, PLAYABLE_MODES
from ..db import Database
from ..formats import track as fmt
from ..queries import players
from ..queries import track as q
from ..responses import JSONResponse

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


class _Invalid(Exception):
    """A parameter osu!track refuses: answered as 400 with its text."""


def _user_and_mode(request: Request) -> tuple[int, int]:
    """The `user` id and `mode` most endpoints take, checked in osu!track's
    order; raises _Invalid."""
    user_id = _user_id(request)
    if user_id is None:
        raise _Invalid(INVALID_USER)
    mode = _mode(request)
    if mode is None:
        raise _Invalid(INVALID_MODE)
    return user_id, mode


def _one(request: Request, name: str) -> str | None:
    """A parameter given once; a repeated one is an array to osu!track's
    server, which every check refuses, so it reads as invalid here too."""
    values = request.query_params.getlist(name)
    return values[0] if len(values) == 1 else None


def _user_id(request: Request) -> int | None:
    """A positive integer id, or None when invalid or missing."""
    match = _USER_ID.match(_one(request, "user") or "")
    if not match or int(match.group(1)) <= 0:
        return None
    return int(match.group(1))


def _mode(request: Request) -> int | None:
    return _MODES.get(_one(request, "mode") or "")


def _limit(request: Request) -> int | None:
    """1 to 10000, 100 when absent; None when invalid."""
    values = request.query_params.getlist("limit")
    if not values:
        return DEFAULT_LIMIT
    text = values[0].strip() if len(values) == 1 else ""
    number = float(text) if _JS_NUMBER.match(text) else 0.0  # Number("") is 0
    # (range first: `1e309` reads as infinity, which round() refuses)
    if not 0 < number <= MAX_LIMIT or number != round(number):
        return None
    return int(number)


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


def _range(request: Request) -> tuple[int | None, int | None]:
    return parse_date(_one(request, "from")), parse_date(_one(request, "to"))


async def _unrestricted(db: Database, user_id: int) -> dict[str, Any] | None:
    if user_id > MAX_INT32:
        return None
    player = await players.player_by_id(db, user_id)
    return player if track.is_unrestricted(player) else None


def _too_many(retry_after: int) -> Response:
    return PlainTextResponse(TOO_MANY_REQUESTS, status_code=429, headers={"Retry-After": str(retry_after)})


# --- endpoints --------------------------------------------------------------


async def update(request: Request) -> Response:
    user_id, mode = _user_and_mode(request)
    db = _db(request)
    player = await _unrestricted(db, user_id)
    if player is None:
        return JSONResponse(fmt.unknown_user(mode))
    try:
        snapshot = await track.update(db, request.app.state.settings, player, mode)
    except track.RateLimited as exc:
        return _too_many(exc.retry_after)
    return JSONResponse(fmt.update(snapshot))


async def stats_history(request: Request) -> Response:
    user_id, mode = _user_and_mode(request)
    db = _db(request)
    if await _unrestricted(db, user_id) is None:
        return JSONResponse([])
    since, until = _range(request)
    rows = await q.snapshots(db, user_id=user_id, mode=mode, since=since, until=until)
    return JSONResponse([fmt.history_entry(row) for row in rows])


async def hiscores(request: Request) -> Response:
    db = _db(request)
    if _one(request, "userMode") == "username":
        name = _one(request, "user")
        player = await players.player_by_name(db, name) if name and name.strip() else None
        if not track.is_unrestricted(player):
            player = None
    else:
        user_id = _user_id(request)
        player = None if user_id is None else await _unrestricted(db, user_id)
    if player is None:
        raise _Invalid(INVALID_HISCORES_USER)
    mode = _mode(request)
    if mode is None:
        mode = 0  # osu!track reads a bad mode here as osu!
    since, until = _range(request)
    rows = await q.hiscores(db, user_id=player["id"], mode=mode, since=since, until=until)
    if not rows and not await q.has_snapshot(db, player["id"], mode):
        # osu!track updates a player it has nothing for, then looks again
        try:
            await track.update(db, request.app.state.settings, player, mode)
        except track.RateLimited:
            pass
        rows = await q.hiscores(db, user_id=player["id"], mode=mode, since=since, until=until)
    return JSONResponse([fmt.hiscore(row) for row in rows])


async def peak(request: Request) -> Response:
    user_id, mode = _user_and_mode(request)
    db = _db(request)
    if await _unrestricted(db, user_id) is None:
        return JSONResponse(fmt.peak(None))
    return JSONResponse(fmt.peak(await q.peak(db, user_id=user_id, mode=mode)))


async def bestplays(request: Request) -> Response:
    mode = _mode(request)
    if mode is None:
        raise _Invalid(INVALID_MODE)
    limit = _limit(request)
    if limit is None:
        raise _Invalid(INVALID_LIMIT)
    since, until = _range(request)
    rows = await q.best_plays(_db(request), mode=mode, since=since, until=until, limit=limit)
    return JSONResponse([fmt.best_play(row) for row in rows])


def _answering_invalid(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except _Invalid as exc:
            return PlainTextResponse(str(exc), status_code=400)

    return wrapped


def routes() -> list[BaseRoute]:
    return [
        Route(f"/track/{handler.__name__}", _answering_invalid(handler), methods=[method], name=f"track:{handler.__name__}")
        for method, handler in (
            ("POST", update),
            ("GET", stats_history),
            ("GET", hiscores),
            ("GET", peak),
            ("GET", bestplays),
        )
    ]
