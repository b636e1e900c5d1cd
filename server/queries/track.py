"""SQL for the osu!track layer: snapshots, recorded top plays, the per-player
lock row and the snapshot job's progress (tables in sql/migrations/0003_track.sql).
Times are Unix milliseconds, except users.latest_activity (seconds)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..constants import BOT_USER_ID
from ..db import Database
from . import in_list
from .players import UNRESTRICTED

# the snapshot columns a caller fills in (id is the database's)
SNAPSHOT_COLUMNS = (
    "user_id", "mode", "count300", "count100", "count50", "playcount", "ranked_score",
    "total_score", "pp_rank", "pp_country_rank", "level", "pp_raw", "accuracy",
    "count_rank_ss", "count_rank_ssh", "count_rank_s", "count_rank_sh", "count_rank_a",
    "max_combo", "total_hits", "playtime", "created_at",
)

HISCORE_COLUMNS = (
    "user_id", "mode", "score_id", "beatmap_id", "score", "pp", "mods", "grade",
    "score_time", "update_time",
)

_UNRESTRICTED_USER = f"(u.priv & {UNRESTRICTED}) = {UNRESTRICTED}"


def _insert(table: str, columns: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"


def _time_range(column: str, since: int | None, until: int | None, values: dict[str, Any]) -> str:
    """` AND column >= :since AND column <= :until` for the bounds given
    (inclusive, as osu!track compares them)."""
    sql = ""
    if since is not None:
        values["since"] = since
        sql += f" AND {column} >= :since"
    if until is not None:
        values["until"] = until
        sql += f" AND {column} <= :until"
    return sql


# --- leases: track_state (one per player and mode) and track_jobs ----------
#
# A row is claimed by a conditional UPDATE that writes a fresh random token
# only where no unexpired lease is held (and, for /update, the rate limit has
# passed), then reading the token back: whoever reads their own token holds
# the lease. The database decides, so this holds across processes and hosts.


async def _ensure_row(db: Database, table: str, key: Mapping[str, Any]) -> None:
    """Insert the row with its key alone unless it exists (racing inserts of
    the same key are fine: one wins, the others change nothing)."""
    columns = ", ".join(key)
    params = ", ".join(f":{c}" for c in key)
    if db.dialect == "sqlite":
        conflict = "ON CONFLICT DO NOTHING"
    else:
        first = next(iter(key))
        conflict = f"ON DUPLICATE KEY UPDATE {first} = {first}"
    await db.execute(f"INSERT INTO {table} ({columns}) VALUES ({params}) {conflict}", dict(key))


def _where(key: Mapping[str, Any]) -> str:
    return " AND ".join(f"{c} = :{c}" for c in key)


async def ensure_state(db: Database, user_id: int, mode: int) -> None:
    await _ensure_row(db, "track_state", {"user_id": user_id, "mode": mode})


async def claim_state(
    db: Database, user_id: int, mode: int, *, token: str, now: int, lease_until: int,
    ready_before: int | None,
) -> None:
    """Try to take the player's lock. With ready_before (an /update), the
    claim also needs the last accepted update to be at or before it, and
    records `now` as the new last update."""
    key = {"user_id": user_id, "mode": mode}
    values: dict[str, Any] = {**key, "token": token, "now": now, "lease_until": lease_until}
    sets = "lock_token = :token, locked_until = :lease_until"
    condition = "locked_until < :now"
    if ready_before is not None:
        values["ready_before"] = ready_before
        sets += ", last_update_at = :now"
        condition += " AND (last_update_at IS NULL OR last_update_at <= :ready_before)"
    await db.execute(f"UPDATE track_state SET {sets} WHERE {_where(key)} AND {condition}", values)


async def state(db: Database, user_id: int, mode: int) -> dict[str, Any] | None:
    return await db.fetch_one(
        "SELECT last_update_at, locked_until, lock_token FROM track_state"
        " WHERE user_id = :user_id AND mode = :mode",
        {"user_id": user_id, "mode": mode},
    )


async def release_state(db: Database, user_id: int, mode: int, token: str) -> None:
    await db.execute(
        "UPDATE track_state SET locked_until = 0, lock_token = NULL"
        " WHERE user_id = :user_id AND mode = :mode AND lock_token = :token",
        {"user_id": user_id, "mode": mode, "token": token},
    )


async def ensure_job(db: Database, name: str) -> None:
    await _ensure_row(db, "track_jobs", {"name": name})


async def claim_job(db: Database, name: str, *, token: str, now: int, lease_until: int) -> None:
    await db.execute(
        "UPDATE track_jobs SET lock_token = :token, locked_until = :lease_until"
        " WHERE name = :name AND locked_until < :now",
        {"name": name, "token": token, "now": now, "lease_until": lease_until},
    )


async def job(db: Database, name: str) -> dict[str, Any] | None:
    return await db.fetch_one(
        "SELECT name, started_at, finished_at, active_since, batch_size, cursor_user_id,"
        " players_total, players_done, snapshots, locked_until, lock_token"
        " FROM track_jobs WHERE name = :name",
        {"name": name},
    )


async def start_job_run(
    db: Database, name: str, token: str, *, now: int, active_since: int, batch_size: int, players_total: int
) -> None:
    await db.execute(
        "UPDATE track_jobs SET started_at = :now, finished_at = NULL, active_since = :active_since,"
        " batch_size = :batch_size, cursor_user_id = 0, players_total = :players_total,"
        " players_done = 0, snapshots = 0 WHERE name = :name AND lock_token = :token",
        {"name": name, "token": token, "now": now, "active_since": active_since,
         "batch_size": batch_size, "players_total": players_total},
    )


async def save_job_progress(
    db: Database, name: str, token: str, *, cursor_user_id: int, players_done: int, snapshots: int,
    lease_until: int, finished_at: int | None,
) -> None:
    """Record how far the run got (and renew the lease)."""
    await db.execute(
        "UPDATE track_jobs SET cursor_user_id = :cursor_user_id, players_done = :players_done,"
        " snapshots = :snapshots, locked_until = :lease_until, finished_at = :finished_at"
        " WHERE name = :name AND lock_token = :token",
        {"name": name, "token": token, "cursor_user_id": cursor_user_id, "players_done": players_done,
         "snapshots": snapshots, "lease_until": lease_until, "finished_at": finished_at},
    )


async def release_job(db: Database, name: str, token: str) -> None:
    await db.execute(
        "UPDATE track_jobs SET locked_until = 0, lock_token = NULL WHERE name = :name AND lock_token = :token",
        {"name": name, "token": token},
    )


# --- the players the job visits --------------------------------------------


def _active_condition(values: dict[str, Any], active_since: int) -> str:
    values["active_since"] = active_since
    values["bot"] = BOT_USER_ID
    return f"{_UNRESTRICTED_USER} AND u.id != :bot AND u.latest_activity >= :active_since"


async def count_active_players(db: Database, active_since: int) -> int:
    values: dict[str, Any] = {}
    return await db.fetch_val(f"SELECT COUNT(*) FROM users u WHERE {_active_condition(values, active_since)}", values)


async def active_players(db: Database, *, active_since: int, after_id: int, limit: int) -> list[int]:
    """Ids of unrestricted players (not the bot) seen since active_since,
    after after_id, in id order."""
    values: dict[str, Any] = {"after_id": after_id, "limit": limit}
    rows = await db.fetch_all(
        f"SELECT u.id FROM users u WHERE {_active_condition(values, active_since)} AND u.id > :after_id"
        " ORDER BY u.id LIMIT :limit",
        values,
    )
    return [row["id"] for row in rows]


# --- snapshots and recorded top plays --------------------------------------


async def latest_snapshot(db: Database, user_id: int, mode: int) -> dict[str, Any] | None:
    return await db.fetch_one(
        f"SELECT id, {', '.join(SNAPSHOT_COLUMNS)} FROM track_snapshots"
        " WHERE user_id = :user_id AND mode = :mode ORDER BY created_at DESC, id DESC LIMIT 1",
        {"user_id": user_id, "mode": mode},
    )


async def insert_snapshot(db: Database, snapshot: Mapping[str, Any]) -> None:
    await db.execute(_insert("track_snapshots", SNAPSHOT_COLUMNS), {c: snapshot[c] for c in SNAPSHOT_COLUMNS})


async def recorded_score_ids(db: Database, user_id: int, mode: int, score_ids: Sequence[int]) -> set[int]:
    """Which of these scores are already recorded as the player's top plays."""
    if not score_ids:
        return set()
    values: dict[str, Any] = {"user_id": user_id, "mode": mode}
    rows = await db.fetch_all(
        "SELECT score_id FROM track_hiscores"
        f" WHERE user_id = :user_id AND mode = :mode AND score_id {in_list('id', score_ids, values)}",
        values,
    )
    return {int(row["score_id"]) for row in rows}


