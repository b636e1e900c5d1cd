"""Response shapes of bancho.py's own /v2 API: its pydantic models' fields in
their order, each of the model's type as orjson writes it (a `float` field
is a float even over an integer column, a `bool` field true/false over
TINYINT, a datetime `YYYY-MM-DDTHH:MM:SS`), and every string stripped of
surrounding white space (the models' str_strip_whitespace). The envelope:
{"status": "success", "data": ..., "meta": {...}}."""

from __future__ import annotations

from typing import Any, Callable

from ..queries.listings import CLANS, MAPS, PLAYERS, SCORES, STATS, Table
from ..schemas import BOOL, INT, NSTR, NUM, STR, Schema, enum, obj
from .common import json_datetime

Convert = Callable[[Any], Any]


def _text(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


# each model's fields that are not plain integers, and how they are written
_FLOAT, _BOOL, _DATETIME = float, bool, json_datetime
_CONVERSIONS: dict[str, dict[str, Convert]] = {
    PLAYERS.name: {"name": _text, "safe_name": _text, "country": _text, "custom_badge_name": _text,
                   "custom_badge_icon": _text, "userpage_content": _text},
    STATS.name: {"pp": _FLOAT, "acc": _FLOAT},
    MAPS.name: {"server": _text, "md5": _text, "artist": _text, "title": _text, "version": _text,
                "creator": _text, "filename": _text, "last_update": _DATETIME, "frozen": _BOOL, "bpm": _FLOAT,
                "cs": _FLOAT, "ar": _FLOAT, "od": _FLOAT, "hp": _FLOAT, "diff": _FLOAT},
    SCORES.name: {"map_md5": _text, "pp": _FLOAT, "acc": _FLOAT, "grade": _text, "play_time": _DATETIME,
                  "perfect": _BOOL},
    CLANS.name: {"name": _text, "tag": _text, "created_at": _DATETIME},
}


def shaper(table: Table) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """What turns one of the table's rows into its model's JSON object."""
    columns, conversions = table.columns, _CONVERSIONS[table.name]
    steps = tuple((column, conversions.get(column)) for column in columns)

    def shape(row: dict[str, Any]) -> dict[str, Any]:
        return {column: row[column] if convert is None or row[column] is None else convert(row[column])
                for column, convert in steps}

    return shape


def player_status(session: dict[str, Any], beatmap_id: int) -> dict[str, Any]:
    return {"login_time": int(session["login_time"]), "action": session["action"], "info_text": session["info_text"],
            "mode": session["mode"], "mods": session["mods"], "beatmap_id": beatmap_id}


def envelope(data: Any, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"status": "success", "data": data, "meta": meta or {}}


def page_meta(total: int, page: int, page_size: int) -> dict[str, int]:
    return {"total": total, "page": page, "page_size": page_size}


# --- the same, as JSON Schema

_TYPES: dict[Convert, Schema] = {_FLOAT: NUM, _BOOL: BOOL, _DATETIME: STR}
_NULLABLE = {"custom_badge_name", "custom_badge_icon", "userpage_content"}


def schema_of(table: Table) -> Schema:
    conversions = _CONVERSIONS[table.name]
    fields = {}
    for column in table.columns:
        convert = conversions.get(column)
        fields[column] = NSTR if column in _NULLABLE else _TYPES.get(convert, STR if convert is _text else INT)
    return obj(fields)


PLAYER_STATUS_SCHEMA = obj({"login_time": INT, "action": INT, "info_text": STR, "mode": INT, "mods": INT,
                            "beatmap_id": INT})


def envelope_schema(data: Schema, paged: bool) -> Schema:
    meta = obj({"total": INT, "page": INT, "page_size": INT}) if paged else obj()
    return obj({"status": enum("success"), "data": data, "meta": meta})


ERROR_SCHEMA = obj({"status": enum("error"), "error": STR})
