"""Settings come from environment variables only; see the README's table."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from .db import dialect_of
from .public_url import parse_public_urls


@dataclass(frozen=True)
class Settings:
    database_url: str
    host: str
    port: int
    data_dir: Path
    # load the demo data set when the embedded database starts out empty
    demo_on_empty: bool
    # the addresses and networks whose X-Forwarded-For / X-Forwarded-Proto are
    # believed (FORWARDED_ALLOW_IPS): the reverse proxies in front (nginx/);
    # comma-separated IPs or CIDR networks, or "*" for any peer
    forwarded_allow_ips: str = "127.0.0.1"
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
    # operations (server/ops.py): the most seconds any one database call may
    # take before the request answers 503 (DB_TIMEOUT); the level of the
    # service's logs, the JSON request lines included (LOG_LEVEL); uvicorn's
    # own access log, off as the JSON request lines replace it
    # (UVICORN_ACCESS_LOG); and how many seconds a SIGTERM waits for the
    # requests in flight before cutting them off (SHUTDOWN_TIMEOUT)
    db_timeout: int = 5
    # how many seconds old the in-process snapshots (ranks, counts, cached
    # rows...) may get before a background rebuild, when another process
    # writes (SNAPSHOT_MAX_AGE, 0 = always fresh; server/snapshots.py)
    snapshot_max_age: int = 10
    log_level: str = "info"
    uvicorn_access_log: bool = False
    shutdown_timeout: int = 25
    # osu!api v2 layer (server/oauth.py): the access tokens' HS256 signing
    # secret (OAUTH_SECRET; None: one generated at first use and kept in the
    # table oauth_signing_secret) and their lifetime in seconds
    # (OAUTH_TOKEN_TTL)
    oauth_secret: str | None = None
    oauth_token_ttl: int = 86400
    # request limits (server/rate_limit.py): requests a minute per key or
    # client address (RATE_LIMIT_PER_MINUTE; 0 = off, the default here so
    # tests' apps are unlimited; load_settings' default is 1200), the burst
    # (RATE_LIMIT_BURST), and the Redis holding buckets shared by every
    # instance (REDIS_URL; None: each process keeps its own)
    rate_limit_per_minute: int = 0
    rate_limit_burst: int = 200
    redis_url: str | None = None
    # live state from a running bancho.py's own API (server/upstream.py):
    # its URL (LIVE_UPSTREAM_URL; None: the ingest API's tables instead),
    # the Host it answers its API as (LIVE_UPSTREAM_HOST; None: the URL's),
    # and how many seconds a call may take (LIVE_UPSTREAM_TIMEOUT)
    live_upstream_url: str | None = None
    live_upstream_host: str | None = None
    live_upstream_timeout: float = 2.0
    # a read replica of database_url (DATABASE_READ_URL; None: none): reads
    # go there unless the request has written or is in a transaction
    # (server/db.py); the same dialect as database_url
    database_read_url: str | None = None
    # the URLs clients reach this service at (PUBLIC_URL, comma-separated;
    # the bases of absolute URLs in answers, server/public_url.py)
    public_urls: tuple[str, ...] = ()

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


def _trusted_proxies(env: Mapping[str, str]) -> str:
    """FORWARDED_ALLOW_IPS as uvicorn takes it, checked: uvicorn would
    silently treat a mistyped address as a name that never matches."""
    value = env.get("FORWARDED_ALLOW_IPS", "").strip() or "127.0.0.1"
    if value == "*":
        return value
    entries = [entry.strip() for entry in value.split(",")]
    for entry in entries:
        try:
            ipaddress.ip_network(entry) if "/" in entry else ipaddress.ip_address(entry)
        except ValueError:
            raise SystemExit(
                "FORWARDED_ALLOW_IPS must be comma-separated IP addresses or networks "
                f"(such as 127.0.0.1,172.28.0.0/24), or * alone, not {value!r}"
            ) from None
    return ",".join(entries)


def _redis_url(env: Mapping[str, str]) -> str | None:
    value = env.get("REDIS_URL", "").strip()
    if not value:
        return None
    if not value.startswith(("redis://", "rediss://", "unix://")):
        raise SystemExit(f"REDIS_URL must be a redis://, rediss:// or unix:// URL, not {value!r}")
    return value


LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def _log_level(env: Mapping[str, str]) -> str:
    value = env.get("LOG_LEVEL", "").strip().lower() or "info"
    if value not in LOG_LEVELS:
        raise SystemExit(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {env['LOG_LEVEL']!r}")
    return value


def load_settings(env: Mapping[str, str] = os.environ) -> Settings:
    data_dir = Path(env.get("DATA_DIR", "data")).resolve()
    database_url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'api.db'}"
    try:
        dialect_of(database_url)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    database_read_url = env.get("DATABASE_READ_URL", "").strip() or None
    if database_read_url is not None:
        try:
            read_dialect = dialect_of(database_read_url)
        except ValueError as exc:
            raise SystemExit(f"DATABASE_READ_URL: {exc}") from None
        if read_dialect != dialect_of(database_url):
            raise SystemExit(
                f"DATABASE_READ_URL must be the same kind of database as DATABASE_URL "
                f"({dialect_of(database_url)}), not {read_dialect}"
            )
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
        forwarded_allow_ips=_trusted_proxies(env),
        ingest_token=env.get("INGEST_TOKEN", "").strip() or None,
        presence_ttl=_whole_number(env, "PRESENCE_TTL", 90, 1, "seconds"),
        match_ttl=_whole_number(env, "MATCH_TTL", 300, 1, "seconds"),
        avatar_max_bytes=_whole_number(env, "AVATAR_MAX_BYTES", 2 * 1024 * 1024, 1, "bytes"),
        # 0 turns these two off
        track_update_interval=_whole_number(env, "TRACK_UPDATE_INTERVAL", 60, 0, "seconds"),
        track_snapshot_interval=_whole_number(env, "TRACK_SNAPSHOT_INTERVAL", 0, 0, "seconds"),
        db_timeout=_whole_number(env, "DB_TIMEOUT", 5, 1, "seconds"),
        snapshot_max_age=_whole_number(env, "SNAPSHOT_MAX_AGE", 10, 0, "seconds"),
        log_level=_log_level(env),
        uvicorn_access_log=_flag(env.get("UVICORN_ACCESS_LOG", "0")),
        shutdown_timeout=_whole_number(env, "SHUTDOWN_TIMEOUT", 25, 1, "seconds"),
        oauth_secret=_oauth_secret(env),
        oauth_token_ttl=_whole_number(env, "OAUTH_TOKEN_TTL", 86400, 60, "seconds"),
        rate_limit_per_minute=_whole_number(env, "RATE_LIMIT_PER_MINUTE", 1200, 0, "requests"),
        rate_limit_burst=_whole_number(env, "RATE_LIMIT_BURST", 200, 1, "requests"),
        redis_url=_redis_url(env),
        database_read_url=database_read_url,
        live_upstream_url=_upstream_url(env),
        live_upstream_host=env.get("LIVE_UPSTREAM_HOST", "").strip() or None,
        live_upstream_timeout=_whole_number(env, "LIVE_UPSTREAM_TIMEOUT", 2, 1, "seconds"),
        public_urls=_public_urls(env),
    )


def _oauth_secret(env: Mapping[str, str]) -> str | None:
    """OAUTH_SECRET, or the first line of the file OAUTH_SECRET_FILE names."""
    value = env.get("OAUTH_SECRET", "").strip() or None
    path = env.get("OAUTH_SECRET_FILE", "").strip()
    if not path:
        return value
    if value is not None:
        raise SystemExit("set OAUTH_SECRET or OAUTH_SECRET_FILE, not both")
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SystemExit(f"OAUTH_SECRET_FILE: cannot read {path}: {exc}") from None
    secret = lines[0].strip() if lines else ""
    if not secret:
        raise SystemExit(f"OAUTH_SECRET_FILE: {path} holds no secret on its first line")
    return secret


def _public_urls(env: Mapping[str, str]) -> tuple[str, ...]:
    try:
        return parse_public_urls(env.get("PUBLIC_URL", ""))
    except ValueError as exc:
        raise SystemExit(f"PUBLIC_URL must be comma-separated http:// or https:// URLs: {exc}") from None


def _upstream_url(env: Mapping[str, str]) -> str | None:
    value = env.get("LIVE_UPSTREAM_URL", "").strip()
    if not value:
        return None
    if not value.startswith(("http://", "https://")):
        raise SystemExit(f"LIVE_UPSTREAM_URL must be an http:// or https:// URL, not {value!r}")
    return value
