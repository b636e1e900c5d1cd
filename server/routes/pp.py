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

from .. import pp
from ..auth import authorized
from ..constants import MAX_INT32
from ..endpoints import Endpoint
from ..params import Args, Integer, Mode, Mods, Param, ParamError, Values
from ..queries import maps
from ..responses import JSONResponse, bad_request, not_found
from ..schemas import (
    BAD_REQUEST,
    OBJ,
    PLAYER_KEY,
    UNAUTHORIZED,
    Schema,
    any_of,
    arr,
    json_body,
    number,
    obj,
    status_error,
)

DEFAULT_ACCURACIES = (100.0, 99.0, 98.0, 95.0)
MAX_ACCURACIES = 100  # `acc` values in one request


class Accuracies(Param):
    """`acc`, repeatable: each a number from 0 to 100."""

    def __init__(self) -> None:
        super().__init__("acc", "repeatable; default 100, 99, 98, 95")

    def read(self, values: Values) -> list[float]:
        given = values.getlist("acc")
        if not given:
            return list(DEFAULT_ACCURACIES)
        if len(given) > MAX_ACCURACIES:
            raise ParamError(f"Invalid 'acc': at most {MAX_ACCURACIES} values.")
        accuracies = []
        for value in given:
            try:
                accuracy = float(value)
            except ValueError:
                accuracy = math.nan
            if not 0 <= accuracy <= 100:  # NaN fails this too
                raise ParamError("Invalid 'acc': each must be a number from 0 to 100.")
            accuracies.append(accuracy)
        return accuracies

    def schema(self) -> Schema:
        return arr(number(0, 100), maxItems=MAX_ACCURACIES)

    def document(self) -> list[Schema]:
        return [{**super().document()[0], "style": "form", "explode": True}]


def _count(name: str, default: int | None = None) -> Param:
    return Integer(name, default=default, minimum=0, maximum=MAX_INT32)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:  # missing, or not a readable file
        return None


async def calculate_pp(request: Request, p: Args) -> Response:
    beatmap = await maps.map_by_id(request.app.state.db, p.id)
    if beatmap is None:
        raise not_found("Beatmap not found.")
    content = await run_in_threadpool(_read, request.app.state.settings.beatmaps_dir / f"{beatmap['id']}.osu")
    if content is None:
        raise bad_request("Beatmap file could not be fetched.")

    by_counts = any(value is not None for value in (p.ngeki, p.nkatu, p.n100, p.n50))
    counts = pp.Counts(ngeki=p.ngeki or 0, nkatu=p.nkatu or 0, n100=p.n100 or 0, n50=p.n50 or 0) if by_counts else None
    try:
        results = await run_in_threadpool(
            pp.calculate,
            content,
            mode=p.mode,
            mods=p.mods or 0,
            combo=p.combo,
            misses=p.misses,
            accuracies=p.acc,
            counts=counts,
        )
    except pp.BeatmapFileError as exc:
        raise bad_request(str(exc)) from None
    return JSONResponse(results[0] if by_counts else results)


RESULT = obj({"performance": OBJ, "difficulty": OBJ})

ENDPOINTS = [
    Endpoint(
        "calculate_pp", calculate_pp, "Star rating and pp of a map", "bancho.py-style API (authorized)",
        ("/v1/calculate_pp", "/calculate_pp"),
        params=(Integer("id", required=True, minimum=0, maximum=MAX_INT32),
                Mode("bancho.py's mode; default: the map's own", default=None), Mods(),
                _count("combo"), _count("misses", 0), *(_count(name) for name in ("ngeki", "nkatu", "n100", "n50")),
                Accuracies()),
        answers={200: json_body(any_of(RESULT, arr(RESULT))), 400: BAD_REQUEST, 401: UNAUTHORIZED,
                 404: status_error("Beatmap not found")},
        security=PLAYER_KEY,
        serve=authorized,
    ),
]
