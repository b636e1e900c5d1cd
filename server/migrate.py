"""`db migrate`: create bancho.py's schema where it is missing, then apply our
own numbered migrations that have not run yet. Safe to run any number of
times, and never alters bancho.py's own tables."""

from __future__ import annotations

import time

from . import schema
from .db import Database

# Bookkeeping of which of our migrations ran; created here, not by a file,
# because it must exist before the first file can be recorded.
_LEDGER = "api_migrations"


async def migrate(db: Database) -> list[str]:
    """Bring the schema up to date; returns the names of what was applied."""
    applied: list[str] = []
    tables = await db.table_names()
    if "users" not in tables:
        async with db.transaction():
            await _run(db, schema.base_schema())
        applied.append("base.sql")
    if _LEDGER not in tables:
        # (checked first: on MySQL, IF NOT EXISTS over an existing table
        # raises a warning that the driver logs to stderr on every run)
        await db.execute(
            f"CREATE TABLE IF NOT EXISTS {_LEDGER} ("
            " name VARCHAR(128) NOT NULL PRIMARY KEY,"
            " applied_at INT NOT NULL)"
        )
    done = {row["name"] for row in await db.fetch_all(f"SELECT name FROM {_LEDGER}")}
    for migration in schema.migrations():
        if migration.name in done:
            continue
        async with db.transaction():
            await _run(db, migration)
            await db.execute(
                f"INSERT INTO {_LEDGER} (name, applied_at) VALUES (:name, :now)",
                {"name": migration.name, "now": int(time.time())},
            )
        applied.append(migration.name)
    return applied


# Each file runs in a transaction with its ledger row: on SQLite, where DDL
# is transactional, a file that fails part-way (or a process stopped
# meanwhile) leaves nothing behind that would make every later run fail.
# MySQL commits each DDL statement regardless.
async def _run(db: Database, sql: schema.SqlFile) -> None:
    for statement in schema.statements_for(sql, db.dialect):
        await db.execute(statement)

