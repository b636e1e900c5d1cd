"""The osu!track layer's recording side: snapshots of a player's stats in one
mode and the top plays that entered their top 100, taken by /track/update,
by the scheduled job (`python -m server track snapshot`) and by the optional
in-process loop (TRACK_SNAPSHOT_INTERVAL).

Every snapshot of a player and mode happens under that player's lock row in
track_state, claimed by a conditional UPDATE in the database: two updates at
once, from one process or from several app instances, never record two
snapshots. /update also needs TRACK_UPDATE_INTERVAL seconds since the last
accepted update of that player and mode."""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from .constants import PLAYABLE_MODES, Privileges, level_from_score
from .db import Database
from .queries import players, scores
from .queries import track as q
from .settings import Settings

log = logging.getLogger("server.track")

# how long a claimed lock holds if its holder dies without releasing it
LOCK_LEASE_MS = 60_000
# how long an update waits for a concurrent update of the same player
LOCK_WAIT_SECONDS = 5.0
# how many of a player's best plays count as their top plays
TOP_PLAYS = 100

JOB_NAME = "snapshot"
JOB_LEASE_MS = 5 * 60_000
DEFAULT_BATCH = 100
DEFAULT_SINCE_DAYS = 7

# the snapshot fields compared to tell whether anything changed, each with
# the precision it is stored at (None: an integer)
COMPARED_FIELDS: dict[str, int | None] = {
    "count300": None, "count100": None, "count50": None, "playcount": None,
    "ranked_score": None, "total_score": None, "pp_rank": None, "pp_country_rank": None,
    "level": 6, "pp_raw": 3, "accuracy": 3, "count_rank_ss": None, "count_rank_ssh": None,
    "count_rank_s": None, "count_rank_sh": None, "count_rank_a": None,
}


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def utc_ms(value: Any) -> int:
    """A DATETIME column (datetime from MySQL, text from SQLite), read as
    UTC, in Unix milliseconds."""
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(str(value).replace(" ", "T")[:19])
    return int(value.replace(tzinfo=timezone.utc).timestamp()) * 1000


def is_unrestricted(player: dict[str, Any] | None) -> bool:
    return player is not None and bool(player["priv"] & Privileges.UNRESTRICTED)


class RateLimited(Exception):
    """The player was updated too recently, or another update of them is
    still running; retry after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after


class JobBusy(Exception):
    """Another snapshot run holds the job's lease."""


@dataclass
class NewPlay:
    row: dict[str, Any]  # a player_scores row (score columns, its map under "map")
    ranking: int  # its 0-based position in the player's current top plays
    replay_available: bool


@dataclass
class Snapshot:
    """What one update saw: the previous snapshot (None on the first), the
    current values, whether they were recorded, and the new top plays."""

    player: dict[str, Any]
    mode: int
    previous: dict[str, Any] | None
    current: dict[str, Any]
    recorded: bool
    new_plays: list[NewPlay] = field(default_factory=list)


def current_values(user_id: int, mode: int, stats: dict[str, Any] | None, hits: dict[str, Any] | None, now: int) -> dict[str, Any]:
    """A snapshot row from a player's stats row (with global_rank and
    country_rank, as players.player_stats gives it) and hit totals."""
    s = stats or {}
    h = hits or {}
    tscore = int(s.get("tscore") or 0)
    return {
        "user_id": user_id,
        "mode": mode,
        "count300": int(h.get("n300") or 0),
        "count100": int(h.get("n100") or 0),
        "count50": int(h.get("n50") or 0),
        "playcount": int(s.get("plays") or 0),
        "ranked_score": int(s.get("rscore") or 0),
        "total_score": tscore,
        # unranked (no pp, or no stats row) is stored as NULL, not 0
        "pp_rank": int(s["global_rank"]) if s.get("global_rank") else None,
        "pp_country_rank": int(s["country_rank"]) if s.get("country_rank") else None,
        "level": round(level_from_score(tscore), 6),
        "pp_raw": round(float(s.get("pp") or 0), 3),
        "accuracy": round(float(s.get("acc") or 0), 3),
        "count_rank_ss": int(s.get("x_count") or 0),
        "count_rank_ssh": int(s.get("xh_count") or 0),
        "count_rank_s": int(s.get("s_count") or 0),
        "count_rank_sh": int(s.get("sh_count") or 0),
        "count_rank_a": int(s.get("a_count") or 0),
        "max_combo": int(s.get("max_combo") or 0),
        "total_hits": int(s.get("total_hits") or 0),
        "playtime": int(s.get("playtime") or 0),
        "created_at": now,
    }


