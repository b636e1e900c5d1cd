"""API keys for the osu!api v1 compatibility layer, which takes a key `k` on
every request. Keys are stored as digests (see server/credentials.py).

Checking a key costs one indexed lookup of its digest, and input that cannot
be a key (empty, not a string, absurdly long) is turned away before the
database is asked at all.
"""

from __future__ import annotations

from typing import Any

from . import credentials
from .db import Database

KEYS = credentials.CredentialTable("api_keys", "key_hash")
# Anything longer is refused unhashed: generous beyond the 40 characters we
# issue so a key format change later does not need this touched.
MAX_KEY_LENGTH = 128


async def create_key(db: Database, name: str) -> tuple[int, str]:
    """Make a new key named `name`; returns its id and the key itself."""
    return await credentials.create(db, KEYS, name)


async def is_valid_key(db: Database, key: Any) -> bool:
    """Whether `key` is a key that exists and has not been revoked."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        return False
    row = await db.fetch_one(
        "SELECT id FROM api_keys WHERE key_hash = :key_hash AND revoked_at IS NULL",
        {"key_hash": credentials.digest(key)},
    )
    return row is not None


async def list_keys(db: Database) -> list[dict[str, Any]]:
    return await credentials.list_all(db, KEYS)


async def revoke_key(db: Database, key_id: int) -> bool:
    """Revoke the key with this id; False if there is no such active key."""
    return await credentials.revoke(db, KEYS, key_id)