async def insert_hiscores(db: Database, plays: Sequence[Mapping[str, Any]]) -> None:
    await db.execute_many(
        _insert("track_hiscores", HISCORE_COLUMNS), [{c: play[c] for c in HISCORE_COLUMNS} for play in plays]
    )


async def has_snapshot(db: Database, user_id: int, mode: int) -> bool:
    row = await db.fetch_one(
        "SELECT id FROM track_snapshots WHERE user_id = :user_id AND mode = :mode LIMIT 1",
        {"user_id": user_id, "mode": mode},
    )
    return row is not None


async def snapshots(
    db: Database, *, user_id: int, mode: int, since: int | None, until: int | None
) -> list[dict[str, Any]]:
    """The player's snapshots in the time range, oldest first."""
    values: dict[str, Any] = {"user_id": user_id, "mode": mode}
    return await db.fetch_all(
        f"SELECT {', '.join(SNAPSHOT_COLUMNS)} FROM track_snapshots"
        " WHERE user_id = :user_id AND mode = :mode"
        f"{_time_range('created_at', since, until, values)}"
        " ORDER BY created_at ASC, id ASC",
        values,
    )


async def hiscores(
    db: Database, *, user_id: int, mode: int, since: int | None, until: int | None
) -> list[dict[str, Any]]:
    """The player's recorded top plays played in the time range, by play time."""
    values: dict[str, Any] = {"user_id": user_id, "mode": mode}
    return await db.fetch_all(
        "SELECT beatmap_id, score, pp, mods, grade, score_time, update_time FROM track_hiscores"
        " WHERE user_id = :user_id AND mode = :mode"
        f"{_time_range('score_time', since, until, values)}"
        " ORDER BY score_time ASC, id ASC",
        values,
    )


