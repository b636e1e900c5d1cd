"""SQL for bancho.py's own /v2 API: pages of a table's rows filtered by
exact values of some columns, their totals, and one row by its key.

Each table's filterable columns are fixed here (the names come from this
module, never from a request); values are bound. Rows come in the table's
primary-key order, as bancho.py's unordered SELECT reads them from InnoDB,
so a page is the same on both databases. String filters compare without
regard to case, as MySQL's default collation does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..constants import fits_utf8mb3
from ..db import Database
from ..snapshots import snapshots
from . import force_index

# filters past a signed 64-bit integer match no row (MySQL compares them as
# numbers and finds none; the drivers refuse to bind them)
_SQL_INT = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]  # the primary key: the order of every page
    filters: tuple[str, ...]  # the columns a listing may filter on
    text_filters: tuple[str, ...] = ()  # those of them compared without regard to case
    # a filter's one-column index, most selective first: its entries come in
    # primary-key order, so a page is read in order and stops at its end
    # (MariaDB otherwise picked a composite index and sorted a popular
    # map's every score for each page)
    indexes: tuple[tuple[str, str], ...] = ()

    def select(self) -> str:
        return ", ".join(self.columns)


PLAYERS = Table(
    "users",
    ("id", "name", "safe_name", "priv", "country", "silence_end", "donor_end", "creation_time", "latest_activity",
     "clan_id", "clan_priv", "preferred_mode", "play_style", "custom_badge_name", "custom_badge_icon",
     "userpage_content"),
    ("id",), ("priv", "country", "clan_id", "clan_priv", "preferred_mode", "play_style"), ("country",),
)
STATS = Table(
    "stats",
    ("id", "mode", "tscore", "rscore", "pp", "plays", "playtime", "acc", "max_combo", "total_hits", "replay_views",
     "xh_count", "x_count", "sh_count", "s_count", "a_count"),
    ("id", "mode"), ("id",),
)
MAPS = Table(
    "maps",
    ("id", "server", "set_id", "status", "md5", "artist", "title", "version", "creator", "filename", "last_update",
     "total_length", "max_combo", "frozen", "plays", "passes", "mode", "bpm", "cs", "ar", "od", "hp", "diff"),
    ("server", "id"), ("server", "set_id", "status", "artist", "creator", "filename", "mode", "frozen"),
    ("server", "artist", "creator", "filename"),
)
SCORES = Table(
    "scores",
    ("id", "map_md5", "userid", "score", "pp", "acc", "max_combo", "mods", "n300", "n100", "n50", "nmiss", "ngeki",
     "nkatu", "grade", "status", "mode", "play_time", "time_elapsed", "perfect"),
    ("id",), ("map_md5", "mods", "status", "mode", "userid"), ("map_md5",),
    (("userid", "scores_userid_index"), ("map_md5", "scores_map_md5_index")),
)
CLANS = Table("clans", ("id", "name", "tag", "owner", "created_at"), ("id",), ())


def _where(db: Database, table: Table, filters: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The WHERE clause and its values for the given filters (None ones
    left out); None when a filter can match no row."""
    clauses, values = [], {}
    for column in table.filters:
        value = filters.get(column)
        if value is None:
            continue
        if isinstance(value, bool):
            value = int(value)
        elif isinstance(value, int) and not _SQL_INT[0] <= value <= _SQL_INT[1]:
            return None
        elif isinstance(value, str) and not fits_utf8mb3(value):
            return None  # bancho.py's text columns are 3-byte utf8: nothing there has it (MySQL would refuse it)
        nocase = " COLLATE NOCASE" if db.dialect == "sqlite" and column in table.text_filters else ""
        clauses.append(f"{column} = :{column}{nocase}")
        values[column] = value
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), values


async def page(db: Database, table: Table, filters: dict[str, Any], number: int, size: int) -> list[dict[str, Any]]:
    """Page `number` (from 1) of `size` rows; past the end, none."""
    found = _where(db, table, filters)
    if found is None or not _SQL_INT[0] <= (number - 1) * size <= _SQL_INT[1]:
        return []
    where, values = found
    values.update(limit=size, offset=(number - 1) * size)
    index = next((force_index(db, name) for column, name in table.indexes if column in values), "")
    return await db.fetch_all(
        f"SELECT {table.select()} FROM {table.name}{index}{where} ORDER BY {', '.join(table.key)}"
        " LIMIT :limit OFFSET :offset",
        values,
    )


async def total(db: Database, table: Table, filters: dict[str, Any]) -> int:
    """How many rows the filters match: counted once per SNAPSHOT_MAX_AGE
    for each set of filters (an unfiltered COUNT(*) reads a whole index;
    bancho.py counts on every request)."""
    found = _where(db, table, filters)
    if found is None:
        return 0
    where, values = found

    async def count(db: Database) -> int:
        return int(await db.fetch_val(f"SELECT COUNT(*) FROM {table.name}{where}", values) or 0)

    return await snapshots(db).get(("listing_total", table.name, tuple(sorted(values.items()))), count)


async def by_key(db: Database, table: Table, **key: Any) -> dict[str, Any] | None:
    """The row with these key columns' values, or None (a value past SQL's
    integers names none)."""
    if any(isinstance(v, int) and not _SQL_INT[0] <= v <= _SQL_INT[1] for v in key.values()):
        return None
    where = " AND ".join(f"{column} = :{column}" for column in key)
    return await db.fetch_one(f"SELECT {table.select()} FROM {table.name} WHERE {where}", key)
