"""Routes of the legacy osu!api v1, for tools written against
osu.ppy.sh/api: served under /api/ and /api/v1/, with the raw beatmap file
at /osu/<id>. Every call needs a key `k` (see server.keys).

v1 is lenient where the official API is: a malformed or out-of-range `m`,
`limit` or `mods` falls back to its default or is clamped, never a 4xx;
what does not exist answers [] (or the official "not available" shapes).

Relax and autopilot scores, which the official API never had, are reached
with the extra parameter `rx`: 0 vanilla (default), 1 relax, 2 autopilot."""

from __future__ import annotations

import base64
import os
import re
import time
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from urllib.parse import parse_qsl
from typing import Any, Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from ..constants import (
    MAX_INT32,
    V1_DATED_STATUSES,
    GameMode,
    Privileges,
    ScoreStatus,
    parse_mod_acronyms,
    safe_name,
)
from ..db import Database
from ..formats import v1 as fmt
from ..keys import is_valid_key
from ..snapshots import snapshots
from ..params import query_values, read_body
from ..queries import live, maps, players, scores
from ..responses import JSONResponse

INVALID_KEY = {"error": "Please provide a valid API key."}
REPLAY_UNAVAILABLE = {"error": "Replay not available."}
MATCH_NOT_FOUND = {"match": 0, "games": []}

_DIGITS = re.compile(r"^\d{1,10}$")
_SINCE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}:\d{2}))?$")


