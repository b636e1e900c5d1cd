"""Response shapes of the osu!track API, typed as its server sends them
(a MySQL driver with bigNumberStrings): BIGINT scores as strings, every other
value a JSON number, timestamps as JavaScript's toJSON prints them
("2021-02-04T23:24:42.000Z"). `newhs` rows are osu!api v1 get_user_best rows
(formats.v1.best_score) plus `ranking`."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..track import Snapshot
from . import v1

# the fields /update reports as current minus previous, in the seed's order
DIFF_FIELDS = (
    "playcount", "pp_rank", "pp_raw", "accuracy", "total_score", "ranked_score",
    "count300", "count50", "count100", "level", "count_rank_a", "count_rank_s",
    "count_rank_ss",
)
_FLOAT_FIELDS = ("pp_raw", "accuracy", "level")


def timestamp(ms: int | None) -> str | None:
    """Unix milliseconds as ISO 8601 in UTC with milliseconds and Z."""
    if ms is None:
        return None
    ms = int(ms)
    moment = datetime.fromtimestamp(ms // 1000, tz=timezone.utc)
    return f"{moment.strftime('%Y-%m-%dT%H:%M:%S')}.{ms % 1000:03d}Z"


def _float(value: Any) -> float:
    """A float at the precision the v1 layer prints (six significant digits)."""
    return float(v1.number(value))


def _rank(value: Any) -> int:
    # stored NULL when unranked; osu!track reports 0 (the v1 API's value)
    return 0 if value is None else int(value)


def _value(name: str, row: dict[str, Any]) -> int | float:
    if name == "pp_rank":
        return _rank(row[name])
    if name == "accuracy":
        return float(row[name])
    if name in _FLOAT_FIELDS:
        return _float(row[name])
    return int(row[name])


def unknown_user(mode: int) -> dict[str, Any]:
    """/update for a user that does not exist (or is restricted)."""
    return {
        "username": None,
        "mode": mode,
        **{name: 0 for name in DIFF_FIELDS},
        "levelup": False,
        "first": False,
        "exists": False,
        "newhs": [],
    }


def update(snapshot: Snapshot) -> dict[str, Any]:
    """/update: each field current minus previous (the current value itself
    on the first update), levelup, first, exists and the new top plays."""
    current, previous = snapshot.current, snapshot.previous
    diff: dict[str, Any] = {}
    for name in DIFF_FIELDS:
        value = _value(name, current)
        if previous is not None:
            before = _value(name, previous)
            value = _float(value - before) if isinstance(value, float) else value - before
        diff[name] = value
    levelup = previous is not None and int(float(current["level"])) > int(float(previous["level"]))
    return {
        "username": snapshot.player["name"],
        "mode": snapshot.mode,
        **diff,
        "levelup": levelup,
        "first": previous is None,
        "exists": True,
        "newhs": [
            {**v1.best_score(play.row, snapshot.player["id"], play.replay_available), "ranking": play.ranking}
            for play in snapshot.new_plays
        ],
    }


def history_entry(row: dict[str, Any]) -> dict[str, Any]:
    """One /stats_history element."""
    return {
        "count300": int(row["count300"]),
        "count100": int(row["count100"]),
        "count50": int(row["count50"]),
        "playcount": int(row["playcount"]),
        "ranked_score": str(int(row["ranked_score"])),
        "total_score": str(int(row["total_score"])),
        "pp_rank": _rank(row["pp_rank"]),
        "level": _float(row["level"]),
        "pp_raw": _float(row["pp_raw"]),
        "accuracy": float(row["accuracy"]),
        "count_rank_ss": int(row["count_rank_ss"]),
        "count_rank_s": int(row["count_rank_s"]),
        "count_rank_a": int(row["count_rank_a"]),
        "timestamp": timestamp(row["created_at"]),
    }


def _play(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "beatmap_id": int(row["beatmap_id"]),
        "score": int(row["score"]),
        "pp": float(row["pp"]),
        "mods": int(row["mods"]),
        "rank": row["grade"],
        "score_time": timestamp(row["score_time"]),
        "update_time": timestamp(row["update_time"]),
    }


def hiscore(row: dict[str, Any]) -> dict[str, Any]:
    """One /hiscores element."""
    return _play(row)


def best_play(row: dict[str, Any]) -> dict[str, Any]:
    """One /bestplays element: a hiscore with its player's id first."""
    return {"user": int(row["user_id"]), **_play(row)}


def peak(row: dict[str, Any] | None) -> list[dict[str, Any]]:
    """/peak: a one-element array, all null when nothing is recorded."""
    row = row or {}
    rank, accuracy = row.get("best_global_rank"), row.get("best_accuracy")
    return [{
        "best_global_rank": None if rank is None else int(rank),
        "best_rank_timestamp": timestamp(row.get("best_rank_at")) if rank is not None else None,
        "best_accuracy": None if accuracy is None else float(accuracy),
        "best_acc_timestamp": timestamp(row.get("best_acc_at")) if accuracy is not None else None,
    }]
