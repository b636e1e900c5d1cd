"""Settings come from environment variables only; see the README's table."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from .db import dialect_of


@dataclass(frozen=True)
class Settings:
    database_url: str
    host: str
    port: int
    data_dir: Path
    # load the demo data set when the embedded database starts out empty
    demo_on_empty: bool
    # live state (server/routes/ingest.py): the game server's bearer token
    # (None: the ingest API answers 503), and how many seconds a session
    # without a heartbeat, or a match without an update, stays live
    ingest_token: str | None = None
    presence_ttl: int = 90
    match_ttl: int = 300
    # the largest avatar set_avatar accepts, in bytes (AVATAR_MAX_BYTES)
    avatar_max_bytes: int = 2 * 1024 * 1024
    # osu!track layer (server/track.py): the least time between two accepted
    # /track/update calls for one player and mode (TRACK_UPDATE_INTERVAL, 0
    # = no limit), and how often the in-process loop snapshots the active
    # players (TRACK_SNAPSHOT_INTERVAL, 0 = off), both in seconds
    track_update_interval: int = 60
    track_snapshot_interval: int = 0

    @property
    def replays_dir(self) -> Path:
        return self.data_dir / "osr"

    @property
    def avatars_dir(self) -> Path:
        return self.data_dir / "avatars"

    @property
    def beatmaps_dir(self) -> Path:
        return self.data_dir / "osu"

    @property
    def is_embedded(self) -> bool:
        return self.database_url.startswith("sqlite")


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def _whole_number(env: Mapping[str, str], name: str, default: int, minimum: int, unit: str) -> int:
    """A numeric setting: its default when unset or blank, else a whole
    number of at least minimum (a clear exit otherwise)."""
    value = env.get(name, "").strip()
    if not value:
        return default
    if not value.isdecimal() or int(value) < minimum:
        raise SystemExit(f"{name} must be a whole number of {unit}, {minimum} or more, not {value!r}")
    return int(value)


def load_settings(env: Mapping[str, str] = os.environ) -> Settings:
    data_dir = Path(env.get("DATA_DIR", "data")).resolve()
    database_url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'api.db'}"
    try:
        dialect_of(database_url)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    try:
        port = int(env.get("PORT", "8000"))
    except ValueError:
        raise SystemExit(f"PORT must be a number, not {env['PORT']!r}") from None
    return Settings(
        database_url=database_url,
        host=env.get("HOST", "127.0.0.1"),
        port=port,
        data_dir=data_dir,
        demo_on_empty=_flag(env.get("DEMO_ON_EMPTY", "1")),
        ingest_token=env.get("INGEST_TOKEN", "").strip() or None,
        presence_ttl=_whole_number(env, "PRESENCE_TTL", 90, 1, "seconds"),
        match_ttl=_whole_number(env, "MATCH_TTL", 300, 1, "seconds"),
        avatar_max_bytes=_whole_number(env, "AVATAR_MAX_BYTES", 2 * 1024 * 1024, 1, "bytes"),
        # 0 turns these two off
        track_update_interval=_whole_number(env, "TRACK_UPDATE_INTERVAL", 60, 0, "seconds"),
        track_snapshot_interval=_whole_number(env, "TRACK_SNAPSHOT_INTERVAL", 0, 0, "seconds"),
    )
