"""SQL for beatmaps."""

from __future__ import annotations

from typing import Any

from ..db import Database

# The columns of a map as the API shows it, in its order.
MAP_COLUMNS = (
    "md5", "id", "set_id", "artist", "title", "version", "creator", "last_update",
    "total_length", "max_combo", "status", "plays", "passes", "mode", "bpm",
    "cs", "od", "ar", "hp", "diff",
)


def map_select(table: str = "m", prefix: str = "") -> str:
    """The select list of a map's columns, optionally renamed with a prefix so
    it can share a row with another table's columns."""
    return ", ".join(f"{table}.{column} AS {prefix}{column}" for column in MAP_COLUMNS)


async def map_by_id(db: Database, map_id: int) -> dict[str, Any] | None:
    return await db.fetch_one(f"SELECT {map_select()} FROM maps m WHERE m.id = :id", {"id": map_id})


async def map_by_md5(db: Database, md5: str) -> dict[str, Any] | None:
    return await db.fetch_one(f"SELECT {map_select()} FROM maps m WHERE m.md5 = :md5", {"md5": md5})
