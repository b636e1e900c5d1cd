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
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from .. import presence
from ..constants import MAX_INT32, V1_DATED_STATUSES, GameMode, Privileges, ScoreStatus, parse_mod_acronyms, safe_name
from ..db import Database
from ..endpoints import Endpoint, Handler
from ..formats import v1 as fmt
from ..keys import is_valid_key
from ..params import Args, Lenient, Param, PathValue, Values, query_values, read_body
from ..queries import maps, players, scores
from ..responses import JSONResponse
from ..schemas import (
    NULL,
    OBJ,
    STR,
    V1_ERROR,
    Schema,
    any_of,
    arr,
    enum,
    json_body,
    obj,
    request_body,
    status_error,
    string,
    text_body,
)
from ..snapshots import snapshots
from ..upstream import LIVE_UNAVAILABLE, UpstreamUnavailable

INVALID_KEY = {"error": "Please provide a valid API key."}
REPLAY_UNAVAILABLE = {"error": "Replay not available."}
MATCH_NOT_FOUND = {"match": 0, "games": []}

_DIGITS = re.compile(r"^\d{1,10}$")
_SINCE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}:\d{2}))?$")


def _text(raw: str | None) -> str | None:
    """v1 reads an empty value as a missing one."""
    return None if raw is None or raw == "" else raw


def optional_id(raw: str | None) -> int | None:
    value = _text(raw)
    if value is None or not _DIGITS.match(value.strip()) or int(value) > MAX_INT32:
        return None
    return int(value)


def id_filter(raw: str | None) -> int | None:
    """An id to filter by: None when not given, and -1 (which matches
    nothing) when given but not an id."""
    if _text(raw) is None:
        return None
    found = optional_id(raw)
    return -1 if found is None else found


class Text(Param):
    """Text as v1 reads it: empty is missing."""

    def parse(self, raw: str | None) -> str | None:
        return _text(raw)

    def schema(self) -> Schema:
        return STR


class Id(Param):
    """An id; with `filter`, one given but not an id is -1 (it matches
    nothing), else None."""

    def __init__(self, name: str, description: str = "", *, filter: bool = False) -> None:
        super().__init__(name, description)
        self.filter = filter

    def parse(self, raw: str | None) -> int | None:
        return id_filter(raw) if self.filter else optional_id(raw)

    def schema(self) -> Schema:
        return STR


class Mods(Param):
    """A mods number, or acronyms as some clients send ('HDDT'); text that
    is neither reads as no mod, as the official API reads it."""

    def __init__(self) -> None:
        super().__init__("mods", "a number or acronyms")

    def parse(self, raw: str | None) -> int | None:
        value = _text(raw)
        if value is None:
            return None
        value = value.strip()
        if value.isdecimal():
            # (past ten digits it is past 32 bits: no int() of thousands of digits)
            return MAX_INT32 if len(value) > 10 else min(int(value), MAX_INT32)
        return int(parse_mod_acronyms(value) or 0)

    def schema(self) -> Schema:
        return STR


# v1 parameters are short; a POSTed form larger than this is not one of ours
MAX_FORM_BYTES = 16 * 1024


async def _values(request: Request) -> Values:
    """Query parameters, plus the fields of a url-encoded POST form (some
    clients POST; the official API answers those too)."""
    values = query_values(request)
    if request.method == "POST" and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        body = await read_body(request, MAX_FORM_BYTES, f"Request body too large: at most {MAX_FORM_BYTES} bytes.")
        # a name in both: the form's value, as one multi-dict's last would be
        values.update(parse_qsl(body.decode("latin-1"), keep_blank_values=True))
    return values


def _db(request: Request) -> Database:
    return request.app.state.db


def _bancho_mode(p: Args) -> int | None:
    """v1's `m` (0-3) with our `rx` as bancho.py's mode; None where no such
    mode exists (relax mania, autopilot outside osu!)."""
    mode, variant = p.m or 0, p.rx
    if variant == 1:
        return None if mode == GameMode.VN_MANIA else mode + 4
    if variant == 2:
        return int(GameMode.AP_STD) if mode == GameMode.VN_STD else None
    return mode


def _names_an_id(u: str, kind: str | None) -> bool:
    """`type=id` or `type=string` decide; without it, all digits is an id."""
    return kind == "id" or (kind != "string" and _DIGITS.match(u) is not None)


def _player_key(p: Args) -> tuple[int | None, str | None]:
    """The id or the name `u` gives (an id when all digits, unless `type`
    says otherwise); (None, None) when it names no one."""
    if p.u is None:
        return None, None
    if _names_an_id(p.u, p.type):
        return optional_id(p.u), None
    return None, p.u


def _unrestricted(row: dict[str, Any] | None) -> dict[str, Any] | None:
    return row if row is not None and row["priv"] & Privileges.UNRESTRICTED else None


async def _player(request: Request, p: Args) -> dict[str, Any] | None:
    """The unrestricted player `u` names (see _player_key), or None."""
    user_id, name = _player_key(p)
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


