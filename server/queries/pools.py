"""SQL for tournament map pools."""

from __future__ import annotations

from typing import Any

from ..db import Database
from . import live
from .maps import map_select


async def pool_by_id(db: Database, pool_id: int, *, online_since: int) -> dict[str, Any] | None:
    """The pool with its creator, the creator's clan (with its size) and
    whether the creator has a session fresh since online_since."""
    return await db.fetch_one(
        "SELECT p.id, p.name, p.created_at, p.created_by, u.name AS creator_name,"
        " u.country AS creator_country, c.id AS clan_id, c.name AS clan_name, c.tag AS clan_tag,"
        " (SELECT COUNT(*) FROM users cm WHERE cm.clan_id = c.id) AS clan_members,"
        f" {live.online_sql('p.created_by')} AS creator_online"
        " FROM tourney_pools p LEFT JOIN users u ON u.id = p.created_by"
        " LEFT JOIN clans c ON c.id = u.clan_id WHERE p.id = :id",
        {"id": pool_id, "online_since": online_since},
    )


async def pool_maps(db: Database, pool_id: int) -> list[dict[str, Any]]:
    """The pool's slots with their maps (map columns prefixed map_)."""
    return await db.fetch_all(
        f"SELECT pm.mods AS pool_mods, pm.slot AS pool_slot, {map_select('m', 'map_')}"
        " FROM tourney_pool_maps pm JOIN maps m ON m.id = pm.map_id"
        " WHERE pm.pool_id = :pool_id ORDER BY pm.mods, pm.slot",
        {"pool_id": pool_id},
    )