class V1Params:
    """The request's parameters, from the query string or a POSTed form."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = values

    def text(self, name: str) -> str | None:
        value = self._values.get(name)
        return None if value is None or value == "" else value

    def integer(self, name: str, default: int, low: int, high: int, *, clamp: bool = True) -> int:
        """Clamped to [low, high] (or, without clamp, the default when out of
        range); anything unparsable is the default."""
        value = self.text(name)
        if value is None or not re.fullmatch(r"-?\d{1,12}", value.strip()):
            return default
        number = int(value)
        if low <= number <= high:
            return number
        return max(low, min(high, number)) if clamp else default

    def optional_id(self, name: str) -> int | None:
        value = self.text(name)
        if value is None or not _DIGITS.match(value.strip()) or int(value) > MAX_INT32:
            return None
        return int(value)

    def id_filter(self, name: str) -> int | None:
        """An id to filter by: None when not given, and -1 (which matches
        nothing) when given but not an id."""
        if self.text(name) is None:
            return None
        found = self.optional_id(name)
        return -1 if found is None else found

    def mods(self) -> int | None:
        """A mods number, or acronyms as some clients send ('HDDT'); text that
        is neither reads as no mod, as the official API reads it."""
        value = self.text("mods")
        if value is None:
            return None
        value = value.strip()
        if value.isdecimal():
            return min(int(value), MAX_INT32)
        return int(parse_mod_acronyms(value) or 0)


# v1 parameters are short; a POSTed form larger than this is not one of ours
MAX_FORM_BYTES = 16 * 1024


async def _params(request: Request) -> V1Params:
    """Query parameters, plus the fields of a url-encoded POST form (some
    clients POST; the official API answers those too)."""
    values = query_values(request)
    if request.method == "POST" and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        body = await read_body(request, MAX_FORM_BYTES, f"Request body too large: at most {MAX_FORM_BYTES} bytes.")
        # a name in both: the form's value, as one multi-dict's last would be
        values.update(parse_qsl(body.decode("latin-1"), keep_blank_values=True))
    return V1Params(values)


def _db(request: Request) -> Database:
    return request.app.state.db


def _bancho_mode(params: V1Params) -> int | None:
    """v1's `m` (0-3) with our `rx` as bancho.py's mode; None where no such
    mode exists (relax mania, autopilot outside osu!)."""
    mode = params.integer("m", 0, 0, 3, clamp=False)
    variant = params.integer("rx", 0, 0, 2)
    if variant == 1:
        return None if mode == GameMode.VN_MANIA else mode + 4
    if variant == 2:
        return int(GameMode.AP_STD) if mode == GameMode.VN_STD else None
    return mode


def _names_an_id(u: str, kind: str | None) -> bool:
    """`type=id` or `type=string` decide; without it, all digits is an id."""
    return kind == "id" or (kind != "string" and _DIGITS.match(u) is not None)


def _player_key(params: V1Params) -> tuple[int | None, str | None]:
    """The id or the name `u` gives (an id when all digits, unless `type`
    says otherwise); (None, None) when it names no one."""
    u = params.text("u")
    if u is None:
        return None, None
    if _names_an_id(u, params.text("type")):
        return params.optional_id("u"), None
    return None, u


def _unrestricted(row: dict[str, Any] | None) -> dict[str, Any] | None:
    return row if row is not None and row["priv"] & Privileges.UNRESTRICTED else None


async def _player(request: Request, params: V1Params) -> dict[str, Any] | None:
    """The unrestricted player `u` names (see _player_key), or None."""
    user_id, name = _player_key(params)
    return _unrestricted(await players.held_player(_db(request), user_id=user_id, name=name))


def _replay_path(request: Request, score_id: int) -> Path:
    return request.app.state.settings.replays_dir / f"{score_id}.osr"


def _stored_replays(request: Request, rows: list[dict[str, Any]]) -> set[int]:
    """The ids of the rows' scores whose replay is stored. A stat a score
    is a tenth of a listing's time, so what was found is remembered for as
    long as a snapshot (a replay stored after its score was first listed
    shows within SNAPSHOT_MAX_AGE)."""
    known = snapshots(_db(request)).memo("replay_stored")
    folder = str(request.app.state.settings.replays_dir)
    stored = set()
    for row in rows:
        score_id = row["id"]
        present = known.get(score_id)
        if present is None:
            # plain text paths: building a Path per row cost more than the stat
            present = known[score_id] = os.path.isfile(f"{folder}/{score_id}.osr")
        if present:
            stored.add(score_id)
    return stored


def _utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


# --- endpoints --------------------------------------------------------------


async def get_beatmaps(request: Request, params: V1Params) -> Any:
    mode = params.integer("m", -1, 0, 3, clamp=False)
    converts = params.integer("a", 0, 0, 1) == 1
    modes = None if mode < 0 else ((mode, 0) if converts and mode != 0 else (mode,))
    creator_id = creator_name = None
    u = params.text("u")
    if u is not None:
        if _names_an_id(u, params.text("type")):
            creator_id = params.id_filter("u")
        else:
            creator_name = safe_name(u)
    since = None
    match = _SINCE.match((params.text("since") or "").replace("+", " "))
    if match:
        since = f"{match.group(1)} {match.group(2) or '00:00:00'}"
    md5 = params.text("h")
    rows = await maps.find_maps(
        _db(request),
        set_id=params.id_filter("s"),
        map_id=params.id_filter("b"),
        md5=md5.lower() if md5 else None,
        creator_id=creator_id,
        creator_name=creator_name,
        modes=modes,
        ranked_after=since,
        dated_statuses=tuple(int(s) for s in V1_DATED_STATUSES),
        limit=params.integer("limit", 500, 1, 500),
    )
    # a converted map shows the mode it was asked for
    return [fmt.beatmap(row, mode if modes and len(modes) > 1 else None) for row in rows]


async def get_user(request: Request, params: V1Params) -> Any:
    user_id, name = _player_key(params)
    mode = _bancho_mode(params)
    if mode is None:
        return []
    db = _db(request)
    player, stats = await players.player_with_stats(db, user_id=user_id, name=name, modes=(mode,))
    player = _unrestricted(player)
    if player is None:
        return []
    # a sum over all the player's scores, which only a new score of theirs
    # changes: held in the snapshot cache, as bots poll the same players
    hits = await snapshots(db).get(
        ("hit_totals", player["id"], mode), partial(scores.hit_totals, user_id=player["id"], mode=mode)
    )
    return [fmt.user(player, stats[0] if stats else None, hits)]


async def get_scores(request: Request, params: V1Params) -> Any:
    map_id = params.optional_id("b")
    mode = _bancho_mode(params)
    if map_id is None or mode is None:
        return []
    db = _db(request)
    beatmap = await maps.map_by_id(db, map_id)
    if beatmap is None:
        return []
    mods = params.mods()
    mods_filter = None if mods is None else scores.ModsFilter(mods, "equal")
    limit = params.integer("limit", 50, 1, 100)
    if params.text("u") is not None:
        player = await _player(request, params)
        if player is None:
            return []
        rows = await scores.player_map_scores(db, user_id=player["id"], map_md5=beatmap["md5"], mode=mode, mods=mods_filter)
        # the player's best score for each mod combination
        best: dict[int, dict[str, Any]] = {}
        for row in rows:
            best.setdefault(row["mods"], row)
        rows = list(best.values())[:limit]
    else:
        rows = await scores.map_scores(db, map_md5=beatmap["md5"], mode=mode, scope="best", mods=mods_filter, limit=limit)
    stored = _stored_replays(request, rows)
    return [fmt.map_score(row, beatmap["status"], row["id"] in stored) for row in rows]


async def _player_scores(request: Request, params: V1Params, **listing: Any) -> tuple[int, list[dict[str, Any]]]:
    """The player `u` names and their scores (scores.player_scores), or
    (0, []) for a restricted or unknown player or no such mode. A player
    named by id is checked in the listing's own query: one query, not two."""
    mode = _bancho_mode(params)
    user_id, name = _player_key(params)
    if mode is None or (user_id is None and name is None):
        return 0, []
    if user_id is None:
        player = await players.held_player(_db(request), name=name)  # restricted: the listing's query tells
        if player is None:
            return 0, []
        user_id = player["id"]
    rows = await scores.player_scores(_db(request), user_id=user_id, mode=mode, mods=None,
                                      unrestricted_only=True, **listing)
    return user_id, rows


