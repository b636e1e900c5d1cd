"""Response shapes of the authorized endpoints."""

from __future__ import annotations

from typing import Any

from ..images import ImageInfo


def friend(row: dict[str, Any]) -> dict[str, Any]:
    """A friend as bancho.py's basic player object (its format_player_basic):
    id, name, country, clan (id, name, tag, members; null without one) and
    online (a live session from the game server)."""
    clan = None
    if row["clan_id"] is not None:
        clan = {
            "id": row["clan_id"],
            "name": row["clan_name"],
            "tag": row["clan_tag"],
            "members": int(row["clan_members"]),
        }
    return {"id": row["id"], "name": row["name"], "country": row["country"], "clan": clan, "online": bool(row["online"])}


def avatar(user_id: int, image: ImageInfo, size: int) -> dict[str, Any]:
    return {
        "url": f"/avatars/{user_id}",
        "type": image.content_type,
        "width": image.width,
        "height": image.height,
        "size": size,
    }
