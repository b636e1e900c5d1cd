"""Star rating and performance points, computed by rosu-pp-py from a map's
.osu file, in bancho.py's shapes (its app/usecases/performance.py): each
result is {"performance": {"pp", ...}, "difficulty": {"stars", ...}}.

Everything is computed the way osu!stable scores are (rosu-pp-py's
`lazer=False`), as bancho.py serves stable clients."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import rosu_pp_py as rosu

from .constants import Mods

# bancho.py's modes are vanilla 0-3, relax 4-6 (+4) and autopilot 8 (+8);
# the calculation runs on the vanilla mode with the relax or autopilot mod.
MODE_NAMES = ("osu!", "osu!taiko", "osu!catch", "osu!mania")
_ROSU_MODES = (rosu.GameMode.Osu, rosu.GameMode.Taiko, rosu.GameMode.Catch, rosu.GameMode.Mania)

# the keys of bancho.py's PerformanceRating and DifficultyRating, in order,
# with the rosu-pp-py attribute each comes from (None: no longer computed)
PERFORMANCE_KEYS = {
    "pp": "pp",
    "pp_acc": "pp_accuracy",
    "pp_aim": "pp_aim",
    "pp_speed": "pp_speed",
    "pp_flashlight": "pp_flashlight",
    "effective_miss_count": "effective_miss_count",
    "pp_difficulty": "pp_difficulty",
}
DIFFICULTY_KEYS = {
    "stars": "stars",
    "aim": "aim",
    "speed": "speed",
    "flashlight": "flashlight",
    "slider_factor": "slider_factor",
    "speed_note_count": "speed_note_count",
    "stamina": "stamina",
    "color": "color",
    "rhythm": "rhythm",
    "peak": None,  # taiko's "peak" difficulty, dropped by rosu-pp since
}


class BeatmapFileError(ValueError):
    """The .osu file cannot be used for a calculation; the message says why
    (it is the API's answer)."""


@dataclass(frozen=True)
class MapDifficulty:
    mode: int
    stars: float
    max_combo: int


@dataclass(frozen=True)
class Counts:
    """Hit counts of a play as bancho.py's calculate_pp takes them; the 300s
    are what is left of the map's objects."""

    ngeki: int = 0
    nkatu: int = 0
    n100: int = 0
    n50: int = 0


def vanilla_mode(mode: int) -> int:
    """bancho.py's GameMode(mode).as_vanilla."""
    return 0 if mode == 8 else mode % 4


def mode_mods(mode: int) -> int:
    """The mod that a relax or autopilot mode stands for."""
    if 4 <= mode < 8:
        return int(Mods.RELAX)
    if mode >= 8:
        return int(Mods.AUTOPILOT)
    return 0


def parse_beatmap(content: bytes) -> rosu.Beatmap:
    """The parsed map, or BeatmapFileError. rosu-pp-py reads almost anything
    without complaint, so a file with no hit objects counts as unreadable,
    and one it calls suspicious (made to test osu!'s limits, too slow to
    calculate) is refused."""
    try:
        beatmap = rosu.Beatmap(bytes=content)
    except Exception as exc:  # rosu.ParseError, or the file is not text
        raise BeatmapFileError(f"Beatmap file could not be parsed: {exc}") from None
    if beatmap.n_objects == 0:
        raise BeatmapFileError("Beatmap file could not be parsed: it has no hit objects.")
    if beatmap.is_suspicious():
        raise BeatmapFileError("Beatmap file is too unusual to calculate.")
    return beatmap


def difficulty(content: bytes | str) -> MapDifficulty:
    """The map's own mode, star rating (no mods) and max combo, as the maps
    table keeps them (mode, diff, max_combo)."""
    beatmap = parse_beatmap(content.encode("utf-8") if isinstance(content, str) else content)
    attributes = rosu.Difficulty(lazer=False).calculate(beatmap)
    return MapDifficulty(mode=_ROSU_MODES.index(beatmap.mode), stars=attributes.stars, max_combo=attributes.max_combo)


def _convert(beatmap: rosu.Beatmap, mode: int | None, mods: int) -> None:
    """Calculate an osu! map in another mode (a convert). Maps of the other
    modes have no converts: they are calculated in their own mode, which
    `mode` may name, or leave at 0 (bancho.py's default)."""
    own = _ROSU_MODES.index(beatmap.mode)
    if mode is None or mode == own or (mode == 0 and own != 0):
        return
    if own != 0:
        raise BeatmapFileError(f"Beatmaps of {MODE_NAMES[own]} cannot be converted to {MODE_NAMES[mode]}.")
    beatmap.convert(_ROSU_MODES[mode], mods)


def _value(attributes: Any, name: str | None) -> float | None:
    value = getattr(attributes, name, None) if name else None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _result(attributes: rosu.PerformanceAttributes) -> dict[str, Any]:
    pp = attributes.pp
    performance = {key: _value(attributes, name) for key, name in PERFORMANCE_KEYS.items()}
    # as bancho.py: pp rounded to 3 decimals, and 0 rather than NaN or infinity
    performance["pp"] = round(pp, 3) if math.isfinite(pp) else 0.0
    difficulty_ = {key: _value(attributes.difficulty, name) for key, name in DIFFICULTY_KEYS.items()}
    return {"performance": performance, "difficulty": difficulty_}


def _accuracy(mode: int, state: rosu.ScoreState) -> float:
    """The stable accuracy (percent, 3 decimals) of the hit counts used."""
    if mode == 1:
        total, points = 2 * (state.n300 + state.n100 + state.misses), 2 * state.n300 + state.n100
    elif mode == 2:
        caught = state.n300 + state.n100 + state.n50
        total, points = caught + state.n_katu + state.misses, caught
    elif mode == 3:
        hits = (state.n_geki + state.n300, state.n_katu, state.n100, state.n50, state.misses)
        total = 6 * sum(hits)
        points = 6 * hits[0] + 4 * hits[1] + 2 * hits[2] + hits[3]
    else:
        total = 6 * (state.n300 + state.n100 + state.n50 + state.misses)
        points = 6 * state.n300 + 2 * state.n100 + state.n50
    return round(100 * points / total, 3) if total else 0.0


def calculate(
    content: bytes,
    *,
    mode: int | None = None,
    mods: int = 0,
    combo: int | None = None,
    misses: int = 0,
    accuracies: Sequence[float] = (100, 99, 98, 95),
    counts: Counts | None = None,
) -> list[dict[str, Any]]:
    """bancho.py's calculate_pp: one result per accuracy, or, given hit
    counts, the one result of those counts. Each result carries "accuracy":
    the accuracy asked for, or the one the counts make.

    `mode` is bancho.py's (0-11, relax and autopilot included; None for the
    map's own); `mods` the osu! mod bits. Raises BeatmapFileError for a file
    that cannot be used or a mode it cannot be calculated in."""
    beatmap = parse_beatmap(content)
    vanilla = None if mode is None else vanilla_mode(mode)
    mods = mods | (mode_mods(mode) if mode is not None else 0)
    if mods & Mods.NIGHTCORE:
        mods |= int(Mods.DOUBLETIME)  # as bancho.py: NC counts as DT
    _convert(beatmap, vanilla, mods)
    played_mode = _ROSU_MODES.index(beatmap.mode)
    difficulty_attributes = rosu.Difficulty(mods=mods, lazer=False).calculate(beatmap)
    common: dict[str, Any] = {"mods": mods, "lazer": False, "misses": misses}
    if combo is not None:
        common["combo"] = combo
    results = []
    if counts is None:
        for accuracy in accuracies:
            attributes = rosu.Performance(accuracy=accuracy, **common).calculate(difficulty_attributes)
            results.append({**_result(attributes), "accuracy": accuracy})
    else:
        attributes = rosu.Performance(
            n_geki=counts.ngeki, n_katu=counts.nkatu, n100=counts.n100, n50=counts.n50, **common
        ).calculate(difficulty_attributes)
        results.append({**_result(attributes), "accuracy": _accuracy(played_mode, attributes.state)})
    return results