def changed(previous: dict[str, Any] | None, current: dict[str, Any]) -> bool:
    if previous is None:
        return True
    for name, digits in COMPARED_FIELDS.items():
        old, new = previous[name], current[name]
        if digits is None:
            if (None if old is None else int(old)) != new:
                return True
        elif round(float(old), digits) != round(float(new), digits):
            return True
    return False


async def take_snapshot(db: Database, settings: Settings, player: dict[str, Any], mode: int, now: int) -> Snapshot:
    """Snapshot the player in the mode; the caller holds the player's lock.
    A snapshot row is written when anything changed since the previous one
    (or there is none); every play of the current top 100 not recorded yet
    is recorded as a new top play."""
    user_id = player["id"]
    stats = await players.player_stats(db, user_id, (mode,))
    hits = await scores.hit_totals(db, user_id=user_id, mode=mode)
    previous = await q.latest_snapshot(db, user_id, mode)
    if previous is not None and now <= previous["created_at"]:
        now = previous["created_at"] + 1  # the clock went back: keep the order
    current = current_values(user_id, mode, stats[0] if stats else None, hits, now)
    top = await scores.player_scores(
        db, user_id=user_id, mode=mode, scope="best", mods=None, limit=TOP_PLAYS,
        include_loved=False, include_failed=True,
    )
    known = await q.recorded_score_ids(db, user_id, mode, [row["id"] for row in top])
    new_plays = [
        NewPlay(row, ranking, (settings.replays_dir / f"{row['id']}.osr").is_file())
        for ranking, row in enumerate(top)
        if int(row["id"]) not in known
    ]
    record = changed(previous, current)
    if record or new_plays:
        async with db.transaction():
            if record:
                await q.insert_snapshot(db, current)
            await q.insert_hiscores(db, [
                {
                    "user_id": user_id, "mode": mode, "score_id": play.row["id"],
                    "beatmap_id": play.row["map"]["id"], "score": play.row["score"],
                    "pp": round(float(play.row["pp"]), 3), "mods": play.row["mods"],
                    "grade": play.row["grade"], "score_time": utc_ms(play.row["play_time"]),
                    "update_time": now,
                }
                for play in new_plays
            ])
    return Snapshot(player, mode, previous, current, record, new_plays)


async def update(db: Database, settings: Settings, player: dict[str, Any], mode: int) -> Snapshot:
    """/update: claim the player's lock under the rate limit, snapshot,
    release. Raises RateLimited when the last accepted update is less than
    TRACK_UPDATE_INTERVAL seconds old, or when a concurrent update still
    holds the lock after LOCK_WAIT_SECONDS."""
    user_id = player["id"]
    interval_ms = settings.track_update_interval * 1000
    await q.ensure_state(db, user_id, mode)
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        now = now_ms()
        token = uuid.uuid4().hex
        await q.claim_state(
            db, user_id, mode, token=token, now=now, lease_until=now + LOCK_LEASE_MS,
            ready_before=now - interval_ms if interval_ms > 0 else None,
        )
        row = await q.state(db, user_id, mode)
        assert row is not None
        if row["lock_token"] == token:
            break
        last = row["last_update_at"]
        if interval_ms > 0 and last is not None and last > now - interval_ms:
            # updated too recently (possibly by the update now holding the lock)
            raise RateLimited(max(1, math.ceil((last + interval_ms - now) / 1000)))
        # locked by a scheduled snapshot, or released just now: try again
        if time.monotonic() >= deadline:
            raise RateLimited(max(1, math.ceil(LOCK_WAIT_SECONDS)))
        await asyncio.sleep(0.05)
    try:
        return await take_snapshot(db, settings, player, mode, now)
    finally:
        await q.release_state(db, user_id, mode, token)


async def snapshot_if_free(db: Database, settings: Settings, player: dict[str, Any], mode: int) -> Snapshot | None:
    """The scheduled job's snapshot: under the player's lock but not the
    rate limit (nor counting towards it); None when an update of the
    player is running at this moment."""
    user_id = player["id"]
    await q.ensure_state(db, user_id, mode)
    now = now_ms()
    token = uuid.uuid4().hex
    await q.claim_state(db, user_id, mode, token=token, now=now, lease_until=now + LOCK_LEASE_MS, ready_before=None)
    row = await q.state(db, user_id, mode)
    if row is None or row["lock_token"] != token:
        return None
    try:
        return await take_snapshot(db, settings, player, mode, now)
    finally:
        await q.release_state(db, user_id, mode, token)


