"""calculate_pp (GET, authorized as server/auth.py says): star rating and
pp of a map for given accuracies or hit counts, computed by rosu-pp-py
(server/pp.py) from the map's .osu file in DATA_DIR/osu/. Served under
/v1/calculate_pp and /calculate_pp, like the rest of the bancho-style API.

As bancho.py answers it: without any of ngeki, nkatu, n100 or n50, a list
with one result per `acc` (100, 99, 98 and 95 by default), each carrying the
accuracy it was asked for; with any of them, the one result of those counts.
Results are bare JSON (no "status" key), as bancho.py's are."""

from __future__ import annotations

import math
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .. import pp
from ..auth import authorized_player
from ..constants import MAX_INT32, PLAYABLE_MODES, parse_mod_acronyms
from ..params import Params
from ..queries import maps
from ..responses import JSONResponse, bad_request, not_found

DEFAULT_ACCURACIES = (100.0, 99.0, 98.0, 95.0)
MAX_ACCURACIES = 100  # `acc` values in one request


def _count(params: Params, name: str, default: int | None = None) -> int | None:
    return params.integer(name, default, minimum=0, maximum=MAX_INT32)


def _mods(params: Params) -> int:
    """A number (as bancho.py takes it) or acronyms such as HDDT."""
    text = params.string("mods", max_length=64)
    if text is None or text == "":
        return 0
    if text.isdecimal():
        mods = int(text)
        if mods > MAX_INT32:
            raise bad_request("Invalid 'mods': out of range.")
        return mods
    parsed = parse_mod_acronyms(text)
    if parsed is None:
        raise bad_request("Invalid 'mods': expected a number or mod acronyms such as HDDT.")
    return int(parsed)


def _accuracies(request: Request) -> list[float]:
    values = request.query_params.getlist("acc")
    if not values:
        return list(DEFAULT_ACCURACIES)
    if len(values) > MAX_ACCURACIES:
        raise bad_request(f"Invalid 'acc': at most {MAX_ACCURACIES} values.")
    accuracies = []
    for value in values:
        try:
            accuracy = float(value)
        except ValueError:
            accuracy = math.nan
        if not 0 <= accuracy <= 100:  # NaN fails this too
            raise bad_request("Invalid 'acc': each must be a number from 0 to 100.")
        accuracies.append(accuracy)
    return accuracies


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:  # missing, or not a readable file
        return None


async def calculate_pp(request: Request) -> Response:
    await authorized_player(request)
    params = Params(request.query_params)
    map_id = params.integer("id", minimum=0, maximum=MAX_INT32, required=True)
    mode = params.integer("mode", minimum=0, maximum=11)
    if mode is not None and mode not in PLAYABLE_MODES:
        raise bad_request("Invalid gamemode.")
    mods = _mods(params)
    combo = _count(params, "combo")
    misses = _count(params, "misses", 0)
    ngeki, nkatu, n100, n50 = (_count(params, name) for name in ("ngeki", "nkatu", "n100", "n50"))
    accuracies = _accuracies(request)

    beatmap = await maps.map_by_id(request.app.state.db, map_id)
    if beatmap is None:
        raise not_found("Beatmap not found.")
    content = await run_in_threadpool(_read, request.app.state.settings.beatmaps_dir / f"{beatmap['id']}.osu")
    if content is None:
        raise bad_request("Beatmap file could not be fetched.")

    by_counts = any(value is not None for value in (ngeki, nkatu, n100, n50))
    counts = pp.Counts(ngeki=ngeki or 0, nkatu=nkatu or 0, n100=n100 or 0, n50=n50 or 0) if by_counts else None
    try:
        results = await run_in_threadpool(
            pp.calculate,
            content,
            mode=mode,
            mods=mods,
            combo=combo,
            misses=misses,
            accuracies=accuracies,
            counts=counts,
        )
    except pp.BeatmapFileError as exc:
        raise bad_request(str(exc)) from None
    return JSONResponse(results[0] if by_counts else results)


def routes() -> list[BaseRoute]:
    return [
        Route("/v1/calculate_pp", calculate_pp, methods=["GET"], name="pp:calculate_pp"),
        Route("/calculate_pp", calculate_pp, methods=["GET"], name="pp:calculate_pp:legacy"),
    ]
