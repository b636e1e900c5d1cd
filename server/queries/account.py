"""SQL for the authorized endpoints: a player's friends, and updating the
public fields of the key holder's own users row."""

from __future__ import annotations

from typing import Any, Mapping

from ..constants import Privileges
from ..db import Database, is_duplicate_key
from .live import online_sql

UNRESTRICTED = int(Privileges.UNRESTRICTED)

# the users columns set_player_info may write (safe_name follows name)
UPDATABLE_COLUMNS = frozenset({
    "name", "safe_name", "userpage_content", "custom_badge_name", "custom_badge_icon",
    "preferred_mode", "play_style",
})


class NameTaken(Exception):
    """The UPDATE broke the unique name/safe_name index."""


async def friends(db: Database, user_id: int, online_since: int) -> list[dict[str, Any]]:
    """The player's friends (relationships of type 'friend' from the
    player), unrestricted ones only, by id, each with their clan and its
    member count, and whether they have a live session with a heartbeat at
    or after online_since; one statement."""
    return await db.fetch_all(
        "SELECT u.id, u.name, u.country, c.id AS clan_id, c.name AS clan_name, c.tag AS clan_tag,"
        " (SELECT COUNT(*) FROM users m WHERE m.clan_id = c.id) AS clan_members,"
        f" {online_sql('u.id')} AS online"
        " FROM relationships r"
        " JOIN users u ON u.id = r.user2"
        " LEFT JOIN clans c ON c.id = u.clan_id"
        f" WHERE r.user1 = :user_id AND r.type = 'friend' AND (u.priv & {UNRESTRICTED}) = {UNRESTRICTED}"
        " ORDER BY u.id",
        {"user_id": user_id, "online_since": online_since},
    )


async def update_player(db: Database, user_id: int, values: Mapping[str, Any]) -> None:
    """Set the given columns of the player's row in one UPDATE statement, so
    they change together or not at all. Raises NameTaken when the new name
    belongs to someone else (the unique indexes on name and safe_name
    decide, which also holds against a concurrent rename)."""
    if not values or not set(values) <= UPDATABLE_COLUMNS:
        raise ValueError(f"not updatable: {sorted(set(values) - UPDATABLE_COLUMNS)}")
    assignments = ", ".join(f"{column} = :{column}" for column in sorted(values))
    try:
        await db.execute(
            f"UPDATE users SET {assignments} WHERE id = :user_id", {**values, "user_id": user_id}
        )
    except Exception as exc:
        # the only unique indexes on users besides name and safe_name are
        # email and api_key, which this statement never sets
        if is_duplicate_key(exc):
            raise NameTaken from exc
        raise