async def best_plays(
    db: Database, *, mode: int, since: int | None, until: int | None, limit: int
) -> list[dict[str, Any]]:
    """Everyone's recorded top plays played in the time range, most pp first;
    restricted players' plays are left out."""
    values: dict[str, Any] = {"mode": mode, "limit": limit}
    return await db.fetch_all(
        "SELECT h.user_id, h.beatmap_id, h.score, h.pp, h.mods, h.grade, h.score_time, h.update_time"
        " FROM track_hiscores h JOIN users u ON u.id = h.user_id"
        f" WHERE h.mode = :mode AND {_UNRESTRICTED_USER}"
        f"{_time_range('h.score_time', since, until, values)}"
        " ORDER BY h.pp DESC, h.score_time ASC, h.id ASC LIMIT :limit",
        values,
    )


async def peak(db: Database, *, user_id: int, mode: int) -> dict[str, Any]:
    """The best (lowest) recorded global rank and the best accuracy, each
    with the latest time it was reached (ties go to the latest snapshot, as
    osu!track's MAX(timestamp) has it); nulls when nothing is recorded."""
    key = "user_id = :user_id AND mode = :mode"
    row = await db.fetch_one(
        "SELECT"
        f" (SELECT MIN(pp_rank) FROM track_snapshots WHERE {key}) AS best_global_rank,"
        f" (SELECT MAX(created_at) FROM track_snapshots WHERE {key} AND pp_rank ="
        f"  (SELECT MIN(pp_rank) FROM track_snapshots WHERE {key})) AS best_rank_at,"
        f" (SELECT MAX(accuracy) FROM track_snapshots WHERE {key}) AS best_accuracy,"
        f" (SELECT MAX(created_at) FROM track_snapshots WHERE {key} AND accuracy ="
        f"  (SELECT MAX(accuracy) FROM track_snapshots WHERE {key})) AS best_acc_at",
        {"user_id": user_id, "mode": mode},
    )
    assert row is not None
    return row


async def ranks_since(db: Database, *, user_id: int, mode: int, since: int) -> list[dict[str, Any]]:
    """The player's recorded global ranks (with their time, Unix ms) since
    `since`, oldest first; snapshots without a rank are left out."""
    return await db.fetch_all(
        "SELECT created_at, pp_rank FROM track_snapshots"
        " WHERE user_id = :user_id AND mode = :mode AND created_at >= :since AND pp_rank IS NOT NULL"
        " ORDER BY created_at ASC, id ASC",
        {"user_id": user_id, "mode": mode, "since": since},
    )
