"""Secrets we hand out and later check: v1 API keys (server/keys.py) and
OAuth client secrets (server/oauth.py). Each lives in a table of ours with
the columns id, name, <digest column>, created_at and revoked_at.

Only the SHA-256 hex digest of a secret is stored, never the secret. A
secret is a bearer credential: whoever holds it can use the API as its
owner. If the table leaks (a backup, a dump shared for debugging, another
service reading the same database), the digests are of no use to the
reader, because a request must present the secret, and a secret cannot be
recovered from its digest. A fast unsalted hash is enough here, unlike for
passwords: secrets are 160 random bits from `secrets`, so there is nothing
to guess or look up. So a secret is shown exactly once, when it is created;
a lost one is revoked and replaced."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

from .db import Database

SECRET_BYTES = 20  # 160 bits: a secret is 40 lowercase hex characters
NAME_MAX_LENGTH = 64


@dataclass(frozen=True)
class CredentialTable:
    """Where one kind of secret is kept (names fixed in code, never input)."""

    table: str
    digest_column: str


def digest(secret: str) -> str:
    """The stored form of a secret: its SHA-256 digest as 64 lowercase hex characters."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def validate_name(name: str) -> str:
    """Return the name if it is acceptable, else raise ValueError."""
    if not isinstance(name, str):
        raise ValueError("the name must be a string")
    if not 1 <= len(name) <= NAME_MAX_LENGTH:
        raise ValueError(f"the name must be 1 to {NAME_MAX_LENGTH} characters long, not {len(name)}")
    if not name.isprintable():
        raise ValueError("the name must be printable (no control characters, tabs or newlines)")
    if not name.strip():
        raise ValueError("the name must not be blank")
    return name


async def create(db: Database, where: CredentialTable, name: str) -> tuple[int, str]:
    """Make a new secret named `name`; returns its id and the secret itself,
    which is not stored and cannot be shown again."""
    validate_name(name)
    secret = secrets.token_hex(SECRET_BYTES)
    hashed = digest(secret)
    await db.execute(
        f"INSERT INTO {where.table} (name, {where.digest_column}, created_at) VALUES (:name, :digest, :now)",
        {"name": name, "digest": hashed, "now": int(time.time())},
    )
    # looked up by its digest rather than trusting the driver's lastrowid
    found = await db.fetch_val(f"SELECT id FROM {where.table} WHERE {where.digest_column} = :digest", {"digest": hashed})
    return int(found), secret


async def list_all(db: Database, where: CredentialTable) -> list[dict[str, Any]]:
    """Every entry, oldest first: id, name, created_at and revoked_at (None
    while active). The digests are not included."""
    return await db.fetch_all(f"SELECT id, name, created_at, revoked_at FROM {where.table} ORDER BY id")


async def revoke(db: Database, where: CredentialTable, entry_id: int) -> bool:
    """Revoke one entry; False if there is no such active entry."""
    entry_id = int(entry_id)
    row = await db.fetch_one(f"SELECT revoked_at FROM {where.table} WHERE id = :id", {"id": entry_id})
    if row is None or row["revoked_at"] is not None:
        return False
    # the guard keeps the first revocation's time if two race
    await db.execute(
        f"UPDATE {where.table} SET revoked_at = :now WHERE id = :id AND revoked_at IS NULL",
        {"id": entry_id, "now": int(time.time())},
    )
    return True