async def get_beatmaps(request: Request, p: Args) -> Any:
    modes = None if p.m < 0 else ((p.m, 0) if p.a == 1 and p.m != 0 else (p.m,))
    creator_id = creator_name = None
    if p.u is not None:
        if _names_an_id(p.u, p.type):
            creator_id = id_filter(p.u)
        else:
            creator_name = safe_name(p.u)
    since = None
    match = _SINCE.match((p.since or "").replace("+", " "))
    if match:
        since = f"{match.group(1)} {match.group(2) or '00:00:00'}"
    rows = await maps.find_maps(
        _db(request),
        set_id=p.s,
        map_id=p.b,
        md5=p.h.lower() if p.h else None,
        creator_id=creator_id,
        creator_name=creator_name,
        modes=modes,
        ranked_after=since,
        dated_statuses=tuple(int(s) for s in V1_DATED_STATUSES),
        limit=p.limit,
    )
    # a converted map shows the mode it was asked for
    return [fmt.beatmap(row, p.m if modes and len(modes) > 1 else None) for row in rows]


async def get_user(request: Request, p: Args) -> Any:
    user_id, name = _player_key(p)
    mode = _bancho_mode(p)
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


async def get_scores(request: Request, p: Args) -> Any:
    mode = _bancho_mode(p)
    if p.b is None or mode is None:
        return []
    db = _db(request)
    beatmap = await maps.map_by_id(db, p.b)
    if beatmap is None:
        return []
    mods_filter = None if p.mods is None else scores.ModsFilter(p.mods, "equal")
    if p.u is not None:
        player = await _player(request, p)
        if player is None:
            return []
        rows = await scores.player_map_scores(db, user_id=player["id"], map_md5=beatmap["md5"], mode=mode, mods=mods_filter)
        # the player's best score for each mod combination
        best: dict[int, dict[str, Any]] = {}
        for row in rows:
            best.setdefault(row["mods"], row)
        rows = list(best.values())[:p.limit]
    else:
        rows = await scores.map_scores(db, map_md5=beatmap["md5"], mode=mode, scope="best", mods=mods_filter,
                                       limit=p.limit)
    stored = _stored_replays(request, rows)
    return [fmt.map_score(row, beatmap["status"], row["id"] in stored) for row in rows]


async def _player_scores(request: Request, p: Args, **listing: Any) -> tuple[int, list[dict[str, Any]]]:
    """The player `u` names and their scores (scores.player_scores), or
    (0, []) for a restricted or unknown player or no such mode. A player
    named by id is checked in the listing's own query: one query, not two."""
    mode = _bancho_mode(p)
    user_id, name = _player_key(p)
    if mode is None or (user_id is None and name is None):
        return 0, []
    if user_id is None:
        player = await players.held_player(_db(request), name=name)  # restricted: the listing's query tells
        if player is None:
            return 0, []
        user_id = player["id"]
    rows = await scores.player_scores(_db(request), user_id=user_id, mode=mode, mods=None,
                                      unrestricted_only=True, limit=p.limit, **listing)
    return user_id, rows


async def get_user_best(request: Request, p: Args) -> Any:
    user_id, rows = await _player_scores(request, p, scope="best", include_loved=False, include_failed=True)
    stored = _stored_replays(request, rows)
    return [fmt.best_score(row, user_id, row["id"] in stored) for row in rows]


