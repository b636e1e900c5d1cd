"""SQL for clans."""

from __future__ import annotations

from typing import Any

from ..db import Database


async def clan_by_id(db: Database, clan_id: int) -> dict[str, Any] | None:
    return await db.fetch_one(
        "SELECT id, name, tag, owner, created_at FROM clans WHERE id = :id", {"id": clan_id}
    )


async def clan_members(db: Database, clan_id: int) -> list[dict[str, Any]]:
    return await db.fetch_all(
        "SELECT id, name, country, clan_priv FROM users WHERE clan_id = :clan_id ORDER BY id",
        {"clan_id": clan_id},
    )
