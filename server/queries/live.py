"""SQL for live state: player sessions (presence) and multiplayer matches,
written by the game server through the ingest API and read by the bancho-style
endpoints. Freshness is always part of the read: a session whose heartbeat
is older than its cut-off, or a match not updated since its cut-off, is never
returned, whether or not the clean-up has deleted it yet."""

from __future__ import annotations

import time
from typing import Any, Iterable, Sequence

from ..constants import MAX_INT32, Privileges
from ..db import Database
from . import in_list
from .maps import MAP_COLUMNS, map_select

UNRESTRICTED = int(Privileges.UNRESTRICTED)
# bancho.py's bot: always online there, never counted
BOT_ID = 1

SESSION_COLUMNS = ("login_time", "action", "info_text", "mode", "mods", "map_md5")
MATCH_COLUMNS = (
    "name", "mode", "mods", "seed", "host_id", "in_progress", "is_scrimming",
    "map_id", "map_md5", "map_name",
)
SLOT_COLUMNS = ("slot", "user_id", "status", "team", "mods", "loaded", "skipped")


def _upsert(db: Database, table: str, key: str, columns: Sequence[str], insert_only: Sequence[str] = ()) -> str:
    """One INSERT that replaces the row with the same primary key (keeping
    its insert_only columns): atomic on both dialects, so concurrent writers
    of one row never collide."""
    names = ", ".join((key, *insert_only, *columns))
    params = ", ".join(f":{c}" for c in (key, *insert_only, *columns))
    if db.dialect == "mysql":
        updates = ", ".join(f"{c} = VALUES({c})" for c in columns)
        return f"INSERT INTO {table} ({names}) VALUES ({params}) ON DUPLICATE KEY UPDATE {updates}"
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns)
    return f"INSERT INTO {table} ({names}) VALUES ({params}) ON CONFLICT ({key}) DO UPDATE SET {updates}"


def online_sql(user_column: str, since_param: str = "online_since") -> str:
    """An SQL expression, 1 when the player in user_column has a fresh
    session (heartbeat at or after :since_param) or is the bot, always
    online in bancho.py, for use inside other queries (a pool's creator)."""
    return (
        f"({user_column} = {BOT_ID} OR EXISTS (SELECT 1 FROM live_sessions ls"
        f" WHERE ls.user_id = {user_column} AND ls.heartbeat_at >= :{since_param}))"
    )


# --- clean-up ----------------------------------------------------------------


async def delete_expired(db: Database, *, sessions_before: int, matches_before: int) -> None:
    """Delete sessions and matches that went stale (both by an indexed
    range, so this costs two index look-ups when nothing has expired)."""
    await db.execute("DELETE FROM live_sessions WHERE heartbeat_at < :before", {"before": sessions_before})
    await db.in_transaction(lambda: _delete_stale_matches(db, matches_before))


async def _delete_stale_matches(db: Database, before: int) -> None:
    # (MariaDB: the rows stay locked, so a replace that comes meanwhile
    # waits and then writes the match anew instead of losing it)
    locking = " FOR UPDATE" if db.dialect == "mysql" else ""
    stale = [
        row["id"]
        for row in await db.fetch_all(f"SELECT id FROM live_matches WHERE updated_at < :before{locking}", {"before": before})
    ]
    if stale:
        await _delete_matches(db, stale)


async def _delete_matches(db: Database, match_ids: Iterable[int]) -> None:
    values: dict[str, Any] = {}
    matching = in_list("id", match_ids, values)
    for table, column in (("live_match_slots", "match_id"), ("live_match_refs", "match_id"), ("live_matches", "id")):
        await db.execute(f"DELETE FROM {table} WHERE {column} {matching}", values)


# --- sessions ------------------------------------------------------------------


async def put_session(db: Database, user_id: int, session: dict[str, Any], now: int) -> None:
    """Create or replace the player's session, as of now."""
    values = {column: session[column] for column in SESSION_COLUMNS}
    await db.execute(
        _upsert(db, "live_sessions", "user_id", (*SESSION_COLUMNS, "heartbeat_at")),
        {"user_id": user_id, **values, "heartbeat_at": now},
    )


async def has_session(db: Database, user_id: int, since: int) -> bool:
    row = await db.fetch_one(
        "SELECT user_id FROM live_sessions WHERE user_id = :user_id AND heartbeat_at >= :since",
        {"user_id": user_id, "since": since},
    )
    return row is not None


async def heartbeat(db: Database, user_id: int, changes: dict[str, Any], now: int) -> None:
    """Mark the session fresh as of now, updating the status fields given."""
    columns = [c for c in SESSION_COLUMNS if c in changes]
    sets = ", ".join([*(f"{c} = :{c}" for c in columns), "heartbeat_at = :now"])
    await db.execute(
        f"UPDATE live_sessions SET {sets} WHERE user_id = :user_id",
        {**{c: changes[c] for c in columns}, "now": now, "user_id": user_id},
    )


async def delete_session(db: Database, user_id: int) -> None:
    await db.execute("DELETE FROM live_sessions WHERE user_id = :user_id", {"user_id": user_id})