async def get_user_recent(request: Request, p: Args) -> Any:
    day_ago = (_utc_now() - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    user_id, rows = await _player_scores(request, p, scope="recent", include_loved=True, include_failed=True,
                                         played_after=day_ago)
    return [fmt.recent_score(row, user_id, row["status"] == ScoreStatus.FAILED) for row in rows]


async def get_match(request: Request, p: Args) -> Any:
    """A match the game server reports as open (see the ingest API): v1's
    match history shape with no finished games, since bancho.py keeps no
    game results. Anything else reads as unknown."""
    if p.mp is None:
        return MATCH_NOT_FOUND
    row = await presence.open_match(request, p.mp)
    return MATCH_NOT_FOUND if row is None else fmt.open_match(row)


async def get_replay(request: Request, p: Args) -> Any:
    mode = _bancho_mode(p)
    if mode is None or p.m is None:
        return REPLAY_UNAVAILABLE
    db = _db(request)
    if p.s is not None:
        row = await scores.score_with_player(db, p.s)
        if row is None or row["mode"] != mode or not row["player_priv"] & Privileges.UNRESTRICTED:
            return REPLAY_UNAVAILABLE
    else:
        player = await _player(request, p)
        beatmap = None if p.b is None else await maps.map_by_id(db, p.b)
        if player is None or beatmap is None:
            return REPLAY_UNAVAILABLE
        rows = await scores.player_map_scores(
            db, user_id=player["id"], map_md5=beatmap["md5"], mode=mode,
            mods=None if p.mods is None else scores.ModsFilter(p.mods, "equal"),
        )
        if not rows:
            return REPLAY_UNAVAILABLE
        row = rows[0]
    path = _replay_path(request, row["id"])
    if not path.is_file():
        return REPLAY_UNAVAILABLE
    # the stored file is the raw LZMA frame stream, which is what v1 serves
    return {"content": base64.b64encode(path.read_bytes()).decode("ascii"), "encoding": "base64"}


async def _keyed(endpoint: Endpoint, request: Request) -> Response:
    """How a v1 endpoint is served: its parameters (which v1 never refuses),
    the key `k`, then the handler's value as JSON."""
    p = endpoint.read(await _values(request))
    if not await is_valid_key(_db(request), p.k):
        return JSONResponse(INVALID_KEY, status_code=401)
    try:
        return JSONResponse(await endpoint.handler(request, p))
    except UpstreamUnavailable:
        return JSONResponse({"error": LIVE_UNAVAILABLE}, status_code=503)


async def beatmap_file(request: Request, p: Args) -> Response:
    """/osu/<beatmap id>: the .osu file from the data folder, as text."""
    if not _DIGITS.match(p.beatmap_id):
        return PlainTextResponse("", status_code=404)
    path = request.app.state.settings.beatmaps_dir / f"{int(p.beatmap_id)}.osu"
    if not path.is_file():
        return PlainTextResponse("", status_code=404)
    return PlainTextResponse(path.read_bytes().decode("utf-8-sig", errors="replace"))


# --- the declarations -----------------------------------------------------------

TAG = "osu!api v1"
KEY = Text("k", "an API key (`keys create`)")
USER = (Text("u", "a player id or name"), Text("type", "id or string: what `u` is (default: an id when all digits)"))
MODE = Lenient("m", "0-3; out of range reads as the default", 0, 0, 3, clamp=False)
RX = Lenient("rx", "0 vanilla (default), 1 relax, 2 autopilot", 0, 0, 2)
# v1 prints every value as a string (or null where the official API does)
ROW = {"type": "object", "additionalProperties": {"type": ["string", "null"]}}


def _limit(default: int, high: int) -> Param:
    return Lenient("limit", f"1-{high}, clamped; default {default}", default, 1, high)


def _form(params: tuple[Param, ...]) -> Callable[[str], Schema | None]:
    """A POST may send the parameters as a url-encoded form."""
    form = obj(optional={param.name: STR for param in params})
    return lambda method: request_body({"application/x-www-form-urlencoded": form}, required=False) \
        if method == "POST" else None


def _v1(handler: Handler, summary: str, params: tuple[Param, ...], ok: Schema) -> Endpoint:
    name = handler.__name__
    params = (KEY, *params)
    return Endpoint(
        name, handler, summary, TAG, (f"/api/{name}", f"/api/v1/{name}"), ("GET", "POST"), params,
        answers={200: json_body(ok), 401: json_body(V1_ERROR, "Missing or unknown key `k`"),
                 413: status_error("Form body too large")},
        security=({"v1Key": []},), body=_form(params), serve=_keyed,
    )


ENDPOINTS: list[Endpoint] = [
    _v1(get_beatmaps, "Beatmaps", (
        Text("since", "YYYY-MM-DD[ HH:MM:SS]"), Id("s", "a beatmapset id", filter=True),
        Id("b", "a beatmap id", filter=True), Text("h", "a beatmap's md5"), *USER,
        Lenient("m", "0-3; out of range reads as any mode", -1, 0, 3, clamp=False),
        Lenient("a", "1: converted maps too", 0, 0, 1), _limit(500, 500)), arr(ROW)),
    _v1(get_user, "A player", (*USER, MODE, RX, Text("event_days", "1-31 (there are no events)")),
        arr(obj({"user_id": STR, "username": STR}))),
    _v1(get_scores, "A beatmap's scores", (Id("b", "a beatmap id"), *USER, MODE, RX, Mods(), _limit(50, 100)),
        arr(ROW)),
    _v1(get_user_best, "A player's best scores", (*USER, MODE, RX, _limit(10, 100)), arr(ROW)),
    _v1(get_user_recent, "A player's plays of the last 24 hours", (*USER, MODE, RX, _limit(10, 50)), arr(ROW)),
    _v1(get_match, "A live match", (Id("mp", "a match id"),),
        any_of(obj({"match": enum(0), "games": arr(OBJ, maxItems=0)}),
               obj({"match": obj({"match_id": STR, "name": STR, "start_time": STR, "end_time": NULL}),
                    "games": arr(OBJ)}))),
    _v1(get_replay, "A score's replay frames, base64", (
        Lenient("m", "0-3; required", 0, 0, 3, clamp=False, absent=True), RX, Id("s", "a score id", filter=True),
        Id("b", "a beatmap id"), *USER, Mods()),
        any_of(obj({"content": STR, "encoding": enum("base64")}), V1_ERROR)),
    Endpoint("v1_beatmap_file", beatmap_file, "A beatmap's .osu file", TAG, ("/osu/{beatmap_id}",),
             params=(PathValue("beatmap_id", string(1, 10, r"^\d+$"), "a beatmap id"),),
             answers={200: text_body("The .osu file", "text/plain"),
                      404: text_body("No such file (empty body)", "text/plain")}),
]
