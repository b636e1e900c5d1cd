"""API keys for the osu!api v1 compatibility layer, which takes a key `k` on
every request.

Only the SHA-256 hex digest of a key is stored, never the key itself. A key
is a bearer secret: whoever holds it can use the API as its owner. If the
table leaks (a backup, a dump shared for debugging, a read-only SQL
injection elsewhere, another service reading the same bancho.py database),
the digests are of no use to the reader, because a request must present the
key, and a key cannot be recovered from its digest. A fast unsalted hash is
enough here, unlike for passwords: the keys are 160 random bits from
`secrets`, so there is nothing to guess or look up in a table. So the key is
shown exactly once, when it is created; a lost key is revoked and replaced.

Checking a key costs one indexed lookup of its digest, and input that cannot
be a key (empty, not a string, absurdly long) is turned away before the
database is asked at all.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

from .db import Database

KEY_BYTES = 20  # 160 bits: a key is 40 lowercase hex characters
KEY_LENGTH = 2 * KEY_BYTES
NAME_MAX_LENGTH = 64
# Anything longer is refused unhashed: generous beyond KEY_LENGTH so a key
# format change later does not need this touched, small enough to be cheap.
MAX_KEY_LENGTH = 128


def hash_key(key: str) -> str:
    """The stored form of a key: its SHA-256 digest as 64 lowercase hex characters."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def validate_name(name: str) -> str:
    """Return the name if it is acceptable, else raise ValueError."""
    if not isinstance(name, str):
        raise ValueError("the key's name must be a string")
    if not 1 <= len(name) <= NAME_MAX_LENGTH:
        raise ValueError(f"the key's name must be 1 to {NAME_MAX_LENGTH} characters long, not {len(name)}")
    if not name.isprintable():
        raise ValueError("the key's name must be printable (no control characters, tabs or newlines)")
    if not name.strip():
        raise ValueError("the key's name must not be blank")
    return name


async def create_key(db: Database, name: str) -> tuple[int, str]:
    """Make a new key named `name`; returns its id and the key itself, which
    is not stored and cannot be shown again."""
    validate_name(name)
    key = secrets.token_hex(KEY_BYTES)
    digest = hash_key(key)
    await db.execute(
        "INSERT INTO api_keys (name, key_hash, created_at) VALUES (:name, :key_hash, :now)",
        {"name": name, "key_hash": digest, "now": int(time.time())},
    )
    # looked up by its digest rather than trusting the driver's lastrowid
    key_id = await db.fetch_val("SELECT id FROM api_keys WHERE key_hash = :key_hash", {"key_hash": digest})
    return int(key_id), key


async def is_valid_key(db: Database, key: Any) -> bool:
    """Whether `key` is a key that exists and has not been revoked."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        return False
    row = await db.fetch_one(
        "SELECT id FROM api_keys WHERE key_hash = :key_hash AND revoked_at IS NULL",
        {"key_hash": hash_key(key)},
    )
    return row is not None


async def list_keys(db: Database) -> list[dict[str, Any]]:
    """Every key, oldest first: id, name, created_at and revoked_at (None
    while active). The digests are not included."""
    return await db.fetch_all("SELECT id, name, created_at, revoked_at FROM api_keys ORDER BY id")


async def revoke_key(db: Database, key_id: int) -> bool:
    """Revoke the key with this id; False if there is no such active key."""
    key_id = int(key_id)
    row = await db.fetch_one("SELECT revoked_at FROM api_keys WHERE id = :id", {"id": key_id})
    if row is None or row["revoked_at"] is not None:
        return False
    # the guard keeps the first revocation's time if two race
    await db.execute(
        "UPDATE api_keys SET revoked_at = :now WHERE id = :id AND revoked_at IS NULL",
        {"id": key_id, "now": int(time.time())},
    )
    return True