async def snapshot_player(db: Database, settings: Settings, user_id: int) -> int:
    """Snapshot an unrestricted player in every mode they have played;
    returns how many snapshots were recorded."""
    player = await players.player_by_id(db, user_id)
    if not is_unrestricted(player):
        return 0
    recorded = 0
    for stats in await players.player_stats(db, user_id, PLAYABLE_MODES):
        if not stats["plays"]:
            continue
        snapshot = await snapshot_if_free(db, settings, player, int(stats["mode"]))
        if snapshot is not None and snapshot.recorded:
            recorded += 1
    return recorded


# --- the scheduled job -------------------------------------------------------


@dataclass
class JobProgress:
    players_done: int
    players_total: int
    snapshots: int
    batches: int  # batches done in this invocation
    finished: bool = False
    resumed: bool = False
    resumed_at: int = 0  # players already done when this invocation began


async def run_job(
    db: Database,
    settings: Settings,
    *,
    batch: int | None = None,
    since_days: float = DEFAULT_SINCE_DAYS,
    resume: bool = False,
    max_batches: int | None = None,
    progress: Callable[[JobProgress], None] | None = None,
) -> JobProgress:
    """Snapshot the players active in the last `since_days` days (unrestricted,
    not the bot), `batch` players at a time in id order, saving how far the
    run got after each batch (DEFAULT_BATCH when not given). With `resume`,
    an unfinished run continues where it stopped, with its own activity
    cutoff (and batch size, unless one is given); otherwise
    (or when there is none) a new run starts. `max_batches` stops early,
    leaving the run to be resumed. Raises JobBusy while another run holds
    the job's lease."""
    await q.ensure_job(db, JOB_NAME)
    token = uuid.uuid4().hex
    now = now_ms()
    await q.claim_job(db, JOB_NAME, token=token, now=now, lease_until=now + JOB_LEASE_MS)
    job = await q.job(db, JOB_NAME)
    if job is None or job["lock_token"] != token:
        raise JobBusy("another snapshot run is in progress")
    try:
        unfinished = job["started_at"] is not None and job["finished_at"] is None
        if resume and unfinished:
            state = JobProgress(job["players_done"], job["players_total"], job["snapshots"], 0, resumed=True,
                                resumed_at=job["players_done"])
            active_since, cursor = job["active_since"], job["cursor_user_id"]
            batch = batch or job["batch_size"] or DEFAULT_BATCH
        else:
            batch = batch or DEFAULT_BATCH
            active_since = int(now // 1000 - since_days * 86400)
            total = await q.count_active_players(db, active_since)
            await q.start_job_run(db, JOB_NAME, token, now=now, active_since=active_since, batch_size=batch,
                                  players_total=total)
            state, cursor = JobProgress(0, total, 0, 0), 0
        if progress:
            progress(state)
        while True:
            ids = await q.active_players(db, active_since=active_since, after_id=cursor, limit=batch)
            for user_id in ids:
                state.snapshots += await snapshot_player(db, settings, user_id)
            if ids:
                cursor = ids[-1]
                state.players_done += len(ids)
                state.batches += 1
                # players who became active during the run can push the count up
                state.players_total = max(state.players_total, state.players_done)
            state.finished = len(ids) < batch
            now = now_ms()
            await q.save_job_progress(
                db, JOB_NAME, token, cursor_user_id=cursor, players_done=state.players_done,
                snapshots=state.snapshots, lease_until=now + JOB_LEASE_MS,
                finished_at=now if state.finished else None,
            )
            if progress and (ids or state.finished):
                progress(state)
            if state.finished or (max_batches is not None and state.batches >= max_batches):
                return state
    finally:
        await q.release_job(db, JOB_NAME, token)


async def job_due(db: Database, interval_seconds: int) -> bool:
    """Whether the loop should run the job: never run, unfinished, or last
    started at least interval_seconds ago."""
    job = await q.job(db, JOB_NAME)
    if job is None or job["started_at"] is None or job["finished_at"] is None:
        return True
    return now_ms() - job["started_at"] >= interval_seconds * 1000


async def run_if_due(db: Database, settings: Settings) -> None:
    """The background loop's turn (server/background.py): a run when one is
    due, unless another instance holds the job's lease."""
    try:
        if await job_due(db, settings.track_snapshot_interval):
            state = await run_job(db, settings, resume=True)
            log.info("track snapshot: %d players, %d snapshots recorded", state.players_done, state.snapshots)
    except JobBusy:
        pass  # another instance is running it
