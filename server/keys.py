"""API keys for the osu!api v1 compatibility layer, which takes a key `k` on
every request. Keys are stored as digests (see server/credentials.py).

Checking a key costs a set lookup of its digest in the active keys read
every SNAPSHOT_MAX_AGE (a digest not there is looked up in the table), and
input that cannot be a key (empty, not a string, absurdly long) is turned
away before the database is asked at all.
"""

from __future__ import annotations

from typing import Any

from . import credentials
from .db import Database
from .snapshots import snapshots

KEYS = credentials.CredentialTable("api_keys", "key_hash")
# Anything longer is refused unhashed: generous beyond the 40 characters we
# issue so a key format change later does not need this touched.
MAX_KEY_LENGTH = 128


async def create_key(db: Database, name: str) -> tuple[int, str]:
    """Make a new key named `name`; returns its id and the key itself."""
    return await credentials.create(db, KEYS, name)


async def is_valid_key(db: Database, key: Any) -> bool:
    """Whether `key` is a key that exists and has not been revoked.

    Every v1 request asks, so the active keys' digests are held in a
    snapshot (server/snapshots.py) and a key found there costs no query; a
    key not found is looked up, so a key made a moment ago works at once
    (and the snapshot, behind, is read anew at the next request). A
    key revoked by another process (`python -m server keys revoke`) stops
    working within twice SNAPSHOT_MAX_AGE; revoked through this one, at once."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        return False
    hashed = credentials.digest(key)
    if hashed in await snapshots(db).get("api_keys", _active_digests):
        return True
    row = await db.fetch_one(
        "SELECT id FROM api_keys WHERE key_hash = :key_hash AND revoked_at IS NULL", {"key_hash": hashed}
    )
    if row is None:
        return False
    snapshots(db).forget("api_keys")  # a key made since: read the keys anew next time
    return True


async def _active_digests(db: Database) -> frozenset[str]:
    rows = await db.fetch_all("SELECT key_hash FROM api_keys WHERE revoked_at IS NULL")
    return frozenset(row["key_hash"] for row in rows)


async def list_keys(db: Database) -> list[dict[str, Any]]:
    return await credentials.list_all(db, KEYS)


async def revoke_key(db: Database, key_id: int) -> bool:
    """Revoke the key with this id; False if there is no such active key."""
    return await credentials.revoke(db, KEYS, key_id)
