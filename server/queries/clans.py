"""SQL for clans."""

from __future__ import annotations

from typing import Any

from ..db import Database
from ..snapshots import snapshots
from . import in_list

_CLAN_SELECT = "SELECT id, name, tag, owner, created_at FROM clans"


async def clan_by_id(db: Database, clan_id: int) -> dict[str, Any] | None:
    """A clan by id (see _clans_by_id)."""
    row = (await _clans_by_id(db, {clan_id})).get(clan_id)
    return None if row is None else dict(row)  # a copy: the snapshot's rows are shared


async def with_clans(db: Database, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fill each row's clan_id (the player's users.clan_id, 0 or NULL for
    none), clan_name and clan_tag as a LEFT JOIN of clans would: all three
    None where no such clan exists. From the snapshot rather than a join:
    MariaDB sometimes joined the clans of a listing by scanning them all
    for every row (a block nested loop), which cost more than the listing."""
    known = await _clans_by_id(db, {row["clan_id"] for row in rows if row["clan_id"]})
    for row in rows:
        clan = known.get(row["clan_id"])
        if clan is None:
            row["clan_id"] = row["clan_name"] = row["clan_tag"] = None
        else:
            row["clan_name"], row["clan_tag"] = clan["name"], clan["tag"]
    return rows


async def _clans_by_id(db: Database, clan_ids: set[int]) -> dict[int, dict[str, Any]]:
    """The clans with these ids, from the in-process snapshot of every clan
    (server/snapshots.py): clans are few and seldom change. Those it does
    not hold yet (made by another process since) are read in one query."""
    known = await _every_clan(db)
    missing = clan_ids - known.keys()
    if not missing:
        return known
    values: dict[str, Any] = {}
    found = await db.fetch_all(f"{_CLAN_SELECT} WHERE id {in_list('id', missing, values)}", values)
    return {**known, **{row["id"]: row for row in found}}


async def _every_clan(db: Database) -> dict[int, dict[str, Any]]:
    return await snapshots(db).get("clans", _read_every_clan)


async def _read_every_clan(db: Database) -> dict[int, dict[str, Any]]:
    return {row["id"]: row for row in await db.fetch_all(_CLAN_SELECT)}


async def clan_members(db: Database, clan_id: int) -> list[dict[str, Any]]:
    return await db.fetch_all(
        "SELECT id, name, country, clan_priv FROM users WHERE clan_id = :clan_id ORDER BY id",
        {"clan_id": clan_id},
    )
