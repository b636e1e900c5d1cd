"""SQL for beatmaps."""

from __future__ import annotations

import functools
from functools import partial
from typing import Any, Iterable

from ..constants import fits_utf8mb3
from ..db import Database
from ..snapshots import snapshots
from . import in_list

# The columns of a map as the API shows it, in its order.
MAP_COLUMNS = (
    "md5", "id", "set_id", "artist", "title", "version", "creator", "last_update",
    "total_length", "max_combo", "status", "plays", "passes", "mode", "bpm",
    "cs", "od", "ar", "hp", "diff",
)


@functools.cache  # made once: the same few lists in every request
def map_select(table: str = "m", prefix: str = "") -> str:
    """The select list of a map's columns, optionally renamed with a prefix so
    it can share a row with another table's columns."""
    return ", ".join(f"{table}.{column} AS {prefix}{column}" for column in MAP_COLUMNS)


async def map_by_id(db: Database, map_id: int) -> dict[str, Any] | None:
    """A map by id, from the in-process cache (server/snapshots.py) when
    fresh: every request naming a map starts here."""
    row = await snapshots(db).get(("map_id", map_id), partial(_fetch_map, column="id", value=map_id))
    return None if row is None else dict(row)  # a copy: the cached row is shared


async def map_by_md5(db: Database, md5: str) -> dict[str, Any] | None:
    row = await snapshots(db).get(("map_md5", md5), partial(_fetch_map, column="md5", value=md5))
    return None if row is None else dict(row)


async def maps_by_md5(db: Database, md5s: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Several maps by md5 (keyed in lower case), from the snapshots where
    fresh and the rest in one query, kept for the next listing. The rows
    are the snapshots' own: read them, never change them."""
    found = await snapshots(db).get_many("map_md5", {md5.lower() for md5 in md5s}, _read_maps, none_is_missing=True)
    return {md5: row for md5, row in found.items() if row is not None}


async def _read_maps(db: Database, md5s: list[str]) -> dict[str, dict[str, Any]]:
    values: dict[str, Any] = {}
    rows = await db.fetch_all(f"SELECT {map_select()} FROM maps m WHERE m.md5 {in_list('md5', md5s, values)}", values)
    return {row["md5"].lower(): row for row in rows}


async def _fetch_map(db: Database, *, column: str, value: Any) -> dict[str, Any] | None:
    return await db.fetch_one(f"SELECT {map_select()} FROM maps m WHERE m.{column} = :value", {"value": value})


async def find_maps(
    db: Database,
    *,
    set_id: int | None,
    map_id: int | None,
    md5: str | None,
    creator_id: int | None,
    creator_name: str | None,
    modes: tuple[int, ...] | None,
    ranked_after: str | None,
    dated_statuses: tuple[int, ...],
    limit: int,
) -> list[dict[str, Any]]:
    """Maps matching every filter given, with what v1 shows beside them
    (with_extras). With ranked_after, only maps with a status in
    dated_statuses updated since then, oldest first (how crawlers page);
    otherwise by set and map id. One map asked for by id or by md5 alone
    (a mode aside), as most v1 clients ask, comes from the snapshots."""
    if not all(fits_utf8mb3(text) for text in (md5, creator_name) if text is not None):
        return []
    if (map_id is None) != (md5 is None) and set_id is None and creator_id is None \
            and creator_name is None and ranked_after is None:
        row = await map_by_id(db, map_id) if map_id is not None else await map_by_md5(db, str(md5))
        rows = [row] if row is not None and (modes is None or row["mode"] in modes) else []
        return await with_extras(db, rows)
    creator_id_name = None
    if creator_id is not None:
        # maps know their mapper by name only
        creator_id_name = await db.fetch_val("SELECT safe_name FROM users WHERE id = :id", {"id": creator_id})
        if creator_id_name is None:
            return []
    conditions: list[str] = []
    values: dict[str, Any] = {"limit": limit}
    for column, name, value in (
        ("m.set_id", "set_id", set_id),
        ("m.id", "map_id", map_id),
        ("m.md5", "md5", md5),
        (_CREATOR_KEY, "creator_id_name", creator_id_name),
        (_CREATOR_KEY, "creator_name", creator_name),
    ):
        if value is not None:
            conditions.append(f"{column} = :{name}")
            values[name] = value
    if modes is not None:
        conditions.append(f"m.mode {in_list('mode', modes, values)}")
    order = "m.set_id, m.id"
    if ranked_after is not None:
        conditions.append("m.last_update > :ranked_after")
        conditions.append(f"m.status {in_list('dated', dated_statuses, values)}")
        values["ranked_after"] = ranked_after
        order = "m.last_update, m.id"
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    rows = await db.fetch_all(f"SELECT {map_select()} FROM maps m {where} ORDER BY {order} LIMIT :limit", values)
    return await with_extras(db, rows)


# a map's mapper as users.safe_name spells names (bancho.py's lower case,
# spaces as underscores), in SQL and in Python
_CREATOR_KEY = "LOWER(REPLACE(m.creator, ' ', '_'))"


def _creator_key(creator: str) -> str:
    return creator.lower().replace(" ", "_")


async def with_extras(db: Database, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Set on map rows (copies: they are changed) what v1 and v2 show beside
    a map: the mapper's user id (creator_id, None when the mapper does not
    play here), the set's favourite count and the map's average rating
    (None without ratings). All three are kept in the snapshots, at most
    SNAPSHOT_MAX_AGE old: a popular map has thousands of ratings, and v1
    clients ask for the same popular maps over and over."""
    if not rows:
        return rows
    store = snapshots(db)
    keys = [_creator_key(row["creator"]) for row in rows]
    creators = await store.get_many("creator_id", set(keys), _user_ids)
    favourites = await store.get_many("favourites", {row["set_id"] for row in rows}, _favourite_counts)
    ratings = await store.get_many("rating", {row["md5"] for row in rows}, _average_ratings)
    for row, key in zip(rows, keys, strict=True):
        row["creator_id"] = creators[key]
        row["favourite_count"] = favourites[row["set_id"]] or 0
        row["rating"] = ratings[row["md5"]]
    return rows


async def _user_ids(db: Database, safe_names: list[str]) -> dict[str, int]:
    values: dict[str, Any] = {}
    rows = await db.fetch_all(
        f"SELECT id, safe_name FROM users WHERE safe_name {in_list('name', safe_names, values)}", values
    )
    return {row["safe_name"]: row["id"] for row in rows}


async def _favourite_counts(db: Database, set_ids: list[int]) -> dict[int, int]:
    values: dict[str, Any] = {}
    rows = await db.fetch_all(
        f"SELECT setid, COUNT(*) AS n FROM favourites WHERE setid {in_list('set', set_ids, values)} GROUP BY setid",
        values,
    )
    return {row["setid"]: row["n"] for row in rows}


async def _average_ratings(db: Database, md5s: list[str]) -> dict[str, Any]:
    """Each map's average rating (None without any)."""
    values: dict[str, Any] = {}
    rows = await db.fetch_all(
        "SELECT map_md5, AVG(rating) AS rating FROM ratings"
        f" WHERE map_md5 {in_list('md5', md5s, values)} GROUP BY map_md5",
        values,
    )
    return {row["map_md5"]: row["rating"] for row in rows}