async def get_user_best(request: Request, params: V1Params) -> Any:
    user_id, rows = await _player_scores(
        request, params, scope="best", limit=params.integer("limit", 10, 1, 100),
        include_loved=False, include_failed=True,
    )
    stored = _stored_replays(request, rows)
    return [fmt.best_score(row, user_id, row["id"] in stored) for row in rows]


async def get_user_recent(request: Request, params: V1Params) -> Any:
    day_ago = (_utc_now() - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    user_id, rows = await _player_scores(
        request, params, scope="recent", limit=params.integer("limit", 10, 1, 50),
        include_loved=True, include_failed=True, played_after=day_ago,
    )
    return [fmt.recent_score(row, user_id, row["status"] == ScoreStatus.FAILED) for row in rows]


async def get_match(request: Request, params: V1Params) -> Any:
    """A match the game server reports as open (see the ingest API): v1's
    match history shape with no finished games, since bancho.py keeps no
    game results. Anything else reads as unknown."""
    match_id = params.optional_id("mp")
    if match_id is None:
        return MATCH_NOT_FOUND
    since = int(time.time()) - request.app.state.settings.match_ttl
    row = await live.match_by_id(_db(request), match_id, since)
    return MATCH_NOT_FOUND if row is None else fmt.open_match(row)


async def get_replay(request: Request, params: V1Params) -> Any:
    mode = _bancho_mode(params)
    if mode is None or params.text("m") is None:
        return REPLAY_UNAVAILABLE
    db = _db(request)
    score_id = params.id_filter("s")
    if score_id is not None:
        row = await scores.score_with_player(db, score_id)
        if row is None or row["mode"] != mode or not row["player_priv"] & Privileges.UNRESTRICTED:
            return REPLAY_UNAVAILABLE
    else:
        map_id = params.optional_id("b")
        player = await _player(request, params)
        beatmap = None if map_id is None else await maps.map_by_id(db, map_id)
        if player is None or beatmap is None:
            return REPLAY_UNAVAILABLE
        mods = params.mods()
        rows = await scores.player_map_scores(
            db, user_id=player["id"], map_md5=beatmap["md5"], mode=mode,
            mods=None if mods is None else scores.ModsFilter(mods, "equal"),
        )
        if not rows:
            return REPLAY_UNAVAILABLE
        row = rows[0]
    path = _replay_path(request, row["id"])
    if not path.is_file():
        return REPLAY_UNAVAILABLE
    # the stored file is the raw LZMA frame stream, which is what v1 serves
    return {"content": base64.b64encode(path.read_bytes()).decode("ascii"), "encoding": "base64"}


Endpoint = Callable[[Request, V1Params], Awaitable[Any]]


def _keyed(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    """Check the key, then answer the endpoint's value as JSON."""

    async def handler(request: Request) -> Response:
        params = await _params(request)
        if not await is_valid_key(_db(request), params.text("k")):
            return JSONResponse(INVALID_KEY, status_code=401)
        return JSONResponse(await endpoint(request, params))

    return handler


async def beatmap_file(request: Request) -> Response:
    """/osu/<beatmap id>: the .osu file from the data folder, as text."""
    raw = request.path_params["beatmap_id"]
    if not _DIGITS.match(raw):
        return PlainTextResponse("", status_code=404)
    path = request.app.state.settings.beatmaps_dir / f"{int(raw)}.osu"
    if not path.is_file():
        return PlainTextResponse("", status_code=404)
    return PlainTextResponse(path.read_bytes().decode("utf-8-sig", errors="replace"))


ENDPOINTS: dict[str, Endpoint] = {
    "get_beatmaps": get_beatmaps,
    "get_user": get_user,
    "get_scores": get_scores,
    "get_user_best": get_user_best,
    "get_user_recent": get_user_recent,
    "get_match": get_match,
    "get_replay": get_replay,
}


def routes() -> list[BaseRoute]:
    table: list[BaseRoute] = []
    for name, endpoint in ENDPOINTS.items():
        handler = _keyed(endpoint)
        for prefix in ("/api", "/api/v1"):
            table.append(Route(f"{prefix}/{name}", handler, methods=["GET", "POST"], name=f"v1:{name}{prefix}"))
    table.append(Route("/osu/{beatmap_id}", beatmap_file, methods=["GET"], name="v1:beatmap_file"))
    return table