async def count_online(db: Database, since: int) -> int:
    """Unrestricted players with a fresh session, the bot left out."""
    return await db.fetch_val(
        "SELECT COUNT(*) FROM live_sessions s JOIN users u ON u.id = s.user_id"
        f" WHERE s.heartbeat_at >= :since AND s.user_id != {BOT_ID}"
        f" AND (u.priv & {UNRESTRICTED}) = {UNRESTRICTED}",
        {"since": since},
    )


async def session_holders(db: Database) -> frozenset[int]:
    """The players with a session row, fresh or not (a few per online
    player: the get_player_status of anyone else needs no query)."""
    return frozenset(row["user_id"] for row in await db.fetch_all("SELECT user_id FROM live_sessions"))


# BanchoBot (user 1) is online whenever bancho.py runs, from its start-up:
# this process's start stands in for that
BOT_LOGIN_TIME = time.time()


async def online_session(db: Database, user_id: int, since: int) -> dict[str, Any] | None:
    """session(), with the bot always online (idle, no map)."""
    if user_id == BOT_ID:
        return {"login_time": BOT_LOGIN_TIME, "action": 0, "info_text": "", "mode": 0, "mods": 0, "map_md5": "",
                **{f"beatmap_{column}": None for column in MAP_COLUMNS}}
    if not 0 < user_id <= MAX_INT32:
        return None
    return await session(db, user_id, since)


async def session(db: Database, user_id: int, since: int) -> dict[str, Any] | None:
    """The player's fresh session with the map it names (map columns
    prefixed beatmap_, all NULL when the map is unknown), or None."""
    return await db.fetch_one(
        "SELECT s.login_time, s.action, s.info_text, s.mode, s.mods, s.map_md5,"
        f" {map_select('m', 'beatmap_')}"
        " FROM live_sessions s LEFT JOIN maps m ON m.md5 = s.map_md5 AND s.map_md5 != ''"
        " WHERE s.user_id = :user_id AND s.heartbeat_at >= :since",
        {"user_id": user_id, "since": since},
    )


# --- matches -------------------------------------------------------------------


async def replace_match(db: Database, match_id: int, match: dict[str, Any], now: int) -> None:
    """Replace the whole state of a match (its row, referees and slots) in
    one transaction (run again after a lock conflict). The match row is
    written first: its row lock (MariaDB) or the write lock (SQLite) orders
    concurrent replaces of one match."""
    await db.in_transaction(lambda: _replace_match(db, match_id, match, now))


async def _replace_match(db: Database, match_id: int, match: dict[str, Any], now: int) -> None:
    await db.execute(
        _upsert(db, "live_matches", "id", (*MATCH_COLUMNS, "updated_at"), insert_only=("created_at",)),
        {"id": match_id, **{c: match[c] for c in MATCH_COLUMNS}, "created_at": now, "updated_at": now},
    )
    await db.execute("DELETE FROM live_match_refs WHERE match_id = :id", {"id": match_id})
    await db.execute("DELETE FROM live_match_slots WHERE match_id = :id", {"id": match_id})
    await db.execute_many(
        "INSERT INTO live_match_refs (match_id, user_id) VALUES (:match_id, :user_id)",
        [{"match_id": match_id, "user_id": user_id} for user_id in match["referee_ids"]],
    )
    await db.execute_many(
        f"INSERT INTO live_match_slots (match_id, {', '.join(SLOT_COLUMNS)})"
        f" VALUES (:match_id, {', '.join(f':{c}' for c in SLOT_COLUMNS)})",
        [{"match_id": match_id, **{c: slot[c] for c in SLOT_COLUMNS}} for slot in match["slots"]],
    )


async def delete_match(db: Database, match_id: int) -> None:
    await db.in_transaction(lambda: _delete_matches(db, [match_id]))


async def match_state(
    db: Database, match_id: int, since: int
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]] | None:
    """A match updated at or after since, with its referees and occupied
    slots, or None. Read in one transaction, so a replace that commits
    meanwhile is seen whole or not at all."""
    async with db.transaction():
        row = await match_by_id(db, match_id, since)
        if row is None:
            return None
        return row, await match_refs(db, match_id), await match_slots(db, match_id)


async def match_by_id(db: Database, match_id: int, since: int) -> dict[str, Any] | None:
    """A match updated at or after since, with its host's name."""
    return await db.fetch_one(
        f"SELECT m.id, {', '.join(f'm.{c}' for c in MATCH_COLUMNS)}, m.created_at, u.name AS host_name"
        " FROM live_matches m LEFT JOIN users u ON u.id = m.host_id"
        " WHERE m.id = :id AND m.updated_at >= :since",
        {"id": match_id, "since": since},
    )


async def match_refs(db: Database, match_id: int) -> list[dict[str, Any]]:
    return await db.fetch_all(
        "SELECT r.user_id, u.name FROM live_match_refs r LEFT JOIN users u ON u.id = r.user_id"
        " WHERE r.match_id = :id ORDER BY r.user_id",
        {"id": match_id},
    )


async def match_slots(db: Database, match_id: int) -> list[dict[str, Any]]:
    return await db.fetch_all(
        f"SELECT {', '.join(f's.{c}' for c in SLOT_COLUMNS)}, u.name"
        " FROM live_match_slots s LEFT JOIN users u ON u.id = s.user_id"
        " WHERE s.match_id = :id ORDER BY s.slot",
        {"id": match_id},
    )
