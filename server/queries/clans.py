"""SQL for clans."""

from __future__ import annotations

from functools import partial
from typing import Any

from ..db import Database
from ..snapshots import snapshots


async def clan_by_id(db: Database, clan_id: int) -> dict[str, Any] | None:
    """A clan by id, from the in-process cache (server/snapshots.py): clans
    are few and seldom change, and a clan member's score listings name one."""
    row = await snapshots(db).get(("clan", clan_id), partial(_fetch_clan, clan_id=clan_id))
    return None if row is None else dict(row)  # a copy: the cached row is shared


async def _fetch_clan(db: Database, *, clan_id: int) -> dict[str, Any] | None:
    return await db.fetch_one("SELECT id, name, tag, owner, created_at FROM clans WHERE id = :id", {"id": clan_id})


async def clan_members(db: Database, clan_id: int) -> list[dict[str, Any]]:
    return await db.fetch_all(
        "SELECT id, name, country, clan_priv FROM users WHERE clan_id = :clan_id ORDER BY id",
        {"clan_id": clan_id},
    )
